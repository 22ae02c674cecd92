"""fsrs revision over simulated days, with `now` passed explicitly (or FTLAB_NOW): reviews and new items apart."""
import sqlite3
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
import torch
from fsrs import Rating, State

from ftlab.assessment.bank import grade, load_bank
from ftlab.offline.glyphnet import GlyphNet
from ftlab.assessment.selfquiz import QuizSession, exercise_checked, report
from ftlab.assessment.selfquiz.anki import export_deck
from ftlab.assessment.selfquiz.report import export_csv, history
from ftlab.assessment.selfquiz.figures import with_hints
from ftlab.assessment.selfquiz.revise import SYLLABUS, Reviser, ReviseConfig, card_id, introduction_order, utcnow
from ftlab.assessment.selfquiz.store import Store

DAY0 = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
BANK = load_bank()


@pytest.fixture
def reviser(tmp_path):
    with Store(tmp_path / "learner.sqlite3") as store:
        yield Reviser(BANK, store, ReviseConfig(new_per_day=5, fuzzing=False))


def right(item):
    return {"card": "good", "explain": getattr(item, "solution", "")}.get(item.kind, getattr(item, "answer", 0))


def wrong(item):
    if item.kind in ("card", "explain"):
        return "again" if item.kind == "card" else "I would just train it longer."
    return (item.answer + 1) % len(item.options)


def test_the_grade_carries_its_rating_and_hints_lower_it():
    choice, explain, card = (BANK.get(i) for i in ("freezing-mc-snippet", "recipe-explain-steps", "lr-card-small"))
    assert grade(choice, 0).rating == "good" and grade(choice, 1).rating == "again"
    partial = "Load a pretrained model, freeze it, and replace the head."
    result = grade(explain, partial)
    assert result.rating == "hard" and result.outcome.value == "Partial"
    assert grade(card, "easy").rating == "easy" and grade(card, 2).rating == "hard"
    assert grade(card, "hard").outcome.value == "Partial"  # a card recalled with effort is not shown as Correct
    assert grade(card, "nope").rating == "again"  # not a rating: a typed recall answer that states nothing
    assert [with_hints("good", n) for n in (0, 1, 2)] == ["good", "hard", "again"]
    assert with_hints("again", 1) == "again" and with_hints("easy", 1) == "hard"
    assert card_id("x") == card_id("x") != card_id("y")


def test_due_lists_new_items_then_schedules_them(reviser):
    first = reviser.due(DAY0)
    assert len(first) == 5 and all(i.kind != "exercise" for i in first)
    for item in first:
        reviser.answer(item, right(item), now=DAY0)
    later = reviser.queue(DAY0 + timedelta(hours=1))
    assert later.new == [] and later.reviews == []  # the day's 5 new items are used up; right answers are not due
    tomorrow = reviser.queue(DAY0 + timedelta(days=1))
    assert len(tomorrow.new) == 5 and not {i.id for i in first} & {i.id for i in tomorrow.items}
    in_two_days = reviser.queue(DAY0 + timedelta(days=2, hours=1))
    assert {i.id for i in in_two_days.reviews} == {i.id for i in first}


def test_right_on_day_one_is_not_back_ten_minutes_after_a_right_answer_on_day_two(reviser):
    hit, miss = BANK.get("freezing-mc-attribute"), BANK.get("layers-mc-which")
    reviser.answer(hit, right(hit), now=DAY0)
    reviser.answer(miss, wrong(miss), now=DAY0)
    cards = reviser.store.cards()
    assert cards[hit.id].state is State.Review and cards[hit.id].due - DAY0 >= timedelta(days=1)
    assert cards[miss.id].due - DAY0 <= timedelta(minutes=10)  # a miss comes back the same day
    day2 = DAY0 + timedelta(days=1)
    assert miss in reviser.queue(day2).reviews and hit not in reviser.queue(day2).reviews
    reviser.answer(miss, right(miss), now=day2)
    assert reviser.store.cards()[miss.id].due - day2 >= timedelta(days=1)


