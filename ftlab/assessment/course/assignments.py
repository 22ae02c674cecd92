"""The course's three assignments as cells, and what each test cell grades; the keys come from the course's private bank."""
from __future__ import annotations

from dataclasses import dataclass, field

import nbformat

from ftlab.assessment.bank import Card, Choice, Exercise, Explain
from ftlab.assessment.bank.kinds import view

from ftlab.assessment.course import notebook as nb
from ftlab.assessment.course.keys import Keys, KeysError
from ftlab.assessment.course.your_variant import fill_code, fill_text

ACCURACY_THRESHOLD = 0.80  # accuracy to reach on the grader's private test set (chance 0.10)


@dataclass(frozen=True)
class Assignment:
    """One nbgrader assignment: a notebook of private-bank items, coding exercises among them."""

    name: str
    title: str
    intro: str
    recall: tuple[str, ...] = ()  # card ids: a typed answer scored by the bank's grade(), unsure ones to a person
    choices: tuple[str, ...] = ()  # choice and true/false ids
    explains: tuple[str, ...] = ()  # explain ids: scored by the concept rubric, open to regrading
    exercises: tuple[str, ...] = ()  # exercise ids: graded on the objects the answer cell leaves, outside the kernel
    finetune: bool = False  # end with the short real fine-tuning task
    # Per-student variants (ftlab/assessment/course/variants.py), used when the course config turns them on:
    pools: tuple[tuple[str, ...], ...] = ()  # (a recall/choice id, items asked in its place instead), same kind
    vary: dict[str, dict[str, tuple]] = field(default_factory=dict)  # exercise id -> setting -> values to draw
    imports: str = "import torch\nfrom torch import nn\n\nimport ftlab\nfrom ftlab.assessment.course import check\n\ntorch.manual_seed(0)"


@dataclass(frozen=True)
class Graded:
    """What one test cell grades, outside the student's kernel.

    kind "item": the bank item `item`, answered by the literal assigned to `variable` in the answer cell;
    "exercise": the exercise item `item`, run on the state dumped after its answer cell;
    "structure" / "accuracy": the fine-tuning task's setup and its accuracy on the grader's own test set.
    """

    kind: str
    answer: str  # grade id of the answer cell
    item: str = ""
    variable: str = ""


FRESH = 'model = ftlab.get_model("glyphnet", num_classes=10)'

FINETUNE_SETUP = f"""\
import os

QUICK = bool(os.environ.get("NBGRADER_EXECUTION"))  # set while nbgrader grades: a short, seeded run
EPOCHS = 8 if QUICK else 30
torch.manual_seed(0)
data = ftlab.load_target("glyph-digits", labels_per_class=10, seed=0)
{FRESH}"""

FINETUNE_PROMPT = f"""\
### Fine-tune GlyphNet on ten labelled digits per class

`data` holds the glyph-digits target (`data.train`: 10 images per digit, `data.val`, `data.test`) and
`model` is pretrained GlyphNet with a fresh 10-class head. Fine-tune it:

1. keep `stem`, `stage1` and `stage2` frozen; train `stage3`, `stage4` and the head;
2. use an optimizer named `optimizer` that holds exactly the trainable parameters, with a **lower**
   learning rate for the body than for the head (`ftlab.Trainer(..., lr_mult=...)` builds one:
   its `trainer.optimizer`);
3. train for `EPOCHS` epochs (the grader runs a short version) and reach at least
   **{ACCURACY_THRESHOLD:.0%}** accuracy on new digit images (the grader measures it on its own test set).

The setup is graded first (3 points), then the accuracy (3 points)."""

