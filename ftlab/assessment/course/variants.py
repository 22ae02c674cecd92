"""Per-student variants of an assignment, derived from the course secret and the student id with HMAC-SHA256.

What varies (the assignment's fields in assignments.py): the option order of every multiple-choice question,
which item of a pool each question slot asks, and the settings of coding exercises (`vary`), which their checks
read. The instructor turns variants on per assignment (`c.CourseVariants.assignments`); the secret is
`c.CourseVariants.secret`, written at random by `ftlab course init` and never released. The grader takes the
student id from the submission's folder (nbgrader's resources), never from the kernel.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from traitlets import List, Unicode
from traitlets.config import Configurable
from traitlets.config.loader import PyFileConfigLoader

from ftlab.assessment.bank import Choice, Item

from ftlab.assessment.course import notebook as nb
from ftlab.assessment.course.assignments import BY_NAME, Assignment
from ftlab.assessment.course.keys import Keys
from ftlab.assessment.course.your_variant import CANONICAL, Table, student_key

TABLE_CELL, STUDENT_CELL = "variant-table", "variant-student"


class CourseVariants(Configurable):
    """The course config's variant settings (nbgrader_config.py)."""

    secret = Unicode("", help="Course secret the variants derive from; keep it private and keep it for the "
                              "whole term (a new one gives every student a new variant).").tag(config=True)
    assignments = List(Unicode(), help="Assignments whose students each get a variant of their own.").tag(config=True)

    def on(self, assignment: str) -> bool:
        """Whether the assignment has variants; ValueError when they are on without a secret."""
        if assignment not in self.assignments:
            return False
        if not self.secret:
            raise ValueError("c.CourseVariants.assignments turns variants on but c.CourseVariants.secret is empty; "
                             "set a long random string in nbgrader_config.py (ftlab course init writes one)")
        return True


def course_variants(root: Path) -> CourseVariants:
    """The variant settings of the course folder `root`, read from its nbgrader_config.py."""
    return CourseVariants(config=PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())


def roster(root: Path) -> list[str]:
    """The students of nbgrader's gradebook (`nbgrader db student add/import`), [] without one."""
    path = Path(root) / "gradebook.db"
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return sorted(row[0] for row in db.execute("SELECT id FROM student"))


@dataclass(frozen=True)
class Slot:
    """A place in the notebook that can vary: question q3 or exercise E2, the item it names in the source."""

    label: str
    item: str  # the canonical item id: its grade ids name the cells
    pool: tuple[str, ...]  # the items it may ask, canonical first


def slots(assignment: Assignment, keys: Keys) -> list[Slot]:
    """The assignment's slots that vary, in notebook order: choice questions, pooled items, varied exercises."""
    pools = {pool[0]: pool for pool in assignment.pools}
    out = []
    for n, item_id in enumerate(assignment.recall + assignment.choices, start=1):
        if item_id in pools or keys.bank.get(item_id).kind == "choice":
            out.append(Slot(f"q{n}", item_id, pools.get(item_id, (item_id,))))
    for n, item_id in enumerate(assignment.exercises, start=1):
        if item_id in assignment.vary:
            out.append(Slot(f"E{n}", item_id, (item_id,)))
    return out


@dataclass(frozen=True)
class Variant:
    """One student's variant: per slot label, the item asked and its option order (or the exercise's settings)."""

    assignment: str
    student: str
    code: str  # six hex digits naming the variant in feedback, formgrader and the report
    picks: dict  # label -> [item id, option order | settings]
    labels: dict  # canonical item id -> label

    def item(self, item_id: str, keys: Keys) -> Item:
        """The bank item this student answers in the slot of `item_id`, options in their order."""
        if item_id not in self.labels:
            return keys.bank.get(item_id)
        picked, order = self.picks[self.labels[item_id]]
        item = keys.bank.get(picked)
        if not isinstance(item, Choice) or item.kind != "choice":
            return item
        return replace(item, options=[item.options[i] for i in order], answer=order.index(item.answer),
                       mistakes={order.index(i): text for i, text in item.mistakes.items()})

    def settings(self, item_id: str) -> dict:
        """The exercise's settings in this variant ({} for an exercise that does not vary)."""
        label = self.labels.get(item_id)
        return dict(self.picks[label][1]) if label and label.startswith("E") else {}

    def describe(self) -> str:
        """One line for the instructor's report: per slot the item asked and its options as the source notebook's
        letters, in the order this student sees them; per exercise its settings."""
        parts = []
        for label, (item_id, how) in self.picks.items():
            if isinstance(how, dict):
                parts.append(f"{label} " + " ".join(f"{k}={v}" for k, v in how.items()))
            else:
                parts.append(f"{label} {item_id}" + (" " + "".join("ABCDEFGH"[i] for i in how) if how else ""))
        return f"{self.code}  " + "; ".join(parts)


