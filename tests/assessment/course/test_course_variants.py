"""Per-student variants on the real nbgrader CLI: each student answers the variant their released notebook shows
them and scores full marks; a student who hands in a classmate's answers scores what those answers earn in their
own variant; plain `nbgrader autograde` and `ftlab course autograde --jobs 2` agree.

The expected scores are worked out here from what each student's notebook shows (its variant table, read as the
student's kernel reads it) and the course bank's correct option texts, not from the grader's code."""
import os
import re
import shutil
import subprocess
import sys
from argparse import Namespace
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from ftlab.assessment.bank.checks import group_lrs
from ftlab.assessment.course import variants
from ftlab.assessment.course.assignments import BY_NAME, cells
from ftlab.assessment.course.build import build
from ftlab.assessment.course.keys import load_keys
from ftlab.assessment.course.sandbox import Student, copy_course, nbgrader, solutions, submit
from ftlab.assessment.course.variants import TABLE_CELL, count, derive, personalize
from ftlab.assessment.course.your_variant import Table

QUIZZES = Path(__file__).resolve().parents[3] / "quizzes"
KEYS = load_keys(QUIZZES)
CONCEPTS, FREEZING = BY_NAME["concepts"], BY_NAME["freezing"]
CLASS = [f"s{n:02d}" for n in range(10)]
COPIER = "copier"  # hands in CLASS[0]'s answers, letters and code
ENV = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
SECRET = "a-test-secret"


def ftlab(course: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "ftlab.cli", "course", *args], cwd=course, capture_output=True,
                          text=True, env=ENV)
    assert done.returncode == 0, f"ftlab course {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def seen(released: Path, student: str) -> tuple[Table, str]:
    """The variant table as the student's kernel loads it from the released notebook, and their key in it."""
    cell = next(c for c in nbformat.read(released, as_version=4).cells if c.get("id") == TABLE_CELL)
    namespace = {"student_id": student}
    exec(cell.source, namespace)  # the locked cell, as the kernel runs it: it needs no secret
    return namespace["your"].table, namespace["your"].key


def shown_choices(table: Table, key: str) -> dict[str, tuple[str, list[str] | bool]]:
    """Per question label: the item asked and its options in the order shown (true/false: no options)."""
    out = {}
    for label, (item_id, how) in table.students[key].items():
        if label.startswith("q"):
            text = table.render(key, label)
            out[label] = (item_id, re.findall(r"^- \*\*[A-H]\*\*\) (.*)$", text, flags=re.M))
    return out


def right_letters(table: Table, key: str) -> dict[str, str]:
    """The answer lines that are right in this variant, found by the correct option's text."""
    out = {}
    for label, (item_id, options) in shown_choices(table, key).items():
        item = KEYS.bank.get(item_id)
        if item.kind == "truefalse":
            out[label] = f"{label} = {item.answer == 0}"
        else:
            out[label] = f"{label} = {'ABCDEFGH'[options.index(item.options[item.answer])]!r}"
    return out


def choice_score(table: Table, key: str, lines: dict[str, str]) -> float:
    """What these answer lines earn in the variant `key`."""
    right = right_letters(table, key)
    return float(sum(right[label] == line for label, line in lines.items()))


def exercise_code(table: Table, key: str) -> dict[str, str]:
    """The code a student writes for E2 and E4 from the settings their prompts show."""
    e2, e4 = table.render(key, "E2"), table.render(key, "E4")
    classes = int(re.search(r"\*\*(\d+)\*\* classes", e2).group(1))
    first = re.search(r"Unfreeze `(stage\d)`", e4).group(1)
    body_lr, head_lr = re.search(r"together at lr (\S+), the head at lr (\S+)\.", e4).groups()
    stages = ["stage1", "stage2", "stage3", "stage4"]
    unfrozen = stages[stages.index(first):]
    return {
        "e2-replace-head": f"for p in model.parameters():\n    p.requires_grad_(False)\n"
                           f"model.head = nn.Linear(model.head.in_features, {classes})",
        "e4-group-lrs": f"ftlab.unfreeze(model, *{unfrozen!r}, 'head')\n"
                        f"body = [p for g in {unfrozen!r} for p in getattr(model, g).parameters()]\n"
                        f"optimizer = torch.optim.SGD([{{'params': body, 'lr': {body_lr}}}, "
                        f"{{'params': model.head.parameters(), 'lr': {head_lr}}}], momentum=0.9)",
    }


