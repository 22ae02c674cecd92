"""Hostile files, forged states, dying workers and floods of output: each costs only its own points, is flagged
with its reason, and never stalls the rest of the class. Unit tests first; then one class graded by the real
`ftlab course autograde` with every forgery of the graded state, hostile dump files, a notebook nested 100,000
levels deep that prints megabytes, and a worker killed mid-submission."""
import dis
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
import torch
from nbgrader.api import Gradebook
from torch import nn

import ftlab
import ftlab.cli
from ftlab.assessment.bank.checks import run
from ftlab.assessment.course import guard
from ftlab.assessment.course.adversaries import FIRST, FORGERIES, forgers
from ftlab.assessment.course.your_variant import fill_code
from ftlab.assessment.course.answers import NoAnswer, read_answer
from ftlab.assessment.course.assignments import BY_NAME, graded
from ftlab.assessment.course.grader import GradeCells
from ftlab.assessment.course.intake import MAX_DEPTH, copy_submission
from ftlab.assessment.course.keys import load_keys
from ftlab.assessment.course.sandbox import Student, copy_course, nbgrader, solutions, submit
from ftlab.assessment.course.state import StateError, load_record, load_seal, rebuild_model, rebuild_optimizer

QUIZZES = Path(__file__).resolve().parents[3] / "quizzes"
KEYS = load_keys(QUIZZES)
KEY = os.urandom(32)
ASSIGNMENT = "freezing"


def _save(tmp_path, scope, *, change=None):
    """Save `scope`'s model (and optimizer) as the kernel's guard does, optionally change it, seal, read back."""
    _, save, seal = guard.tools(KEY)
    names = tuple(n for n in ("model", "optimizer") if n in scope)
    save(scope, str(tmp_path / "state.pt"), names)
    if change:
        change()
    seal(str(tmp_path / "seal"))
    return load_record(tmp_path / "state.pt", KEY, load_seal(tmp_path / "seal", KEY))


def _frozen(record) -> bool:
    return not any(p.requires_grad for p in rebuild_model(record).parameters())


def test_the_guard_looks_up_no_name_a_submission_could_rebind():
    """Everything the hook runs after the kernel starts reaches its tools through its closure, never globals."""
    found = {}

    def walk(code, top):
        for const in code.co_consts:
            if hasattr(const, "co_code"):
                if not (top and const.co_name.startswith("<")):  # comprehensions run once, before student code
                    found[const.co_name] = [i.argval for i in dis.get_instructions(const) if i.opname == "LOAD_GLOBAL"]
                walk(const, False)
    walk(guard.tools.__code__, True)
    assert {"hook", "dump", "seal", "fingerprint", "record"} <= set(found)
    assert not {name: names for name, names in found.items() if names}


def test_the_saved_state_is_the_live_one_whatever_the_objects_claim(tmp_path, glyphnet):
    class Liar(nn.Parameter):
        requires_grad = property(lambda self: False, lambda self, value: None)

    for module in glyphnet.modules():
        for key, param in list(module._parameters.items()):
            if param is not None:
                module._parameters[key] = Liar(param.data, True)
    assert not any(p.requires_grad for p in glyphnet.parameters())  # what the lying attribute says
    frozen_copy = ftlab.get_model("glyphnet", num_classes=10).requires_grad_(False)

    class GlyphNet:  # not a Module, though isinstance() believes its __class__
        __class__ = property(lambda self: type(frozen_copy))

    fake = GlyphNet()
    fake.__dict__.update(frozen_copy.__dict__)
    assert isinstance(fake, nn.Module)
    saved = torch.save
    torch.save = lambda *a, **k: None
    try:
        record = _save(tmp_path, {"model": glyphnet, "bool": lambda *a: False})
    finally:
        torch.save = saved
    assert not _frozen(record)  # the flags torch keeps, not the property, a shadowed bool or a patched save
    fake_record = _save(tmp_path, {"model": fake})
    assert fake_record["types"]["model"] == "GlyphNet" and "model" not in fake_record


