"""The course's three assignments, written as cells from the question bank so quizzes never drift from it."""
from __future__ import annotations

from dataclasses import dataclass

import nbformat

from ftlab.bank import Bank, Card, Choice, Explain

from . import notebook as nb

ACCURACY_THRESHOLD = 0.80  # test accuracy to reach in the graded run (chance 0.10; the solution measured 0.959)


@dataclass(frozen=True)
class Task:
    """A coding exercise on GlyphNet: read-only setup, the student's cell, and a check on the live objects."""

    key: str  # grade-id stem, e.g. "e1-freeze-all"
    exercise: str  # class name in ftlab.exercises.EXERCISES
    prompt: str
    setup: str
    solution: str
    objects: tuple[str, ...] = ("model",)
    points: float = 2.0


@dataclass(frozen=True)
class Assignment:
    """One nbgrader assignment: a notebook of bank items and coding tasks."""

    name: str
    title: str
    intro: str
    recall: tuple[str, ...] = ()  # bank card ids: written answers, graded by hand in formgrader
    choices: tuple[str, ...] = ()  # bank choice and true/false ids: autograded
    explains: tuple[str, ...] = ()  # bank explain ids: autograded by the concept rubric, open to regrading
    tasks: tuple[Task, ...] = ()
    finetune: bool = False  # end with the short real fine-tuning task
    imports: str = "import torch\nfrom torch import nn\n\nimport ftlab\n\ntorch.manual_seed(0)"


FRESH = 'model = ftlab.get_model("glyphnet", num_classes=10)'
BODY = '"stem", "stage1", "stage2", "stage3", "stage4"'

TASKS = (
    Task("e1-freeze-all", "FreezeAll",
         "`model` is GlyphNet, pretrained on glyph images, with a fresh 10-class head. Freeze the whole model "
         "so that `sum(p.requires_grad for p in model.parameters()) == 0`.",
         FRESH, "for param in model.parameters():\n    param.requires_grad = False"),
    Task("e2-replace-head", "ReplaceHead",
         "Freeze the body of `model` and replace its head `model.head` with a new, trainable layer for "
         "**5** classes.",
         FRESH, "for param in model.parameters():\n    param.requires_grad = False\n"
         "model.head = nn.Linear(model.head.in_features, 5)"),
    Task("e3-optimizer", "TrainableOptimizer",
         "The body of `model` is frozen and its head trains. Create `optimizer`, an SGD optimizer "
         "(lr 0.01, momentum 0.9) that holds only the parameters that train.",
         f"{FRESH}\nftlab.freeze(model, {BODY})",
         "trainable = [p for p in model.parameters() if p.requires_grad]\n"
         "optimizer = torch.optim.SGD(trainable, lr=0.01, momentum=0.9)",
         objects=("model", "optimizer")),
    Task("e4-group-lrs", "DiscriminativeLR",
         "All of `model` is frozen. Unfreeze `stage4` and the head, then create `optimizer` with one "
         "parameter group per part: `stage4` at lr 1e-4, the head at lr 1e-3 (SGD, momentum 0.9).",
         f"{FRESH}\nftlab.freeze(model)",
         'ftlab.unfreeze(model, "stage4", "head")\noptimizer = torch.optim.SGD([\n'
         '    {"params": model.stage4.parameters(), "lr": 1e-4},\n'
         '    {"params": model.head.parameters(), "lr": 1e-3},\n], momentum=0.9)',
         objects=("model", "optimizer")),
    Task("e5-frozen-batchnorm", "FrozenBatchNorm",
         "The body of `model` is frozen, then `model.train()` put every BatchNorm layer back in training "
         "mode, where it keeps overwriting its running statistics. Put the frozen BatchNorm layers in eval "
         "mode and leave the head in training mode.",
         f"{FRESH}\nftlab.freeze(model, {BODY})\nmodel.train()",
         "for module in model.modules():\n    if isinstance(module, nn.BatchNorm2d):\n        module.eval()",
         points=1.0),
)

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
   **{ACCURACY_THRESHOLD:.0%}** accuracy on `data.test`.

The setup is graded first (3 points), then the test accuracy (3 points)."""

FINETUNE_SOLUTION = """\
ftlab.freeze(model, "stem", "stage1", "stage2")
trainer = ftlab.Trainer(model, data.train, lr=0.05, lr_mult={"stage3": 0.3, "stage4": 0.3},
                        batch_size=20, progress=False, seed=0)