def settings_shown(table: Table, key: str) -> tuple[str, str]:
    return table.render(key, "E2"), table.render(key, "E4")


def scores(course: Path, assignment: str) -> dict[str, dict[str, float]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {sub.student.id: {g.name: g.auto_score for g in sub.notebooks[0].grades}
                for sub in gb.assignment_submissions(assignment)}


def test_a_variant_is_stable_per_student_and_differs_between_students():
    first = [derive(CONCEPTS, KEYS, SECRET, s) for s in CLASS]
    assert [derive(CONCEPTS, KEYS, SECRET, s) for s in CLASS] == first
    assert len({v.code for v in first}) == len(CLASS)
    assert len({str(v.picks) for v in first}) == len(CLASS)
    assert derive(CONCEPTS, KEYS, "another-secret", CLASS[0]).picks != first[0].picks
    assert derive(FREEZING, KEYS, SECRET, CLASS[0]).picks != derive(FREEZING, KEYS, SECRET, CLASS[1]).picks
    # 5 multiple-choice slots of 4 options (one pooled with a second item), 4 true/false (one pooled)
    assert count(CONCEPTS, KEYS) == 24 ** 4 * 48 * 2
    assert count(FREEZING, KEYS) == 7 * 27


def test_the_instructors_variant_is_the_source_and_a_bad_pool_is_refused():
    source = derive(CONCEPTS, KEYS, SECRET, "")
    assert all(order == sorted(order) for _, order in source.picks.values())
    bad = replace(CONCEPTS, pools=(("course-mc-head-width", "course-tf-attribute"),))
    with pytest.raises(ValueError, match="mixes kinds"):
        personalize(bad, KEYS, cells(bad, KEYS), SECRET, CLASS)


def test_released_notebooks_show_each_student_their_own_variant_where_the_config_says(tmp_path):
    notebook = tmp_path / "concepts.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=personalize(CONCEPTS, KEYS, cells(CONCEPTS, KEYS), SECRET, CLASS)),
                   notebook)
    text = notebook.read_text()
    assert all(s not in text for s in CLASS) and SECRET not in text  # no id in clear, no secret
    table, a = seen(notebook, CLASS[0])
    _, b = seen(notebook, CLASS[1])
    mine, theirs = shown_choices(table, a), shown_choices(table, b)
    assert set(mine) == {f"q{n}" for n in range(3, 8)} | {"q10"}  # the MC questions and the pooled true/false
    assert any(mine[q] != theirs[q] for q in mine)
    for q in mine:  # the same options, in another order: nothing is added or lost
        if mine[q][0] == theirs[q][0]:
            assert sorted(mine[q][1]) == sorted(theirs[q][1])


@pytest.mark.parametrize("first,body,head", [("stage2", 1e-5, 1e-2), ("stage4", 1e-4, 1e-3)])
def test_the_group_check_reads_the_variants_values(glyphnet, first, body, head):
    import torch

    import ftlab

    stages = ["stage1", "stage2", "stage3", "stage4"]
    unfrozen = stages[stages.index(first):]
    model = glyphnet
    ftlab.freeze(model)
    ftlab.unfreeze(model, *unfrozen, "head")
    params = [p for g in unfrozen for p in getattr(model, g).parameters()]
    optimizer = torch.optim.SGD([{"params": params, "lr": body}, {"params": model.head.parameters(), "lr": head}])
    assert group_lrs(model, optimizer, first=first, body_lr=body, head_lr=head).correct
    assert not group_lrs(model, optimizer, first=first, body_lr=body * 2, head_lr=head).correct
    assert not group_lrs(model, optimizer, first="stage3", body_lr=body, head_lr=head).correct


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The README's workflow with variants on: roster, build, generate; the class answers its own variants."""
    root = copy_course(QUIZZES, tmp_path_factory.mktemp("variants"))
    config = root / "nbgrader_config.py"
    text = config.read_text()
    text = text.replace('secret = "ftlab-quizzes-example-secret"', f'secret = "{SECRET}"')
    config.write_text(text.replace("assignments = []", 'assignments = ["concepts", "freezing"]'))
    (root / "students.csv").write_text("id\n" + "\n".join([*CLASS, COPIER]) + "\n")
    nbgrader(root, "db", "student", "import", "students.csv")
    build(root)  # `ftlab course build`, in this process
    released, answers = {}, {}
    for name in ("concepts", "freezing"):
        nbgrader(root, "generate_assignment", name, "--create")
        released[name] = root / "release" / name / f"{name}.ipynb"
        answers[name] = solutions(root / "source" / name / f"{name}.ipynb")
    return root, released, answers


