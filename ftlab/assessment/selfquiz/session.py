"""A quiz session: which items to ask, and the answers and grades kept as plain Python values in the kernel.

In a revision session (source "revise") the first attempt at an item is its review (scored, scheduled); later
attempts are practice. A quiz (source "quiz") is practice throughout: its first attempts make its score, but it
never touches the schedule, the first-try figures or retention.
"""
from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ftlab.assessment.bank import (DIFFICULTIES, RATINGS, Bank, Choice, Context, Exercise, Explain, Grade, Item,
                                   Outcome, grade)
from ftlab.assessment.selfquiz.exercise_link import exercise_checked
from ftlab.assessment.selfquiz.figures import bounded, credited, session_score
from ftlab.assessment.selfquiz.revise import Reviser


def pick(bank: Bank, topic: str | None = None, difficulty: str | None = None, n: int = 10,
         kinds: tuple[str, ...] | None = None, seed: int | None = None) -> list[Item]:
    """Up to n matching items, shuffled and dealt round-robin over topics so a mixed test covers the course."""
    if n < 1:
        raise ValueError(f"n must be a positive number of items, got {n}")
    if topic is not None and topic not in bank.topics:
        raise ValueError(f"unknown topic {topic!r}; topics: {', '.join(bank.topics)}")
    if difficulty is not None and difficulty not in DIFFICULTIES:
        raise ValueError(f"unknown difficulty {difficulty!r}; difficulties: {', '.join(DIFFICULTIES)}")
    pool = [item for item in bank.select(topic=topic, difficulty=difficulty)
            if (kinds is None or item.kind in kinds) and not item.retired]
    if not pool:
        raise ValueError(f"no bank items for topic={topic!r}, difficulty={difficulty!r}; "
                         f"topics: {', '.join(bank.topics)}; difficulties: {', '.join(DIFFICULTIES)}")
    rng = random.Random(seed)
    by_topic: dict[str, list[Item]] = {}
    for item in rng.sample(pool, len(pool)):
        by_topic.setdefault(item.topic, []).append(item)
    picked: list[Item] = []
    while len(picked) < n and any(by_topic.values()):
        for items in by_topic.values():
            if items and len(picked) < n:
                picked.append(items.pop())
    return picked


def shuffle_options(items: list[Item], learner: str, session: str) -> list[Item]:
    """Choice items with their options in an order of their own for this learner and session."""
    rng = random.Random(zlib.crc32(f"{learner}/{session}".encode()))
    return [item.shuffled(rng) if isinstance(item, Choice) else item for item in items]


