"""The course folder: notebooks generated from the private bank, keys kept out of the package, answers read
statically, task state rebuilt outside the kernel, verdicts nbgrader records as they are, and `course init`."""
import os
import pickle
import re
import tomllib
from pathlib import Path

import nbformat
import pytest
import torch
from nbgrader.utils import determine_grade
from torch import nn

import ftlab
from ftlab.assessment.bank import load_bank
from ftlab.assessment.bank.checks import run
from ftlab.cli import main
from ftlab.assessment.course import check
from ftlab.assessment.course.answers import NoAnswer, read_answer
from ftlab.assessment.course.assignments import ASSIGNMENTS, BY_NAME, cells, graded, secrets
from ftlab.assessment.course.build import build, source_path, stale
from ftlab.assessment.course.grader import GradeCells, Verdict, finetune_structure
from ftlab.assessment.course.init import TEMPLATE
from ftlab.assessment.course.keys import KeysError, load_keys
from ftlab.assessment.course.guard import tools
from ftlab.assessment.course.state import StateError, load_record, load_seal, rebuild_model, rebuild_optimizer
from ftlab.assessment.exercises import FreezeAll
from ftlab.assessment.selfquiz import Reviser, Store

REPO = Path(__file__).resolve().parents[3]
QUIZZES = REPO / "quizzes"
KEYS = load_keys(QUIZZES)
KEY = os.urandom(32)


def _course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    main(["course", "init", str(root), "--bank", str(QUIZZES / "bank")])
    return root


def test_committed_notebooks_and_config_match_the_private_bank_and_template():
    assert stale(QUIZZES) == [], "run `ftlab course build` and commit quizzes/source"
    assert (QUIZZES / "nbgrader_config.py").read_text() == TEMPLATE.read_text()


def test_build_is_deterministic_and_check_sees_drift(tmp_path):
    root = _course(tmp_path)
    assert stale(root) == [] and build(root) == []
    path = source_path(root, ASSIGNMENTS[0])
    path.write_text(path.read_text().replace("Fine-tuning concepts", "Edited by hand"))
    assert stale(root) == [path]


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_source_notebooks_are_clean_and_well_formed(assignment):
    nb = nbformat.read(source_path(QUIZZES, assignment), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))
    assert "nbgrader" in nb.cells[0].metadata  # a restored emptied notebook starts in the right place
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests and all(c.metadata["nbgrader"]["points"] > 0 and c.cell_type == "code" for c in tests)
    assert {c.metadata["nbgrader"]["grade_id"] for c in tests} == set(graded(assignment))


def test_the_package_holds_no_graded_item_or_solution():
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["ftlab"]
    wheel = set((REPO / "ftlab").rglob("*.py")) | {p for pattern in patterns for p in (REPO / "ftlab").glob(pattern)}
    text = "\n".join(p.read_text(errors="ignore") for p in wheel if p.suffix != ".pt")
    public = load_bank()
    assert not [item.id for item in KEYS.bank.items if item.id in public]  # ids are named in the package; keys are not
    for assignment in ASSIGNMENTS:
        for cell in cells(assignment, KEYS):
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                body = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0].strip()
                assert body not in text, (assignment.name, meta["grade_id"])
    for item in KEYS.bank.items:  # prompts, answers, model answers, explanations, solutions: none ships
        for name, value in vars(item).items():  # (an exercise's setup is a released read-only cell of plain calls)
            if isinstance(value, str) and len(value) > 30 and name != "setup":
                assert value not in text, item.id
    assert REPO / "ftlab" / "assessment" / "course" / "template" / "nbgrader_config.py" in wheel


def test_missing_private_bank_is_refused_with_its_path(tmp_path):
    with pytest.raises(KeysError, match="private bank"):
        load_keys(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["course", "build", "--root", str(tmp_path / "nonexistent")])
    assert stopped.value.code == 2 and not (tmp_path / "nonexistent").exists()