ASSIGNMENTS = (
    Assignment(
        "concepts", "Fine-tuning concepts",
        "Recall answers are scored against the course's notes (a person checks any score the scorer is unsure "
        "of); the multiple-choice and true/false answers are marked automatically.",
        recall=("course-card-transfer", "course-card-frozen-tensor"),
        choices=("course-mc-head-width", "course-mc-optimizer-order", "course-mc-small-different",
                 "course-mc-batchnorm", "course-mc-lr-groups", "course-tf-eval-grad", "course-tf-head-trains",
                 "course-tf-attribute", "course-tf-all-layers"),
        pools=(("course-mc-head-width", "course-mc-head-width-birds"),
               ("course-tf-attribute", "course-tf-module-flag")),
    ),
    Assignment(
        "freezing", "Freezing and heads",
        "Each exercise starts from a read-only cell that builds a fresh `model`; write your code in the cell "
        "below it. The grader inspects the objects your cell leaves behind.",
        exercises=("e1-freeze-all", "e2-replace-head", "e3-optimizer", "e4-group-lrs", "e5-frozen-batchnorm"),
        vary={"e2-replace-head": {"num_classes": (3, 4, 5, 6, 7, 8, 9)},
              "e4-group-lrs": {"first": ("stage2", "stage3", "stage4"),
                               "body_lr": (1e-5, 5e-5, 1e-4), "head_lr": (1e-3, 5e-3, 1e-2)}},
    ),
    Assignment(
        "strategy", "Fine-tuning strategy",
        "Explanations are scored by the concepts they cover (your instructor may adjust the score); the "
        "last task is a real, short fine-tuning run.",
        explains=("course-explain-plan", "course-explain-lr", "course-explain-batchnorm"),
        finetune=True,
    ),
)
BY_NAME = {assignment.name: assignment for assignment in ASSIGNMENTS}

FORMAT_NOTE = "# Checks the form of your answer only; it is graded after you submit."


def _test(grade_id: str, call: str, points: float) -> nbformat.NotebookNode:
    return nb.test(grade_id, f"{FORMAT_NOTE}\ncheck.{call}", points)


def _typed_solution(item: Card | Explain) -> str:
    """The never-shown full-credit answer of a free-text item; KeysError when the course bank lacks it."""
    if not item.concepts or not item.solution:
        raise KeysError(f"course item {item.id!r} needs `concepts` and a `solution` (a full-credit answer the "
                        f"scorer grades; pasting the shown answer earns nothing) to be autograded")
    return item.solution


def recall_cells(n: int, item: Card) -> list[nbformat.NotebookNode]:
    """A recall card as question Q{n}: a typed answer in the string `q{n}`, scored on the card's concepts."""
    text = f"**Q{n}** (recall, 1 point). {item.prompt}\n\nAnswer in a sentence or two in the string `q{n}`."
    return [
        nb.markdown(f"{item.id}-prompt", text),
        nb.answer(item.id, f'q{n} = """{_typed_solution(item)}"""'),
        _test(f"{item.id}-test", f'text("q{n}", q{n})', 1.0),
    ]


def choice_cells(n: int, item: Choice) -> list[nbformat.NotebookNode]:
    """A choice or true/false item as question Q{n}: a letter or True/False in `q{n}`."""
    if item.kind == "truefalse":
        how, key, call = f"Set `q{n}` to `True` or `False`.", repr(item.answer == 0), f'truefalse("q{n}", q{n})'
    else:
        options = "\n".join(f"- **{letter}**) {text}" for letter, text in zip(item.letters, item.options))
        how = f"{options}\n\nSet `q{n}` to the letter of your answer, e.g. `q{n} = \"A\"`."
        key, call = repr(item.letters[item.answer]), f'letter("q{n}", q{n}, "{"".join(item.letters)}")'
    kind = "true/false" if item.kind == "truefalse" else "multiple choice"
    return [
        nb.markdown(f"{item.id}-prompt", f"**Q{n}** ({kind}, 1 point). {item.prompt}\n\n{how}"),
        nb.answer(item.id, f"q{n} = {key}"),
        _test(f"{item.id}-test", call, 1.0),
    ]


def explain_cells(n: int, item: Explain) -> list[nbformat.NotebookNode]:
    """A free-text item as X{n}: a few sentences in `explain_{n}`, one point per concept."""
    points = float(len(item.concepts))
    text = f"**X{n}** ({points:g} points). {item.prompt}\n\nWrite a few sentences in the string `explain_{n}`."
    return [
        nb.markdown(f"{item.id}-prompt", text),
        nb.answer(item.id, f'explain_{n} = """{_typed_solution(item)}"""'),
        _test(f"{item.id}-test", f'text("explain_{n}", explain_{n})', points),
    ]


def _objects(names: tuple[str, ...]) -> str:
    return "objects(" + ", ".join(f"{name}={name}" for name in names) + ")"


