"""`ftlab course autograde` and `merge` on the real nbgrader CLI and gradebook: a class with honest, partial,
blank, SIGINT-ignoring, crashing and sandbox-probing students, graded in parallel, serially and in shards."""
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from ftlab.assessment.course.adversaries import students
from ftlab.assessment.course.autograde import AutogradeError, Shard, merge, run, skipped_note, submitted
from ftlab.assessment.course.jail import Jail, Limits, SandboxUnavailable
from ftlab.assessment.course.sandbox import copy_course, nbgrader, solutions, submit

QUIZZES = Path(__file__).resolve().parents[3] / "quizzes"
ASSIGNMENT = "freezing"
KINDS = ("honest", "partial", "blank", "sigint", "crash", "probe")
TOTALS = {"honest": 9.0, "partial": 5.0, "blank": 0.0, "sigint": 7.0, "crash": 7.0, "probe": 9.0}
FLAGGED = {"sigint": ("e1-freeze-all", "CellTimeoutError"), "crash": ("e2-replace-head", "DeadKernelError")}
MARKUP_ID = "<img src=x onerror=alert(1)>"  # a folder name formgrader would write unescaped into its pages
TIMEOUT = 20  # seconds per cell: cuts the endless loop; far above what an honest cell needs
ENV = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


def ftlab(course: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "ftlab.cli", "course", *args], cwd=course, capture_output=True,
                          text=True, env=ENV)
    assert done.returncode == 0, f"ftlab course {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def dump(course: Path) -> dict:
    """Everything autograde records, per submission: grades, comments, flags, timestamp."""
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            for nb in sub.notebooks:
                out[sub.student.id] = {
                    "timestamp": sub.timestamp, "flagged": nb.flagged, "penalty": nb.late_submission_penalty,
                    "grades": {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades},
                    "comments": {c.name: c.auto_comment for c in nb.comments}}
    return out


