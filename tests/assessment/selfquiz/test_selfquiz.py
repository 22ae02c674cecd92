"""Notebook quizzes: item selection, answers as kernel values, and the ipywidgets driven by real clicks."""
import ipywidgets as w
import pytest
import torch

import ftlab.assessment.selfquiz as selfquiz
from ftlab.assessment.bank import grade, load_bank
from ftlab.offline.glyphnet import GlyphNet
from ftlab.assessment.selfquiz import QuizSession, Reviser, Store, pick, shuffle_options
from ftlab.assessment.selfquiz.widgets import bind_q, render

BANK = load_bank()


def test_pick_by_topic_difficulty_and_mixed():
    assert all(i.topic == "batchnorm" for i in pick(BANK, topic="batchnorm", n=50))
    assert all(i.difficulty == "hard" for i in pick(BANK, difficulty="hard"))
    mixed = pick(BANK, n=10, seed=3)
    assert len(mixed) == 10 and len({i.id for i in mixed}) == 10 and len({i.topic for i in mixed}) == 10
    assert pick(BANK, n=10, seed=3) == mixed != pick(BANK, n=10, seed=4)
    assert all(i.kind == "card" for i in pick(BANK, kinds=("card",)))
    with pytest.raises(ValueError, match="unknown topic 'nope'; topics: basics"):
        pick(BANK, topic="nope")
    with pytest.raises(ValueError, match="n must be a positive number of items, got -5"):
        pick(BANK, n=-5)
    with pytest.raises(ValueError, match="unknown difficulty 'beginner'; difficulties: easy, medium, hard"):
        pick(BANK, difficulty="beginner")
    assert pick(BANK, difficulty="easy", n=5) and pick(BANK, difficulty="medium", n=5)


def test_quiz_without_store_keeps_python_values(monkeypatch, tmp_path):
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path))
    q = selfquiz.quiz(topic="freezing", n=3, seed=0, save=False, kinds=("card", "explain"))
    assert q.reviser is None and len(q.items) == 3
    item = q.items[0]
    q.submit(item.id, "again" if item.kind == "card" else "?")
    assert q.answers == {item.id: "again" if item.kind == "card" else "?"}
    assert not list(tmp_path.iterdir())


def test_quiz_with_a_corrupt_store_still_runs_and_says_why(monkeypatch, tmp_path):
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FTLAB_LEARNER", "bob")
    (tmp_path / "progress").mkdir()
    (tmp_path / "progress" / "bob.sqlite3").write_bytes(b"garbage" * 100)
    q = selfquiz.quiz(n=2, seed=1)
    assert q.reviser is None and "bob.sqlite3" in q.notice and "will not be saved" in q.notice
    assert (tmp_path / "progress" / "bob.sqlite3").read_bytes() == b"garbage" * 100


def find(widget, cls, description=None):
    """All descendants of a widget box of one class (and button label)."""
    found = []
    for child in getattr(widget, "children", ()):
        if isinstance(child, cls) and (description is None or child.description == description):
            found.append(child)
        found += find(child, cls, description)
    return found


@pytest.fixture
def session(tmp_path):
    items = [BANK.get(i) for i in ("freezing-mc-snippet", "overfit-explain-many-layers", "lr-card-small",
                                   "ex-freeze-all", "freezing-tf-eval-freezes")]
    with Store(tmp_path / "s.sqlite3") as store:
        yield QuizSession(items, Reviser(BANK, store), source="revise")


def html_of(box):
    return " ".join(h.value for h in find(box, w.HTML))


def test_widgets_give_feedback_and_store_answers(session):
    view = render(session)
    choice_box, explain_box, card_box, exercise_box, tf_box = view.children[:5]

    find(choice_box, w.RadioButtons)[0].value = 1
    find(choice_box, w.Button, "Check")[0].click()
    assert session.answers["freezing-mc-snippet"] == 1 and not session.grades["freezing-mc-snippet"].correct
    html = html_of(choice_box)
    assert "First attempt (counts)" in html and "Incorrect" in html and "freeze_layers" in html
    assert "Common mistakes" in html

    find(explain_box, w.Textarea)[0].value = "Too many trainable parameters on a small dataset: it overfits."
    find(explain_box, w.Button, "Check")[0].click()
    assert session.grades["overfit-explain-many-layers"].score == 3
    assert "Partial" in html_of(explain_box) and "You covered 3 of 4" in html_of(explain_box)

    find(card_box, w.Button, "Reveal answer")[0].click()
    find(card_box, w.Button, "hard")[0].click()
    assert session.answers["lr-card-small"] == "hard" and "Partial" in html_of(card_box)
    assert html_of(card_box).count(BANK.get("lr-card-small").answer[:30]) == 1  # the answer is shown once

    torch.manual_seed(0)
    assert session.check("ex-freeze-all", model=GlyphNet().requires_grad_(False)).correct

    find(tf_box, w.RadioButtons)[0].value = 1
    find(tf_box, w.Button, "Check")[0].click()
    assert session.grades["freezing-tf-eval-freezes"].correct
    assert view.children[-1].value == "First attempts: 5 of 5 answered; score 5.5 / 8 (2 partial)."
    assert [(a.item_id, a.rating) for a in session.reviser.store.answers()] == [
        ("freezing-mc-snippet", "again"), ("overfit-explain-many-layers", "hard"), ("lr-card-small", "hard"),
        ("ex-freeze-all", "good"), ("freezing-tf-eval-freezes", "good")]