def exercise_cells(n: int, item: Exercise) -> list[nbformat.NotebookNode]:
    """A coding exercise as E{n}: its read-only setup, the answer cell, and a test worth its points."""
    return [
        nb.markdown(f"{item.id}-prompt",
                    f"**E{n}** ({item.points:g} points). {fill_text(item.prompt, item.settings)}"),
        nb.setup(f"{item.id}-setup", item.setup),
        nb.answer(item.id, fill_code(item.solution, item.settings)),
        _test(f"{item.id}-test", _objects(tuple(item.needs)), item.points),
    ]


def _finetune(keys: Keys) -> list[nbformat.NotebookNode]:
    return [
        nb.markdown("finetune-prompt", FINETUNE_PROMPT),
        nb.setup("finetune-setup", FINETUNE_SETUP),
        nb.answer("finetune", keys.solution("finetune")),
        _test("finetune-structure-test", _objects(("model", "optimizer")), 3.0),
        _test("finetune-accuracy-test", _objects(("model",)), 3.0),
    ]


def _numbered(assignment: Assignment) -> list[tuple[str, int, str]]:
    """(item id, number, answer variable) for every bank item of the assignment, in notebook order."""
    quiz = [(item_id, n, f"q{n}") for n, item_id in enumerate(assignment.recall + assignment.choices, start=1)]
    return quiz + [(item_id, n, f"explain_{n}") for n, item_id in enumerate(assignment.explains, start=1)]


def cells(assignment: Assignment, keys: Keys) -> list[nbformat.NotebookNode]:
    """Every cell of the assignment's source notebook, solutions included, in order."""
    out = [nb.setup(f"{assignment.name}-imports", assignment.imports),
           nb.markdown(f"{assignment.name}-intro", f"# {assignment.title}\n\n{assignment.intro}\n\n"
                       "Answer in the cells marked `YOUR CODE HERE`, then run *Kernel > Restart Kernel and Run "
                       "All Cells* before you submit. Answers to questions are read from their cell as written "
                       "(a plain value such as `q3 = \"B\"`), not run; the check cells only say whether an "
                       "answer has the right form. Do not edit the read-only cells: the grader restores them.")]
    numbered = [(item_id, n) for item_id, n, _ in _numbered(assignment)]
    for item_id, n in numbered + [(item_id, n) for n, item_id in enumerate(assignment.exercises, start=1)]:
        item = keys.bank.get(item_id)
        out += view(item, "course")(n, item)  # cells by the item's kind (ftlab.assessment.bank.kinds)
    if assignment.finetune:
        out += _finetune(keys)
    return out


def graded(assignment: Assignment) -> dict[str, Graded]:
    """What each test cell of the assignment grades, by the test cell's grade id."""
    out = {}
    for item_id, _, variable in _numbered(assignment):
        out[f"{item_id}-test"] = Graded("item", item_id, item=item_id, variable=variable)
    for item_id in assignment.exercises:
        out[f"{item_id}-test"] = Graded("exercise", item_id, item=item_id)
    if assignment.finetune:
        out["finetune-structure-test"] = Graded("structure", "finetune")
        out["finetune-accuracy-test"] = Graded("accuracy", "finetune")
    return out


def dumped(assignment: Assignment, keys: Keys) -> dict[str, tuple[str, ...]]:
    """Answer cells whose objects the grader needs, by grade id: the names to dump after each."""
    out = {item_id: tuple(keys.bank.get(item_id).needs) for item_id in assignment.exercises}
    if assignment.finetune:
        out["finetune"] = ("model", "optimizer")
    return out


def secrets(assignment: Assignment, keys: Keys) -> list[str]:
    """Texts that must never reach a student: answer lines, card answers, model answers, solutions, solution code.

    A choice's explanation is not among them: feedback shows it only where the course shows answers
    (GradeCells.show_answer)."""
    bank = keys.bank
    found = [text for i in assignment.recall for text in (bank.get(i).answer, bank.get(i).solution) if text]
    found += [text for i in assignment.explains for text in (bank.get(i).model_answer, bank.get(i).solution) if text]
    for cell in cells(assignment, keys):
        if nb.BEGIN in cell.source:
            body = nb.split_solution(cell.source)[1]
            found += [line.strip() for line in body.splitlines() if len(line.strip()) >= 6]
    return found
