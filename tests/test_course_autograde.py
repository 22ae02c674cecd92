"""The whole nbgrader workflow on the real CLI and its SQLite gradebook: generate, submit, autograde,
regrade by hand, feedback, export. Scripted students cover right, wrong, partial, the seed quizzes'
mistakes, a raising cell, an endless loop, tampered and deleted cells, and an emptied notebook."""
import csv
import html
import re
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from ftlab.bank import grade, load_bank
from ftlab.course.assignments import ASSIGNMENTS, secrets
from ftlab.course.sandbox import Student, copy_course, nbgrader, solutions, submit

pytestmark = pytest.mark.slow

QUIZZES = Path(__file__).resolve().parents[1] / "quizzes"
TIMEOUT = 300  # seconds per cell: generous, so a starved CI machine cannot fail a correct cell
LOOPING = ("freezing", "dave", 20)  # graded alone, with a short limit that cuts his endless loop
BANK = load_bank()
CHOICES = dict(enumerate(ASSIGNMENTS[0].choices, start=3))  # q3.. (q1, q2 are the recall cards)


def _choice(n: int, right: bool) -> str:
    item = BANK.get(CHOICES[n])
    index = item.answer if right else (item.answer + 1) % len(item.options)
    return f"q{n} = {item.letters[index]!r}"


def concepts_students(keys: dict[str, str]) -> list[Student]:
    ids = {n: CHOICES[n] for n in CHOICES}
    wrong = {ids[n]: _choice(n, False) for n in ids}
    snippet = next(n for n, i in ids.items() if i == "freezing-mc-snippet")
    carol = {ids[n]: _choice(n, n < 7 and n != snippet) for n in ids}
    carol[ids[snippet]] = f'q{snippet} = "B"'  # model.freeze_layers(): the seed quiz's favourite wrong option
    return [
        Student("alice", dict(keys)),
        Student("bob", {**keys, **wrong, "basics-card-definition": "I do not remember."}),
        Student("carol", {**keys, **carol}),
        Student("dave", {**keys, ids[3]: 'raise ValueError("not sure")', ids[4]: 'q4 = "Z"'}),
        Student("erin", {**keys, ids[3]: _choice(3, False)}, edits={f"{ids[3]}-test": "1.0"},
                deleted=frozenset({f"{ids[4]}-test"})),
        Student("frank", empty=True),
    ]


def freezing_students(keys: dict[str, str]) -> list[Student]:
    return [
        Student("alice", dict(keys)),
        Student("bob", {**keys, "e1-freeze-all": "model.eval()", "e2-replace-head": "model.head = nn.Linear(192, 5)",
                        "e3-optimizer": "optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)",
                        "e4-group-lrs": "optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)",
                        "e5-frozen-batchnorm": "model.eval()"}),
        Student("carol", {**keys, "e1-freeze-all": "model.freeze_layers()",
                          "e2-replace-head": "model.trainable = False\nmodel.head = nn.Linear(192, 5)",
                          "e4-group-lrs": "for layer in model.layers:\n    layer.trainable = False"}),
        Student("dave", {**keys, "e1-freeze-all": "while True:\n    pass",
                         "e2-replace-head": 'raise RuntimeError("stuck")'}),
        Student("erin", {**keys, "e1-freeze-all": "model.eval()"},
                edits={"e1-freeze-all-test": "2", "e3-optimizer-setup": "model = None"},
                deleted=frozenset({"e2-replace-head-test"})),
        Student("frank", empty=True),
    ]


def strategy_students(keys: dict[str, str]) -> list[Student]:
    explains = {i: f'explain_{n} = "I do not know."' for n, i in enumerate(ASSIGNMENTS[2].explains, start=1)}
    partial = "We start from a pretrained model, so we need less data than training from scratch."
    return [
        Student("alice", dict(keys)),
        Student("bob", {**keys, **explains, "finetune": "pass"}),
        Student("carol", {**keys, **explains, "basics-explain-approach": f'explain_1 = "{partial}"',
                          "finetune": 'ftlab.freeze(model, "stem", "stage1", "stage2")\n'
                                      "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)"}),
        Student("dave", {**keys, "basics-explain-approach": 'raise ValueError("later")',
                         "finetune": keys["finetune"].replace("trainer.fit(epochs=EPOCHS)", "")},
                edits={"finetune-accuracy-test": "3"}),
        Student("frank", empty=True),
    ]


