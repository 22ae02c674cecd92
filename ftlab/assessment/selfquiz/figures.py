"""Every figure a learner sees, defined once: score, first try, retention, mastery, due today and the forecast.

The README's "What the numbers mean" says each in one line; the report, the session summary and the queue only
count with these functions.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from fsrs import Card, State

from ftlab.assessment.bank import RATINGS, Grade, Outcome
from ftlab.assessment.selfquiz.store import AnswerRecord

DAY_STARTS = timedelta(hours=4)  # as in Anki, a late-night session still counts for the day before
HINT_CREDIT = (1.0, 0.5, 0.0)  # share of an answer's points kept after 0, 1, 2 or more hints


def study_day(when: datetime) -> date:
    """The learner's study day of a time: local time (the system's time zone, $TZ), rolling over at 04:00."""
    return (when.astimezone() - DAY_STARTS).date()


def day_end(now: datetime) -> datetime:
    """When the study day of `now` ends: the next 04:00 in the learner's time zone."""
    local = now.astimezone()
    return datetime.combine(study_day(now) + timedelta(days=1), time(), local.tzinfo) + DAY_STARTS


def with_hints(rating: str, hints: int) -> str:
    """The rating after help: one hint makes a right answer at best 'hard', the second (strong) one 'again'."""
    if hints >= 2:
        return "again"
    return "hard" if hints == 1 and rating in ("good", "easy") else rating


def credited(result: Grade, hints: int) -> Grade:
    """The grade a first attempt keeps after hints: one hint halves its points, two leave none, and a hinted
    answer is never "Correct"; its rating is lowered to match (with_hints)."""
    if not hints or result.outcome is Outcome.NOT_ATTEMPTED:
        return result
    score = min(result.score, result.max_score * HINT_CREDIT[min(hints, 2)])
    what = "your right answer" if result.correct else "this answer"
    note = f"With {hints} hint(s) {what} earns {score:g} of {result.max_score:g}. "
    feedback = note + re.sub(r"^(Yes|Correct)[,:!.]\s*", "", result.feedback)  # "Yes" would contradict the verdict
    return replace(result, score=score, correct=False, outcome=None, feedback=feedback,
                   rating=with_hints(result.rating, hints) if result.rating else None)


def bounded(rating: str, result: Grade) -> str:
    """A self-rating no better than the scorer's verdict allows: a mistake it diagnosed, or an answer in which it
    found nothing, is a miss ('again'); otherwise at most one step above what the points alone would say."""
    if (result.diagnosis and not result.correct) or result.score <= 0:
        return "again"
    fraction = result.score / result.max_score if result.max_score else 0.0
    ceiling = "easy" if fraction >= 1 else "good" if fraction >= 0.5 else "hard"
    return min(rating, ceiling, key=RATINGS.index)


def right(record: AnswerRecord | Grade) -> bool:
    """First try right: the review earned all its points (a hint costs points, a 'hard' card earns half)."""
    return record.score >= record.max_score > 0


def recalled(record: AnswerRecord) -> bool:
    """A review that recalled the item: rated hard or better (the rating is bounded by the scorer's verdict)."""
    return record.rating not in (None, "again")


def session_score(grades: dict[str, Grade]) -> tuple[float, float]:
    """(points, possible) over the first attempts answered in a session; unanswered items are not counted."""
    return sum(g.score for g in grades.values()), sum(g.max_score for g in grades.values())


def returns(reviews: Iterable[AnswerRecord]) -> list[AnswerRecord]:
    """The reviews retention is measured on: an item you had learned (its card in FSRS's review state, so not
    just failed) coming back on a later study day than its previous review."""
    last_day: dict[str, date] = {}
    found = []
    for record in reviews:
        day = study_day(record.answered_at)
        if record.item_id in last_day and day > last_day[record.item_id] and record.state_before == State.Review:
            found.append(record)
        last_day[record.item_id] = day
    return found


def retention(reviews: Iterable[AnswerRecord]) -> tuple[float | None, int]:
    """(share of returns recalled, number of returns); None before any return (Anki's "true retention")."""
    came_back = returns(reviews)
    return (sum(map(recalled, came_back)) / len(came_back) if came_back else None), len(came_back)


def mastery(item_ids: Iterable[str], reviews: list[AnswerRecord], leeches: Iterable[str] = ()) -> float:
    """Share of a topic's items you know: an item counts 1 when its latest review was right on first try and it
    has been recalled on a return, 1/2 when right but not yet back, 0 when missed, unseen or a leech."""
    ids = list(item_ids)
    latest = {r.item_id: r for r in reviews}
    back = {r.item_id for r in returns(reviews) if recalled(r)}
    value = sum(0 if i not in latest or i in set(leeches) or not right(latest[i]) else 1 if i in back else 0.5
                for i in ids)
    return value / len(ids) if ids else 0.0


def due_today(card: Card, now: datetime) -> bool:
    """Due today: a learned card due before the study day ends (as in Anki, it can be reviewed all day); a card
    still in a learning step only once its step is over."""
    return card.due <= now or (card.state == State.Review and card.due < day_end(now))


def due_later_today(card: Card, now: datetime) -> bool:
    """In a learning step that ends later today: not askable yet, but part of today."""
    return not due_today(card, now) and card.due < day_end(now)


def forecast(cards: Iterable[Card], now: datetime, days: int = 7) -> list[tuple[date, int]]:
    """Reviews falling due on each of the next `days` study days (today's are in due today)."""
    today = study_day(now)
    counts: dict[date, int] = {}
    for card in cards:
        if card.due >= day_end(now):
            counts[study_day(card.due)] = counts.get(study_day(card.due), 0) + 1
    return [(today + timedelta(days=k), counts.get(today + timedelta(days=k), 0)) for k in range(1, days + 1)]


HEATMAP = ((0, "."), (5, "-"), (15, "+"))  # reviews a day below each bound -> mark; "#" above
HEATMAP_LEGEND = ". no reviews, - 1-4, + 5-14, # 15 or more"


def heat(n: int) -> str:
    """One heatmap mark for a day with n reviews."""
    if n == 0:
        return "."
    return next((mark for bound, mark in HEATMAP[1:] if n < bound), "#")
