"""The whole nbgrader workflow on the real CLI and its SQLite gradebook, graded outside the students' kernels.

Besides honest, wrong and partial students, each assignment gets one submission per exploit: suppressed
output, patched helpers, keys read or computed in the kernel, edited and forged grade cells, objects that lie
about themselves, a sabotaged state dump, a fake accuracy, deleted cells. Each must score exactly what its
honest answers earn. One nbgrader run per assignment grades them all (each notebook costs ~15 s).
"""
import csv
import html
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from ftlab.assessment.course.assignments import ASSIGNMENTS, secrets
from ftlab.assessment.course.keys import load_keys
from ftlab.assessment.course.sandbox import Student, copy_course, nbgrader, solutions, submit

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

QUIZZES = Path(__file__).resolve().parents[3] / "quizzes"
TIMEOUT = 300  # seconds per cell: generous, so a starved CI machine cannot fail a correct cell
KEYS = load_keys(QUIZZES)
CONCEPTS, FREEZING, STRATEGY = ASSIGNMENTS
CARDS = dict(enumerate(CONCEPTS.recall, start=1))  # q1, q2
CHOICES = dict(enumerate(CONCEPTS.choices, start=len(CARDS) + 1))  # q3..q11
DEAD_KERNEL = importlib.util.find_spec("ftlab.assessment.course.execute") is not None  # #14's executor survives exit()


def _choice(n: int, right: bool) -> str:
    item = KEYS.bank.get(CHOICES[n])
    if item.kind == "truefalse":
        return f"q{n} = {(item.answer == 0) == right}"
    return f"q{n} = {item.letters[item.answer if right else (item.answer + 1) % len(item.options)]!r}"


# Wrong free-text answers by kind (the item-level cases are in test_course_keys.py): a misconception scores 0 and
# is final; a keyword list, a pasted model answer or an echoed prompt scores 0 and waits for a person.
MISCONCEIVED_CARD = "Nothing carries over: fine-tuning trains the whole network from scratch and reuses the old head."
KEYWORD_CARD = "requires_grad, False, gradient, optimizer"
MISCONCEIVED_LR = "Pretrained weights are no better than random ones, and a high learning rate keeps the features safe."
NEGATED_PLAN = ("I would not use a pretrained model, keep the old head, and not freeze anything; overfitting is not a "
                "problem with 50 photos.")
PARTIAL_LR = "Smaller, because the pretrained weights are already good."
ECHOED_BATCHNORM = "Frozen BatchNorm layers are kept in eval mode while the rest of the model trains."
KEYWORD_BATCHNORM = "running mean, running variance, buffers, small batches, noisy"


def concepts_students(keys: dict[str, str]) -> list[Student]:
    wrong = {CHOICES[n]: _choice(n, False) for n in CHOICES}
    blank = {CARDS[n]: f'q{n} = "I do not remember."' for n in CARDS}
    quiet = 'get_ipython().ast_node_interactivity = "none"\nimport sys\nsys.stderr = sys.stdout\n'
    patch = ("import ftlab.assessment.course.check as c, ftlab.assessment.bank.grading as g\n"
             "c.letter = c.truefalse = c.text = lambda *a, **k: 1.0\n"
             "g.grade = lambda item, answer: g.Grade(item.id, 1.0, 1.0, True, 'patched')\n")
    computed = {CHOICES[n]: f"from ftlab.assessment.bank import load_bank\nq{n} = load_bank().items[{n}].answer" for n in CHOICES}
    computed[CHOICES[3]] = 'q3 = open("../../../bank/concepts.toml").read()[:1]'  # the course's keys, from the kernel
    students = [
        Student("alice", dict(keys)),
        Student("bob", {**keys, **wrong, **blank}),
        Student("carol", {**keys, **{CHOICES[n]: _choice(n, n < 7) for n in CHOICES}}),
        Student("quiet", {**keys, **wrong, CARDS[1]: quiet + keys[CARDS[1]]}),
        Student("patcher", {**keys, **wrong, CARDS[1]: patch + keys[CARDS[1]]},
                edits={f"{CHOICES[3]}-test": "1.0", f"{CHOICES[4]}-test": "print(1.0)\n1.0"}),
        Student("keyreader", {**keys, **computed}),
        Student("forger", {**keys, **wrong}, forged={"bonus-test": 100.0}),
        Student("erin", {**keys, CHOICES[3]: _choice(3, False)}, deleted=frozenset({f"{CHOICES[4]}-test"})),
        Student("frank", empty=True),
        Student("wrongcards", {**keys, CARDS[1]: f"q1 = {MISCONCEIVED_CARD!r}", CARDS[2]: f"q2 = {KEYWORD_CARD!r}"}),
        Student("rater", {**keys, CARDS[1]: 'q1 = "easy"', CARDS[2]: "q2 = 4"}),
    ]
    if DEAD_KERNEL:
        students.append(Student("exiter", {**keys, CHOICES[3]: "exit()\n" + keys[CHOICES[3]]}))
    return students


