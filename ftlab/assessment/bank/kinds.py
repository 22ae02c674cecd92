"""One table from item kind to everything that differs by kind: its dataclass, how the loader reads it, how it is
graded, and its views in the terminal, a notebook quiz, the course notebook and an Anki deck.

A new kind of question is one row here plus the functions it names. Functions are named "module:function" and
imported on first use (pkgutil.resolve_name, like ftlab.cli's COMMANDS), so the table builds only on the item
classes: loading the bank never imports a view, and the terminal never imports torch or ipywidgets.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pkgutil import resolve_name
from typing import Any

from ftlab.assessment.bank.items import Card, Choice, Exercise, Explain, Item


@dataclass(frozen=True)
class Kind:
    """One kind of item. Its max score is the item's own `max_score`; None for a view the kind does not have."""

    item: type[Item]
    read: str  # (validator, common fields) -> item: the loader's reader of its own fields
    grade: str  # (item, answer) -> Grade
    terminal: str | None  # (session, item, read, write) -> the answer or a command; None: needs live objects
    widget: str  # (session, item, submit, feedback) -> the ipywidgets controls of a notebook quiz
    course: str  # (number, item) -> the course notebook's cells: prompt, answer (with its solution), test
    anki: str | None  # item -> (front, back) HTML of its flashcard; None: needs live objects

    def function(self, role: str) -> Callable[..., Any]:
        """The function this kind names for `role` (read, grade, terminal, widget, course, anki), imported now."""
        ref = getattr(self, role)
        if ref is None:
            raise ValueError(f"{self.item.__name__} items have no {role} view: a coding exercise needs live objects")
        return resolve_name(ref)


_LOADER, _GRADING = "ftlab.assessment.bank.loader", "ftlab.assessment.bank.grading"
_TERMINAL, _WIDGETS = "ftlab.assessment.selfquiz.terminal", "ftlab.assessment.selfquiz.widgets"
_ANKI, _COURSE = "ftlab.assessment.selfquiz.anki", "ftlab.assessment.course.assignments"

_CHOICE = Kind(Choice, read=f"{_LOADER}:read_choice", grade=f"{_GRADING}:grade_choice",
               terminal=f"{_TERMINAL}:ask_choice", widget=f"{_WIDGETS}:choice_controls",
               course=f"{_COURSE}:choice_cells", anki=f"{_ANKI}:choice_sides")
KINDS: dict[str, Kind] = {
    "card": Kind(Card, read=f"{_LOADER}:read_card", grade=f"{_GRADING}:grade_card",
                 terminal=f"{_TERMINAL}:ask_card", widget=f"{_WIDGETS}:card_controls",
                 course=f"{_COURSE}:recall_cells", anki=f"{_ANKI}:card_sides"),
    "choice": _CHOICE,
    "truefalse": _CHOICE,  # same views; the item's kind fixes its options to True/False
    "explain": Kind(Explain, read=f"{_LOADER}:read_explain", grade=f"{_GRADING}:grade_explain",
                    terminal=f"{_TERMINAL}:ask_explain", widget=f"{_WIDGETS}:explain_controls",
                    course=f"{_COURSE}:explain_cells", anki=f"{_ANKI}:explain_sides"),
    "exercise": Kind(Exercise, read=f"{_LOADER}:read_exercise", grade="ftlab.assessment.bank.checks:grade_exercise",
                     terminal=None, widget=f"{_WIDGETS}:exercise_controls",
                     course=f"{_COURSE}:exercise_cells", anki=None),
}
"""Item kind -> what the kind does; the kind names are the `kind` values a bank file may use."""


def view(item: Item, role: str) -> Callable[..., Any]:
    """The function of `role` for this item's kind."""
    return KINDS[item.kind].function(role)

