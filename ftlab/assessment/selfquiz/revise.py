"""Spaced repetition with fsrs: today's queue (reviews and new items counted apart), and answers as reviews."""
from __future__ import annotations

import os
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from fsrs import Card, Rating, Scheduler

from ftlab.assessment.bank import DIFFICULTIES, KINDS, RATINGS, Bank, Grade, Item, Outcome, grade, load_bank
from ftlab.assessment.selfquiz.figures import due_later_today, due_today, study_day, with_hints
from ftlab.assessment.selfquiz.store import Store, StoreError

# The kinds with a terminal view are revised outside a notebook (exercises need live objects).
REVISABLE = tuple(name for name, kind in KINDS.items() if kind.terminal)
# Teaching order of the topics: each one builds on those before it (the seeds' order, prerequisites first).
SYLLABUS = ("basics", "transfer", "freezing", "layers", "learning-rate", "optimizer", "recipe", "overfitting",
            "similarity", "batchnorm")
KIND_ORDER = ("card", "truefalse", "choice", "explain", "exercise")  # within a topic: learn the fact, then apply it
CLOCK_FORMAT = "an ISO 8601 time such as 2026-03-02T09:00+00:00 (no offset: UTC)"


@dataclass(frozen=True)
class ReviseConfig:
    """Scheduler and daily-limit settings for a course that runs over weeks (Anki-like defaults).

    One short learning step: a new item answered right goes straight to a days-long interval; a miss comes back
    within the same day. fsrs's default parameters are used, as its optimizer would below 512 reviews.
    """

    desired_retention: float = 0.9
    new_per_day: int = 10  # new items introduced per day, counted apart from reviews
    reviews_per_day: int = 100  # reviews of seen items per day
    learning_steps: tuple[timedelta, ...] = (timedelta(minutes=10),)
    relearning_steps: tuple[timedelta, ...] = (timedelta(minutes=10),)
    misconception_delay: timedelta = timedelta(minutes=1)  # a wrong pick with a known cause comes back this soon
    leech_after: int = 4  # failed reviews before an item is flagged as a leech (Anki: 8 lapses; a course is shorter)
    fuzzing: bool = True  # spread intervals a little so items seen together do not stay together (as Anki does)
    kinds: tuple[str, ...] = REVISABLE
    topics_per_round: int = 2  # syllabus topics opened per round of new items; 2 interleaves without rushing ahead


def utcnow() -> datetime:
    """The current time, timezone-aware UTC as fsrs requires; $FTLAB_NOW (ISO 8601) overrides it for testing."""
    override = os.environ.get("FTLAB_NOW")
    if not override:
        return datetime.now(timezone.utc)
    try:
        when = datetime.fromisoformat(override)
    except ValueError:
        raise ValueError(f"FTLAB_NOW={override!r} is not a time: set it to {CLOCK_FORMAT}, or unset it to use "
                         f"the clock") from None
    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)


def card_id(item_id: str) -> int:
    """A stable integer fsrs card id derived from the bank item id."""
    return zlib.crc32(item_id.encode())


def introduction_order(items: list[Item], topics_per_round: int = 2) -> list[Item]:
    """New items in syllabus order, interleaved: each round takes the next item of every open topic, and
    `topics_per_round` more topics open each round; within a topic, easy before hard and cards first."""
    rank = {topic: i for i, topic in enumerate(SYLLABUS)}
    queues: dict[str, list[Item]] = {}
    for _, item in sorted(enumerate(items), key=lambda p: (DIFFICULTIES.index(p[1].difficulty),
                                                           KIND_ORDER.index(p[1].kind), p[0])):
        queues.setdefault(item.topic, []).append(item)
    topics = sorted(queues, key=lambda t: rank.get(t, len(SYLLABUS)))
    order: list[Item] = []
    for round_ in range(len(items) + len(topics)):
        opened = topics[: topics_per_round * (round_ + 1)]
        order += [queues[topic].pop(0) for topic in opened if queues[topic]]
        if len(order) == len(items):
            break
    return order