BODY = '"stem", "stage1", "stage2", "stage3", "stage4"'
WRONG_TASKS = {"e1-freeze-all": "model.eval()", "e2-replace-head": "model.head = nn.Linear(192, 5)",
               "e3-optimizer": "optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)",
               "e4-group-lrs": "optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)",
               "e5-frozen-batchnorm": "model.eval()"}
LIAR = ("fake = [(n, nn.Parameter(p.detach().clone(), requires_grad=False)) for n, p in model.named_parameters()]\n"
        "model.named_parameters = lambda *a, **k: iter(fake)\n"
        "model.parameters = lambda *a, **k: iter(p for _, p in fake)\n")


def freezing_students(keys: dict[str, str]) -> list[Student]:
    return [
        Student("alice", dict(keys)),
        Student("bob", {**keys, **WRONG_TASKS}),
        Student("carol", {**keys, "e1-freeze-all": "model.freeze_layers()",
                          "e2-replace-head": "model.trainable = False\nmodel.head = nn.Linear(192, 7)",
                          "e4-group-lrs": "for layer in model.layers:\n    layer.trainable = False"}),
        Student("dave", {**keys, "e1-freeze-all": 'raise ValueError("not sure")',
                         "e2-replace-head": 'raise RuntimeError("stuck")'}),
        Student("quiet", {**keys, **WRONG_TASKS, "e1-freeze-all": 'get_ipython().ast_node_interactivity = "none"\n'
                                                                  "model.eval()"}),
        Student("patcher", {**keys, **WRONG_TASKS, "e1-freeze-all":
                            "import ftlab.assessment.exercises as ex, ftlab.assessment.course.check as c\n"
                            "for cls in ex.EXERCISES.values():\n    cls.check = lambda self, **k: 1.0\n"
                            "c.objects = lambda **k: 1.0\ntorch.save = lambda *a, **k: None\nmodel.eval()"}),
        Student("liar", {**keys, "e1-freeze-all": LIAR, "e2-replace-head": "model.head = nn.Linear(192, 7)\n" + LIAR}),
        Student("odd", {**keys, "e2-replace-head": keys["e2-replace-head"].replace(
            "nn.Linear(model.head.in_features, 7)", "nn.Sequential(nn.Linear(model.head.in_features, 7))")}),
        Student("erin", {**keys, "e1-freeze-all": "model.eval()"},
                edits={"e1-freeze-all-test": "2", "e3-optimizer-setup": "model = None"},
                deleted=frozenset({"e2-replace-head-test"})),
        Student("frank", empty=True),
    ]


