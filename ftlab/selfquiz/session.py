"""A quiz session: which items to ask, and the answers and grades kept as plain Python values in the kernel."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ftlab.bank import DIFFICULTIES, Bank, Grade, Item, Outcome, grade
from ftlab.selfquiz.revise import Reviser


def pick(bank: Bank, topic: str | None = None, difficulty: str | None = None, n: int = 10,
         kinds: tuple[str, ...] | None = None, seed: int | None = None) -> list[Item]:
    """Up to n matching items, shuffled and dealt round-robin over topics so a mixed test covers the course."""
    pool = [item for item in bank.select(topic=topic, difficulty=difficulty) if kinds is None or item.kind in kinds]
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


@dataclass
class QuizSession:
    """Items being asked; answers and grades live here, keyed by item id, so code (and nbgrader) can read them."""

    items: list[Item]
    reviser: Reviser | None = None
    source: str = "quiz"
    answers: dict[str, Any] = field(default_factory=dict)
    grades: dict[str, Grade] = field(default_factory=dict)
    notice: str | None = None

    def item(self, item_id: str) -> Item:
        """The session's item with this id."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(f"{item_id!r} is not in this quiz; its items are {[i.id for i in self.items]}")

    def submit(self, item_id: str, answer: Any, now: datetime | None = None) -> Grade:
        """Grade an answer, keep it, and (with a store) save and schedule it for revision."""
        item = self.item(item_id)
        self.answers[item_id] = answer
        if self.reviser is not None:
            result = self.reviser.answer(item, answer, now=now, source=self.source)
        else:
            result = grade(item, answer)
        self.grades[item_id] = result
        return result

    def check(self, item_id: str, **objects: Any) -> Grade:
        """Check a coding exercise of this quiz on live objects, e.g. q.check("ex-freeze-all", model=model)."""
        return self.submit(item_id, objects)

    @property
    def score(self) -> tuple[float, float]:
        """(points scored, points possible) over every item of the session."""
        possible = sum(len(i.concepts) if i.kind == "explain" else 1.0 for i in self.items)
        return sum(g.score for g in self.grades.values()), possible

    def summary(self) -> str:
        """One line: answered count and score."""
        got, possible = self.score
        answered = sum(g.outcome is not Outcome.NOT_ATTEMPTED for g in self.grades.values())
        return f"Answered {answered} of {len(self.items)}; score {got:g} / {possible:g}."

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from ftlab.selfquiz.widgets import render

        display(render(self))