def test_objects_changed_after_the_save_are_refused_with_the_reason(tmp_path, glyphnet):
    glyphnet.requires_grad_(False)
    with pytest.raises(StateError, match="changed after the grader saved") as changed:
        _save(tmp_path, {"model": glyphnet}, change=lambda: glyphnet.head.requires_grad_(True))
    assert changed.value.flag
    glyphnet.requires_grad_(False)
    assert _frozen(_save(tmp_path, {"model": glyphnet}))


def test_a_dump_replaced_or_rewritten_is_refused_at_once(tmp_path, glyphnet):
    record = _save(tmp_path, {"model": glyphnet})
    assert not _frozen(record)
    path, seal = tmp_path / "state.pt", load_seal(tmp_path / "seal", KEY)
    signed = path.read_bytes()
    cases = {
        "fifo": lambda: os.mkfifo(path),
        "zero": lambda: path.symlink_to("/dev/zero"),
        "folder": lambda: path.mkdir(),
        "huge": lambda: os.truncate(path.write_bytes(b"") or path, 10 << 30),  # sparse: 10 GB that take no disk
        "rewritten": lambda: path.write_bytes(signed.replace(b"\x01", b"\x00", 1)),
    }
    for name, make in cases.items():
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        elif os.path.lexists(path):
            path.unlink()
        make()
        started = time.perf_counter()
        with pytest.raises(StateError) as refused:
            load_record(path, KEY, seal)
        assert refused.value.flag and time.perf_counter() - started < 1.0, name
    path.unlink()
    path.write_bytes(signed)
    assert load_record(path, KEY, seal)["types"]["model"] == "GlyphNet"


def test_odd_tensors_cost_their_task_and_never_the_grader(tmp_path, glyphnet):
    glyphnet.head.weight = nn.Parameter(torch.zeros(5))  # 1-D: it raised ValueError in the grader
    with pytest.raises(StateError, match=r"head's weight has shape \(5,\)") as flat:
        rebuild_model(_save(tmp_path, {"model": glyphnet}))
    assert flat.value.unsure
    model = ftlab.get_model("glyphnet", num_classes=10)
    model.register_buffer("junk", torch.zeros(1).expand(25000, 25000))  # stride 0: 2.5 GB once materialised
    with pytest.raises(StateError, match="could not save") as huge:
        _save(tmp_path, {"model": model})
    assert huge.value.flag
    model = ftlab.get_model("glyphnet", num_classes=10)
    model.stem[0].weight = nn.Parameter(model.stem[0].weight.long(), requires_grad=False)
    with pytest.raises(StateError, match="dtype"):
        rebuild_model(_save(tmp_path, {"model": model}))
    nan = ftlab.get_model("glyphnet", num_classes=10).requires_grad_(False)
    with torch.no_grad():
        nan.stage2[0][0].weight.fill_(float("nan"))
    rebuilt = rebuild_model(_save(tmp_path, {"model": nan}))  # NaN weights are an answer like any other
    assert run(KEYS.bank.get("e1-freeze-all"), {"model": rebuilt}).correct


def test_answers_too_long_or_too_deep_are_no_answer_and_flagged():
    assert read_answer("q3 = " + " + ".join(["'B'"] * 900), "q3") == "B" * 900  # read without recursion
    for source in ("q3 = " + " + ".join(["'B'"] * 50000), "q3 = " + "[" * 100000 + "]" * 100000):
        with pytest.raises(NoAnswer) as unread:
            read_answer(source, "q3")
        assert unread.value.flag
    spec = graded(BY_NAME["concepts"])["course-mc-batchnorm-test"]
    verdict = GradeCells().item(spec, 1.0, "q3 = " + "(" * 50000 + "'B'" + ")" * 50000, KEYS)
    assert verdict.score == 0 and verdict.flag == "UnreadableAnswer"