def test_retries_are_practice_and_never_inflate_the_score(tmp_path):
    from ftlab.assessment.selfquiz import report

    items = [i for i in BANK.select(topic="freezing") if i.kind == "choice"]
    with Store(tmp_path / "r.sqlite3") as store:
        session = QuizSession(items, Reviser(BANK, store), source="revise")
        view = render(session)
        for item, box in zip(items, view.children):
            radio, check = find(box, w.RadioButtons)[0], find(box, w.Button, "Check")[0]
            radio.value = (item.answer + 1) % len(item.options)
            check.click()
            radio.value = item.answer
            check.click()
            assert "Practice retry (not counted)" in html_of(box) and "Correct" in html_of(box)
        assert session.score == (0, len(items))
        assert view.children[-1].value.startswith(f"First attempts: {len(items)} of {len(items)} answered; score 0 /")
        assert f"Practice retries: {len(items)} (not counted)" in view.children[-1].value
        freezing = {m.topic: m for m in report(session.reviser)}["freezing"]
        assert freezing.accuracy == 0 and freezing.retention is None
        assert len(store.review_logs()) == len(items)  # one fsrs review per item, not two


def test_hint_ladder_climbs_and_lowers_the_rating(tmp_path):
    item = BANK.get("recipe-mc-five-classes")
    with Store(tmp_path / "h.sqlite3") as store:
        session = QuizSession([item, BANK.get("lr-mc-large")], Reviser(BANK, store), source="revise")
        view = render(session)
        box = view.children[0]
        hint = find(box, w.Button, "Hint")[0]
        hint.click()
        assert "Hint 1/2" in html_of(box) and item.hints[0] in html_of(box) and hint.description == "Stronger hint"
        hint.click()
        assert "Hint 2/2" in html_of(box) and "It is not" in html_of(box)
        find(box, w.RadioButtons)[0].value = item.answer
        find(box, w.Button, "Check")[0].click()
        hinted = session.grades[item.id]  # right after two hints: no points, not "Correct", rated again
        assert not hinted.correct and hinted.score == 0 and hinted.outcome.value == "Incorrect"
        assert store.answers()[0].rating == "again" and store.answers()[0].score == 0
        assert store.answers()[0].hints == 2
        other = BANK.get("lr-mc-large")
        session.hint(other.id)
        session.submit(other.id, other.answer)
        assert store.answers()[1].rating == "hard" and session.grades[other.id].score == other.max_score / 2
        assert session.grades[other.id].outcome.value == "Partial" and session.score == (other.max_score / 2, 2)


def test_an_unsure_score_asks_the_learner_to_rate(tmp_path):
    """Keyword fragments next to a real statement leave the scorer unsure: the learner rates, seeing the evidence."""
    item = BANK.get("overfit-explain-many-layers")
    with Store(tmp_path / "u.sqlite3") as store:
        session = QuizSession([item], Reviser(BANK, store), source="revise")
        box = render(session).children[0]
        find(box, w.Textarea)[0].value = "It overfits. Too many weights, tiny dataset, val loss up."
        find(box, w.Button, "Check")[0].click()
        assert "not sure" in html_of(box) and store.answers() == [] and item.id in session.pending
        assert "you wrote: &#x27;It overfits&#x27;" in html_of(box) and "a person to confirm" not in html_of(box)
        find(box, w.Button, "hard")[0].click()
        assert "Recorded your rating: <b>hard</b>" in html_of(box)
        assert [(a.rating, a.attempt) for a in store.answers()] == [("hard", "review")]
        assert all(b.disabled for b in find(box, w.Button, "easy"))


def test_undo_button_takes_back_the_last_answer(session):
    view = render(session)
    box = view.children[0]
    find(box, w.RadioButtons)[0].value = 0
    find(box, w.Button, "Check")[0].click()
    assert len(session.reviser.store.answers()) == 1
    find(view, w.Button, "Undo last answer")[0].click()
    assert session.grades == {} and session.reviser.store.answers() == [] and session.reviser.store.cards() == {}
    assert "Took back" in html_of(view) and view.children[-1].value.startswith("First attempts: 0 of 5")
    find(view, w.Button, "Undo last answer")[0].click()
    assert "Nothing to undo" in html_of(view)