def test_new_and_review_limits_are_separate(tmp_path):
    with Store(tmp_path / "l.sqlite3") as store:
        reviser = Reviser(BANK, store, ReviseConfig(new_per_day=4, reviews_per_day=3, fuzzing=False))
        first = reviser.queue(DAY0)
        assert (len(first.reviews), len(first.new)) == (0, 4)
        for item in first.new:
            reviser.answer(item, wrong(item), now=DAY0)
        again = reviser.queue(DAY0 + timedelta(hours=1))
        assert (len(again.reviews), len(again.new), again.reviews_held) == (3, 0, 1)
        assert "3 review(s) due, 0 new" in again.header() and "1 more wait" in again.header()
        for item in again.reviews:
            reviser.answer(item, wrong(item), now=DAY0 + timedelta(hours=1))
        assert len(reviser.queue(DAY0 + timedelta(hours=2)).reviews) == 0  # today's 3 reviews are done
        day2 = reviser.queue(DAY0 + timedelta(days=1))
        assert (len(day2.reviews), len(day2.new)) == (3, 4)


def test_new_items_come_in_syllabus_order_interleaved_across_topics():
    order = introduction_order([i for i in BANK.items if i.kind in ReviseConfig().kinds])
    first_session = order[:10]
    assert first_session[0].topic == "basics" and len({i.topic for i in first_session}) >= 3
    assert max(sum(i.topic == t for i in first_session) for t in SYLLABUS) <= 4
    position = {t: min(k for k, i in enumerate(order) if i.topic == t) for t in BANK.topics}
    assert [t for t in SYLLABUS if t in position] == sorted(position, key=position.get)  # prerequisites first
    for topic in BANK.topics:
        levels = [("easy", "medium", "hard").index(i.difficulty) for i in order if i.topic == topic]
        assert levels == sorted(levels), topic  # easy before hard within a topic


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
    assert item in reviser.queue(now).reviews and item not in reviser.queue(now - timedelta(days=1)).reviews


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
    assert [i.id for i in reviser.queue(now + timedelta(minutes=2)).reviews][:1] == [choice.id]


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


def test_report_counts_first_attempts_only_and_shows_retention_only_with_data(reviser):
    choices = [i for i in BANK.select(topic="freezing") if i.kind == "choice"]
    session = QuizSession(choices, reviser, source="revise")
    for item in choices:  # all wrong, then all right: the retries are practice
        session.submit(item.id, wrong(item), now=DAY0)
        session.submit(item.id, right(item), now=DAY0)
    assert session.score == (0, len(choices)) and "Practice retries: " in session.summary()
    freezing = {m.topic: m for m in report(reviser, DAY0 + timedelta(minutes=5))}["freezing"]
    assert (freezing.first_right, freezing.first_tries) == (0, len(choices)) and freezing.accuracy == 0
    assert freezing.retention is None and "n/a" in str(freezing)  # nothing has come back on a later day yet
    assert set(freezing.weak) == {i.id for i in choices}
    text = str(report(reviser, DAY0 + timedelta(minutes=5)))
    assert "Weak items" in text and choices[0].prompt in text and f"first try 0/{len(choices)}" in text
    day2 = DAY0 + timedelta(days=1)
    for item in choices:
        reviser.answer(item, right(item), now=day2)
    freezing = {m.topic: m for m in report(reviser, day2)}["freezing"]
    assert freezing.weak == [] and freezing.first_tries == 2 * len(choices)
    # items failed the day before are being relearned: their return measures no retention
    assert freezing.retention is None and freezing.returns == 0
    stored = reviser.store.answers()
    assert [a.attempt for a in stored].count("practice") == len(choices)


def test_leeches_are_flagged_with_advice(reviser):
    item = BANK.get("batchnorm-mc-train-mode")
    for day in range(4):
        reviser.answer(item, wrong(item), now=DAY0 + timedelta(days=day))
    assert reviser.leeches() == {item.id: 4}
    text = str(report(reviser, DAY0 + timedelta(days=4)))
    assert "Leeches" in text and "lesson 02_freezing" in text and "suspend it" in text


def test_suspend_and_bury_take_items_out_of_the_queue(reviser):
    first, second = reviser.queue(DAY0).new[:2]
    reviser.store.set_flag(first.id, suspended=True)
    reviser.store.set_flag(second.id, buried_until=DAY0 + timedelta(days=1))
    ids = {i.id for i in reviser.queue(DAY0).items}
    assert first.id not in ids and second.id not in ids
    assert second.id in {i.id for i in reviser.queue(DAY0 + timedelta(days=1, hours=1)).items}
    reviser.store.set_flag(first.id, suspended=False)
    assert first.id in {i.id for i in reviser.queue(DAY0).items}