def test_intake_copies_a_submission_within_bounds(tmp_path):
    source, dest = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="x" * 1000)])])
    notebook.cells[0].metadata["deep"] = "DEEP"
    text = nbformat.writes(notebook).replace('"DEEP"', "[" * 100000 + "]" * 100000)
    (source / "a.ipynb").write_text(text)
    (source / "b.ipynb").write_text("{not json")
    (source / "c.ipynb").write_bytes(b"")
    os.truncate(source / "c.ipynb", 100 << 20)  # 100 MB, sparse: above the size read
    (source / "timestamp.txt").write_text("2026-01-01 00:00:00")
    os.mkfifo(source / "pipe")
    (source / "zero").symlink_to("/dev/zero")
    started = time.perf_counter()
    flags = copy_submission(source, dest)
    assert time.perf_counter() - started < 10
    assert sorted(p.name for p in dest.iterdir()) == ["a.ipynb", "b.ipynb", "c.ipynb", "timestamp.txt"]
    kept = nbformat.read(dest / "a.ipynb", as_version=4)
    assert kept.cells[0].source == "x = 1" and kept.cells[0].outputs == []
    depth, value = 0, kept.cells[0].metadata["deep"]
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    assert value is None and depth < MAX_DEPTH
    assert json.loads((dest / "b.ipynb").read_text())["cells"] == []  # graded as blank
    assert json.loads((dest / "c.ipynb").read_text())["cells"] == []
    assert {(f["grade_id"], f["reason"]) for f in flags} == {
        ("a.ipynb", "NotebookUnreadable"), ("b.ipynb", "NotebookUnreadable"), ("c.ipynb", "NotebookUnreadable"),
        ("pipe", "FileLeftOut"), ("zero", "FileLeftOut")}


def test_public_bank_text_earns_nothing_in_course_answers_and_is_flagged():
    from ftlab.assessment.bank import Card, Explain, load_bank
    from ftlab.assessment.course.overlap import answer_texts

    public = load_bank()
    grader = GradeCells()
    for name in ("concepts", "strategy"):
        for test, spec in graded(BY_NAME[name]).items():
            item = KEYS.bank.get(spec.item) if spec.kind == "item" else None
            if not isinstance(item, (Card, Explain)):
                continue
            pasted = " ".join(text for other in public.items if isinstance(other, (Card, Explain))
                              and other.topic in ("batchnorm", "learning-rate", "recipe", "transfer", "freezing")
                              for text in answer_texts(other)[:2])
            verdict = grader.item(spec, 3.0, f"{spec.variable} = {pasted!r}", KEYS)
            assert verdict.score == 0 and verdict.flag == "PublicPaste" and not verdict.confident, test
            own = grader.item(spec, 3.0, f"{spec.variable} = {item.solution!r}", KEYS)
            assert own.score == 3.0 and not own.flag, test


def test_build_refuses_course_items_the_public_bank_answers(tmp_path):
    from ftlab.assessment.bank import load_bank
    from ftlab.assessment.course.overlap import similar_items

    public = load_bank()
    assert similar_items(KEYS.bank, public) == []  # the committed course bank is its own
    root = tmp_path / "course"
    ftlab.cli.main(["course", "init", str(root), "--bank", str(QUIZZES / "bank")])
    copied = public.get("batchnorm-mc-train-mode")  # the public BatchNorm question, pasted into the course
    bank = root / "bank" / "concepts.toml"
    bank.write_text(bank.read_text() + f"""
[[items]]
id = "course-mc-copied"
kind = "choice"
difficulty = "hard"
prompt = {copied.prompt!r}
options = {copied.options!r}
answer = "{copied.letters[copied.answer]}"
explanation = "Copied."
""")
    with pytest.raises(SystemExit) as refused:
        ftlab.cli.main(["course", "build", "--root", str(root)])
    assert refused.value.code == 2


def _course_setup(item_id):
    """The model the exercise's read-only setup cell builds."""
    scope = {"ftlab": ftlab}
    exec(KEYS.bank.get(item_id).setup, scope)
    return scope["model"]


