"""A scripted learner revises for 14 days (FTLAB_NOW advancing, some days skipped): every figure the report and the
sessions show must equal what the script did, counted here from its own ledger, not with ftlab's figures."""
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from fsrs import Card, State

from ftlab.assessment.bank import grade, load_bank
from ftlab.assessment.selfquiz import QuizSession, report
from ftlab.assessment.selfquiz.figures import bounded, day_end, due_later_today, due_today
from ftlab.assessment.selfquiz.revise import Reviser, ReviseConfig
from ftlab.assessment.selfquiz.store import Store

BANK = load_bank()
START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
SKIPPED = {4, 8, 9}
KINDS = ("card", "truefalse", "choice")  # answers whose points the script knows exactly


@dataclass
class Done:
    """One review the script made, as the script knows it."""

    item_id: str
    day: int
    points: float
    right: bool  # all points, no hint
    rating: str
    state_before: str  # the state this script's own model of Anki-style learning gives


def skill(item_id: str) -> int:
    return zlib.crc32(item_id.encode()) % 10


def knows(item_id: str, reviews_before: int) -> bool:
    """0: never (a leech), 1-2: only from the third review on, else always."""
    return skill(item_id) >= 3 or (skill(item_id) >= 1 and reviews_before >= 2)


def next_state(state: str, rating: str) -> str:
    """One learning step, one relearning step: good/easy graduate, a miss of a learned item relearns."""
    if state == "review":
        return "relearning" if rating == "again" else "review"
    return "review" if rating in ("good", "easy") else state


class Learner:
    """Answers through a real QuizSession and keeps its own ledger of what it did."""

    def __init__(self, reviser: Reviser):
        self.reviser, self.ledger, self.state = reviser, [], {}

    def answer(self, session: QuizSession, item, day: int, right: bool | None = None) -> None:
        before = [d for d in self.ledger if d.item_id == item.id]
        right = knows(item.id, len(before)) if right is None else right
        hints = (skill(item.id) == 5) + 2 * (skill(item.id) == 6) if not before and item.kind != "card" else 0
        hints = min(hints, len(getattr(item, "hints", ())))  # a ladder of one rung gives one hint
        for _ in range(hints):
            session.hint(item.id)
        if item.kind == "card":
            rating = ("hard" if skill(item.id) == 7 else "good") if right else "again"
            session.submit(item.id, rating)
            points = {"again": 0.0, "hard": 0.5, "good": 1.0}[rating]
        else:
            session.submit(item.id, item.answer if right else (item.answer + 1) % len(item.options))
            points = item.max_score * (1.0, 0.5, 0.0)[hints] if right else 0.0
            rating = ("good", "hard", "again")[hints] if right else "again"
        state = self.state.get(item.id, "learning")
        self.ledger.append(Done(item.id, day, points, right and not hints and points == item.max_score, rating, state))
        self.state[item.id] = next_state(state, rating)


def expected_topic(learner: Learner, topic: str, leeches: set[str]) -> dict:
    ids = [i.id for i in BANK.select(topic=topic) if i.kind in KINDS and not i.retired]
    done = [d for d in learner.ledger if d.item_id in ids]
    returns, last_day = [], {}
    for d in done:
        if d.item_id in last_day and d.day > last_day[d.item_id] and d.state_before == "review":
            returns.append(d)
        last_day[d.item_id] = d.day
    latest = {d.item_id: d for d in done}
    back = {d.item_id for d in returns if d.rating != "again"}
    known = sum(0 if i not in latest or i in leeches or not latest[i].right else 1 if i in back else 0.5 for i in ids)
    return {"first_right": sum(d.right for d in done), "first_tries": len(done), "returns": len(returns),
            "retention": sum(d.rating != "again" for d in returns) / len(returns) if returns else None,
            "seen": len(latest), "mastery": known / len(ids)}


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def figures_of(rep) -> list[tuple]:
    return [(m.topic, m.seen, m.first_right, m.first_tries, m.retention, m.returns, m.mastery) for m in rep.topics]