def asked(item_id: str, keys: Keys, variant: Variant | None) -> Item:
    """The item a student was asked in the slot of `item_id`: their variant's, or the bank's when variants are off."""
    return variant.item(item_id, keys) if variant else keys.bank.get(item_id)


class Draws:
    """Random draws from HMAC-SHA256(secret, "assignment/student/n"): the same on every Python and machine."""

    def __init__(self, secret: str, name: str) -> None:
        self.secret, self.name, self.n = secret.encode(), name, 0

    def below(self, size: int) -> int:
        """A number in range(size)."""
        self.n += 1
        digest = hmac.new(self.secret, f"{self.name}/{self.n}".encode(), hashlib.sha256).digest()
        return int.from_bytes(digest, "big") % size

    def choice(self, values: tuple | list) -> object:
        return values[self.below(len(values))]

    def sample(self, values: range, size: int) -> list[int]:
        """A random order of `values` (Fisher-Yates)."""
        out = list(values)
        for i in range(len(out) - 1, 0, -1):
            j = self.below(i + 1)
            out[i], out[j] = out[j], out[i]
        return out[:size]


def derive(assignment: Assignment, keys: Keys, secret: str, student: str) -> Variant:
    """The student's variant, drawn from HMAC(secret, assignment/student/n); the instructor's for ""."""
    name = f"{assignment.name}/{student}"
    digest = hmac.new(secret.encode(), name.encode(), hashlib.sha256).digest()
    rng = Draws(secret, name)
    picks, labels = {}, {}
    for slot in slots(assignment, keys):
        labels[slot.item] = slot.label
        if slot.label.startswith("E"):
            space = assignment.vary[slot.item]
            item = keys.bank.get(slot.item)
            picks[slot.label] = [slot.item, {k: item.settings[k] if not student else rng.choice(space[k])
                                             for k in sorted(space)}]
            continue
        picked = rng.choice(slot.pool) if student else slot.pool[0]
        size = len(keys.bank.get(picked).options) if keys.bank.get(picked).kind == "choice" else 0
        order = rng.sample(range(size), size) if student else list(range(size))
        picks[slot.label] = [picked, order]
    code = digest.hex()[:6] if student else "source"
    return Variant(assignment.name, student, code, picks, labels)


def count(assignment: Assignment, keys: Keys) -> int:
    """How many distinct variants the assignment has."""
    total = 1
    for slot in slots(assignment, keys):
        if slot.label.startswith("E"):
            total *= math.prod(len(values) for values in assignment.vary[slot.item].values())
        else:
            total *= sum(math.factorial(len(keys.bank.get(i).options)) if keys.bank.get(i).kind == "choice" else 1
                         for i in slot.pool)
    return total


def table(assignment: Assignment, keys: Keys, secret: str, students: list[str]) -> Table:
    """The table a released notebook holds: every slot's texts, the instructor's variant and each student's."""
    questions = {}
    for slot in slots(assignment, keys):
        items = {}
        for item_id in slot.pool:
            item = keys.bank.get(item_id)
            items[item_id] = {"kind": item.kind, "prompt": item.prompt, "options": list(getattr(item, "options", []))}
        questions[slot.label] = {"head": _head(slot, keys), "tail": _tail(slot, keys), "items": items}
    chosen = {student_key(assignment.name, s): derive(assignment, keys, secret, s).picks
              for s in [CANONICAL, *students]}
    return Table(assignment.name, questions, chosen)


def _head(slot: Slot, keys: Keys) -> str:
    item = keys.bank.get(slot.item)
    if slot.label.startswith("E"):
        return f"**{slot.label}** ({item.points:g} points)."
    kind = {"choice": "multiple choice", "truefalse": "true/false", "card": "recall"}[item.kind]
    return f"**Q{slot.label[1:]}** ({kind}, 1 point)."


def _tail(slot: Slot, keys: Keys) -> str:
    kind, name = keys.bank.get(slot.item).kind, slot.label
    return {"choice": f"Set `{name}` to the letter of your answer, e.g. `{name} = \"A\"`.",
            "truefalse": f"Set `{name}` to `True` or `False`.",
            "card": f"Answer in a sentence or two in the string `{name}`."}.get(kind, "")


def personalize(assignment: Assignment, keys: Keys, cells: list, secret: str, students: list[str]) -> list:
    """The source notebook's cells with each varying question shown from the table for the student's id."""
    for pool in assignment.pools:
        kinds = {(keys.bank.get(i).kind, len(getattr(keys.bank.get(i), "options", []))) for i in pool}
        if len(kinds) > 1:
            raise ValueError(f"assignment {assignment.name!r}: the pool {list(pool)} mixes kinds or option counts "
                             f"{sorted(kinds)}; a pool's items must be asked the same way")
    prompts = {f"{slot.item}-prompt": slot.label for slot in slots(assignment, keys)}
    out = []
    for cell in cells:
        if cell.get("id") in prompts:
            out.append(nb.setup(cell.id, f'your.ask("{prompts[cell.id]}")'))
            continue
        out.append(cell)
        if cell.get("id") == f"{assignment.name}-intro":
            out += _variant_cells(table(assignment, keys, secret, students))
    return out