def test_optimizer_checks_ask_what_their_prompts_ask():
    e3, e4 = KEYS.bank.get("e3-optimizer"), KEYS.bank.get("e4-group-lrs")

    def grade(item, code):
        model = _course_setup(item.id)
        scope = {"model": model, "torch": torch, "ftlab": ftlab, "nn": nn}
        exec(code, scope)
        return run(item, {"model": scope["model"], "optimizer": scope.get("optimizer")})

    assert grade(e3, e3.solution).correct and grade(e4, fill_code(e4.solution, e4.settings)).correct
    wrong_e3 = {
        "ftlab.unfreeze(model)\noptimizer = torch.optim.SGD(model.parameters(), lr=1)": "stem trains",
        "optimizer = torch.optim.SGD(model.head.parameters(), lr=3e-4)": "asks for torch.optim.Adam",
        "optimizer = torch.optim.Adam(model.head.parameters(), lr=1e-3)": "asks for 0.0003",
    }
    for code, why in wrong_e3.items():
        result = grade(e3, code)
        assert not result.correct and why in result.feedback, code
    body = 'list(model.stage3.parameters()) + list(model.stage4.parameters())'
    wrong_e4 = {
        "ftlab.unfreeze(model)\noptimizer = torch.optim.Adam([{'params': [p for n, p in model.named_parameters() "
        "if not n.startswith('head')], 'lr': 0.1}, {'params': model.head.parameters(), 'lr': 0.2}])": "should stay frozen",
        f"ftlab.unfreeze(model, 'stage3', 'stage4', 'head')\noptimizer = torch.optim.SGD([{{'params': {body}, "
        "'lr': 5e-5}, {'params': model.head.parameters(), 'lr': 5e-3}])": "momentum",
        f"ftlab.unfreeze(model, 'stage3', 'stage4', 'head')\noptimizer = torch.optim.SGD([{{'params': {body}, "
        "'lr': 1e-4}, {'params': model.head.parameters(), 'lr': 5e-3}], momentum=0.9)": "the task sets 5e-05",
        "ftlab.unfreeze(model, 'stage3', 'stage4', 'head')\noptimizer = torch.optim.SGD([{'params': "
        "model.stage3.parameters(), 'lr': 5e-5}, {'params': model.stage4.parameters(), 'lr': 5e-5}, "
        "{'params': model.head.parameters(), 'lr': 5e-3}], momentum=0.9)": "asks for two",
    }
    for code, why in wrong_e4.items():
        result = grade(e4, code)
        assert not result.correct and why in result.feedback, (code, result.feedback)


def test_the_optimizer_class_survives_the_dump(tmp_path):
    model = _course_setup("e3-optimizer")
    optimizer = torch.optim.Adam(model.head.parameters(), lr=3e-4)
    record = _save(tmp_path, {"model": model, "optimizer": optimizer})
    rebuilt = rebuild_model(record)
    assert type(rebuild_optimizer(record, rebuilt)) is torch.optim.Adam

    class Adam(torch.optim.SGD):  # named like the task's class, but is not it
        pass

    record = _save(tmp_path, {"model": model, "optimizer": Adam(model.head.parameters(), lr=3e-4)})
    result = run(KEYS.bank.get("e3-optimizer"), {"model": rebuilt, "optimizer": rebuild_optimizer(record, rebuilt)})
    assert not result.correct and "asks for torch.optim.Adam" in result.feedback


# ---- one class through the real CLI ---------------------------------------------------------------------------

SWAP = """import glob, os, threading, time
def _swap(make):
    seen = set(glob.glob('.ftlab-state-*'))
    def watch():
        for _ in range(20000):
            new = [p for p in glob.glob('.ftlab-state-*') if p not in seen and not p.endswith('.old')]
            if new:
                time.sleep(0.1)
                os.replace(new[0], new[0] + '.old')
                make(new[0])
                return
            time.sleep(0.001)
    threading.Thread(target=watch, daemon=True).start()
"""
FLOOD = "\nimport time\n_end = time.time() + 1\nwhile time.time() < _end:\n    print('x' * (1 << 20))"


def hostile(keys: dict[str, str]) -> list[Student]:
    files = Student("files", {**keys, "e2-replace-head": SWAP + "_swap(os.mkfifo)\n" + keys["e2-replace-head"],
                              "e3-optimizer": "_swap(lambda p: os.symlink('/dev/zero', p))\n" + keys["e3-optimizer"],
                              "e4-group-lrs": keys["e4-group-lrs"] + "\nmodel.head.weight = nn.Parameter(torch.zeros(5))",
                              "e5-frozen-batchnorm": keys["e5-frozen-batchnorm"] +
                              "\nmodel.register_buffer('junk', torch.zeros(1).expand(25000, 25000))"})
    noisy = Student("noisy", {**keys, FIRST: keys[FIRST] + FLOOD})
    victim = Student("victim", {**keys, FIRST: keys[FIRST] + "\nimport time\ntime.sleep(3)"})
    return [*forgers(keys).values(), files, noisy, victim]


