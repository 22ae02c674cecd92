"""Typed question-bank items and grades: the shared vocabulary of quizzes, revision and nbgrader."""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from enum import Enum
from html import escape
from typing import Any

DIFFICULTIES = ("easy", "medium", "hard")
RATINGS = ("again", "hard", "good", "easy")


class Outcome(str, Enum):
    """Learntools-style verdict of one attempt, so messages can be styled by kind."""

    CORRECT = "Correct"
    PARTIAL = "Partial"
    INCORRECT = "Incorrect"
    NOT_ATTEMPTED = "NotAttempted"


@dataclass(frozen=True)
class Grade:
    """Result of grading one answer: score, student-facing feedback and a known-misconception diagnosis."""

    item_id: str
    score: float
    max_score: float
    correct: bool
    feedback: str
    missing: list[str] = field(default_factory=list)
    diagnosis: str | None = None
    outcome: Outcome | None = None
    confident: bool = True  # False: the scorer is unsure; a person confirms the score (nbgrader manual grade, self-rating)
    flags: tuple[str, ...] = ()  # why an answer earned no credit for some parts: "keyword-list", "echo", "pasted", ...
    rating: str | None = None  # the review rating in RATINGS; None when unsure (the learner rates) or not attempted
    evidence: tuple[tuple[str, str, str], ...] = ()  # free text: (concept, "asserted"/"contradicted", the words quoted)

    def __post_init__(self) -> None:
        if self.outcome is None:
            full, some = self.score >= self.max_score > 0, self.score > 0
            outcome = Outcome.CORRECT if full and self.correct else Outcome.PARTIAL if some else Outcome.INCORRECT
            object.__setattr__(self, "outcome", outcome)
        if self.rating is None and self.confident and self.outcome is not Outcome.NOT_ATTEMPTED:
            fraction = self.score / self.max_score if self.max_score else 0.0
            object.__setattr__(self, "rating", "good" if fraction >= 1 else "hard" if fraction >= 0.5 else "again")

    def __str__(self) -> str:
        text = f"{self.outcome.value}: {self.feedback}"
        return f"{text}\nWhy: {self.diagnosis}" if self.diagnosis else text

    def _repr_html_(self) -> str:
        colour = {"Correct": "#1a7f37", "Partial": "#9a6700", "Incorrect": "#b42318"}.get(self.outcome.value, "#9a6700")
        text = f"<span style='color:{colour}'><b>{self.outcome.value}</b></span> {escape(self.feedback)}"
        return text + (f"<br><i>Why:</i> {escape(self.diagnosis)}" if self.diagnosis else "")


@dataclass(frozen=True)
class Misconception:
    """A wrong belief that contradicts a concept, with the phrasings that state it; feedback names it."""

    name: str
    phrasings: list[str]


@dataclass(frozen=True)
class Concept:
    """One idea an answer should state, the phrasings that state it and the misconceptions that contradict it."""

    name: str
    phrasings: list[str]
    misconceptions: list[Misconception] = field(default_factory=list)
    check_when_absent: bool = False  # held-out answers said it in words no phrasing reached: when none is found, a
    # person checks (set from `python -m ftlab.bench scorer --calibration`)


@dataclass(frozen=True)
class Item:
    """Fields every bank item has; the id is stable across bank versions."""

    id: str
    kind: str
    topic: str
    difficulty: str
    prompt: str
    retired: str = ""  # why the item is kept (ids stay stable) but no longer asked in self-study; "" when active

    @property
    def max_score(self) -> float:
        """The points a full answer earns."""
        return 1.0


@dataclass(frozen=True)
class Card(Item):
    """Recall card: rate yourself again/hard/good/easy, or type an answer scored on the card's one or two concepts."""

    answer: str = ""
    concepts: list[Concept] = field(default_factory=list)
    solution: str = ""  # a typed full-credit answer, never shown (the answer is shown, so pasting it earns nothing)
    labelled: tuple = field(default=(), repr=False, compare=False)  # answers people labelled (reader.Labelled), read
    # from the bank folder's labelled.json.gz, never from an item's TOML


@dataclass(frozen=True)
class Choice(Item):
    """Multiple choice or true/false: one correct option index, a hint and the mistake behind each wrong option."""

    options: list[str] = field(default_factory=list)
    answer: int = 0
    explanation: str = ""
    hint: str = ""
    mistakes: dict[int, str] = field(default_factory=dict)

    @property
    def letters(self) -> list[str]:
        """Option labels A, B, C... in order."""
        return [chr(ord("A") + i) for i in range(len(self.options))]

    @property
    def hints(self) -> list[str]:
        """The hint ladder: the authored nudge, then (with 3+ options) half of the wrong options ruled out."""
        wrong = [self.options[i] for i in sorted(self.mistakes)][: len(self.options) // 2]
        if len(self.options) < 3 or not wrong:
            return [self.hint]
        return [self.hint, "It is not " + ", nor ".join(f'"{text}"' for text in wrong) + "."]

    def shuffled(self, rng: random.Random) -> Choice:
        """The same question with its options in another order (true/false keeps True first)."""
        if self.kind == "truefalse":
            return self
        order = rng.sample(range(len(self.options)), len(self.options))
        return replace(self, options=[self.options[i] for i in order], answer=order.index(self.answer),
                       mistakes={order.index(i): text for i, text in self.mistakes.items()})


@dataclass(frozen=True)
class Explain(Item):
    """Free-text question scored by how many rubric concepts the answer covers."""

    concepts: list[Concept] = field(default_factory=list)
    model_answer: str = ""  # shown to learners after their first check; pasting it earns nothing
    hint: str = ""
    solution: str = ""  # another full-credit answer, never shown to learners: solution notebooks and tests
    labelled: tuple = field(default=(), repr=False, compare=False)  # as Card.labelled

    @property
    def hints(self) -> list[str]:
        """The hint ladder: the authored nudge, then how many separate points a full answer makes.

        No rung states a concept: the scorer gives no credit for repeating a hint, seen or not.
        """
        return [self.hint, f"A full answer makes {len(self.concepts)} separate points."]

    @property
    def max_score(self) -> float:
        """One point per rubric concept."""
        return float(len(self.concepts))


@dataclass(frozen=True)
class Exercise(Item):
    """Coding exercise: the learner's live objects (`needs`) are graded by the check function named `check` in
    ftlab.assessment.bank.checks, called with the item's `settings`; all or nothing, worth `points`."""

    check: str = ""
    hint: str = ""
    solution: str = ""  # working code, shown on request (self-study) or kept in the course's solution notebook
    needs: list[str] = field(default_factory=lambda: ["model"])
    settings: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the check, e.g. num_classes
    setup: str = ""  # code that builds the objects first (the course's read-only cell); "" when the learner has them
    points: float = 1.0
    recall: list[str] = field(default_factory=list)  # cards of the concept it tests, scheduled when a check fails

    @property
    def hints(self) -> list[str]:
        """The hint ladder: the authored nudge, then the first line of the solution."""
        return [self.hint, f"It can start like this: {self.solution.splitlines()[0]}"]

    @property
    def max_score(self) -> float:
        """Its points: the course weighs exercises, self-study counts each as one."""
        return self.points