def test_a_scripted_learner_over_14_days_sees_only_true_numbers(tmp_path, monkeypatch, utc):
    config = ReviseConfig(new_per_day=6, fuzzing=False, kinds=KINDS)
    with Store(tmp_path / "learner.sqlite3") as store:
        reviser = Reviser(BANK, store, config)
        learner = Learner(reviser)
        promised = None  # yesterday's forecast for today
        for day in range(14):
            if day in SKIPPED:
                promised = None
                continue
            monkeypatch.setenv("FTLAB_NOW", (START + timedelta(days=day)).isoformat())
            queue = reviser.queue()
            before = report(reviser)
            unseen = sum(i.kind in KINDS and not i.retired for i in BANK.items) - len(learner.state)
            assert before.due_reviews == len(queue.reviews) and len(queue.new) == before.new_today == min(6, unseen)
            assert queue.header().endswith(f"After it, 0 new item(s) may still start today.")
            if promised is not None:
                assert len(queue.reviews) == promised, day
            buried = None
            if day == 3:  # bury one due review: it leaves today's queue and its topic's due count
                buried = queue.reviews[0]
                store.set_flag(buried.id, buried_until=START + timedelta(days=day, hours=1))
                topic_due = {m.topic: m.due for m in report(reviser)}
                assert topic_due[buried.topic] == {m.topic: m.due for m in before}[buried.topic] - 1
                queue = reviser.queue()
                assert buried not in queue.items
            session = QuizSession(queue.items, reviser, source="revise")
            stop = len(queue.items) // 2 if day == 6 else len(queue.items)  # day 6: :quit halfway
            for item in queue.items[:stop]:
                learner.answer(session, item, day)
            today = learner.ledger[-stop:]
            got, possible = sum(d.points for d in today), sum(BANK.get(d.item_id).max_score for d in today)
            assert session.score == pytest.approx((got, possible))
            assert f"First attempts: {stop} of {len(queue.items)} answered; score {got:g} / {possible:g}" \
                in session.summary()
            left = {i.id for i in queue.items[stop:]}
            if left:
                assert f"{len(left)} not answered (they stay due)" in session.summary()
            learning = {d.item_id for d in today if learner.state[d.item_id] != "review"}
            after = report(reviser)
            assert len(after.later_today) == len(learning)  # misses and "hard" first steps come back later today
            if day == 5 and learning:  # a quiz a minute later, answered right, is practice: nothing moves
                item = BANK.get(sorted(learning)[0])
                monkeypatch.setenv("FTLAB_NOW", (START + timedelta(days=day, minutes=1)).isoformat())
                cards = {i: c.to_json() for i, c in store.cards().items()}
                quiz = QuizSession([item], reviser)
                quiz.submit(item.id, "good" if item.kind == "card" else item.answer)
                assert {i: c.to_json() for i, c in store.cards().items()} == cards
                assert figures_of(report(reviser)) == figures_of(after)
            # 10:30: the learning steps are over; misses, first steps and a stopped session's rest come back
            monkeypatch.setenv("FTLAB_NOW", (START + timedelta(days=day, minutes=30)).isoformat())
            relearn = reviser.queue()
            assert {i.id for i in relearn.items} == learning | left and not relearn.later
            session = QuizSession(relearn.items, reviser, source="revise")
            for item in relearn.items:
                learner.answer(session, item, day, right=True if item.id in learning else None)
            evening = report(reviser)
            promised = evening.forecast[0][1] + len(evening.later_today) + (buried is not None)
        leeches = set(reviser.leeches())
        failed = {i: sum(d.rating == "again" for d in learner.ledger if d.item_id == i) for i in learner.state}
        assert leeches == {i for i, n in failed.items() if n >= config.leech_after} != set()
        final = report(reviser)
        returns = 0
        for m in final.topics:
            want = expected_topic(learner, m.topic, leeches)
            got = {"first_right": m.first_right, "first_tries": m.first_tries, "returns": m.returns,
                   "retention": m.retention, "seen": m.seen, "mastery": m.mastery}
            assert got == pytest.approx(want), m.topic
            returns += m.returns
        assert returns > 10  # the script made returns enough to measure retention on
        assert any(m.mastery < m.seen / m.items for m in final.topics)  # exposure alone is not mastery
        assert sum(final.activity.values()) == len(learner.ledger) and final.streak == 4  # days 10-13


def test_due_today_ends_with_the_learners_day_and_the_header_says_what_comes_later(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        now = datetime(2026, 3, 5, 13, 15, tzinfo=timezone.utc)  # 08:15 in New York
        assert day_end(now) == datetime(2026, 3, 6, 9, 0, tzinfo=timezone.utc)  # 04:00 the next morning there
        evening = Card(state=State.Review, due=datetime(2026, 3, 5, 22, 30, tzinfo=timezone.utc))  # 17:30 there
        tomorrow = Card(state=State.Review, due=datetime(2026, 3, 6, 9, 30, tzinfo=timezone.utc))
        step = Card(state=State.Learning, due=now + timedelta(hours=3))
        assert due_today(evening, now) and not due_today(tomorrow, now)
        assert not due_today(step, now) and due_later_today(step, now)
        with Store(tmp_path / "tz.sqlite3") as store:
            reviser = Reviser(BANK, store, ReviseConfig(fuzzing=False))
            item = BANK.get("lr-mc-large")
            session = QuizSession([item], reviser, source="revise")
            session.submit(item.id, (item.answer + 1) % len(item.options), now=now)
            queue = reviser.queue(now)
            assert [i for i, _ in queue.later] == [item]
            assert "Later today: 1 item(s) in a learning step come back from 08:" in queue.header()
            assert "Later today: 1 more, from 08:" in str(report(reviser, now))
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_scorers_verdict_bounds_the_learners_rating():
    explain = BANK.get("recipe-explain-steps")
    wrong = grade(explain, "Freeze nothing and train everything with a big learning rate from the start.")
    assert bounded("good", wrong) == "again"
    assert bounded("easy", grade(explain, explain.solution)) == "easy"


def test_a_diagnosed_miss_rated_good_counts_as_a_miss_and_is_not_back_in_a_minute_as_good(tmp_path, monkeypatch):
    from dataclasses import replace

    import ftlab.assessment.selfquiz.session as session_module

    real_grade = session_module.grade  # an unsure grade that still names a mistake, as the scorer may give
    monkeypatch.setattr(session_module, "grade", lambda item, answer, *context: replace(
        real_grade(item, answer, *context), confident=False, rating=None, correct=False, diagnosis="a high rate is safe"))
    item = BANK.get("lr-explain-high")
    with Store(tmp_path / "d.sqlite3") as store:
        reviser = Reviser(BANK, store, ReviseConfig(fuzzing=False))
        session = QuizSession([item], reviser, source="revise")
        session.submit(item.id, "A high learning rate is fine, it just trains faster.", now=START)
        assert session.rate(item.id, "good", now=START) == "again"
        assert [a.rating for a in store.answers()] == ["again"]
        assert store.cards()[item.id].due == START + timedelta(minutes=1)  # soon, as a miss, and rated as one
        other = BANK.get("recipe-explain-steps")  # through the reviser directly, "good" never brings the delay
        diagnosed = replace(grade(other, other.solution), diagnosis="a slip", correct=False)
        reviser.record(other, other.solution, diagnosed, START, rating="good")
        assert store.cards()[other.id].due > START + timedelta(days=1)
