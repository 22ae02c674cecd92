"""Typed question-bank items and grades: the shared vocabulary of quizzes, revision and nbgrader."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from html import escape

DIFFICULTIES = ("beginner", "intermediate", "easy", "medium", "hard")
KINDS = ("card", "choice", "truefalse", "explain", "exercise")
RATINGS = ("again", "hard", "good", "easy")


class Outcome(str, Enum):
    """Learntools-style verdict of one attempt, so messages can be styled by kind."""

    CORRECT = "Correct"
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

    def __post_init__(self) -> None:
        if self.outcome is None:
            object.__setattr__(self, "outcome", Outcome.CORRECT if self.correct else Outcome.INCORRECT)

    def __str__(self) -> str:
        text = f"{self.outcome.value}: {self.feedback}"
        return f"{text}\nWhy: {self.diagnosis}" if self.diagnosis else text

    def _repr_html_(self) -> str:
        colour = {"Correct": "#1a7f37", "Incorrect": "#b42318"}.get(self.outcome.value, "#9a6700")
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


@dataclass(frozen=True)
class Item:
    """Fields every bank item has; the id is stable across bank versions."""

    id: str
    kind: str
    topic: str
    difficulty: str
    prompt: str


@dataclass(frozen=True)
class Card(Item):
    """Recall card: rate yourself again/hard/good/easy, or type an answer scored on the card's one or two concepts."""

    answer: str = ""
    concepts: list[Concept] = field(default_factory=list)


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


@dataclass(frozen=True)
class Explain(Item):
    """Free-text question scored by how many rubric concepts the answer covers."""

    concepts: list[Concept] = field(default_factory=list)
    model_answer: str = ""  # shown to learners after their first check; pasting it earns nothing
    hint: str = ""
    solution: str = ""  # another full-credit answer, never shown to learners: solution notebooks and tests


@dataclass(frozen=True)
class Exercise(Item):
    """Coding exercise checked on live objects by the class named in ftlab.exercises.EXERCISES."""

    exercise: str = ""