def _rubric(item_id: str) -> float:
    item = BANK.get(item_id)
    return grade(item, item.model_answer).score


def _zeros(ids):
    return dict.fromkeys(ids, 0.0)


CHOICE_TESTS = [f"{i}-test" for i in ASSIGNMENTS[0].choices]
TASK_TESTS = [f"{t.key}-test" for t in ASSIGNMENTS[1].tasks]
STRATEGY_TESTS = [f"{i}-test" for i in ASSIGNMENTS[2].explains] + ["finetune-structure-test", "finetune-accuracy-test"]
SNIPPET = "freezing-mc-snippet-test"
EXPECTED = {  # assignment -> student -> grade id -> auto score (None: waits for a human in formgrader)
    "concepts": {
        "alice": {**dict.fromkeys(CHOICE_TESTS, 1.0), "basics-card-definition": None, "freezing-card-meaning": None},
        "bob": {**_zeros(CHOICE_TESTS), "basics-card-definition": None, "freezing-card-meaning": None},
        "carol": {**{t: float(k < 4 and t != SNIPPET) for k, t in enumerate(CHOICE_TESTS)},
                  "basics-card-definition": None, "freezing-card-meaning": None},
        "dave": {**dict.fromkeys(CHOICE_TESTS, 1.0), CHOICE_TESTS[0]: 0.0, CHOICE_TESTS[1]: 0.0,
                 "basics-card-definition": None, "freezing-card-meaning": None},
        "erin": {**dict.fromkeys(CHOICE_TESTS, 1.0), CHOICE_TESTS[0]: 0.0,
                 "basics-card-definition": None, "freezing-card-meaning": None},
        "frank": _zeros(CHOICE_TESTS + ["basics-card-definition", "freezing-card-meaning"]),
    },
    "freezing": {
        "alice": dict(zip(TASK_TESTS, [2.0, 2.0, 2.0, 2.0, 1.0])),
        "bob": _zeros(TASK_TESTS),
        "carol": dict(zip(TASK_TESTS, [0.0, 0.0, 2.0, 0.0, 1.0])),
        "dave": dict(zip(TASK_TESTS, [0.0, 0.0, 2.0, 2.0, 1.0])),
        "erin": dict(zip(TASK_TESTS, [0.0, 2.0, 2.0, 2.0, 1.0])),
        "frank": _zeros(TASK_TESTS),
    },
    "strategy": {
        "alice": {**{f"{i}-test": _rubric(i) for i in ASSIGNMENTS[2].explains},
                  "finetune-structure-test": 3.0, "finetune-accuracy-test": 3.0},
        "bob": _zeros(STRATEGY_TESTS),
        "carol": {**_zeros(STRATEGY_TESTS), "basics-explain-approach-test": 2.0, "finetune-structure-test": 2.0},
        "dave": {**{f"{i}-test": _rubric(i) for i in ASSIGNMENTS[2].explains}, "basics-explain-approach-test": 0.0,
                 "finetune-structure-test": 3.0, "finetune-accuracy-test": 0.0},
        "frank": _zeros(STRATEGY_TESTS),
    },
}
STUDENTS = {"concepts": concepts_students, "freezing": freezing_students, "strategy": strategy_students}
MANUAL = {("concepts", "alice", "basics-card-definition"): 1.0, ("concepts", "alice", "freezing-card-meaning"): 0.5,
          ("strategy", "alice", "freezing-explain-role-test"): 4.0}  # what a grader types into formgrader


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Run the instructor's whole workflow once on a copy of quizzes/."""
    root = copy_course(QUIZZES, tmp_path_factory.mktemp("course"))
    for assignment in ASSIGNMENTS:
        nbgrader(root, "generate_assignment", assignment.name, "--create")
        keys = solutions(root / "source" / assignment.name / f"{assignment.name}.ipynb")
        for student in STUDENTS[assignment.name](keys):
            submit(root, assignment.name, student)
        if assignment.name == LOOPING[0]:
            nbgrader(root, "autograde", assignment.name, f"--student={LOOPING[1]}", f"--Execute.timeout={LOOPING[2]}")
        nbgrader(root, "autograde", assignment.name, f"--Execute.timeout={TIMEOUT}")  # skips graded students
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        auto = {(a, s): {g.name: g.auto_score for g in gb.find_submission_notebook(a, a, s).grades}
                for a, students in EXPECTED.items() for s in students}
        for (a, s, cell), score in MANUAL.items():  # as formgrader's grade API saves a typed-in score
            entry = gb.find_grade(cell, a, a, s)
            entry.manual_score, entry.needs_manual_grade = score, False
        gb.db.commit()
    for assignment in ASSIGNMENTS:
        nbgrader(root, "generate_feedback", assignment.name)
    nbgrader(root, "export", "--to", "grades.csv")
    return root, auto


