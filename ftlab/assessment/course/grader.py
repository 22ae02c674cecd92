"""nbgrader preprocessors that grade outside the student's kernel.

`InsertStateDumps` (before Execute) adds, after each coding answer cell, an instructor cell that saves the raw
state of the task's objects to a file in the notebook's folder. `GradeCells` (after Execute) removes those
cells, reads question answers statically from their cells, rebuilds the saved objects, scores everything with
the bank's `grade()` and the exercises' checks, and overwrites every graded cell's outputs with the verdict:
an error for zero, an explicit number otherwise. nbgrader's `SaveAutoGrades` then records exactly that, so
nothing the student's code prints, suppresses or patches can change a grade. `SaveCourseGrades` also marks
the cells whose score the scorer was unsure of as needing manual grading.
"""
from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import torch
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades
from torch import nn
from traitlets import Bool, Int

from ftlab.assessment.bank import Card, Choice, Context, Explain, Outcome, grade
from ftlab.assessment.bank.checks import as_number, run, task_setup
from ftlab.assessment.bank.grading import card_rating
from ftlab.runtime.freezing import group_parameters
from ftlab.runtime.measure import accuracy

from ftlab.assessment.course.answers import NoAnswer, read_answer
from ftlab.assessment.course.assignments import ACCURACY_THRESHOLD, BY_NAME, Graded, dumped, graded
from ftlab.assessment.course.keys import Keys, load_keys
from ftlab.assessment.course.restore import course_root, grade_id
from ftlab.assessment.course.execute import GUARD_KEY, flag_notebook
from ftlab.assessment.course.overlap import public_sentences
from ftlab.assessment.course.state import (StateError, dump_source, load_record, load_seal, rebuild_model,
                                           rebuild_optimizer, seal_source)
from ftlab.assessment.course.variants import Variant, asked, for_submission, note, show

FROZEN_GROUPS = ("stem", "stage1", "stage2")  # the fine-tuning task keeps these fixed
TRAINED_GROUPS = ("stage3", "stage4", "head")
# keys in nbgrader's resources, passed from one preprocessor to the next (GUARD_KEY: execute.py)
DUMPS, DUMP_TOKEN, SEAL, UNSURE = "ftlab_dumps", "ftlab_dump_token", "ftlab_seal", "ftlab_unsure"


@functools.lru_cache(maxsize=4)
def course_keys(root: Path) -> Keys:
    """The private bank, read once per grading process before the first student's kernel starts."""
    return load_keys(root)


@dataclass
class Verdict:
    """One graded cell's score and the feedback the student sees; `confident` False sends it to a person."""

    score: float
    points: float
    lines: list[str] = field(default_factory=list)
    confident: bool = True
    flag: str = ""  # a reason to flag the notebook for the instructor (tampering, an unreadable answer)

    def outputs(self, execution_count: int | None) -> list[NotebookNode]:
        """Zero is an error output (nbgrader: no credit); any other score an explicit number (partial credit)."""
        score = float(round(min(max(self.score, 0.0), self.points), 2))
        text = "\n".join([f"Score: {score:g} of {self.points:g}." + ("" if self.confident else
                          " Provisional: your instructor will confirm it."), *self.lines])
        if score <= 0:
            return [nbformat.v4.new_output("error", ename="Incorrect", evalue=text, traceback=text.splitlines())]
        return [nbformat.v4.new_output("stream", name="stdout", text=text + "\n"),
                nbformat.v4.new_output("execute_result", data={"text/plain": repr(score)},
                                       execution_count=execution_count)]