def test_init_makes_a_complete_course_and_refuses_to_overwrite(tmp_path, capsys):
    root = _course(tmp_path)
    config = (root / "nbgrader_config.py").read_text()
    seed = re.search(r"c\.GradeCells\.test_seed = (\d+)", config).group(1)
    secret = re.search(r'c\.CourseVariants\.secret = "([0-9a-f]{64})"', config).group(1)  # random per course
    config = config.replace(secret, "ftlab-quizzes-example-secret").replace('["concepts", "freezing"]  # e.g.', "[]  # e.g.")
    assert config.replace(seed, "7919") == TEMPLATE.read_text()
    assert (root / "exchange").is_dir() and stale(root) == []
    modes = {name: (root / name).stat().st_mode & 0o777 for name in ("bank", "source", "nbgrader_config.py")}
    assert modes == {"bank": 0o700, "source": 0o700, "nbgrader_config.py": 0o600}  # private on a shared machine
    with pytest.raises(SystemExit):
        main(["course", "init", str(root)])
    assert "not an empty folder" in capsys.readouterr().out
    bare = tmp_path / "bare"
    main(["course", "init", str(bare)])
    assert (bare / "bank" / "solutions").is_dir() and not (bare / "source").exists()
    with pytest.raises(SystemExit):
        main(["course", "init", str(tmp_path / "bad"), "--bank", str(tmp_path / "nowhere")])
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("source,want", [
    ('q3 = "B"', "B"),
    ('q3 = "A"\nq3 = "C"  # changed my mind', "C"),
    ("q3: bool = True", True),
    ('explain_1 = ("Pretrained features "\n  "transfer.")', "Pretrained features transfer."),
    ('explain_1 = "one " + "two"', "one two"),
])
def test_answers_are_read_from_the_cell_as_written(source, want):
    assert read_answer(source, source.split()[0].rstrip(":")) == want


@pytest.mark.parametrize("source,problem", [
    ("# YOUR CODE HERE\nraise NotImplementedError()", "does not set"),
    ('q3 = "B" if True else "A"', "plain value"),
    ("from ftlab.assessment.bank import load_bank\nq3 = load_bank().get('x').answer", "plain value"),
    ("q3 = (", "not valid Python"),
    ('def f():\n    q3 = "B"', "does not set"),
])
def test_anything_computed_is_no_answer(source, problem):
    with pytest.raises(NoAnswer, match=problem):
        read_answer(source, "q3")


def test_verdicts_are_what_nbgrader_records():
    def recorded(verdict):
        cell = nbformat.v4.new_code_cell("check.text('q1', q1)", metadata={"nbgrader": {
            "grade": True, "solution": False, "points": verdict.points, "grade_id": "t"}})
        cell.outputs = verdict.outputs(1)
        return determine_grade(cell)[0]
    assert recorded(Verdict(2.0, 2.0)) == 2.0
    assert recorded(Verdict(0.5, 2.0, ["half"])) == 0.5
    assert recorded(Verdict(0.0, 2.0, ["none"])) == 0.0
    assert recorded(Verdict(9.0, 2.0)) == 2.0 and recorded(Verdict(-1.0, 2.0)) == 0.0
    assert Verdict(0.0, 1.0, ["why"]).outputs(None)[0].output_type == "error"


def _dump(tmp_path, **objects):
    """Save the objects as the grading kernel's guard does (its hook's work, called directly) and read them back."""
    _, save, seal = tools(KEY)
    path = tmp_path / "state.pt"
    save(dict(objects), str(path), tuple(objects))
    seal(str(tmp_path / "seal"))
    return load_record(path, KEY, load_seal(tmp_path / "seal", KEY))


def test_state_round_trip_reproduces_the_checks_on_live_objects(tmp_path, glyphnet):
    ftlab.freeze(glyphnet, "stem", "stage1", "stage2", "stage3", "stage4")
    old_head = list(glyphnet.head.parameters())
    glyphnet.head = nn.Linear(glyphnet.head.in_features, 7)
    glyphnet.train()
    glyphnet.stage1.eval()
    stale_opt = torch.optim.SGD(old_head + list(glyphnet.head.parameters()), lr=0.1)
    record = _dump(tmp_path, model=glyphnet, optimizer=stale_opt)
    model = rebuild_model(record)
    optimizer = rebuild_optimizer(record, model)
    assert [m.training for m in model.modules()] == [m.training for m in glyphnet.modules()]
    assert [p.requires_grad for p in model.parameters()] == [p.requires_grad for p in glyphnet.parameters()]
    for a, b in zip(model.state_dict().values(), glyphnet.state_dict().values()):
        assert torch.equal(a, b)
    for item_id in BY_NAME["freezing"].exercises:
        live = run(KEYS.bank.get(item_id), {"model": glyphnet, "optimizer": stale_opt})
        rebuilt = run(KEYS.bank.get(item_id), {"model": model, "optimizer": optimizer})
        assert (rebuilt.correct, rebuilt.feedback) == (live.correct, live.feedback), item_id