def _kill_worker_of(student: str, done: threading.Event) -> list[int]:
    """Kill (SIGKILL, as the OOM killer does) the grading worker whose kernel runs in the student's folder, once."""
    killed = []
    while not done.is_set() and not killed:
        for proc in Path("/proc").iterdir():
            try:
                cwd = os.readlink(proc / "cwd")
            except OSError:
                continue
            found = re.search(r"/worker-(\d+)/autograded/" + student + "/", cwd + "/")
            if found:
                os.kill(int(found.group(1)), signal.SIGKILL)
                killed.append(int(found.group(1)))
                break
        time.sleep(0.2)
    return killed


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    course = copy_course(QUIZZES, tmp_path_factory.mktemp("hostile") / "course")
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--create")
    keys = solutions(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    students = hostile(keys)
    for student in students:
        submit(course, ASSIGNMENT, student)
    path = course / "submitted" / "noisy" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == FIRST).metadata["x"] = "DEEP"
    path.write_text(nbformat.writes(notebook).replace('"DEEP"', "[" * 100000 + "]" * 100000))
    done, killed = threading.Event(), []
    killer = threading.Thread(target=lambda: killed.extend(_kill_worker_of("victim", done)))
    killer.start()
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    started = time.perf_counter()
    graded_run = subprocess.run([sys.executable, "-m", "ftlab.cli", "course", "autograde", ASSIGNMENT, "--jobs", "2",
                                 "--timeout", "60"], cwd=course, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    done.set()
    killer.join()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grades = {s.id: {g.name: (g.auto_score, g.needs_manual_grade) for g in
                         gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s.id).grades} for s in students}
        flagged = {s.id: gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s.id).flagged for s in students}
    return {"course": course, "run": graded_run, "grades": grades, "flagged": flagged, "killed": killed,
            "seconds": seconds}


def _total(grades: dict) -> float:
    return sum(score or 0.0 for score, _ in grades.values())


@pytest.mark.slow
def test_every_forgery_earns_what_model_eval_earns(hostile_class):
    assert hostile_class["run"].returncode == 0, hostile_class["run"].stdout + hostile_class["run"].stderr
    for name in FORGERIES:
        grades = hostile_class["grades"][f"forge-{name}"]
        assert grades[f"{FIRST}-test"][0] == 0.0 and _total(grades) == 7.0, (name, grades)
    summary = hostile_class["run"].stdout
    for name in ("runcell", "thread", "rewrite"):  # caught changing the objects or the file: flagged for a person
        assert re.search(rf"forge-{name} .*StateRejected in {FIRST}-test", summary), summary


