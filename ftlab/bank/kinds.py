"""One table from item kind to everything that differs by kind: its dataclass, how the loader reads it, how it is
graded, and its views in the terminal, a notebook quiz and the course notebook.

A new kind of question is one row here plus the functions it names. Functions are named "module:function" and
imported on first use (like ftlab.cli's COMMANDS), so the table builds only on the item classes: loading the bank
never imports a view, and the terminal never imports torch or ipywidgets.
"""
from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ftlab.bank.items import Card, Choice, Exercise, Explain, Item


@dataclass(frozen=True)
class Kind:
    """One kind of item. Its max score is the item's own `max_score`; None for a view the kind does not have."""

    item: type[Item]
    read: str  # (validator, common fields) -> item: the loader's reader of its own fields
    grade: str  # (item, answer) -> Grade
    terminal: str | None  # (session, item, read, write) -> the answer or a command; None: needs live objects
    widget: str  # (session, item, submit, feedback) -> the ipywidgets controls of a notebook quiz
    course: str  # (number, item) -> the course notebook's cells: prompt, answer (with its solution), test

    def function(self, role: str) -> Callable[..., Any]:
        """The function this kind names for `role` (read, grade, terminal, widget, course), imported now."""
        ref = getattr(self, role)
        if ref is None:
            raise ValueError(f"items of kind {self.item.__name__} have no {role} view")
        return _resolve(ref)


_LOADER, _GRADING, _TERMINAL = "ftlab.bank.loader", "ftlab.bank.grading", "ftlab.selfquiz.terminal"
_WIDGETS, _COURSE = "ftlab.selfquiz.widgets", "ftlab.course.assignments"

KINDS: dict[str, Kind] = {
    "card": Kind(Card, f"{_LOADER}:read_card", f"{_GRADING}:grade_card", f"{_TERMINAL}:ask_card",
                 f"{_WIDGETS}:card_controls", f"{_COURSE}:recall_cells"),
    "choice": Kind(Choice, f"{_LOADER}:read_choice", f"{_GRADING}:grade_choice", f"{_TERMINAL}:ask_choice",
                   f"{_WIDGETS}:choice_controls", f"{_COURSE}:choice_cells"),
    "truefalse": Kind(Choice, f"{_LOADER}:read_choice", f"{_GRADING}:grade_choice", f"{_TERMINAL}:ask_choice",
                      f"{_WIDGETS}:choice_controls", f"{_COURSE}:choice_cells"),
    "explain": Kind(Explain, f"{_LOADER}:read_explain", f"{_GRADING}:grade_explain", f"{_TERMINAL}:ask_explain",
                    f"{_WIDGETS}:explain_controls", f"{_COURSE}:explain_cells"),
    "exercise": Kind(Exercise, f"{_LOADER}:read_exercise", "ftlab.bank.checks:grade_exercise", None,
                     f"{_WIDGETS}:exercise_controls", f"{_COURSE}:exercise_cells"),
}


def view(item: Item, role: str) -> Callable[..., Any]:
    """The function of `role` for this item's kind."""
    return KINDS[item.kind].function(role)


@functools.cache
def _resolve(ref: str) -> Callable[..., Any]:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)