class Listener:
    """A TCP server on 127.0.0.1 that counts connections: the socket probe must never reach it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port, self.accepted = self.server.getsockname()[1], 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                self.server.accept()[0].close()
            except OSError:
                return
            self.accepted += 1


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One class graded three ways: ftlab in parallel, nbgrader serially, ftlab in two shards merged."""
    listener = Listener()
    pristine = copy_course(QUIZZES, tmp_path_factory.mktemp("pristine"))
    nbgrader(pristine, "generate_assignment", ASSIGNMENT, "--create")
    keys = solutions(pristine / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    cohort = students(keys, pristine, ASSIGNMENT, listener.port)
    for kind in KINDS:
        submit(pristine, ASSIGNMENT, cohort[kind])
    copies = {name: Path(shutil.copytree(pristine, tmp_path_factory.mktemp(name) / "course"))
              for name in ("parallel", "serial", "sharded")}
    shutil.copytree(copies["parallel"] / "submitted" / "honest", copies["parallel"] / "submitted" / MARKUP_ID)
    parallel = ftlab(copies["parallel"], "autograde", ASSIGNMENT, "--jobs", "2", "--timeout", str(TIMEOUT))
    nbgrader(copies["serial"], "autograde", ASSIGNMENT, f"--Execute.timeout={TIMEOUT}")
    sharded = copies["sharded"]
    for index in range(2):
        ftlab(sharded, "autograde", ASSIGNMENT, "--shard", f"{index}/2", "--timeout", str(TIMEOUT))
    results = sorted((sharded / "autograde-results").glob("*.json"))
    ftlab(sharded, "merge", *map(str, results))
    yield {"courses": copies, "pristine": pristine, "listener": listener, "summary": parallel.stdout,
           "results": results}
    listener.server.close()


@pytest.mark.slow
@pytest.mark.sandbox
def test_parallel_grades_match_serial_nbgrader_and_the_expected_totals(graded):
    parallel, serial = dump(graded["courses"]["parallel"]), dump(graded["courses"]["serial"])
    assert set(parallel) == set(KINDS)  # the folder named with markup is not graded, and the instructor is told
    assert "not graded: 1 folder(s)" in graded["summary"] and ascii(MARKUP_ID) in graded["summary"]
    for student in KINDS:
        assert parallel[student] == serial[student], student
    assert {s: sum(a or 0.0 for a, _ in parallel[s]["grades"].values()) for s in KINDS} == TOTALS


@pytest.mark.slow
@pytest.mark.sandbox
def test_shards_merged_give_the_same_gradebook_as_one_run(graded):
    assert len(graded["results"]) == 2
    assert dump(graded["courses"]["sharded"]) == dump(graded["courses"]["parallel"])
    sharded = graded["courses"]["sharded"] / "autograded"
    for kind in KINDS:  # the merged autograded notebooks are there for feedback, byte for byte what the worker wrote
        assert (sharded / kind / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_stuck_or_dead_kernel_costs_one_cell_and_flags_it_for_formgrader(graded):
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    course = graded["courses"]["parallel"]
    api = NbGraderAPI(coursedir=CourseDirectory(root=str(course)))
    shown = {s["student"]: s["flagged"] for s in api.get_notebook_submissions(ASSIGNMENT, ASSIGNMENT)}
    assert shown == {kind: kind in FLAGGED for kind in KINDS}
    for kind, (cell, reason) in FLAGGED.items():
        notebook = nbformat.read(course / "autograded" / kind / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        errors = [(c.metadata.get("nbgrader", {}).get("grade_id"), o.ename) for c in notebook.cells
                  for o in c.get("outputs", []) if o.output_type == "error" and o.ename in {reason, "CellTimeoutError"}]
        assert errors == [(cell, reason)], kind  # later cells ran in the restarted kernel, none timed out
        assert [(f["grade_id"], f["reason"]) for f in notebook.metadata.ftlab.flags] == [(cell, reason)]
        assert f"{reason} in {cell}" in graded["summary"]


@pytest.mark.slow
@pytest.mark.sandbox
def test_every_probe_fails_inside_the_submission_and_nothing_outside_changes(graded):
    for name, course in graded["courses"].items():
        notebook = nbformat.read(course / "autograded" / "probe" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
        lines = [line for line in text.splitlines() if line.startswith("PROBE ")]
        assert len(lines) == 8 and all(": blocked (" in line for line in lines), (name, lines)
        source = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert source.read_bytes() == (graded["pristine"] / source.relative_to(course)).read_bytes()
    assert graded["listener"].accepted == 0
    import torch

    assert not (Path(torch.__file__).parents[1] / "ftlab_probe.txt").exists()


def test_bad_input_is_refused_with_the_valid_choices(tmp_path):
    with pytest.raises(AutogradeError, match="0 <= I < N"):
        Shard.parse("2/2")
    with pytest.raises(AutogradeError, match="I/N"):
        Shard.parse("first")
    assert Shard(1, 3).pick(["e", "a", "d", "c", "b"]) == ["b", "e"]
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "something else"}')
    with pytest.raises(AutogradeError, match="not an ftlab autograde result file"):
        merge(tmp_path, [junk])
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=0)


def test_only_folders_named_like_a_student_id_are_graded(tmp_path):
    ids = ["a_1-b", "alice", "josé", "s.smith@uni.edu"]  # an id may be any name without markup or control characters
    for name in (*ids, MARKUP_ID, '";alert(1);"', "tab\there", "back\\slash"):
        (tmp_path / "submitted" / name / "freezing").mkdir(parents=True)
    assert submitted(tmp_path, "freezing") == ids
    note = skipped_note(tmp_path, "freezing", ids)
    assert note.startswith("not graded: 4 folder(s)") and "no < > & \" ' ` \\ and no control characters" in note
    assert ascii(MARKUP_ID) in note and ascii("tab\there") in note


def test_no_bwrap_means_no_grading_unless_the_instructor_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without bwrap
    with pytest.raises(SandboxUnavailable, match="--no-sandbox"):
        Jail().wrap(["python"], [tmp_path], {})
    assert Jail(sandbox=False).wrap(["python"], [tmp_path], {})[-1] == "python"
    args = type("Args", (), {"assignment": "freezing", "jobs": None, "shard": None, "force": False, "timeout": None,
                             "no_sandbox": False, "root": tmp_path, "out": None})
    with pytest.raises(SystemExit, match="bubblewrap"):
        run(args)


def _run(cells: list[str], folder: Path) -> list[str]:
    """Run code cells in a JailedKernelManager kernel with `folder` as its working folder; their text outputs."""
    from nbclient import NotebookClient

    from ftlab.assessment.course.jail import JailedKernelManager

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, kernel_manager_class=JailedKernelManager, timeout=60,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return ["".join(o.get("text", "") for o in cell.outputs).strip() for cell in nb.cells]


@pytest.mark.slow
@pytest.mark.sandbox
def test_each_kernel_is_a_fresh_fork_alone_in_its_jail_and_a_dead_zygote_is_replaced(tmp_path):
    from ftlab.assessment.course import jail

    leave = ("import os, subprocess, sys, torch\n"
             "open('/tmp/left-over', 'w').write('x')\n"
             "subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
             "print(os.getpid(), os.getuid(), 'torch' in sys.modules)")
    look = ("import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()), os.getpid(), "
            "os.path.exists('/tmp/left-over'))")
    first = _run([leave], tmp_path)[0].split()
    zygote = jail._zygote[os.getpid()][1]
    procs, pid, left = _run([look], tmp_path)[0].rsplit(" ", 2)
    assert zygote.alive() and jail._zygote[os.getpid()][1] is zygote  # the same warm zygote forked both
    assert first[2] == "True" and int(first[1]) != 0  # torch was there before any cell; not root
    assert left == "False" and pid != first[0]  # a new process, /tmp emptied
    assert eval(procs) == [1, 2, int(pid)]  # bubblewrap's init, the zygote, this kernel: the sleeper was killed
    assert tmp_path.stat().st_uid == os.geteuid()  # the kernel's uid had the folder only while it ran
    zygote.close()  # as if the OOM killer took it
    assert _run(["print(6 * 7)"], tmp_path) == ["42"]
    assert jail._zygote[os.getpid()][1] is not zygote


@pytest.mark.slow
def test_without_the_sandbox_kernels_still_come_from_a_zygote_with_the_graders_uid(tmp_path):
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient

    from ftlab.assessment.course.jail import JailedKernelManager

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os, sys\n"
                                                                   "print(os.getuid(), 'torch' in sys.modules)")])
    km = JailedKernelManager(kernel_name="python3", jail=Jail(sandbox=False))
    try:
        NotebookClient(nb, km=km, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        run_sync(km.shutdown_kernel)(now=True)  # a client given its manager leaves the kernel running
    assert nb.cells[0].outputs[0]["text"].split() == [str(os.getuid()), "True"]
    assert km.provisioner is None or not km.provisioner.has_process