def strategy_students(keys: dict[str, str]) -> list[Student]:
    explains = {i: f'explain_{n} = "I do not know."' for n, i in enumerate(STRATEGY.explains, start=1)}
    setup_only = keys["finetune"].replace("trainer.fit(epochs=EPOCHS)", "")
    fake = ("import torch.nn.functional as F\n"
            "model.forward = lambda x: F.one_hot(data.test.labels[:len(x)], 10).float()\n"
            "print(1.0)\n")
    plan, lr, batchnorm = STRATEGY.explains
    pasted = KEYS.bank.get(plan).model_answer
    return [
        Student("alice", dict(keys)),
        Student("bob", {**keys, **explains, "finetune": "pass"}),
        Student("mallory", {**keys, plan: f"explain_1 = {pasted!r}", lr: f"explain_2 = {MISCONCEIVED_LR!r}",
                            batchnorm: f"explain_3 = {KEYWORD_BATCHNORM!r}", "finetune": "pass"}),
        Student("nina", {**keys, plan: f"explain_1 = {NEGATED_PLAN!r}", lr: f"explain_2 = {PARTIAL_LR!r}",
                         batchnorm: f"explain_3 = {ECHOED_BATCHNORM!r}", "finetune": "pass"}),
        Student("cheater", {**keys, **explains, "finetune": setup_only + "\n" + fake}),
        Student("frank", empty=True),
    ]


def _zeros(ids):
    return dict.fromkeys(ids, 0.0)


CHOICE_TESTS = [f"{i}-test" for i in CONCEPTS.choices]
CARD_TESTS = [f"{i}-test" for i in CONCEPTS.recall]
TASK_TESTS = [f"{item_id}-test" for item_id in FREEZING.exercises]
EXPLAIN_TESTS = [f"{i}-test" for i in STRATEGY.explains]
STRATEGY_TESTS = EXPLAIN_TESTS + ["finetune-structure-test", "finetune-accuracy-test"]
STUDENTS = {"concepts": concepts_students, "freezing": freezing_students, "strategy": strategy_students}


def expected(keys: dict[str, dict[str, str]]) -> dict[str, dict[str, dict[str, float]]]:
    """assignment -> student -> grade id -> auto score."""
    right = dict.fromkeys(CHOICE_TESTS, 1.0)
    cards, blank = dict.fromkeys(CARD_TESTS, 1.0), _zeros(CARD_TESTS)  # the solution earns full marks
    concepts = {
        "alice": {**right, **cards}, "bob": {**_zeros(CHOICE_TESTS), **blank},
        "carol": {**{t: float(k < 4) for k, t in enumerate(CHOICE_TESTS)}, **cards},
        "quiet": {**_zeros(CHOICE_TESTS), **cards}, "patcher": {**_zeros(CHOICE_TESTS), **cards},
        "keyreader": {**_zeros(CHOICE_TESTS), **cards}, "forger": {**_zeros(CHOICE_TESTS), **cards},
        "erin": {**right, CHOICE_TESTS[0]: 0.0, **cards}, "frank": _zeros(CHOICE_TESTS + CARD_TESTS),
        "wrongcards": {**right, **blank}, "rater": {**right, **blank},
    }
    if DEAD_KERNEL:
        concepts["exiter"] = concepts["alice"]
    freezing = {s: dict(zip(TASK_TESTS, scores)) for s, scores in {
        "alice": [2, 2, 2, 2, 1], "bob": [0] * 5, "carol": [0, 0, 2, 0, 1], "dave": [0, 0, 2, 2, 1],
        "quiet": [0] * 5, "patcher": [0] * 5, "liar": [0, 0, 2, 2, 1], "odd": [2, 0, 2, 2, 1],
        "erin": [0, 2, 2, 2, 1], "frank": [0] * 5}.items()}
    rubric = {f"{i}-test": float(len(KEYS.bank.get(i).concepts)) for i in STRATEGY.explains}
    strategy = {"alice": {**rubric, "finetune-structure-test": 3.0, "finetune-accuracy-test": 3.0},
                "mallory": _zeros(STRATEGY_TESTS), "nina": {**_zeros(STRATEGY_TESTS), EXPLAIN_TESTS[1]: 1.0},
                "bob": _zeros(STRATEGY_TESTS),
                "cheater": {**_zeros(STRATEGY_TESTS), "finetune-structure-test": 3.0},
                "frank": _zeros(STRATEGY_TESTS)}
    return {"concepts": concepts, "freezing": {s: {k: float(v) for k, v in g.items()} for s, g in freezing.items()},
            "strategy": strategy}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Run the instructor's workflow once on a copy of quizzes/: one autograde run per assignment."""
    root = copy_course(QUIZZES, tmp_path_factory.mktemp("course"))
    keys = {}
    for assignment in ASSIGNMENTS:
        nbgrader(root, "generate_assignment", assignment.name, "--create")
        keys[assignment.name] = solutions(root / "source" / assignment.name / f"{assignment.name}.ipynb")
        for student in STUDENTS[assignment.name](keys[assignment.name]):
            submit(root, assignment.name, student)
        nbgrader(root, "autograde", assignment.name, f"--Execute.timeout={TIMEOUT}")
    want = expected(keys)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        auto = {(a, s): {g.name: (g.auto_score, g.needs_manual_grade) for g in gb.find_submission_notebook(a, a, s).grades}
                for a, students in want.items() for s in students}
        entry = gb.find_grade(CARD_TESTS[0], "concepts", "concepts", "alice")  # as formgrader saves a typed score
        entry.manual_score, entry.needs_manual_grade = 1.0, False
        gb.db.commit()
    for assignment in ASSIGNMENTS:
        nbgrader(root, "generate_feedback", assignment.name)
    nbgrader(root, "export", "--to", "grades.csv")
    return root, auto, want, keys


