"""Self-study over the question bank: notebook quizzes, spaced revision and mastery, saved per learner."""
from __future__ import annotations

from ftlab.bank import Bank, load_bank
from ftlab.selfquiz.revise import Mastery, Reviser, ReviseConfig
from ftlab.selfquiz.session import QuizSession, pick
from ftlab.selfquiz.store import Store, StoreError

__all__ = ["Mastery", "QuizSession", "Reviser", "ReviseConfig", "Store", "StoreError", "mastery", "pick", "quiz",
           "revise", "show"]


def _reviser(learner: str | None, save: bool, bank: Bank | None = None) -> tuple[Reviser | None, str | None]:
    """A reviser on the learner's store, or None with the reason when progress cannot be saved."""
    if not save:
        return None, None
    try:
        return Reviser(bank or load_bank(), Store(learner=learner)), None
    except StoreError as err:
        return None, f"{err} This quiz still works, but answers will not be saved."


def quiz(topic: str | None = None, difficulty: str | None = None, n: int = 10, seed: int | None = None,
         kinds: tuple[str, ...] | None = None, learner: str | None = None, save: bool = True) -> QuizSession:
    """A quiz by topic, difficulty, or (neither) a mixed practice test; it displays itself as the cell's output."""
    bank = load_bank()
    reviser, notice = _reviser(learner, save, bank)
    items = pick(bank, topic, difficulty, n, kinds=kinds, seed=seed)
    return QuizSession(items, reviser, notice=notice)


show = quiz


def revise(n: int = 10, topic: str | None = None, learner: str | None = None) -> QuizSession:
    """A session of the items fsrs says are due now, then new ones; answers update the schedule."""
    reviser, notice = _reviser(learner, True)
    if reviser is None:
        raise StoreError(notice)
    return QuizSession(reviser.due(topic=topic)[:n], reviser, source="revise")


def mastery(learner: str | None = None) -> list[Mastery]:
    """Per-topic mastery for the learner (print each line, or read the fields)."""
    reviser, notice = _reviser(learner, True)
    if reviser is None:
        raise StoreError(notice)
    with reviser.store:  # closed at once: a notebook may ask for this many times
        return reviser.mastery()