@dataclass
class Queue:
    """What to study now: pulled items (with why), due reviews, then new items; and how much the limits held back."""

    pulled: list[Item] = field(default_factory=list)
    reviews: list[Item] = field(default_factory=list)
    new: list[Item] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # item id -> why it was pulled forward
    reviews_held: int = 0  # due reviews over today's review limit
    new_left: int = 0  # new items that may still start today: within the daily limit and not yet seen
    later: list[tuple[Item, datetime]] = field(default_factory=list)  # in a learning step that ends later today

    @property
    def items(self) -> list[Item]:
        """Pulled, then reviews, then new, each item once."""
        return list({item.id: item for item in (*self.pulled, *self.reviews, *self.new)}.values())

    def header(self, n: int | None = None) -> str:
        """One line a learner can act on: reviews and new items counted apart (within the first n asked)."""
        asked = self.items[:n]
        counts = Counter("pulled" if i in self.pulled else "review" if i in self.reviews else "new" for i in asked)
        line = f"This session: {counts['review']} review(s) due, {counts['new']} new item(s)"
        line += f", {counts['pulled']} pulled forward by a failed exercise." if counts["pulled"] else "."
        held = len(self.items) - len(asked) + self.reviews_held
        if held:
            line += f" {held} more wait (session size or daily review limit)."
        if self.later:
            first = min(due for _, due in self.later).astimezone()
            line += f" Later today: {len(self.later)} item(s) in a learning step come back from {first:%H:%M}."
        return line + f" After it, {self.new_left - counts['new']} new item(s) may still start today."