@pytest.mark.slow
def test_hostile_files_cost_their_own_points_and_are_flagged(hostile_class):
    grades = hostile_class["grades"]["files"]
    assert {name: score for name, (score, _) in grades.items()} == {
        "e1-freeze-all-test": 2.0, "e2-replace-head-test": 0.0, "e3-optimizer-test": 0.0, "e4-group-lrs-test": 0.0,
        "e5-frozen-batchnorm-test": 0.0}
    assert grades["e4-group-lrs-test"][1]  # a 1-D head weight: a person looks at it in formgrader
    assert hostile_class["flagged"]["files"]
    notebook = nbformat.read(hostile_class["course"] / "autograded" / "files" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                             as_version=4)
    reasons = {(f["grade_id"], f["reason"]) for f in notebook.metadata.ftlab.flags}
    assert {("e2-replace-head-test", "StateRejected"), ("e3-optimizer-test", "StateRejected"),
            ("e5-frozen-batchnorm-test", "StateRejected")} <= reasons
    text = "\n".join(o.get("evalue", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "not a regular file" in text and "not a file" in text or "not a regular file" in text


@pytest.mark.slow
def test_a_deep_and_noisy_notebook_is_graded_with_its_output_capped(hostile_class):
    assert _total(hostile_class["grades"]["noisy"]) == 9.0 and hostile_class["flagged"]["noisy"]
    summary = hostile_class["run"].stdout
    assert re.search(r"noisy .*NotebookUnreadable in noisy/freezing.ipynb|noisy .*NotebookUnreadable", summary)
    autograded = hostile_class["course"] / "autograded" / "noisy" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert autograded.stat().st_size < 4 << 20  # the cell printed hundreds of MB
    assert "[output truncated by the grader" in autograded.read_text()


@pytest.mark.slow
def test_a_killed_worker_costs_only_time(hostile_class):
    assert len(hostile_class["killed"]) == 1
    assert "FAILED" not in hostile_class["run"].stdout
    assert all(_total(g) > 0 for g in hostile_class["grades"].values())
    assert _total(hostile_class["grades"]["victim"]) == 9.0  # graded again by a fresh worker


MARKUP = '<img src=x onerror="alert(1)">'  # a student id formgrader would write unescaped into its pages


@pytest.mark.slow
@pytest.mark.sandbox
def test_plain_nbgrader_autograde_takes_submissions_through_the_same_intake(tmp_path):
    """The README's workflow, `nbgrader autograde`, with no ftlab command in between: a notebook nested 100,000 levels
    deep beside a FIFO, a link and a copy of the course's bank, and a notebook that is the instructor's own source
    (what `nbgrader collect` makes of a link planted in the exchange). Each is graded for its answers and flagged;
    the submission as it came is kept in quarantine/. A folder named with markup is not graded and leaves no student
    behind for formgrader's pages."""
    course = copy_course(QUIZZES, tmp_path / "course")
    nbgrader(course, "generate_assignment", "concepts", "--create")
    keys = solutions(course / "source" / "concepts" / "concepts.ipynb")
    for name in ("honest", "deep", "stolen", MARKUP):
        submit(course, "concepts", Student(name, dict(keys)))
    folder = course / "submitted" / "deep" / "concepts"
    deep = nbformat.read(folder / "concepts.ipynb", as_version=4)
    deep.metadata["x"] = "DEEP"
    original = nbformat.writes(deep).replace('"DEEP"', "[" * 100000 + "]" * 100000)
    (folder / "concepts.ipynb").write_text(original)
    os.mkfifo(folder / "pipe")
    (folder / "zero").symlink_to("/dev/zero")
    (folder / "keys.toml").write_bytes((course / "bank" / "concepts.toml").read_bytes())
    stolen = course / "submitted" / "stolen" / "concepts" / "concepts.ipynb"
    stolen.write_bytes((course / "source" / "concepts" / "concepts.ipynb").read_bytes())
    for run in ([], ["--force"]):  # graded again, the copy in place keeps its flags
        done = nbgrader(course, "autograde", "concepts", *run, check=False)  # exits 1: one folder was not graded
        assert done.returncode == 1 and f"the folder submitted/{ascii(MARKUP)} is no student id" in done.stderr
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            assert {s.id for s in gb.students} == {"honest", "deep", "stolen"}
            nbs = {s: gb.find_submission_notebook("concepts", "concepts", s) for s in ("honest", "deep", "stolen")}
            totals = {s: sum(g.auto_score or 0.0 for g in nb.grades) for s, nb in nbs.items()}
            flagged = {s: nb.flagged for s, nb in nbs.items()}
        assert totals["deep"] == totals["honest"] > 0 and totals["stolen"] == 0, totals
        assert flagged == {"honest": False, "deep": True, "stolen": True}
    graded = course / "autograded" / "deep" / "concepts"
    assert not {"pipe", "zero", "keys.toml"} & {p.name for p in graded.iterdir()}
    reasons = {(f["grade_id"], f["reason"]) for f in nbformat.read(graded / "concepts.ipynb", 4).metadata.ftlab.flags}
    assert {("concepts.ipynb", "NotebookUnreadable"), ("pipe", "FileLeftOut"), ("zero", "FileLeftOut"),
            ("keys.toml", "FileLeftOut")} <= reasons
    kept, = (p for p in (course / "quarantine" / "deep" / "concepts").iterdir() if p.is_dir())  # nothing lost
    assert (course / "quarantine").stat().st_mode & 0o777 == 0o700
    assert (kept / "concepts.ipynb").read_text() == original and (kept / "pipe").is_fifo()
    assert (kept / "zero").is_symlink() and (course / "quarantine" / "stolen" / "concepts").is_dir()
