"""Notebook quizzes: item selection, answers as kernel values, and the ipywidgets driven by real clicks."""
import ipywidgets as w
import pytest
import torch

import ftlab.selfquiz as selfquiz
from ftlab.bank import load_bank
from ftlab.glyphnet import GlyphNet
from ftlab.selfquiz import QuizSession, Reviser, Store, pick
from ftlab.selfquiz.widgets import render

BANK = load_bank()


def test_pick_by_topic_difficulty_and_mixed():
    assert all(i.topic == "batchnorm" for i in pick(BANK, topic="batchnorm", n=50))
    assert all(i.difficulty == "hard" for i in pick(BANK, difficulty="hard"))
    mixed = pick(BANK, n=10, seed=3)
    assert len(mixed) == 10 and len({i.id for i in mixed}) == 10 and len({i.topic for i in mixed}) == 10
    assert pick(BANK, n=10, seed=3) == mixed != pick(BANK, n=10, seed=4)
    assert all(i.kind == "card" for i in pick(BANK, kinds=("card",)))
    with pytest.raises(ValueError, match="no bank items for topic='nope'.*topics: basics"):
        pick(BANK, topic="nope")


def test_quiz_without_store_keeps_python_values(monkeypatch, tmp_path):
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path))
    q = selfquiz.quiz(topic="freezing", n=3, seed=0, save=False)
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
        yield QuizSession(items, Reviser(BANK, store))


def test_widgets_give_feedback_and_store_answers(session):
    view = render(session)
    choice_box, explain_box, card_box, exercise_box, tf_box = view.children[:5]

    find(choice_box, w.RadioButtons)[0].value = 1
    find(choice_box, w.Button, "Check")[0].click()
    assert session.answers["freezing-mc-snippet"] == 1 and not session.grades["freezing-mc-snippet"].correct
    html = " ".join(h.value for h in find(choice_box, w.HTML))
    assert "Incorrect" in html and "freeze_layers" in html and "Common mistakes" in html

    find(choice_box, w.Button, "Hint")[0].click()
    assert "requires_grad" in " ".join(h.value for h in find(choice_box, w.HTML))

    find(explain_box, w.Textarea)[0].value = "Too many trainable parameters on a small dataset: it overfits."
    find(explain_box, w.Button, "Check")[0].click()
    assert session.grades["overfit-explain-many-layers"].score == 3
    assert "You covered 3 of 4" in " ".join(h.value for h in find(explain_box, w.HTML))

    find(card_box, w.Button, "Reveal answer")[0].click()
    find(card_box, w.Button, "hard")[0].click()
    assert session.answers["lr-card-small"] == "hard"

    find(exercise_box, w.Button, "Solution")[0].click()
    assert "requires_grad = False" in " ".join(h.value for h in find(exercise_box, w.HTML))
    torch.manual_seed(0)
    assert session.check("ex-freeze-all", model=GlyphNet().requires_grad_(False)).correct

    find(tf_box, w.RadioButtons)[0].value = 1
    find(tf_box, w.Button, "Check")[0].click()
    assert session.grades["freezing-tf-eval-freezes"].correct
    assert view.children[-1].value == "Answered 5 of 5; score 5.5 / 8."
    assert len(session.reviser.store.answers()) == 5


def test_check_without_choosing_asks_for_a_choice(session):
    box = render(session).children[0]
    find(box, w.Button, "Check")[0].click()
    assert "Pick an option first" in " ".join(h.value for h in find(box, w.HTML))
    assert session.answers == {}


def test_unknown_item_in_session(session):
    with pytest.raises(KeyError, match="not in this quiz"):
        session.submit("basics-mc-purpose", "A")
