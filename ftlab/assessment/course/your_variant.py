"""A student's own variant of a course assignment, shown in the released notebook from their id.

The released notebook is one file for the whole class. A locked cell holds this table: each varying question's
texts and, per student (by a hash of their id), which item they get, its option order and their exercise
parameters. It holds no answer and no course secret; the grader derives the same variant from the secret and
the submission's folder (ftlab/assessment/course/variants.py) and overwrites these cells' outputs with it.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from string import Template

CANONICAL = ""  # the table's key of the instructor's variant: source notebook, unknown ids


def student_key(assignment: str, student: str) -> str:
    """The table's key for a student: a hash of the id, so the notebook lists no ids in clear."""
    return hashlib.sha256(f"{assignment}/{student}".encode()).hexdigest()[:16] if student else CANONICAL


def fill_text(template: str, settings: dict) -> str:
    """A prompt with its $settings written for a reader (numbers as 5e-05, names as they are)."""
    return Template(template).safe_substitute({k: f"{v:g}" if isinstance(v, float) else str(v)
                                               for k, v in settings.items()})


def fill_code(template: str, settings: dict) -> str:
    """Code with its $settings written as Python literals."""
    return Template(template).safe_substitute({k: repr(v) for k, v in settings.items()})


def _login() -> str:
    """The login name, "" where the system knows none (a sandbox's unnamed uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


@dataclass(frozen=True)
class Table:
    """Every variant of one assignment's varying questions, and which one each student has."""

    assignment: str
    questions: dict  # label (q3, E2) -> {"head", "tail", "items": {item id -> {"kind", "prompt", "options"}}}
    students: dict  # student key -> {label -> [item id, option order or exercise settings]}

    @classmethod
    def load(cls, student_id: str, text: str) -> Shown:
        """The table of a released notebook, for the student whose id is given (empty: the login name)."""
        table = cls(**json.loads(text))
        return table.shown(student_id.strip() or os.environ.get("JUPYTERHUB_USER") or _login())

    def dumps(self) -> str:
        """The table as the JSON text the released notebook holds."""
        return json.dumps({"assignment": self.assignment, "questions": self.questions, "students": self.students},
                          sort_keys=True, indent=0)

    def shown(self, student: str) -> Shown:
        """The variant this student sees; the instructor's, with a warning, for an id the table lacks."""
        key = student_key(self.assignment, student)
        if key not in self.students:
            print(f"No variant for {student!r} in this notebook: set `student_id` to the id your instructor knows "
                  f"you by (ask them if it is right). Until then you see the instructor's variant.")
            return Shown(self, CANONICAL)
        print(f"Variant of {student}: answer the questions as shown below. The grader uses the variant of the "
              f"student who submits, whatever is typed here.")
        return Shown(self, key)

    def render(self, key: str, label: str) -> str:
        """The Markdown of question `label` in the variant `key`."""
        question = self.questions[label]
        item_id, how = self.students[key][label]
        item = question["items"][item_id]
        if item["kind"] == "exercise":
            return f"{question['head']} {fill_text(item['prompt'], how)}"
        text = f"{question['head']} {item['prompt']}"
        if item["kind"] == "choice":
            options = [item["options"][i] for i in how]
            text += "\n\n" + "\n".join(f"- **{chr(ord('A') + n)}**) {option}" for n, option in enumerate(options))
        return f"{text}\n\n{question['tail']}"


@dataclass(frozen=True)
class Shown:
    """One student's variant in their kernel: `ask` shows a question as that student has it."""

    table: Table
    key: str

    def ask(self, label: str) -> None:
        """Display question `label` (q3, E2) of this variant as Markdown."""
        from IPython.display import Markdown, display

        display(Markdown(self.table.render(self.key, label)))