def test_the_dump_reads_the_modules_not_what_they_claim(tmp_path, glyphnet):
    fake = [(n, nn.Parameter(p.detach().clone(), requires_grad=False)) for n, p in glyphnet.named_parameters()]
    glyphnet.named_parameters = lambda *a, **k: iter(fake)
    glyphnet.parameters = lambda *a, **k: iter(p for _, p in fake)
    model = rebuild_model(_dump(tmp_path, model=glyphnet))
    assert all(p.requires_grad for p in model.parameters())


def test_a_forged_or_foreign_dump_is_refused(tmp_path, glyphnet):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo owned",))
    path = tmp_path / "x.pt"
    path.write_bytes(pickle.dumps({"missing": [], "x": Boom()}))
    with pytest.raises(StateError, match="signature") as forged:
        load_record(path, KEY, {"x.pt": "ok"})
    assert forged.value.flag
    with pytest.raises(StateError, match="not saved"):
        load_record(tmp_path / "absent.pt", KEY, {})
    path.unlink()
    tools(os.urandom(32))[1]({"model": glyphnet}, str(path), ("model",))  # signed, but not with this kernel's key
    with pytest.raises(StateError, match="signature"):
        load_record(path, KEY, {"x.pt": "ok"})
    glyphnet.head = nn.Sequential(nn.Linear(192, 7))
    with pytest.raises(StateError) as odd:
        rebuild_model(_dump(tmp_path, model=glyphnet))
    assert odd.value.unsure


def test_item_feedback_explains_without_giving_the_answer():
    grader = GradeCells()
    spec = graded(BY_NAME["concepts"])
    test = "course-mc-optimizer-order-test"
    item = KEYS.bank.get("course-mc-optimizer-order")
    wrong = grader.item(spec[test], 1.0, 'q4 = "B"', KEYS)
    text = "\n".join(wrong.lines)
    assert wrong.score == 0 and item.mistakes[1] in text
    assert item.options[item.answer] not in text and item.explanation not in text  # the explanation argues for the key
    grader.show_answer = True
    shown = "\n".join(grader.item(spec[test], 1.0, 'q4 = "B"', KEYS).lines)
    assert item.options[item.answer] in shown and item.explanation in shown
    right = grader.item(spec[test], 1.0, 'q4 = "c"', KEYS)
    assert right.score == 1.0 and right.confident
    invalid = grader.item(spec[test], 1.0, 'q4 = "Z"', KEYS)
    assert invalid.score == 0 and "not one of A, B, C, D" in invalid.lines[0]


def test_grading_a_failed_exercise_leaves_learner_progress_alone(tmp_path, monkeypatch, glyphnet):
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FTLAB_LEARNER", "instructor")  # grading runs as a person who may also revise with ftlab
    Store(learner="instructor").close()
    from traitlets.config import Config

    spec = graded(BY_NAME["freezing"])["e1-freeze-all-test"]
    grader = GradeCells(config=Config({"CourseDirectory": {"root": str(QUIZZES)}}))  # the exercise is the course's
    verdict = grader.objects(spec, 2.0, _dump(tmp_path, model=glyphnet))
    assert verdict.score == 0 and "revision" not in "\n".join(verdict.lines)
    with Store(learner="instructor") as store:
        assert not Reviser(load_bank(), store).queue().pulled
    assert "due now" in FreezeAll().check(model=glyphnet).feedback  # the learner's own check does schedule


def test_finetune_structure_gives_a_third_per_part_of_the_prompt(glyphnet):
    head_only = finetune_structure(glyphnet, torch.optim.Adam(glyphnet.head.parameters(), lr=0.1), 3)
    assert head_only.score == 0.0  # the setup cell made the head: an optimizer over it alone does none of the task
    ftlab.freeze(glyphnet, "stem", "stage1", "stage2")
    one_rate = finetune_structure(glyphnet, torch.optim.SGD(glyphnet.parameters(), lr=0.1), 3)
    assert one_rate.score == 1.0 and one_rate.lines[0].startswith("[x] 1.")
    body = [p for g in ("stage3", "stage4") for p in getattr(glyphnet, g).parameters()]
    groups = [{"params": body, "lr": 0.01}, {"params": glyphnet.head.parameters(), "lr": 0.1}]
    assert finetune_structure(glyphnet, torch.optim.SGD(groups), 3).score == 3.0
    same = [{"params": body, "lr": 0.1}, {"params": glyphnet.head.parameters(), "lr": 0.1}]
    assert finetune_structure(glyphnet, torch.optim.SGD(same), 3).score == 2.0
    ftlab.unfreeze(glyphnet)
    everything = [{"params": [p for g in ("stem", "stage1", "stage2") for p in getattr(glyphnet, g).parameters()]
                   + body, "lr": 0.1}, {"params": glyphnet.head.parameters(), "lr": 0.2}]
    unfrozen = finetune_structure(glyphnet, torch.optim.Adam(everything), 3)
    assert unfrozen.score == 1.0 and unfrozen.lines[0].startswith("[ ] 1.")  # only "body below head" holds


