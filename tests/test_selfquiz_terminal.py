"""`ftlab quiz` / `ftlab revise` end to end: a real subprocess answering its prompts through stdin."""
import os
import subprocess
import sys

import pytest

from ftlab.bank import Card, Choice, Explain, load_bank
from ftlab.selfquiz import Store, pick
from ftlab.selfquiz.revise import REVISABLE

BANK = load_bank()
pytestmark = pytest.mark.slow  # each test starts real `ftlab` processes


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "FTLAB_DATA_DIR": str(tmp_path), "FTLAB_LEARNER": "term"}


def ftlab(env, *args, stdin=""):
    done = subprocess.run([sys.executable, "-m", "ftlab.cli", *args], input=stdin, env=env, text=True,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def replies(item, correct):
    """The keystrokes a learner types for one item: a hint request, an invalid try, then the answer."""
    if isinstance(item, Card):
        return ["", "perfect", "good" if correct else "again"]
    if isinstance(item, Choice):
        answer = item.answer if correct else (item.answer + 1) % len(item.options)
        return ["?", "Z", item.letters[answer]]
    assert isinstance(item, Explain)
    return ["?", item.model_answer if correct else "I would just train it longer."]


def test_quiz_through_its_prompts(env, tmp_path):
    items = pick(BANK, topic="freezing", n=4, kinds=REVISABLE, seed=5)
    lines = [r for i, item in enumerate(items) for r in replies(item, correct=i % 2 == 0)]
    out = ftlab(env, "quiz", "--topic", "freezing", "-n", "4", "--seed", "5", stdin="\n".join(lines) + "\n")
    for item in items:
        assert item.prompt in out
    assert (out.count("Correct: "), out.count("Incorrect: ")) == (2, 2)
    wrong_choices = [i for n, i in enumerate(items) if n % 2 and isinstance(i, Choice)]
    for item in wrong_choices:
        assert item.mistakes[(item.answer + 1) % len(item.options)] in out
    assert "Please type one of" in out or "Please type again, hard, good or easy" in out
    assert "Hint:" in out and "Answered 4 of 4" in out
    with Store(tmp_path / "progress" / "term.sqlite3") as store:
        answers = store.answers()
    assert [a.item_id for a in answers] == [i.id for i in items]
    assert [a.correct for a in answers] == [True, False, True, False]


def test_blank_answers_skip_and_end_of_input_stops_cleanly(env, tmp_path):
    out = ftlab(env, "quiz", "--topic", "layers", "-n", "3", "--seed", "1", stdin="\n" * 6)
    assert out.count("Skipped.") == 3 and "Answered 0 of 3" in out
    out = ftlab(env, "quiz", "--topic", "layers", "-n", "3", "--seed", "1", stdin="")
    assert "Stopped early; every answer so far is saved." in out
    with Store(tmp_path / "progress" / "term.sqlite3") as store:
        assert store.answers() == []


def test_revise_asks_due_items_and_prints_mastery(env, tmp_path):
    first_two = [item for item in BANK.items if item.kind in REVISABLE][:2]  # a new learner starts at the top
    assert all(isinstance(item, Card) for item in first_two)
    out = ftlab(env, "revise", "-n", "2", stdin="\ngood\n\neasy\n")
    assert "2 item(s) to revise." in out and "Mastery by topic:" in out
    assert all(item.answer.splitlines()[0] in out for item in first_two)
    with Store(tmp_path / "progress" / "term.sqlite3") as store:
        assert [a.answer for a in store.answers()] == ["good", "easy"] and len(store.review_logs()) == 2
    summary = ftlab(env, "revise", "--summary")
    assert "to revise" not in summary and "seen 2/15" in summary
    assert all(topic in summary for topic in BANK.topics)


def test_unknown_topic_exits_with_the_list_of_topics(env):
    for command in ("quiz", "revise"):
        done = subprocess.run([sys.executable, "-m", "ftlab.cli", command, "--topic", "nope"], env=env, text=True,
                              capture_output=True, timeout=300)
        assert done.returncode != 0 and "topics: basics" in done.stderr, (command, done.stdout, done.stderr)
