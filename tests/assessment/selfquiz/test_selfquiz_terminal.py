"""`ftlab quiz` / `ftlab revise` end to end: the real command reading its prompts' replies from stdin."""
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftlab.assessment.bank import Card, Choice, Explain, load_bank
from ftlab.assessment.selfquiz import Store, pick, shuffle_options
from ftlab.assessment.selfquiz.revise import REVISABLE
from ftlab.cli import main

BANK = load_bank()
ROOT = Path(__file__).parents[3]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FTLAB_LEARNER", "term")
    monkeypatch.setenv("FTLAB_NOW", "2026-03-02T10:00:00+00:00")
    return tmp_path


def ftlab(capsys, monkeypatch, *args, stdin=""):
    """Run the command in this process on the given keystrokes; (stdout, exit status)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = 0
    try:
        main(list(args))
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
    out = capsys.readouterr()
    return out.out, out.err, status


def store_cards(env):
    with Store(env / "progress" / "term.sqlite3") as store:
        return store.cards()


def replies(item, correct):
    """The keystrokes a learner types for one item: a hint request, an invalid try, then the answer."""
    if isinstance(item, Card):
        return ["", "perfect", "3" if correct else "1"]
    if isinstance(item, Choice):
        answer = item.answer if correct else (item.answer + 1) % len(item.options)
        return ["?", "Z", item.letters[answer]]
    assert isinstance(item, Explain)
    return ["?", item.solution if correct else "I would just train it longer.", ""]


def test_quiz_through_its_prompts(env, capsys, monkeypatch):
    items = shuffle_options(pick(BANK, topic="freezing", n=4, kinds=REVISABLE, seed=5), "term", "5")
    lines = [r for i, item in enumerate(items) for r in replies(item, correct=i % 2 == 0)] + ["n"]
    out, _, status = ftlab(capsys, monkeypatch, "quiz", "--topic", "freezing", "-n", "4", "--seed", "5",
                           stdin="\n".join(lines) + "\n")
    assert status == 0
    for item in items:
        assert item.prompt in out
    for item in [i for n, i in enumerate(items) if n % 2 and isinstance(i, Choice)]:
        assert item.mistakes[(item.answer + 1) % len(item.options)] in out
    assert "Please type one of" in out or "Please type again, hard, good or easy (or 1-4)" in out
    assert "Hint:" in out and "First attempts: 4 of 4 answered" in out
    with Store(env / "progress" / "term.sqlite3") as store:
        answers = store.answers()
    assert [a.item_id for a in answers] == [i.id for i in items]
    # a hint before the answer (choice, explain) makes it not fully right; a quiz is practice, never a review
    assert [a.correct for a in answers] == [n % 2 == 0 and i.kind == "card" for n, i in enumerate(items)]
    assert {a.attempt for a in answers} == {"practice"} and store_cards(env) == {}
    assert [a.hints for a in answers if BANK.get(a.item_id).kind != "card"] == [1] * sum(
        i.kind != "card" for i in items)


def test_multi_line_explain_answers_and_card_ratings_by_number(env, capsys, monkeypatch):
    explain, card = BANK.get("overfit-explain-many-layers"), BANK.get("freezing-card-why")
    from ftlab.assessment.selfquiz import QuizSession, Reviser
    from ftlab.assessment.selfquiz.terminal import run

    written = []
    keys = iter(["The dataset is small and there are too many trainable weights,",
                 "so the model memorises the training set and", "overfits: validation accuracy drops.", "",
                 "good", "", "4"])  # unsure (a drop alone is no gap): the learner rates it
    with Store(env / "m.sqlite3") as store:
        session = QuizSession([explain, card], Reviser(BANK, store), source="revise")
        run(session, lambda prompt: next(keys), written.append)
        first = store.answers()[0]
    assert first.answer.count("\n") == 2 and "overfits" in first.answer  # all three lines, one answer
    assert session.grades[explain.id].score >= 3 and session.ratings[card.id] == "easy"
    text = "\n".join(written)
    assert text.count(card.answer[:40]) == 1  # a card's answer is printed once
    assert "Recorded: easy." in text and "Recorded your rating: good" in text


def test_partial_is_shown_as_partial(env, capsys, monkeypatch):
    item = BANK.get("overfit-explain-many-layers")
    from ftlab.assessment.selfquiz import QuizSession
    from ftlab.assessment.selfquiz.terminal import run

    written = []
    keys = iter(["Too many trainable parameters on a small dataset: it overfits.", ""])
    run(QuizSession([item]), lambda prompt: next(keys), written.append)
    assert any(line.startswith("Partial: You covered 3 of 4") for line in written)


def test_bad_arguments_refuse_with_a_clear_message(env, capsys, monkeypatch):
    for args, message in ((["quiz", "-n", "-5"], "must be at least 1, got -5"),
                          (["quiz", "-n", "0"], "must be at least 1, got 0"),
                          (["revise", "--topic", "nope", "--summary"], "invalid choice: 'nope'"),
                          (["quiz", "--topic", "nope"], "invalid choice: 'nope'"),
                          (["quiz", "--difficulty", "beginner"], "invalid choice: 'beginner'")):
        out, err, status = ftlab(capsys, monkeypatch, *args)
        assert status != 0 and message in err, (args, out, err)
        if "--topic" in args:
            assert "basics" in err and "batchnorm" in err  # the valid choices are named
    assert not (env / "progress").exists()


def test_help_lists_topics_and_no_save_explains_itself(env, capsys, monkeypatch):
    for command in ("quiz", "revise"):
        out, _, status = ftlab(capsys, monkeypatch, command, "--help")
        assert status == 0 and all(topic in out for topic in BANK.topics)
    out, err, status = ftlab(capsys, monkeypatch, "revise", "--no-save")
    assert status != 0 and "cannot run with --no-save" in err and "ftlab quiz --no-save" in err
    out, _, status = ftlab(capsys, monkeypatch, "quiz", "--no-save", "-n", "1", "--difficulty", "easy", stdin="")
    assert status == 0 and "nothing from this quiz is saved" in out and not (env / "progress").exists()


def test_day_one_and_day_two(env, capsys, monkeypatch):
    """The routine over two days with the clock override: reviews and new items counted apart."""
    out, _, _ = ftlab(capsys, monkeypatch, "revise", "--summary")
    assert "not started" in out
    day1_items = None
    keys = []
    from ftlab.assessment.selfquiz import Reviser

    with Store(env / "progress" / "term.sqlite3") as store:
        day1_items = Reviser(BANK, store).queue().items[:6]
    for n, item in enumerate(day1_items):
        keys += replies(item, correct=n % 3 != 0)[-1:] if not isinstance(item, Card) else ["", "3" if n % 3 else "1"]
        if isinstance(item, Explain):
            keys.append("")
    out, _, status = ftlab(capsys, monkeypatch, "revise", "-n", "6", stdin="\n".join(keys + ["n"]) + "\n")
    assert status == 0 and "This session: 0 review(s) due, 6 new item(s)" in out
    assert "Mastery by topic (from reviews only" in out and "Streak: 1 day(s)" in out
    missed = {i.id for n, i in enumerate(day1_items) if n % 3 == 0}
    monkeypatch.setenv("FTLAB_NOW", "2026-03-03T10:00:00+00:00")
    out, _, _ = ftlab(capsys, monkeypatch, "revise", "--summary")
    assert f"Due now: {len(missed)} review(s)" in out
    out, _, _ = ftlab(capsys, monkeypatch, "revise", "-n", "2", stdin="")
    assert "This session: 2 review(s) due, 0 new item(s)." in out and "more wait" in out
    with Store(env / "progress" / "term.sqlite3") as store:
        due = {i.id for i in Reviser(BANK, store).queue().reviews}
    assert due == missed  # only the misses come back on day 2; right answers wait days


def test_undo_suspend_history_and_exports(env, capsys, monkeypatch):
    first = None
    from ftlab.assessment.selfquiz import Reviser

    with Store(env / "progress" / "term.sqlite3") as store:
        first = Reviser(BANK, store).queue().items[0]
    assert isinstance(first, Card)
    out, _, _ = ftlab(capsys, monkeypatch, "revise", "-n", "2", stdin="\ngood\n:undo\n\neasy\n:suspend\n")
    assert f"Took back your answer to {first.id}" in out and "Suspended " in out
    with Store(env / "progress" / "term.sqlite3") as store:
        assert [(a.item_id, a.rating) for a in store.answers()] == [(first.id, "easy")]
        assert any(suspended for suspended, _ in store.flags().values())
    out, _, _ = ftlab(capsys, monkeypatch, "revise", "--history", first.id)
    assert first.prompt in out and "review" in out and "rated easy" in out
    out, _, _ = ftlab(capsys, monkeypatch, "revise", "--undo")
    assert f"Took back your answer to {first.id}" in out
    out, _, _ = ftlab(capsys, monkeypatch, "revise", "--export-csv", str(env / "p.csv"))
    assert "Wrote 0 answer(s)" in out and (env / "p.csv").read_text().startswith("item_id,")
    out, _, _ = ftlab(capsys, monkeypatch, "revise", "--export-anki", str(env / "d.apkg"))
    assert "notes to" in out and (env / "d.apkg").stat().st_size > 1000
    _, err, status = ftlab(capsys, monkeypatch, "revise", "--history", "no-such-item")
    assert status != 0 and "no bank item 'no-such-item'" in err


def test_quiz_and_revise_never_import_torch(tmp_path):
    """The real commands, through the `ftlab` entry point and the package root: torch is never imported."""
    code = ("import sys\n"
            "from ftlab.cli import main\n"
            "try:\n"
            "    main(sys.argv[1:])\n"
            "except SystemExit as stop:\n"
            "    assert not stop.code, stop.code\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n"
            "print('no torch')\n")
    env = {**os.environ, "FTLAB_DATA_DIR": str(tmp_path), "FTLAB_LEARNER": "light"}
    for args in (["quiz", "-n", "2", "--seed", "1"], ["revise", "-n", "2"], ["revise", "--summary"],
                 ["--help"], ["quiz", "--help"]):
        done = subprocess.run([sys.executable, "-c", code, *args], input="\n" * 8, text=True, capture_output=True,
                              env=env, timeout=120)
        assert done.returncode == 0 and "no torch" in done.stdout, (args, done.stderr[-2000:])


@pytest.mark.slow
def test_ctrl_c_stops_without_a_traceback_and_prints_the_summary(tmp_path):
    env = {**os.environ, "FTLAB_DATA_DIR": str(tmp_path), "FTLAB_LEARNER": "int",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "ftlab.cli", "revise", "-n", "3"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    proc.stdin.write("\ngood\n")  # answer the first card, then wait at the next prompt
    proc.stdin.flush()
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "progress").glob("*.sqlite3-wal")):
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err and "Stopped early; every answer so far is saved." in out, err
    assert "First attempts: 1 of 3 answered" in out and "Mastery by topic" in out


def test_a_bad_clock_and_a_misspelt_flag_get_clear_errors(env, capsys, monkeypatch):
    monkeypatch.setenv("FTLAB_NOW", "tomorrow")
    for command in ("revise", "quiz"):
        _, err, status = ftlab(capsys, monkeypatch, command, "--no-save" if command == "quiz" else "--summary")
        assert status == 1 and "FTLAB_NOW='tomorrow' is not a time: set it to an ISO 8601 time such as" in err
    assert not (env / "progress").exists()  # nothing was opened or saved
    monkeypatch.setenv("FTLAB_NOW", "2026-03-02T10:00:00+00:00")
    _, err, status = ftlab(capsys, monkeypatch, "revise", "--sumary")
    assert status == 2 and err.startswith("usage: ftlab revise") and "unrecognized arguments: --sumary" in err


def spawn(env, *args):
    import pexpect

    return pexpect.spawn(sys.executable, ["-m", "ftlab.cli", *args], env=env, encoding="utf-8", timeout=60)


@pytest.mark.slow
def test_commands_typos_and_pastes_at_a_real_terminal(env, tmp_path):
    """A person at a terminal (a pty): commands work on a card's first prompt, what they type on a card is saved,
    and a pasted second line never answers the next question."""
    from ftlab.assessment.selfquiz import Reviser

    with Store(env / "progress" / "term.sqlite3") as store:
        items = Reviser(BANK, store).queue().items
    assert [i.kind for i in items[:3]] == ["card", "truefalse", "card"]
    child = spawn({**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb"}, "revise", "-n", "5")
    child.expect("Recall it")
    child.sendline(":supend")
    child.expect("Unknown command ':supend'; the commands are :undo, :suspend, :bury, :quit.")
    child.sendline("?")
    child.expect("Cards have no hints")
    child.sendline(":bury")
    child.expect(f"Buried {items[0].id} until tomorrow.")
    child.expect("Your answer: ")
    wrong = items[1].letters[1 - items[1].answer]
    child.send(f"{wrong}\n{items[1].letters[items[1].answer]}\n")  # one paste of two lines
    child.expect("Your paste had 2 lines; this question takes one line, so none of it was used.")
    child.sendline(items[1].letters[items[1].answer])
    child.expect("Correct")
    child.expect("Recall it")
    child.sendline("it reuses features learned on a big dataset")
    child.sendline("")
    child.expect("You wrote: it reuses features learned on a big dataset")
    child.expect("How well did you recall it")
    child.sendline("good")
    child.expect(r"\[")  # the next item
    child.sendline(":quit")
    child.expect("First attempts: 2 of 4 answered; score 2 / 2. 2 not answered \\(they stay due\\). "
                  "Set aside \\(suspended or buried\\): 1.")
    child.expect(pexpect_eof())
    with Store(env / "progress" / "term.sqlite3") as store:
        answers = store.answers()
    assert [a.item_id for a in answers] == [items[1].id, items[2].id]
    assert answers[1].answer == {"rating": "good", "typed": "it reuses features learned on a big dataset"}


def pexpect_eof():
    import pexpect

    return pexpect.EOF


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(env):
    done = subprocess.run(f"'{sys.executable}' -m ftlab.cli revise --summary | head -n 0", shell=True, text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
