"""Self-study over the question bank: notebook quizzes, spaced revision and mastery, saved per learner."""
from __future__ import annotations

import sys

from ftlab.assessment.bank import load_bank
from ftlab.assessment.selfquiz.exercise_link import exercise_checked
from ftlab.assessment.selfquiz.report import Mastery, Report, report
from ftlab.assessment.selfquiz.revise import Reviser, ReviseConfig, open_reviser, utcnow
from ftlab.assessment.selfquiz.session import QuizSession, pick, shuffle_options
from ftlab.assessment.selfquiz.store import Store, StoreError, default_learner

__all__ = ["Mastery", "QuizSession", "Report", "Reviser", "ReviseConfig", "Store", "StoreError", "exercise_checked",
           "mastery", "open_reviser", "pick", "quiz", "revise", "show"]


def _show_sessions_in_notebooks() -> None:
    """In IPython, a QuizSession displays as its widgets (ftlab.assessment.selfquiz.widgets renders it; the
    session module knows nothing of its view)."""
    if "IPython" not in sys.modules:
        return
    shell = sys.modules["IPython"].get_ipython()
    if shell is None:
        return

    def show(session: QuizSession) -> None:
        from IPython.display import display

        from ftlab.assessment.selfquiz.widgets import render

        display(render(session))

    shell.display_formatter.ipython_display_formatter.for_type(QuizSession, show)


_show_sessions_in_notebooks()


def quiz(topic: str | None = None, difficulty: str | None = None, n: int = 10, seed: int | None = None,
         kinds: tuple[str, ...] | None = None, learner: str | None = None, save: bool = True) -> QuizSession:
    """Practice by topic, difficulty, or (neither) a mixed test; it displays itself as the cell's output. Its answers
    are saved as practice and never move the revision schedule."""
    _show_sessions_in_notebooks()
    bank = load_bank()
    items = pick(bank, topic, difficulty, n, kinds=kinds, seed=seed)
    reviser, notice = open_reviser(learner, bank) if save else (None, None)
    session = utcnow().isoformat() if seed is None else str(seed)
    return QuizSession(shuffle_options(items, learner or default_learner(), session), reviser, notice=notice)


show = quiz


def revise(n: int = 20, topic: str | None = None, learner: str | None = None) -> QuizSession:
    """A session of what is due now (reviews, then new items within today's limit); answers update the schedule."""
    if n < 1:
        raise ValueError(f"n must be a positive number of items, got {n}")
    _show_sessions_in_notebooks()
    reviser, notice = open_reviser(learner)
    if reviser is None:
        raise StoreError(notice)
    queue = reviser.queue(topic=topic)
    items = shuffle_options(queue.items[:n], learner or default_learner(), utcnow().isoformat())
    asked = {item.id for item in items}
    why = [f"{item.id} is here because {queue.reasons[item.id]}." for item in queue.pulled if item.id in asked]
    return QuizSession(items, reviser, source="revise", notice=" ".join([queue.header(n), *why]))


def mastery(learner: str | None = None) -> Report:
    """The learner's report: due now, per-topic mastery from first attempts, weak items, forecast and streak.
    It prints as text and shows as a small chart in a notebook."""
    reviser, notice = open_reviser(learner)
    if reviser is None:
        raise StoreError(notice)
    with reviser.store:  # closed at once: a notebook may ask for this many times
        return report(reviser)