class InsertStateDumps(NbGraderPreprocessor):
    """Before Execute: after each coding answer cell, a cell that saves the task's objects to a fresh file name,
    and a last cell that seals them (guard.py); the key that signs them goes to the kernel, never into a cell."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        dumps = resources[DUMPS] = {}
        # Marks the cells inserted here; kept outside the notebook, so no submitted cell can carry it.
        token = resources[DUMP_TOKEN] = secrets.token_hex(16)
        assignment = BY_NAME.get(resources["nbgrader"]["assignment"])
        if assignment is None:
            return nb, resources
        keys = course_keys(course_root(self))  # before any code of this submission runs
        folder = Path(resources.get("metadata", {}).get("path") or ".")
        with_id = (nb.nbformat, nb.nbformat_minor) >= (4, 5)

        def cell(source: str, seal: bool = False) -> NotebookNode:
            made = nbformat.v4.new_code_cell(source, metadata={"ftlab": {"dump": token, "seal": seal}})
            if not with_id:
                made.pop("id", None)
            return made

        for answer, names in dumped(assignment, keys).items():
            ids = [grade_id(c) for c in nb.cells]
            if answer not in ids:
                continue
            name = f".ftlab-state-{secrets.token_hex(8)}.pt"  # unguessable: a file the student wrote earlier is not it
            nb.cells.insert(ids.index(answer) + 1, cell(dump_source(name, names)))
            dumps[answer] = folder / name
        if dumps:
            name = f".ftlab-seal-{secrets.token_hex(8)}"
            nb.cells.append(cell(seal_source(name), seal=True))
            resources[SEAL], resources[GUARD_KEY] = folder / name, secrets.token_bytes(32)
        return nb, resources


class GradeCells(NbGraderPreprocessor):
    """After Execute: grade every test cell in this process and overwrite its outputs with the verdict."""

    show_answer = Bool(False, help="Feedback on a wrong answer also names the correct one (off: feedback "
                                   "stays usable next term).").tag(config=True)
    test_seed = Int(7919, help="Seed of the private digit images the fine-tuning task's accuracy is measured "
                               "on; `ftlab course init` picks a random one.").tag(config=True)
    test_size = Int(1000, help="Number of private test images.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        unsure = resources[UNSURE] = set()
        assignment = BY_NAME.get(resources["nbgrader"]["assignment"])
        key, records = resources.get(GUARD_KEY, b""), {}
        try:
            seal = load_seal(resources.get(SEAL), key) if resources.get(DUMPS) else {}
        except StateError as err:
            seal = err
        finally:
            if resources.get(SEAL):
                resources[SEAL].unlink(missing_ok=True)
        for answer, path in resources.get(DUMPS, {}).items():
            try:
                records[answer] = load_record(path, key, seal)
            except StateError as err:
                records[answer] = err
            finally:
                path.unlink(missing_ok=True)
        token = resources.get(DUMP_TOKEN)  # only this run's own cells go: a student cell tagged alike stays
        nb.cells = [cell for cell in nb.cells if token is None or _inserted(cell) != token]
        if assignment is None:
            return nb, resources
        keys = course_keys(course_root(self))
        variant = for_submission(self, resources, keys)  # the student's own variant, None when variants are off
        specs = graded(assignment)
        sources = {grade_id(cell): cell.source for cell in nb.cells if grade_id(cell)}
        flags: list[dict] = []
        for index, cell in enumerate(nb.cells):
            spec = specs.get(grade_id(cell))
            if spec is None or not cell.metadata["nbgrader"].get("grade") or cell.cell_type != "code":
                continue
            points = float(cell.metadata["nbgrader"]["points"])
            if spec.kind == "item":
                verdict = self.item(spec, points, sources.get(spec.answer, ""), keys, variant)
            else:
                verdict = self.objects(spec, points, records.get(spec.answer), variant)
            cell.outputs = verdict.outputs(cell.get("execution_count"))
            if not verdict.confident:
                unsure.add(grade_id(cell))
            if verdict.flag:
                flags.append({"cell": index, "grade_id": grade_id(cell), "reason": verdict.flag,
                              "detail": " ".join(verdict.lines)[:300]})
        if flags:
            nb.metadata.setdefault("ftlab", {}).setdefault("flags", []).extend(flags)
            flag_notebook(resources)
        show(nb.cells, variant, keys)  # formgrader and feedback show the variant graded against
        return nb, resources

    def item(self, spec: Graded, points: float, source: str, keys: Keys, variant: Variant | None = None) -> Verdict:
        """A question, scored by the bank's grade() on the literal the answer cell assigns, in the student's variant."""
        item = asked(spec.item, keys, variant)
        try:
            answer = read_answer(source, spec.variable)
        except NoAnswer as err:
            return Verdict(0.0, points, [f"No answer: {err}."], flag="UnreadableAnswer" if err.flag else "")
        if isinstance(item, Card) and (not isinstance(answer, str) or card_rating(answer) is not None):
            return Verdict(0.0, points, [f"Not a valid answer: {answer!r}. Write your answer in words, as a string "
                                         f"(a self-rating such as \"good\" is not an answer here)."])
        copied: list[str] = []
        if isinstance(item, (Card, Explain)) and isinstance(answer, str):
            answer, copied = public_sentences(answer)  # text from ftlab's public bank earns nothing here
        shown = item.model_answer if isinstance(item, Explain) else getattr(item, "answer", "")
        result = grade(item, answer, Context(shown=(shown,), for_instructor=True))  # feedback may show it
        score = points * result.score / result.max_score
        lines: list[str] = []
        # the free-text scorer's doubt goes to a person, and so does a paste: a zero, but a matter of conduct
        confident = result.confident and "pasted-model-answer" not in result.flags
        if isinstance(item, Choice):
            if result.outcome is Outcome.NOT_ATTEMPTED:
                lines.append(f"Not a valid answer: {answer!r} is not one of {', '.join(item.letters)}."
                             if item.kind == "choice" else f"Not a valid answer: {answer!r} is not True or False.")
            else:
                lines.append("Correct." if result.correct else "Not correct.")
                if not result.correct:  # the explanation argues for the key: only where answers are shown
                    lines += [f"Explanation: {item.explanation}"] if self.show_answer else []
                    lines += [f"The misconception behind your answer: {result.diagnosis}"] if result.diagnosis else []
                    lines += [f"Answer: {item.letters[item.answer]}) {item.options[item.answer]}"] \
                        if self.show_answer else []
        elif result.outcome is not Outcome.NOT_ATTEMPTED:  # free text, scored on the item's concepts
            covered = round(len(item.concepts) * result.score / result.max_score)
            lines.append(f"Concepts covered: {covered} of {len(item.concepts)}.")
            lines += [f"{concept} ({verdict}): you wrote '{words}'" for concept, verdict, words in result.evidence]
            lines += [f"The misconception in your answer: {result.diagnosis}"] if result.diagnosis else []
            if self.show_answer and result.missing:
                lines.append("Missing: " + "; ".join(result.missing) + ".")
            shown = item.model_answer if isinstance(item, Explain) else item.answer
            lines += [f"A model answer: {shown}"] if self.show_answer and not result.correct else []
        if isinstance(item, (Card, Explain)) and result.outcome is Outcome.NOT_ATTEMPTED \
                and isinstance(answer, str) and answer.strip():
            confident = False  # text the scorer could not read at all: a person decides
        if result.flags:
            lines.append("Scorer notes: " + ", ".join(result.flags) + ".")
        if copied:
            lines.append(f"{len(copied)} sentence(s) copied from ftlab's public question bank earned nothing: "
                         + " / ".join(f"\"{sentence[:80]}\"" for sentence in copied))
            return Verdict(score, points, lines + note(variant, spec.item), confident=False, flag="PublicPaste")
        return Verdict(score, points, lines + note(variant, spec.item), confident)

    def objects(self, spec: Graded, points: float, record: dict | StateError | None,
                variant: Variant | None = None) -> Verdict:
        """A coding task, scored on the objects rebuilt from the state saved after the answer cell."""
        try:
            if record is None:
                raise StateError("the answer cell is missing, so nothing was saved")
            if isinstance(record, StateError):
                raise record
            lacking = [name for name in record["missing"] if name == "model" or spec.kind != "accuracy"]
            if lacking:
                raise StateError(f"{', '.join(f'`{n}`' for n in lacking)} did not exist after your cell")
            model = rebuild_model(record)
            wanted = spec.kind == "structure" or spec.kind == "exercise" and "optimizer" in record["types"]
            optimizer = rebuild_optimizer(record, model) if wanted else None
        except StateError as err:
            return Verdict(0.0, points, [f"Not graded: {err}."], confident=not err.unsure,
                           flag="StateRejected" if err.flag else "")
        if spec.kind == "exercise":
            settings = variant.settings(spec.item) if variant else {}  # the student's own head size, groups, rates
            result = run(course_keys(course_root(self)).bank.get(spec.item), {"model": model, "optimizer": optimizer},
                         **settings)
            return Verdict(points * result.score / result.max_score, points,
                           str(result).splitlines() + note(variant, spec.item))
        if spec.kind == "structure":
            return finetune_structure(model, optimizer, points)
        acc = accuracy(model, *private_test_set(self.test_seed, self.test_size), batch=250)
        return Verdict(points if acc >= ACCURACY_THRESHOLD else 0.0, points,
                       [f"Accuracy on the grader's digit images: {acc:.3f} (needed: {ACCURACY_THRESHOLD:.2f})."])


def _inserted(cell: NotebookNode) -> str | None:
    """The token InsertStateDumps marked the cell with, or None."""
    meta = cell.metadata.get("ftlab")
    return meta.get("dump") if isinstance(meta, dict) else None


class SaveCourseGrades(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, plus: a score the scorer was unsure of waits for a person in formgrader."""

    def _add_score(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        super()._add_score(cell, resources)
        if grade_id(cell) in resources.get(UNSURE, ()):
            entry = self.gradebook.find_grade(grade_id(cell), self.notebook_id, self.assignment_id, self.student_id)
            entry.needs_manual_grade = True
            self.gradebook.db.commit()


def finetune_structure(model: nn.Module, optimizer: torch.optim.Optimizer | None, points: float) -> Verdict:
    """The fine-tuning task's setup in the prompt's terms, a third of the points each: the groups it freezes and
    trains, an optimizer holding exactly the trained groups, and a lower learning rate for the body than the head.
    The setup cell already gives the model its 10-class head, so that alone earns nothing."""
    trained = {id(p) for g in TRAINED_GROUPS for _, p in group_parameters(model, g)}
    head = {id(p) for _, p in group_parameters(model, "head")}
    groups = [g for g in (optimizer.param_groups if isinstance(optimizer, torch.optim.Optimizer) else [])
              if g["params"]]
    held = [id(p) for g in groups for p in g["params"]]
    rates = {"body": [as_number(g.get("lr")) for g in groups for p in g["params"] if id(p) in trained - head],
             "head": [as_number(g.get("lr")) for g in groups for p in g["params"] if id(p) in head]}
    numeric = None not in rates["body"] + rates["head"]
    checks = {
        f"1. {', '.join(FROZEN_GROUPS)} frozen; {', '.join(TRAINED_GROUPS)} trainable":
            task_setup(model, list(TRAINED_GROUPS)) is None,
        f"2. `optimizer` holds exactly the parameters of {', '.join(TRAINED_GROUPS)}":
            sorted(held) == sorted(trained) and len(set(held)) == len(held),
        "2. the body's learning rate is lower than the head's (and above zero)":
            bool(rates["body"]) and bool(rates["head"]) and numeric and 0 < max(rates["body"]) < min(rates["head"]),
    }
    lines = [f"[{'x' if ok else ' '}] {what}" for what, ok in checks.items()]
    return Verdict(points * sum(checks.values()) / len(checks), points, lines)


@functools.lru_cache(maxsize=2)
def private_test_set(seed: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Digit images drawn with the course's own seed: never in the student's data, same distribution."""
    from ftlab.offline import glyphs

    return glyphs.sample(glyphs.DIGITS, size, seed)