def test_options_are_shuffled_per_learner_and_session_and_graded_as_shown():
    items = [i for i in BANK.items if i.kind == "choice"]
    a = shuffle_options(items, "ada", "2026-03-02T09:00")
    assert a == shuffle_options(items, "ada", "2026-03-02T09:00")
    assert [i.options for i in a] != [i.options for i in shuffle_options(items, "ada", "2026-03-03T09:00")]
    assert [i.options for i in a] != [i.options for i in shuffle_options(items, "bob", "2026-03-02T09:00")]
    for original, shown in zip(items, a):
        assert shown.options[shown.answer] == original.options[original.answer]
        assert grade(shown, shown.letters[shown.answer]).correct
        wrong = next(k for k in range(len(shown.options)) if k != shown.answer)
        assert grade(shown, wrong).diagnosis == original.mistakes[original.options.index(shown.options[wrong])]
    tf = BANK.get("freezing-tf-eval-freezes")
    assert shuffle_options([tf], "ada", "s") == [tf]


def test_mastery_displays_as_a_chart_in_a_notebook(monkeypatch, tmp_path):
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FTLAB_LEARNER", "nb")
    q = selfquiz.revise(n=3)
    for item in q.items:
        q.submit(item.id, "good" if item.kind == "card" else getattr(item, "answer", "x"))
    summary = selfquiz.mastery()
    html = summary._repr_html_()
    assert "<svg" in html and "<table>" in html and "Due now" in html and "Mastery(" not in html
    assert "3 review(s)" in html.split("last 4 weeks")[1]  # today's cell of the heatmap
    with pytest.raises(ValueError, match="n must be a positive number"):
        selfquiz.revise(n=0)
    assert "basics" in str(summary) and len(list(summary)) == len(BANK.topics)


def test_the_exercise_note_binds_q():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns.pop("q", None)
    session = QuizSession([BANK.get("ex-freeze-all")])
    html = html_of(render(session))
    assert "q.check('ex-freeze-all', model=model)" in html and shell.user_ns["q"] is session
    shell.user_ns["q"] = "the learner's own q"
    assert not bind_q(session) and shell.user_ns["q"] == "the learner's own q"
    shell.user_ns.pop("q")


def test_the_session_knows_nothing_of_its_view_yet_shows_as_widgets_in_a_notebook():
    import ast
    from pathlib import Path

    from IPython.core.interactiveshell import InteractiveShell

    tree = ast.parse((Path(selfquiz.__file__).parent / "session.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}  # TYPE_CHECKING too
    assert not any("widgets" in name or "IPython" in name for name in imported), imported
    shell = InteractiveShell.instance()
    selfquiz._show_sessions_in_notebooks()
    shown = []
    shell.display_pub.publish = lambda data, **kw: shown.append(data)
    try:
        assert shell.display_formatter.ipython_display_formatter(QuizSession([BANK.get("lr-mc-large")])) is True
    finally:
        del shell.display_pub.publish
    assert any("application/vnd.jupyter.widget-view+json" in data for data in shown)


def test_check_without_choosing_asks_for_a_choice(session):
    box = render(session).children[0]
    find(box, w.Button, "Check")[0].click()
    assert "Pick an option first" in html_of(box)
    assert session.answers == {}


def test_unknown_item_in_session(session):
    with pytest.raises(KeyError, match="not in this quiz"):
        session.submit("basics-mc-main-benefit", "A")


def test_suspend_and_bury_buttons(session):
    view = render(session)
    find(view.children[0], w.Button, "Suspend")[0].click()
    find(view.children[2], w.Button, "Bury until tomorrow")[0].click()
    flags = session.reviser.store.flags()
    assert flags["freezing-mc-snippet"][0] and flags["lr-card-small"][1] is not None
    assert "--unsuspend freezing-mc-snippet" in html_of(view.children[0])
    queue = {i.id for i in session.reviser.queue().items}
    assert "freezing-mc-snippet" not in queue and "lr-card-small" not in queue


def test_a_notebook_quiz_is_practice_and_says_so(tmp_path):
    item = BANK.get("lr-mc-large")
    with Store(tmp_path / "p.sqlite3") as store:
        session = QuizSession([item], Reviser(BANK, store))
        box = render(session).children[0]
        find(box, w.RadioButtons)[0].value = item.answer
        find(box, w.Button, "Check")[0].click()
        assert "practice, so your revision schedule is unchanged" in html_of(box)
        assert [a.attempt for a in store.answers()] == ["practice"] and store.cards() == {}


def test_a_hint_taken_is_not_the_learners_words_and_one_never_shown_is():
    item = BANK.get("similarity-explain-which-layers")  # hint 1: "Think about your data (how much, how similar) ..."
    answer = "Whether your images look like ImageNet or are dissimilar, and how much data you have."
    hinted = QuizSession([item])
    hinted.hint(item.id)
    assert "hint-echo" in hinted.submit(item.id, answer).flags
    assert "hint-echo" not in QuizSession([item]).submit(item.id, answer).flags