@dataclass
class QuizSession:
    """Items being asked; answers and grades live here, keyed by item id, so code (and nbgrader) can read them."""

    items: list[Item]
    reviser: Reviser | None = None
    source: str = "quiz"
    notice: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)  # the latest answer to each item
    grades: dict[str, Grade] = field(default_factory=dict)  # the first attempt's grade: what the score counts
    practice: dict[str, list[Grade]] = field(default_factory=dict)  # later attempts, not counted
    hints_used: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, str] = field(default_factory=dict)  # the review rating recorded for each first attempt
    pending: dict[str, Any] = field(default_factory=dict)  # unsure first attempts waiting for the learner's rating
    set_aside: set[str] = field(default_factory=set)  # items suspended or buried during the session
    _done: list[tuple[str, str]] = field(default_factory=list)  # (item id, "review" | "practice"), for undo

    def item(self, item_id: str) -> Item:
        """The session's item with this id."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(f"{item_id!r} is not in this quiz; its items are {[i.id for i in self.items]}")

    def hint(self, item_id: str) -> str:
        """The next rung of the item's hint ladder (the last rung again once all are shown); each rung taken
        before the first attempt lowers that attempt's rating."""
        ladder = getattr(self.item(item_id), "hints", [])
        if not ladder:
            return "No hint for this one."
        if item_id not in self.grades:
            self.hints_used[item_id] = min(len(ladder), self.hints_used.get(item_id, 0) + 1)
        return ladder[max(self.hints_used.get(item_id, 1), 1) - 1]

    @property
    def schedules(self) -> bool:
        """Whether first attempts are reviews that move the schedule (revision), not practice (a quiz)."""
        return self.source == "revise"

    def submit(self, item_id: str, answer: Any, now: datetime | None = None, typed: str | None = None) -> Grade:
        """Grade an answer; the first of the session counts (after hints, figures.credited) and, in revision, is
        the review; later ones are practice. `typed`: what the learner wrote before revealing a card, saved too."""
        item = self.item(item_id)
        model = item.model_answer if isinstance(item, Explain) else getattr(item, "answer", "")
        # the model answer is on screen only after a first attempt of this session: pasting it then earns nothing;
        # so are the hints taken
        taken = tuple(getattr(item, "hints", [])[:self.hints_used.get(item_id, 0)])
        result = grade(item, answer, Context(shown=(model,) if item_id in self.grades else (), hints=taken))
        if isinstance(item, Exercise):  # a failed live check makes the concept's recall items due
            result = exercise_checked(item.id, result)
        if result.outcome is Outcome.NOT_ATTEMPTED:
            return result
        self.answers[item_id] = answer
        saved = answer if typed is None else {"rating": answer, "typed": typed}
        if item_id in self.grades:
            self.practice.setdefault(item_id, []).append(result)
            if self.reviser is not None:
                self.reviser.record(item, saved, result, now, self.source, attempt="practice")
            self._done.append((item_id, "practice"))
            return result
        result = credited(result, self.hints_used.get(item_id, 0))
        self.grades[item_id] = result
        if result.rating is None:  # the scorer is unsure: the learner rates, see rate()
            self.pending[item_id] = saved
            return result
        self._save_review(item, saved, result, result.rating, now)
        return result

    def rate(self, item_id: str, rating: str | int, now: datetime | None = None) -> str:
        """The learner's own rating of a first attempt the scorer was unsure about, bounded by the scorer's verdict
        (figures.bounded); returns the rating recorded."""
        if item_id not in self.pending:
            raise ValueError(f"{item_id!r} has no answer waiting for your rating")
        word = RATINGS[rating - 1] if isinstance(rating, int) and 1 <= rating <= 4 else str(rating).strip().lower()
        if word not in RATINGS:
            raise ValueError(f"rate with one of {', '.join(RATINGS)} (or 1-4), got {rating!r}")
        answer = self.pending.pop(item_id)
        result = self.grades[item_id]
        return self._save_review(self.item(item_id), answer, result, bounded(word, result), now)

    def _save_review(self, item: Item, answer: Any, result: Grade, rating: str, now: datetime | None) -> str:
        if self.reviser is not None:
            rating = self.reviser.record(item, answer, result, now, self.source, hints=self.hints_used.get(item.id, 0),
                                         rating=rating, attempt="review" if self.schedules else "practice")
        self.ratings[item.id] = rating
        self._done.append((item.id, "review"))
        return rating

    def undo(self) -> str | None:
        """Take back the latest answer of this session (and its saved record); returns its item id, or None."""
        if not self._done:
            return None
        item_id, attempt = self._done.pop()
        if self.reviser is not None:
            self.reviser.store.undo_last()
        if attempt == "practice":
            self.practice[item_id].pop()
        else:
            for table in (self.grades, self.ratings, self.answers):
                table.pop(item_id, None)
        return item_id

    def check(self, item_id: str, **objects: Any) -> Grade:
        """Check a coding exercise of this quiz on live objects, e.g. q.check("ex-freeze-all", model=model)."""
        return self.submit(item_id, objects)

    @property
    def score(self) -> tuple[float, float]:
        """(points scored, points possible) over the first attempts answered so far (figures.session_score)."""
        return session_score(self.grades)

    def summary(self) -> str:
        """One line: first attempts answered, their score, partial ones, what is left, and practice retries."""
        got, possible = self.score
        partial = sum(g.outcome is Outcome.PARTIAL for g in self.grades.values())
        retries = sum(len(g) for g in self.practice.values())
        asked = len(self.items) - len(self.set_aside - set(self.grades))
        text = f"First attempts: {len(self.grades)} of {asked} answered; score {got:g} / {possible:g}"
        text += f" ({partial} partial)." if partial else "."
        if left := asked - len(self.grades):
            text += f" {left} not answered" + (" (they stay due)." if self.schedules else ".")
        if self.set_aside:
            text += f" Set aside (suspended or buried): {len(self.set_aside)}."
        if retries:
            text += f" Practice retries: {retries} (not counted)."
        if self.pending:
            text += f" {len(self.pending)} answer(s) wait for your own rating."
        return text
