"""Spaced repetition with fsrs: what is due, recording answers as reviews, and per-topic mastery."""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from fsrs import Card, Rating, Scheduler

from ftlab.bank import Bank, Grade, Item, Outcome, grade
from ftlab.bank.grading import card_rating
from ftlab.selfquiz.store import Store

# Exercises need live objects, so only these kinds are revised outside a notebook.
REVISABLE = ("card", "choice", "truefalse", "explain")


@dataclass(frozen=True)
class ReviseConfig:
    """Scheduler settings; misconception misses come back after `misconception_delay` at the latest."""

    desired_retention: float = 0.9
    new_per_session: int = 10
    misconception_delay: timedelta = timedelta(minutes=1)
    fuzzing: bool = False
    kinds: tuple[str, ...] = REVISABLE


@dataclass(frozen=True)
class Mastery:
    """How well one topic is known: items seen, recent accuracy, and mean fsrs recall probability."""

    topic: str
    items: int
    seen: int
    accuracy: float
    retrievability: float
    weak: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        bar = "#" * round(10 * self.retrievability)
        return (f"{self.topic:<14} {bar:<10} recall {self.retrievability:4.0%}  seen {self.seen}/{self.items}  "
                f"accuracy {self.accuracy:4.0%}")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC as fsrs requires."""
    return datetime.now(timezone.utc)


def card_id(item_id: str) -> int:
    """A stable integer fsrs card id derived from the bank item id."""
    return zlib.crc32(item_id.encode())


def rating_for(item: Item, answer: Any, result: Grade) -> Rating:
    """Cards: the self-rating. Other kinds: Good if fully right, Hard if at least half right, else Again."""
    if item.kind == "card":
        return Rating[card_rating(answer).capitalize()]
    fraction = result.score / result.max_score if result.max_score else 0.0
    return Rating.Good if fraction >= 1 else Rating.Hard if fraction >= 0.5 else Rating.Again


class Reviser:
    """Connects bank, fsrs scheduler and store: every answer is graded, scheduled and saved atomically."""

    def __init__(self, bank: Bank, store: Store, config: ReviseConfig | None = None):
        self.bank, self.store, self.config = bank, store, config or ReviseConfig()
        self.scheduler = Scheduler(desired_retention=self.config.desired_retention,
                                   enable_fuzzing=self.config.fuzzing)

    def due(self, now: datetime | None = None, topic: str | None = None) -> list[Item]:
        """Seen items whose review is due (most overdue first), then up to `new_per_session` unseen items."""
        if topic is not None and topic not in self.bank.topics:
            raise ValueError(f"unknown topic {topic!r}; topics: {', '.join(self.bank.topics)}")
        now = now or utcnow()
        cards = self.store.cards()
        pool = [item for item in self.bank.select(topic=topic) if item.kind in self.config.kinds]
        due = sorted((item for item in pool if item.id in cards and cards[item.id].due <= now),
                     key=lambda item: cards[item.id].due)
        fresh = [item for item in pool if item.id not in cards][: self.config.new_per_session]
        return due + fresh

    def answer(self, item: Item, answer: Any, now: datetime | None = None, source: str = "revise",
               duration_ms: int | None = None) -> Grade:
        """Grade the answer, reschedule the item's card, and save answer, card and review log together."""
        now = now or utcnow()
        result = grade(item, answer)
        if result.outcome is Outcome.NOT_ATTEMPTED:
            return result
        card = self.store.cards().get(item.id) or Card(card_id=card_id(item.id), due=now)
        card, log = self.scheduler.review_card(card, rating_for(item, answer, result), now, duration_ms)
        if result.diagnosis and not result.correct:
            card.due = min(card.due, now + self.config.misconception_delay)
        self.store.record(result, answer, now, source, card=card, log=log)
        return result

    def mastery(self, now: datetime | None = None) -> list[Mastery]:
        """Per-topic summary; unseen items count as zero recall so mastery means coverage too."""
        now = now or utcnow()
        cards = self.store.cards()
        last: dict[str, bool] = {r.item_id: r.correct for r in self.store.answers()}
        summary = []
        for topic in self.bank.topics:
            items = [i for i in self.bank.select(topic=topic) if i.kind in self.config.kinds]
            if not items:
                continue
            recall = [self.scheduler.get_card_retrievability(cards[i.id], now) if i.id in cards else 0.0
                      for i in items]
            seen = [i.id for i in items if i.id in last]
            accuracy = sum(last[i] for i in seen) / len(seen) if seen else 0.0
            weak = [i for i in seen if not last[i]]
            summary.append(Mastery(topic, len(items), len(seen), accuracy, sum(recall) / len(items), weak))
        return summary