@pytest.mark.parametrize("assignment,student", [(a, s) for a, ss in EXPECTED.items() for s in ss])
def test_every_item_gets_its_exact_autograde_score(course, assignment, student):
    _, auto = course
    assert auto[(assignment, student)] == EXPECTED[assignment][student]


def test_totals_include_manual_regrading(course):
    root, _ = course
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for a, students in EXPECTED.items():
            for s, grades in students.items():
                manual = {cell: v for (aa, ss, cell), v in MANUAL.items() if (aa, ss) == (a, s)}
                want = sum({**{k: v or 0.0 for k, v in grades.items()}, **manual}.values())
                assert gb.find_submission(a, s).score == pytest.approx(want), (a, s)
        assert gb.find_submission("strategy", "alice").score == 18.0
        waiting = {(a, s) for a in EXPECTED for s in EXPECTED[a] if gb.find_submission(a, s).needs_manual_grade}
        assert waiting == {("concepts", s) for s in ("bob", "carol", "dave", "erin")}


def _text(path: Path) -> str:
    """Visible text of an HTML page or notebook, with tags and highlighting spans removed."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        return "\n".join(c.source for c in nbformat.reads(raw, as_version=4).cells)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def test_no_answer_key_reaches_a_student(course):
    root, _ = course
    for assignment in ASSIGNMENTS:
        keys = secrets(assignment, BANK)
        source = _text(root / "source" / assignment.name / f"{assignment.name}.ipynb")
        explanations = {BANK.get(i).explanation for i in assignment.choices}
        assert {k for k in keys if k not in source} <= explanations  # the search finds keys where they are
        assert not [k for k in keys if k in _text(root / "release" / assignment.name / f"{assignment.name}.ipynb")]
        for student in EXPECTED[assignment.name]:
            page = _text(root / "feedback" / student / assignment.name / f"{assignment.name}.html")
            own = _text(root / "submitted" / student / assignment.name / f"{assignment.name}.ipynb")
            leaked = [k for k in keys if k in page and k not in own]
            assert not leaked, (assignment.name, student, leaked)
    alice = _text(root / "feedback" / "alice" / "freezing" / "freezing.html")
    assert "param.requires_grad = False" in alice  # her own answer is shown back to her


def test_feedback_explains_mistakes_timeouts_and_restored_cells(course):
    root, _ = course
    carol = _text(root / "feedback" / "carol" / "freezing" / "freezing.html")
    assert "Keras flag" in carol and "'GlyphNet' object has no attribute 'freeze_layers'" in carol
    dave = _text(root / "feedback" / "dave" / "freezing" / "freezing.html")
    assert "CellTimeoutError" in dave or "KeyboardInterrupt" in dave
    assert "RuntimeError: stuck" in dave
    erin = _text(root / "feedback" / "erin" / "freezing" / "freezing.html")
    assert 'check.exercise("ReplaceHead"' in erin and "model = None" not in erin
    frank = _text(root / "feedback" / "frank" / "strategy" / "strategy.html")
    assert "NotImplementedError" in frank and "finetune_structure" in frank


def test_exported_csv_matches_the_gradebook(course):
    root, _ = course
    rows = list(csv.DictReader((root / "grades.csv").open()))
    students = {s for ss in EXPECTED.values() for s in ss}
    # nbgrader exports every student for every assignment; one who did not submit scores 0
    assert {(r["assignment"], r["student_id"]) for r in rows} == {(a, s) for a in EXPECTED for s in students}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for row in rows:
            submitted = row["student_id"] in EXPECTED[row["assignment"]]
            want = gb.find_submission(row["assignment"], row["student_id"]).score if submitted else 0.0
            assert float(row["score"]) == pytest.approx(want)
    maxima = {row["assignment"]: float(row["max_score"]) for row in rows}
    assert maxima == {"concepts": 11.0, "freezing": 9.0, "strategy": 18.0}