def _variant_cells(shown: Table) -> list:
    intro = nb.markdown("variant-intro", (
        "## Your variant\n\nEvery student has a variant of their own: the options of each question in another "
        "order, and other settings for the coding tasks. Set `student_id` below to the id your instructor knows "
        "you by (on the course's JupyterHub leave it empty: your login name is used) and run the cells; each "
        "question then shows your variant. You are graded on the variant of the student who submits, whatever "
        "is typed here."))
    student = nbformat.v4.new_code_cell('student_id = ""')
    student.id = STUDENT_CELL
    text = shown.dumps()
    if "'''" in text:
        raise ValueError("a varying question's text holds ''', which the released notebook's table cannot quote")
    load = (f"from ftlab.assessment.course.your_variant import Table\n\n"
            f"your = Table.load(student_id, r'''{text}''')")
    return [intro, student, nb.setup(TABLE_CELL, load)]


# ---- grading: the preprocessors' hooks (ftlab/assessment/course/grader.py) ------------------------------------
def for_submission(parent: Configurable, resources: dict, keys: Keys) -> Variant | None:
    """The submitting student's variant, from the student id nbgrader found in the submission's folder."""
    name = resources["nbgrader"]["assignment"]
    settings = CourseVariants(parent=parent)
    if name not in BY_NAME or not settings.on(name):
        return None
    return derive(BY_NAME[name], keys, settings.secret, resources["nbgrader"]["student"])


def show(cells: list, variant: Variant | None, keys: Keys) -> None:
    """Overwrite the variant cells' outputs with what the grader graded against (formgrader, feedback)."""
    if variant is None:
        return
    assignment = BY_NAME[variant.assignment]
    mine = table(assignment, keys, "", [])
    mine = Table(mine.assignment, mine.questions, {CANONICAL: variant.picks})
    prompts = {f"{slot.item}-prompt": slot.label for slot in slots(assignment, keys)}
    for cell in cells:
        if cell.get("id") == TABLE_CELL:
            text = (f"Graded as the variant of {variant.student} (variant {variant.code}): the questions below show "
                    f"it as the grader read it.")
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
        elif cell.get("id") in prompts and cell.cell_type == "code":
            text = mine.render(CANONICAL, prompts[cell.id])
            cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": text, "text/plain": text})]


def note(variant: Variant | None, item_id: str) -> list[str]:
    """The feedback line that says a score was graded against the student's own variant."""
    if variant is None or item_id not in variant.labels:
        return []
    return [f"Graded against your variant ({variant.code}): your option letters and your settings."]


# ---- `ftlab course variants`: the instructor's view of who has which variant ------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `ftlab course variants`."""
    parser.add_argument("assignment", choices=sorted(BY_NAME), help="the assignment")
    parser.add_argument("--root", type=Path, default=Path("."), help="the course folder (default: .)")


def run(args: argparse.Namespace) -> int:
    """Print each student's variant (gradebook roster and submitted/ folders) and how many variants exist."""
    from ftlab.assessment.course.keys import load_keys

    settings = course_variants(args.root)
    try:
        on = settings.on(args.assignment)
    except ValueError as err:
        print(err)
        return 2
    assignment, keys = BY_NAME[args.assignment], load_keys(args.root)
    if not on:
        print(f"{args.assignment}: variants are off (add it to c.CourseVariants.assignments in nbgrader_config.py)")
        return 0
    submitted = {p.parent.name for p in (args.root / "submitted").glob(f"*/{args.assignment}")}
    students = sorted(set(roster(args.root)) | submitted)
    released = _released(args.root, args.assignment)
    print(f"{args.assignment}: {count(assignment, keys)} possible variants; varying: "
          f"{', '.join(s.label for s in slots(assignment, keys))}")
    for student in students:
        missing = released is not None and student_key(args.assignment, student) not in released
        print(f"{student:<20} {derive(assignment, keys, settings.secret, student).describe()}"
              + ("  NOT IN THE RELEASED NOTEBOOK: build, generate_assignment --force, release again" if missing else ""))
    return 0


def _released(root: Path, assignment: str) -> set[str] | None:
    """The student keys of the released notebook's variant table; None before generate_assignment."""
    path = root / "release" / assignment / f"{assignment}.ipynb"
    if not path.exists():
        return None
    cell = next((c for c in nbformat.read(path, as_version=4).cells if c.get("id") == TABLE_CELL), None)
    if cell is None:
        return set()
    return set(json.loads(cell.source.split("r'''", 1)[1].rsplit("'''", 1)[0])["students"])