def test_visible_checks_say_the_same_for_right_and_wrong_answers(capsys):
    item = KEYS.bank.get("course-mc-head-width")
    shown = []
    for letter in item.letters:
        check.letter("q3", letter, "".join(item.letters))
        shown.append(capsys.readouterr().out)
    assert len(set(shown)) == 1
    check.letter("q3", "E", "ABCD")
    check.truefalse("q5", "yes")
    check.text("q1", "")
    check.objects(model="not a model")
    out = capsys.readouterr().out
    assert "must be one of A, B, C, D" in out and "must be True or False" in out and "non-empty string" in out
    assert "torch.nn.modules.module.Module" in out


def test_secrets_cover_every_kind_of_key():
    concepts, freezing, strategy = (secrets(a, KEYS) for a in ASSIGNMENTS)
    assert KEYS.bank.get("course-card-transfer").answer in concepts
    first = KEYS.bank.get(ASSIGNMENTS[0].choices[0])
    assert f"q3 = {first.letters[first.answer]!r}" in concepts
    assert "tensor.requires_grad_(False)" in freezing
    assert KEYS.bank.get("course-explain-lr").model_answer in strategy
    assert 'ftlab.freeze(model, "stem", "stage1", "stage2")' in strategy


def test_plain_attributes_survive_so_misconceptions_are_explained(tmp_path, glyphnet):
    glyphnet.trainable = False
    glyphnet.head.out_features = 3  # existing attributes are rebuilt from the weights, not taken from the dump
    model = rebuild_model(_dump(tmp_path, model=glyphnet))
    assert model.trainable is False and model.head.out_features == 10
    assert "Keras flag" in run(KEYS.bank.get(BY_NAME["freezing"].exercises[0]), {"model": model}).diagnosis


def test_grading_does_not_need_the_kernel_to_have_run(tmp_path):
    """As after a kernel death: no cell has outputs and no state was saved; answers still count, tasks score 0."""
    from traitlets.config import Config

    grader = GradeCells(config=Config({"CourseDirectory": {"root": str(QUIZZES)}}))
    for name in ("concepts", "freezing"):
        nb = nbformat.read(source_path(QUIZZES, BY_NAME[name]), as_version=4)
        dumps = {item_id: tmp_path / f"{item_id}.pt" for item_id in BY_NAME[name].exercises}
        nb, resources = grader.preprocess(nb, {"nbgrader": {"assignment": name}, "ftlab_dumps": dumps})
        scores = {c.metadata["nbgrader"]["grade_id"]: determine_grade(c)[0] for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade")}
        if name == "concepts":
            assert all(scores[f"{i}-test"] == 1.0 for i in BY_NAME[name].choices)
        else:
            assert set(scores.values()) == {0.0}
            assert "not saved" in nb.cells[-1].outputs[0].evalue


def test_free_text_verdicts_quote_the_evidence_and_send_doubt_to_a_person():
    grader, spec = GradeCells(), graded(BY_NAME["strategy"])["course-explain-lr-test"]
    sure = grader.item(spec, 2.0, 'explain_2 = "Keep it much smaller. The pretrained weights are already good, and large '
                                  'steps would destroy the features they learned."', KEYS)
    assert sure.score == 2.0 and sure.confident
    assert any("you wrote 'The pretrained weights are already good'" in line for line in sure.lines)
    listed = grader.item(spec, 2.0, 'explain_2 = "smaller pretrained good large steps destroy features learned"', KEYS)
    assert listed.score == 0 and listed.confident  # keywords without a sentence: sure, and worth nothing
    mixed = grader.item(spec, 2.0, 'explain_2 = "The pretrained weights are already good. Large steps do not '
                                   'destroy the features they learned."', KEYS)
    assert not mixed.confident  # right and wrong claims together: formgrader asks a person


def test_every_bank_topic_has_a_lesson_the_class_report_can_point_to():
    from ftlab.assessment.bank import load_bank
    from ftlab.assessment.course.report import LESSON_OF_TOPIC

    lessons = {p.stem for p in (Path(__file__).resolve().parents[3] / "lessons").glob("*.ipynb")}
    assert {item.topic for item in load_bank().items} <= set(LESSON_OF_TOPIC)
    assert set(LESSON_OF_TOPIC.values()) <= lessons