def test_every_submission_gets_exactly_its_honest_score(course):
    _, auto, want, _ = course
    wrong = {(a, s): ({g: v for g, (v, _) in auto[(a, s)].items()}, grades)
             for a, students in want.items() for s, grades in students.items()
             if {g: v for g, (v, _) in auto[(a, s)].items()} != grades}
    assert not wrong


def test_unsure_scores_and_only_those_wait_for_a_person(course):
    _, auto, _, _ = course
    flagged = {(a, s, g) for (a, s), grades in auto.items() for g, (_, manual) in grades.items() if manual}
    # keyword lists, echoes and "I do not know." are zeros the scorer is sure of; a pasted model answer waits for a
    # person, and so do zeros the second reader cannot confirm (a negation or a misconception it cannot see)
    assert flagged == {("strategy", "mallory", EXPLAIN_TESTS[0]), ("strategy", "mallory", EXPLAIN_TESTS[1]),
                       ("strategy", "nina", EXPLAIN_TESTS[0]), ("freezing", "odd", "e2-replace-head-test")}


def _text(path: Path) -> str:
    """Visible text of an HTML page or notebook (sources and outputs), tags removed."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        nb = nbformat.reads(raw, as_version=4)
        return "\n".join([c.source for c in nb.cells] + [str(o) for c in nb.cells for o in c.get("outputs", [])])
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def test_no_answer_key_reaches_a_student(course):
    root, _, want, _ = course
    for assignment in ASSIGNMENTS:
        keys = secrets(assignment, KEYS)
        source = _text(root / "source" / assignment.name / f"{assignment.name}.ipynb")
        shown = {KEYS.bank.get(i).answer for i in assignment.recall} | \
            {KEYS.bank.get(i).model_answer for i in assignment.explains}  # in the bank only: source holds solutions
        assert all(k in source for k in keys if k not in shown)  # the search looks for keys where they are
        released = _text(root / "release" / assignment.name / f"{assignment.name}.ipynb")
        assert not [k for k in keys if k in released]
        for student in want[assignment.name]:
            page = _text(root / "feedback" / student / assignment.name / f"{assignment.name}.html")
            own = _text(root / "submitted" / student / assignment.name / f"{assignment.name}.ipynb")
            assert not [k for k in keys if k in page and k not in own], (assignment.name, student)
            assert "Answer:" not in page and "ftlab_dump" not in page and "Missing:" not in page
        assert not list((root / "autograded").rglob("*.pt"))  # the dumps are gone


def test_feedback_shows_score_explanation_and_misconception(course):
    root, _, _, _ = course
    bob = _text(root / "feedback" / "bob" / "concepts" / "concepts.html")
    item = KEYS.bank.get(CONCEPTS.choices[0])
    wrong = (item.answer + 1) % len(item.options)
    assert "Score: 0 of 1." in bob and item.explanation not in bob and item.mistakes[wrong] in bob
    carol = _text(root / "feedback" / "carol" / "freezing" / "freezing.html")
    assert "Keras flag" in carol and "Score: 2 of 2." in carol
    odd = _text(root / "feedback" / "odd" / "freezing" / "freezing.html")
    assert "a person will check it" in odd and "Provisional" in odd
    mallory = _text(root / "feedback" / "mallory" / "strategy" / "strategy.html")
    lr = KEYS.bank.get(STRATEGY.explains[1])
    assert f"The misconception in your answer: {lr.concepts[0].misconceptions[0].name}" in mallory
    assert "Provisional" in mallory and "pasted-model-answer" in mallory
    wrongcards = _text(root / "feedback" / "wrongcards" / "concepts" / "concepts.html")
    assert "fine-tuning starts again from random weights" in wrongcards
    rater = _text(root / "feedback" / "rater" / "concepts" / "concepts.html")
    assert "Write your answer in words" in rater
    cheater = _text(root / "feedback" / "cheater" / "strategy" / "strategy.html")
    assert "Accuracy on the grader's digit images" in cheater


def test_forged_grade_cells_count_for_nothing(course):
    root, _, _, _ = course
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assert gb.find_submission("concepts", "forger").score == sum(
            course[2]["concepts"]["forger"].values())
        assert gb.find_submission("concepts", "alice").max_score == 11.0


def test_exported_csv_matches_the_gradebook(course):
    root, _, want, _ = course
    rows = list(csv.DictReader((root / "grades.csv").open()))
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for row in rows:
            submitted = row["student_id"] in want[row["assignment"]]
            score = gb.find_submission(row["assignment"], row["student_id"]).score if submitted else 0.0
            assert float(row["score"]) == pytest.approx(score)
        assert gb.find_submission("concepts", "alice").score == pytest.approx(9.0 + 1.0 + want["concepts"]["alice"][
            CARD_TESTS[1]])  # the typed-in manual score replaced the card's auto score
    assert {row["assignment"]: float(row["max_score"]) for row in rows} == {"concepts": 11.0, "freezing": 9.0,
                                                                            "strategy": 15.0}


def test_class_report_reads_what_plain_nbgrader_left(course):
    """`ftlab course report` after plain `nbgrader autograde`: every coding task's failed students and why, the
    fine-tuning setup's parts, a person's typed-in score, and the answers waiting for a person."""
    from ftlab.assessment.course.report import build

    root, _, want, _ = course
    freezing = build(root, "freezing")
    for q in freezing.questions:
        zero = {s for s, grades in want["freezing"].items() if grades[q.grade_id] == 0}
        assert {r.student for r in q.responses if r.failures} == zero, q.grade_id
    e1 = next(q for q in freezing.questions if q.item_id == "e1-freeze-all")
    why = {r.student: r.failures for r in e1.responses}
    assert why["bob"] == why["carol"] == ["N of N parameter tensors still have requires_grad=True"]
    e2 = next(q for q in freezing.questions if q.item_id == "e2-replace-head")
    assert any("Keras flag" in what for r in e2.responses if r.student == "carol" for what in r.failures)
    strategy = build(root, "strategy")
    setup = next(q for q in strategy.questions if q.kind == "structure")
    assert not [r for r in setup.responses if r.student in ("alice", "cheater") and r.failures]
    assert {r.student for r in setup.responses if r.failures} == {"mallory", "nina", "bob", "frank"}
    concepts = build(root, "concepts")
    card = next(q for q in concepts.questions if q.grade_id == CARD_TESTS[1])
    assert not {r.student for r in card.responses if r.to_person}  # a keyword list is a zero the scorer is sure of
    plan = next(q for q in strategy.questions if q.grade_id == EXPLAIN_TESTS[0])
    assert {r.student for r in plan.responses if r.to_person} == {"mallory", "nina"}  # a paste, a negated plan
    assert "mallory" in strategy.flags