optimizer = trainer.optimizer
trainer.fit(epochs=EPOCHS)"""

ASSIGNMENTS = (
    Assignment(
        "concepts", "Fine-tuning concepts",
        "Recall questions are read by your instructor; the multiple-choice and true/false answers are "
        "checked automatically.",
        recall=("basics-card-definition", "freezing-card-meaning"),
        choices=("basics-mc-main-benefit", "basics-mc-small-dataset", "freezing-mc-attribute",
                 "freezing-mc-snippet", "layers-mc-which", "basics-tf-less-data", "freezing-tf-eval-freezes",
                 "freezing-tf-requires-grad-method", "layers-tf-early-generic"),
    ),
    Assignment(
        "freezing", "Freezing and heads",
        "Each exercise starts from a read-only cell that builds a fresh `model`; write your code in the cell "
        "below it. The checks run on your live objects.",
        tasks=TASKS,
    ),
    Assignment(
        "strategy", "Fine-tuning strategy",
        "Explanations are scored by the concepts they cover (your instructor may adjust the score); the "
        "last task is a real, short fine-tuning run.",
        explains=("basics-explain-approach", "basics-explain-vs-scratch", "freezing-explain-role"),
        finetune=True,
    ),
)


def _test(grade_id: str, call: str, points: float) -> nbformat.NotebookNode:
    return nb.test(grade_id, f"from ftlab.course import check\n\ncheck.{call}", points)


def _recall(n: int, item: Card) -> list[nbformat.NotebookNode]:
    prompt = nb.markdown(f"{item.id}-prompt", f"**Q{n}** (recall, 1 point). {item.prompt}")
    written = nb.answer_markdown(item.id, item.answer, points=1.0)
    return [prompt, written]


def _choice(n: int, item: Choice) -> list[nbformat.NotebookNode]:
    if item.kind == "truefalse":
        how, key = f"Set `q{n}` to `True` or `False`.", repr(item.answer == 0)
    else:
        options = "\n".join(f"- **{letter}**) {text}" for letter, text in zip(item.letters, item.options))
        how = f"{options}\n\nSet `q{n}` to the letter of your answer, e.g. `q{n} = \"A\"`."
        key = repr(item.letters[item.answer])
    kind = "true/false" if item.kind == "truefalse" else "multiple choice"
    return [
        nb.markdown(f"{item.id}-prompt", f"**Q{n}** ({kind}, 1 point). {item.prompt}\n\n{how}"),
        nb.answer(item.id, f"q{n} = {key}"),
        _test(f"{item.id}-test", f'choice("{item.id}", q{n}, points=1)', 1.0),
    ]


def _explain(n: int, item: Explain) -> list[nbformat.NotebookNode]:
    points = float(len(item.concepts))
    text = f"**X{n}** ({points:g} points). {item.prompt}\n\nWrite a few sentences in the string `explain_{n}`."
    return [
        nb.markdown(f"{item.id}-prompt", text),
        nb.answer(item.id, f'explain_{n} = """{item.model_answer}"""'),
        _test(f"{item.id}-test", f'explain("{item.id}", explain_{n}, points={points:g})', points),
    ]


def _task(n: int, task: Task) -> list[nbformat.NotebookNode]:
    objects = ", ".join(f"{name}={name}" for name in task.objects)
    return [
        nb.markdown(f"{task.key}-prompt", f"**E{n}** ({task.points:g} points). {task.prompt}"),
        nb.setup(f"{task.key}-setup", task.setup),
        nb.answer(task.key, task.solution),
        _test(f"{task.key}-test", f'exercise("{task.exercise}", points={task.points:g}, {objects})', task.points),
    ]


def _finetune() -> list[nbformat.NotebookNode]:
    return [
        nb.markdown("finetune-prompt", FINETUNE_PROMPT),
        nb.setup("finetune-setup", FINETUNE_SETUP),
        nb.answer("finetune", FINETUNE_SOLUTION),
        _test("finetune-structure-test", "finetune_structure(model, optimizer, points=3)", 3.0),
        _test("finetune-accuracy-test", f"accuracy(model, data, threshold={ACCURACY_THRESHOLD}, points=3)", 3.0),
    ]


def cells(assignment: Assignment, bank: Bank) -> list[nbformat.NotebookNode]:
    """Every cell of the assignment's source notebook, solutions included, in order."""
    out = [nb.setup(f"{assignment.name}-imports", assignment.imports),
           nb.markdown(f"{assignment.name}-intro", f"# {assignment.title}\n\n{assignment.intro}\n\n"
                       "Answer in the cells marked `YOUR CODE HERE` or `YOUR ANSWER HERE`, then run "
                       "*Kernel > Restart Kernel and Run All Cells* before you submit. Do not edit the "
                       "read-only cells: the grader restores them.")]
    items = [bank.get(i) for i in assignment.recall + assignment.choices]
    for n, item in enumerate(items, start=1):
        out += _recall(n, item) if isinstance(item, Card) else _choice(n, item)
    for n, item_id in enumerate(assignment.explains, start=1):
        out += _explain(n, bank.get(item_id))
    for n, task in enumerate(assignment.tasks, start=1):
        out += _task(n, task)
    if assignment.finetune:
        out += _finetune()
    return out


def secrets(assignment: Assignment, bank: Bank) -> list[str]:
    """Texts that must never reach a student: card answers, explanations, model answers, solution lines."""
    found = [bank.get(i).answer for i in assignment.recall]
    found += [bank.get(i).explanation for i in assignment.choices if bank.get(i).explanation]
    found += [bank.get(i).model_answer for i in assignment.explains]
    for cell in cells(assignment, bank):
        if nb.BEGIN in cell.source:
            body = nb.split_solution(cell.source)[1]
            found += [line.strip() for line in body.splitlines() if len(line.strip()) >= 6]
    return found