class Reviser:
    """Connects bank, fsrs scheduler and store: answers are scheduled and saved atomically."""

    def __init__(self, bank: Bank, store: Store, config: ReviseConfig | None = None):
        self.bank, self.store, self.config = bank, store, config or ReviseConfig()
        self.scheduler = Scheduler(desired_retention=self.config.desired_retention,
                                   learning_steps=self.config.learning_steps,
                                   relearning_steps=self.config.relearning_steps,
                                   enable_fuzzing=self.config.fuzzing)

    def pool(self, topic: str | None = None, now: datetime | None = None) -> list[Item]:
        """Revisable items of a topic (all topics: None), less suspended and buried ones."""
        if topic is not None and topic not in self.bank.topics:
            raise ValueError(f"unknown topic {topic!r}; topics: {', '.join(self.bank.topics)}")
        now = now or utcnow()
        flags = self.store.flags()
        return [item for item in self.bank.select(topic=topic) if item.kind in self.config.kinds and not item.retired
                and not flags.get(item.id, (False, None))[0]
                and not ((buried := flags.get(item.id, (False, None))[1]) and buried > now)]

    def done_today(self, now: datetime) -> tuple[int, int]:
        """(reviews, new items) answered for the first time in a session during today's study day."""
        first_seen: dict[str, datetime] = {}
        reviews = 0
        today = study_day(now)
        for record in self.store.answers():
            if record.attempt != "review":
                continue
            if record.item_id not in first_seen:
                first_seen[record.item_id] = record.answered_at
            elif study_day(record.answered_at) == today:
                reviews += 1
        return reviews, sum(study_day(t) == today for t in first_seen.values())

    def queue(self, now: datetime | None = None, topic: str | None = None) -> Queue:
        """Today's queue: pulled items, due reviews (most overdue first) and new items, within the daily limits."""
        now = now or utcnow()
        pool = self.pool(topic, now)
        cards, pulls = self.store.cards(), self.store.pulled()
        reviews_done, new_done = self.done_today(now)
        due = sorted((i for i in pool if i.id in cards and due_today(cards[i.id], now) and i.id not in pulls),
                     key=lambda i: cards[i.id].due)
        later = sorted(((i, cards[i.id].due) for i in pool if i.id in cards and due_later_today(cards[i.id], now)
                        and i.id not in pulls), key=lambda pair: pair[1])
        review_room = max(0, self.config.reviews_per_day - reviews_done)
        unseen = [i for i in introduction_order(pool, self.config.topics_per_round)
                  if i.id not in cards and i.id not in pulls]
        new_left = min(len(unseen), max(0, self.config.new_per_day - new_done))
        pulled = [i for i in pool if i.id in pulls]
        return Queue(pulled, due[:review_room], unseen[:new_left], {i.id: pulls[i.id] for i in pulled},
                     max(0, len(due) - review_room), new_left, later)

    def due(self, now: datetime | None = None, topic: str | None = None) -> list[Item]:
        """The items of today's queue, in the order to ask them (figures.due_today says what is due)."""
        return self.queue(now, topic).items

    def record(self, item: Item, answer: Any, result: Grade, now: datetime | None = None, source: str = "revise",
               attempt: str = "review", hints: int = 0, rating: str | None = None,
               duration_ms: int | None = None) -> str | None:
        """Save a graded answer. A review also reschedules the card; the rating is the grade's (or the learner's,
        when the scorer was unsure), lowered for hints. Returns the rating used (None: nothing was saved)."""
        if result.outcome is Outcome.NOT_ATTEMPTED:
            return None
        rating = rating or result.rating
        now = now or utcnow()
        if attempt != "review":
            self.store.record(result, answer, now, source, attempt=attempt, rating=rating, hints=hints)
            return rating
        if rating not in RATINGS:
            raise ValueError(f"the scorer was unsure of {item.id!r}: rate yourself, one of {', '.join(RATINGS)}")
        rating = with_hints(rating, hints)
        before = self.store.cards().get(item.id)
        card = before or Card(card_id=card_id(item.id), due=now)
        card, log = self.scheduler.review_card(card, Rating[rating.capitalize()], now, duration_ms)
        if rating == "again" and result.diagnosis and not result.correct:
            card.due = min(card.due, now + self.config.misconception_delay)
        self.store.record(result, answer, now, source, card=card, log=log, attempt=attempt, rating=rating,
                          hints=hints, card_before=before)
        self.store.close_pulls(item.id)
        return rating

    def answer(self, item: Item, answer: Any, now: datetime | None = None, source: str = "revise",
               attempt: str = "review", hints: int = 0, rating: str | None = None,
               duration_ms: int | None = None) -> Grade:
        """Grade an answer and record it (see record)."""
        result = grade(item, answer)
        self.record(item, answer, result, now, source, attempt, hints, rating, duration_ms)
        return result

    def leeches(self) -> dict[str, int]:
        """Items failed in `leech_after` or more reviews -> number of failed reviews."""
        failed = Counter(r.item_id for r in self.store.answers() if r.attempt == "review" and r.rating == "again")
        return {item_id: n for item_id, n in failed.items() if n >= self.config.leech_after}

    def pull_for_exercise(self, exercise_id: str, feedback: str, now: datetime | None = None) -> list[Item]:
        """A coding exercise failed its live check: its concept's recall items are due now, with the reason."""
        exercise = self.bank.get(exercise_id)
        items = [self.bank.get(i) for i in getattr(exercise, "recall", ())]
        reason = f"your check of {exercise_id!r} failed ({feedback.strip()[:120]})"
        self.store.pull([i.id for i in items], reason, now or utcnow())
        return items


def open_reviser(learner: str | None = None, bank: Bank | None = None,
                 config: ReviseConfig | None = None) -> tuple[Reviser | None, str | None]:
    """A reviser on the learner's progress store, or (None, why) when the store cannot be opened: a quiz still
    works then, without saving."""
    try:
        return Reviser(bank or load_bank(), Store(learner=learner), config or ReviseConfig()), None
    except StoreError as err:
        return None, f"{err} The quiz still works, but answers will not be saved."