def test_undo_restores_the_card_and_forgets_the_review(reviser):
    item = BANK.get("freezing-mc-attribute")
    reviser.answer(item, right(item), now=DAY0)
    card_before = reviser.store.cards()[item.id]
    reviser.answer(item, wrong(item), now=DAY0 + timedelta(days=3))
    last = reviser.store.undo_last()
    assert last.item_id == item.id and not last.correct
    assert reviser.store.cards()[item.id].to_dict() == card_before.to_dict()
    assert len(reviser.store.review_logs()) == 1 and len(reviser.store.answers()) == 1
    reviser.store.undo_last()
    assert reviser.store.cards() == {} and reviser.store.undo_last() is None


def test_forecast_streak_history_and_csv(reviser, tmp_path):
    for day in range(3):
        for item in reviser.queue(DAY0 + timedelta(days=day)).items:
            reviser.answer(item, right(item), now=DAY0 + timedelta(days=day))
    summary = report(reviser, DAY0 + timedelta(days=2, hours=1))
    last_day = summary.forecast[-1][0]
    in_window = [c for c in reviser.store.cards().values() if c.due.date() <= last_day]
    assert summary.streak == 3 and sum(n for _, n in summary.forecast) == len(in_window) > 0
    assert summary.heatmap_text().endswith("+++") and len(summary.heatmap_text()) == 28
    html = summary._repr_html_()
    assert "<svg" in html and "Due now" in html and "freezing" in html
    item_id = reviser.store.answers()[0].item_id
    text = history(reviser, item_id)
    assert BANK.get(item_id).prompt in text and "review" in text and "next due" in text
    rows = export_csv(reviser, tmp_path / "progress.csv")
    lines = (tmp_path / "progress.csv").read_text().splitlines()
    assert rows == len(reviser.store.answers()) == len(lines) - 1 and lines[0].startswith("item_id,topic")


def test_anki_deck_export(tmp_path):
    path = tmp_path / "ftlab.apkg"
    notes = export_deck(BANK, path)
    assert notes == sum(i.kind != "exercise" and not i.retired for i in BANK.items)
    with zipfile.ZipFile(path) as apkg:
        (tmp_path / "c.anki2").write_bytes(apkg.read("collection.anki2"))
    with sqlite3.connect(tmp_path / "c.anki2") as db:
        fields = [row[0] for row in db.execute("SELECT flds FROM notes")]
    assert len(fields) == notes and any("freezing-mc-snippet" in f and "requires_grad" in f for f in fields)


def test_a_failed_exercise_pulls_its_recall_items_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FTLAB_LEARNER", "ada")
    from ftlab.assessment.exercises import FreezeAll

    torch.manual_seed(0)
    failed = FreezeAll().check(model=GlyphNet())
    assert exercise_checked("ex-freeze-all", failed) is failed  # no progress store yet: nothing to schedule
    Store(learner="ada").close()
    linked = exercise_checked("ex-freeze-all", failed)
    recall = BANK.get("ex-freeze-all").recall
    assert linked.feedback.startswith(failed.feedback) and all(i in linked.feedback for i in recall)
    passed = FreezeAll().check(model=GlyphNet().requires_grad_(False))
    assert exercise_checked("ex-freeze-all", passed) is passed
    with Store(learner="ada") as store:
        queue = Reviser(BANK, store).queue()
        assert [i.id for i in queue.pulled] == [i for i in BANK.get("ex-freeze-all").recall
                                                  if i in {p.id for p in queue.pulled}]
        assert set(recall) == {i.id for i in queue.pulled} and "ex-freeze-all" in queue.reasons[recall[0]]
        assert "pulled forward by a failed exercise" in queue.header()
        item = BANK.get(recall[0])
        Reviser(BANK, store).answer(item, right(item))
        assert item.id not in store.pulled()


def test_clock_override(monkeypatch):
    monkeypatch.setenv("FTLAB_NOW", "2026-03-03T09:30:00+00:00")
    assert utcnow() == datetime(2026, 3, 3, 9, 30, tzinfo=timezone.utc)
    monkeypatch.setenv("FTLAB_NOW", "2026-03-03T09:30")
    assert utcnow().tzinfo is not None
    monkeypatch.setenv("FTLAB_NOW", "2026-03-03T10:30:00+01:00")  # a local time: fsrs gets it in UTC
    assert utcnow() == datetime(2026, 3, 3, 9, 30, tzinfo=timezone.utc) and utcnow().tzinfo is timezone.utc
    monkeypatch.setenv("FTLAB_NOW", "tomorrow")
    with pytest.raises(ValueError, match="FTLAB_NOW='tomorrow' is not a time: set it to an ISO 8601"):
        utcnow()