@pytest.mark.slow
def test_a_class_on_its_own_variants_scores_full_marks_and_a_copier_what_the_copy_earns(course, capsys):
    root, released, answers = course
    table, _ = seen(released["concepts"], CLASS[0])
    own = {s: right_letters(table, seen(released["concepts"], s)[1]) for s in [*CLASS, COPIER]}
    labels = {f"q{n}": item_id for n, item_id in enumerate(CONCEPTS.recall + CONCEPTS.choices, start=1)}
    for student in CLASS:
        mine = {labels[q]: line for q, line in own[student].items()}
        submit(root, "concepts", Student(student, {**answers["concepts"], **mine}))
    copied = own[CLASS[0]]
    submit(root, "concepts", Student(COPIER, {**answers["concepts"], **{labels[q]: a for q, a in copied.items()}}))
    serial = Path(shutil.copytree(root, root.parent / "serial"))
    for student in CLASS[1:]:  # plain nbgrader grades one at a time: an honest student and the copier suffice
        shutil.rmtree(serial / "submitted" / student)
    nbgrader(serial, "autograde", "concepts")
    ftlab(root, "autograde", "concepts", "--jobs", "2", "--no-sandbox")
    parallel = scores(root, "concepts")
    assert scores(serial, "concepts") == {s: parallel[s] for s in (CLASS[0], COPIER)}  # nbgrader and ftlab agree
    assert all(sum(parallel[s].values()) == 11.0 for s in CLASS), parallel
    copier_key = seen(released["concepts"], COPIER)[1]
    earned = choice_score(table, copier_key, copied)
    got = sum(parallel[COPIER][f"{labels[q]}-test"] for q in copied)
    assert got == earned < len(copied) - 2  # what the copied letters earn in the copier's own variant
    assert sum(parallel[COPIER].values()) == 2.0 + 3.0 + earned  # own recall answers; three true/false that never vary
    capsys.readouterr()
    variants.run(Namespace(assignment="concepts", root=root))  # `ftlab course variants concepts`, in this process
    report = capsys.readouterr().out
    codes = {line.split()[0]: line.split()[1] for line in report.splitlines()[1:]}
    assert len(set(codes.values())) == len(CLASS) + 1
    from ftlab.assessment.course.report import build as report_of

    class_report = report_of(root, "concepts")  # `ftlab course report`: each student's order undone in the counts
    assert class_report.variants == codes
    for q in (q for q in class_report.questions if q.options):
        picked = [r.choice for r in q.responses if r.student in CLASS and r.choice is not None]
        assert picked and set(picked) == {q.answer}, (q.grade_id, picked)
    nbgrader(root, "generate_feedback", "concepts", "--student", COPIER)
    feedback = (root / "feedback" / COPIER / "concepts" / "concepts.html").read_text()
    assert f"variant of {COPIER} (variant {codes[COPIER]})" in feedback


@pytest.mark.slow
def test_copied_code_earns_nothing_where_the_settings_differ(course):
    root, released, answers = course
    table, _ = seen(released["freezing"], CLASS[0])
    keys = {s: seen(released["freezing"], s)[1] for s in CLASS}
    source, other = CLASS[0], next(s for s in CLASS[1:] if all(
        x != y for x, y in zip(settings_shown(table, keys[CLASS[0]]), settings_shown(table, keys[s]))))
    submit(root, "freezing", Student(source, {**answers["freezing"], **exercise_code(table, keys[source])}))
    submit(root, "freezing", Student(other, {**answers["freezing"], **exercise_code(table, keys[source])}))
    ftlab(root, "autograde", "freezing", "--jobs", "2", "--no-sandbox")
    got = scores(root, "freezing")
    assert sum(got[source].values()) == 9.0
    assert got[other]["e2-replace-head-test"] == got[other]["e4-group-lrs-test"] == 0.0
    assert sum(got[other].values()) == 9.0 - 4.0
