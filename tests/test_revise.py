"""fsrs revision over simulated days, with `now` passed explicitly; misconceptions come back sooner."""
from datetime import datetime, timedelta, timezone

import pytest
from fsrs import Rating, State

from ftlab.bank import grade, load_bank
from ftlab.selfquiz.revise import Reviser, ReviseConfig, card_id, rating_for
from ftlab.selfquiz.store import Store

DAY0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
BANK = load_bank()


@pytest.fixture
def reviser(tmp_path):
    with Store(tmp_path / "learner.sqlite3") as store:
        yield Reviser(BANK, store, ReviseConfig(new_per_session=5))


def right(item):
    return {"card": "good", "explain": getattr(item, "solution", "")}.get(item.kind, getattr(item, "answer", 0))


def test_rating_mapping():
    choice, explain, card = (BANK.get(i) for i in ("freezing-mc-snippet", "recipe-explain-steps", "lr-card-small"))
    assert rating_for(choice, 0, grade(choice, 0)) is Rating.Good
    assert rating_for(choice, 1, grade(choice, 1)) is Rating.Again
    partial = "Load a pretrained model, freeze it, and replace the head."
    assert rating_for(explain, partial, grade(explain, partial)) is Rating.Hard
    assert rating_for(card, "easy", grade(card, "easy")) is Rating.Easy
    assert card_id("x") == card_id("x") != card_id("y")


def test_due_lists_new_items_then_schedules_them(reviser):
    first = reviser.due(DAY0)
    assert len(first) == 5 and all(i.kind != "exercise" for i in first)
    for item in first:
        reviser.answer(item, right(item), now=DAY0)
    soon = reviser.due(DAY0 + timedelta(minutes=1))
    assert len(soon) == 5 and not {i.id for i in first} & {i.id for i in soon}  # only fresh items
    learning = reviser.due(DAY0 + timedelta(hours=1))  # learning steps are minutes apart
    assert {i.id for i in learning[:5]} == {i.id for i in first}
    assert len(reviser.store.answers()) == 5 and len(reviser.store.review_logs()) == 5


def test_intervals_grow_over_simulated_days(reviser):
    item = BANK.get("freezing-mc-attribute")
    now, gaps = DAY0, []
    for _ in range(6):
        reviser.answer(item, item.answer, now=now)
        due = reviser.store.cards()[item.id].due
        gaps.append(due - now)
        now = due  # come back exactly when it is due
    assert all(b > a for a, b in zip(gaps, gaps[1:])), gaps
    assert gaps[-1] > timedelta(days=20)
    card = reviser.store.cards()[item.id]
    assert card.state is State.Review and card.card_id == card_id(item.id)
    assert item in reviser.due(now) and item not in reviser.due(now - timedelta(days=1))


def test_a_miss_resets_the_interval(reviser):
    item = BANK.get("layers-mc-which")
    now = DAY0
    for _ in range(4):
        reviser.answer(item, item.answer, now=now)
        now = reviser.store.cards()[item.id].due
    long_gap = now - DAY0
    reviser.answer(item, (item.answer + 1) % len(item.options), now=now)
    assert reviser.store.cards()[item.id].due - now <= timedelta(minutes=10) < long_gap


def test_misconception_misses_come_back_sooner(reviser):
    choice = BANK.get("freezing-mc-snippet")      # its wrong options carry a diagnosed misconception
    explain = BANK.get("freezing-explain-role")   # a weak explanation has no diagnosis
    now = DAY0
    for _ in range(3):
        reviser.answer(choice, choice.answer, now=now)
        reviser.answer(explain, explain.solution, now=now)
        now += timedelta(days=30)
    wrong = reviser.answer(choice, "B", now=now)
    weak = reviser.answer(explain, "no idea", now=now)
    assert wrong.diagnosis and not weak.diagnosis and not weak.correct
    cards = reviser.store.cards()
    assert cards[choice.id].due - now == reviser.config.misconception_delay
    assert cards[choice.id].due < cards[explain.id].due
    assert [i.id for i in reviser.due(now + timedelta(minutes=2))][:1] == [choice.id]


def test_not_attempted_answers_are_not_recorded(reviser):
    item = BANK.get("freezing-mc-snippet")
    assert reviser.answer(item, "Z", now=DAY0).outcome.value == "NotAttempted"
    assert reviser.store.answers() == [] and reviser.store.cards() == {}


def test_review_logs_feed_fsrs_refitting(reviser):
    item = BANK.get("lr-card-small")
    for i, rating in enumerate(["good", "hard", "again", "easy"]):
        reviser.answer(item, rating, now=DAY0 + timedelta(days=i), duration_ms=1500)
    logs = reviser.store.review_logs()
    assert [log.rating for _, log in logs] == [Rating.Good, Rating.Hard, Rating.Again, Rating.Easy]
    assert {log.card_id for _, log in logs} == {card_id(item.id)}
    assert logs[0][1].review_duration == 1500 and logs[1][1].review_datetime == DAY0 + timedelta(days=1)


def test_mastery_per_topic(reviser):
    before = {m.topic: m for m in reviser.mastery(DAY0)}
    assert before["freezing"].retrievability == 0 and before["freezing"].seen == 0
    for item in BANK.select(topic="freezing"):
        if item.kind != "exercise":
            reviser.answer(item, right(item), now=DAY0)
    reviser.answer(BANK.get("layers-mc-which"), 0, now=DAY0)
    after = {m.topic: m for m in reviser.mastery(DAY0 + timedelta(hours=1))}
    assert after["freezing"].seen == after["freezing"].items and after["freezing"].accuracy == 1
    assert after["freezing"].retrievability > 0.9
    assert after["layers"].weak == ["layers-mc-which"] and after["layers"].accuracy == 0
    assert "freezing" in str(after["freezing"]) and "recall" in str(after["freezing"])
