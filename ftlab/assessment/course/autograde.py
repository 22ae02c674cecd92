"""`ftlab course autograde` and `ftlab course merge`: nbgrader's autograde for a whole class, in parallel and in shards.

Each submission is graded by nbgrader's own AutogradeApp in a worker process, against a private copy of
the gradebook and into a private autograded/ folder; the worker hands back what nbgrader wrote (grades,
comments, flags, the autograded files; not files the submission's kernel wrote). Only the parent writes the
real gradebook and autograded/, so SQLite has one writer. A worker grades its submissions one after another
in one workspace whose jail keeps a warm zygote (zygote.py): every kernel is a fresh fork with torch and
ftlab already imported. With --shard I/N the results go to a file instead, and `merge` imports such files
later: any scheduler (Slurm array, Kubernetes indexed Job, CI matrix) can spread a class over machines.
"""
from __future__ import annotations

import base64
import io
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ftlab.assessment.course.intake import ID_RULE, copy_submission, private_digests, student_id_ok

FORMAT = "ftlab-autograde-result/1"


class AutogradeError(ValueError):
    """Bad input to autograde or merge; nothing was written."""


@dataclass(frozen=True)
class Shard:
    """Slice `index` (0-based) of `count`: every count-th student of the sorted class, starting at index."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise AutogradeError(f"--shard wants I/N with whole numbers, e.g. 0/4; got {text!r}") from None
        if count < 1 or not 0 <= index < count:
            raise AutogradeError(f"--shard {text}: need 0 <= I < N (I counts from 0, as SLURM_ARRAY_TASK_ID=0..N-1 "
                                 f"or JOB_COMPLETION_INDEX do)")
        return cls(index, count)

    def pick(self, students: list[str]) -> list[str]:
        return sorted(students)[self.index::self.count]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class Task:
    """One submission for a worker: where the course is, the gradebook snapshot, nbgrader options."""

    course: str
    assignment: str
    student: str
    snapshot: str
    options: tuple[str, ...] = ()


# ---- worker side -------------------------------------------------------------------------------------------

def _warm(log: str, threads: int) -> None:
    """Worker start-up: send kernel chatter to a log file, share the cores among the kernels, and give the worker
    a workspace whose kernels all come from one zygote (jail.py): the autograded notebooks are written there."""
    from ftlab.assessment.course.jail import use_workspace

    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))  # N kernels share the cores instead of fighting
    workspace = Path(log).parent / f"worker-{os.getpid()}"
    workspace.mkdir()
    use_workspace(workspace)


def grade(task: Task) -> dict:
    """Autograde one submission with nbgrader against a private gradebook; return what nbgrader recorded."""
    import logging

    from nbgrader.apps.autogradeapp import AutogradeApp

    from ftlab.assessment.course.jail import workspace

    scratch = Path(tempfile.mkdtemp(prefix=f"ftlab-grade-{task.student}-"))
    out = (workspace() or scratch) / "autograded"  # in a worker, where its zygote's kernels can see it
    started = time.perf_counter()
    result = {"student": task.student, "assignment": task.assignment, "error": None}
    try:
        db = scratch / "gradebook.db"  # outside the workspace: no kernel sees it
        shutil.copy(task.snapshot, db)
        shutil.rmtree(out, ignore_errors=True)  # nothing of the last submission is left for this one
        submitted = scratch / "submitted"  # what nbgrader grades: the submission read within bounds (intake.py)
        intake = copy_submission(Path(task.course) / "submitted" / task.student / task.assignment,
                                 submitted / task.student / task.assignment, private_digests(Path(task.course)))
        os.chdir(task.course)  # nbgrader reads nbgrader_config.py from here
        app = AutogradeApp()
        logging.getLogger(type(app).__name__).handlers.clear()  # the logger is per class: drop the last run's
        app.initialize([task.assignment, f"--student={task.student}", f"--CourseDirectory.root={task.course}",
                        f"--CourseDirectory.db_url=sqlite:///{db}",
                        f"--CourseDirectory.autograded_directory={out}",
                        f"--CourseDirectory.submitted_directory={submitted}", *task.options])
        stream = io.StringIO()
        app.log.addHandler(logging.StreamHandler(stream))
        try:
            app.start()
        except SystemExit as stop:  # nbgrader's app.fail() exits; its log says why
            if stop.code:
                raise RuntimeError(stream.getvalue()[-3000:] or f"nbgrader exited with {stop.code}") from None
        folder = out / task.student / task.assignment
        if not folder.is_dir():
            raise RuntimeError(stream.getvalue()[-3000:] or "nbgrader wrote no autograded notebook")
        result.update(_recorded(db, task.assignment, task.student))
        result["files"] = {str(p.relative_to(folder)): base64.b64encode(p.read_bytes()).decode()
                           for p in sorted(folder.rglob("*")) if _ours(p)}
        result["flags"], result["timing"] = _flags(folder)
        result["flags"] = intake + result["flags"]
        for name in {flag["notebook"] for flag in intake} & set(result["notebooks"]):
            result["notebooks"][name]["flagged"] = True
    except Exception as error:  # one broken submission must not stop the class
        result["error"] = f"{type(error).__name__}: {error}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _ours(path: Path) -> bool:
    """A file nbgrader wrote or copied, not one the submission's kernel wrote under its own uid (jail.py)."""
    return path.is_file() and not path.is_symlink() and path.stat().st_uid == os.geteuid()


def _recorded(db: Path, assignment: str, student: str) -> dict:
    """What nbgrader's autograde wrote about this submission: timestamp, and per notebook its grades and flags."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        sub = gb.find_submission(assignment, student)
        return {"timestamp": sub.timestamp.isoformat() if sub.timestamp else None, "notebooks": {
            nb.name: {"flagged": nb.flagged, "late_submission_penalty": nb.late_submission_penalty,
                      "grades": {g.name: [g.auto_score, g.needs_manual_grade] for g in nb.grades},
                      "comments": {c.name: c.auto_comment for c in nb.comments}}
            for nb in sub.notebooks}}


def _flags(folder: Path) -> tuple[list[dict], dict]:
    """Flags and timings that BoundedExecute left in the autograded notebooks' metadata."""
    flags, timing = [], {"kernel_start_s": 0.0, "run_s": 0.0}
    for path in sorted(folder.glob("*.ipynb")):
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("ftlab", {})
        flags += [{**flag, "notebook": path.stem} for flag in meta.get("flags", [])]
        for key in timing:
            timing[key] += meta.get(key, 0.0)
    return flags, timing


# ---- parent side -------------------------------------------------------------------------------------------

def _gradebook(course: Path):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}")


def _check_course(course: Path, assignment: str) -> None:
    if not (course / "nbgrader_config.py").is_file():
        raise AutogradeError(f"{course} is not an nbgrader course (no nbgrader_config.py); pass --root")
    if not (course / "gradebook.db").is_file():
        raise AutogradeError(f"{course} has no gradebook.db: run `nbgrader generate_assignment {assignment}` first")
    with _gradebook(course) as gb:
        known = sorted(a.name for a in gb.assignments)
    if assignment not in known:
        raise AutogradeError(f"unknown assignment {assignment!r}; the gradebook has: {', '.join(known) or 'none'}")


def submitted(course: Path, assignment: str, valid: bool = True) -> list[str]:
    """Students with a submitted/<student>/<assignment>/ folder, sorted: those whose folder name is a student id
    (valid=False: the others, which are never graded, so their names never reach the gradebook or formgrader)."""
    return sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}")
                  if p.is_dir() and student_id_ok(p.parent.name) == valid)


def snapshot(course: Path, dest: Path) -> Path:
    """A consistent copy of the gradebook (SQLite's backup API, safe while another process reads it)."""
    with sqlite3.connect(course / "gradebook.db") as src, sqlite3.connect(dest) as out:
        src.backup(out)
    return dest


def record(gb, course: Path, result: dict) -> None:
    """Write one worker's result into the real gradebook and autograded/, as nbgrader's autograde would have."""
    from sqlalchemy.exc import SAWarning

    student, assignment = result["student"], result["assignment"]
    folder = course / "autograded" / student / assignment
    if folder.exists():
        shutil.rmtree(folder)
    for name, data in result["files"].items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        path.chmod(0o444)  # nbgrader's Autograde.permissions default
    gb.update_or_create_student(student)
    stamp = result["timestamp"]
    with warnings.catch_warnings():  # nbgrader's own autoflush noise, printed by `nbgrader autograde` too
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_submission(assignment, student,
                                       **({"timestamp": datetime.fromisoformat(stamp)} if stamp else {}))
    for notebook, data in result["notebooks"].items():
        nb = gb.find_submission_notebook(notebook, assignment, student)
        nb.flagged, nb.late_submission_penalty = data["flagged"], data["late_submission_penalty"]
        for name, (auto, needs_manual) in data["grades"].items():
            entry = gb.find_grade(name, notebook, assignment, student)
            entry.auto_score, entry.needs_manual_grade = auto, needs_manual
        for name, text in data["comments"].items():
            gb.find_comment(name, notebook, assignment, student).auto_comment = text
    gb.db.commit()


def _score(result: dict) -> float:
    return sum(auto or 0.0 for nb in result.get("notebooks", {}).values() for auto, _ in nb["grades"].values())


class Progress:
    """One status line per assignment: a bar and the done / failed / flagged counts."""

    def __init__(self, assignment: str, total: int, stream=sys.stderr):
        self.assignment, self.total, self.stream = assignment, total, stream
        self.done = self.failed = self.flagged = 0
        self.started = time.perf_counter()
        self.show()

    def add(self, result: dict) -> None:
        self.done += 1
        self.failed += bool(result["error"])
        self.flagged += bool(result.get("flags"))
        self.show()

    def show(self) -> None:
        width = 30
        filled = width * self.done // max(self.total, 1)
        self.stream.write(f"\r{self.assignment} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                          f"done, {self.failed} failed, {self.flagged} flagged, {time.perf_counter() - self.started:.0f} s")
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def summary(results: list[dict]) -> str:
    """The table printed at the end: per submission its seconds (all, kernel start, cells), score and flags."""
    from ftlab.assessment.course.restore import flag_place

    rows = [f"{'student':16s} {'seconds':>8s} {'kernel':>7s} {'cells':>7s} {'score':>6s}  flags"]
    for r in sorted(results, key=lambda r: r["student"]):
        timing = r.get("timing") or {}
        if r["error"]:
            lines = r["error"].strip().splitlines()
            note = "FAILED: " + next((l for l in reversed(lines) if "Error" in l), lines[-1]).strip()[:100]
        else:
            note = "; ".join(f"{f['reason']} in {flag_place(f)}" for f in r["flags"])
        kernel = timing.get("kernel_start_s", 0.0)
        rows.append(f"{r['student']:16s} {r['seconds']:8.1f} {kernel:7.1f} {timing.get('run_s', kernel) - kernel:7.1f} "
                    f"{_score(r):6.1f}  {note}")
    return "\n".join(rows)


def pending(course: Path, assignment: str, shard: Shard | None = None, force: bool = False) -> list[str]:
    """The students to grade: the shard's slice, or without a shard those not autograded since they submitted
    (all of them with force)."""
    _check_course(course, assignment)
    students = (shard or Shard()).pick(submitted(course, assignment))
    if shard is None and not force:
        students = [s for s in students if _stale(course, assignment, s)]
    return students


def skipped_note(course: Path, assignment: str, students: list[str]) -> str | None:
    """What autograde leaves out and why: folders whose name is no student id, no submissions at all, or those
    already autograded."""
    everyone, notes = submitted(course, assignment), []
    odd = submitted(course, assignment, valid=False)
    if odd:
        notes.append(f"not graded: {len(odd)} folder(s) in {course / 'submitted'} whose name is no student id "
                     f"({ID_RULE}): {', '.join(map(ascii, odd[:20]))}; rename "
                     f"the folder to the student's id to grade it")
    if not everyone:
        notes.append(f"nothing to grade: no submissions in {course / 'submitted'}/*/{assignment}/ "
                     f"(run `nbgrader collect {assignment}` first)")
    skipped = sorted(set(everyone) - set(students))
    if skipped:
        notes.append(f"skipped {len(skipped)} of {len(everyone)} submissions, already autograded and not submitted "
                     f"again since: {', '.join(skipped[:20])}{' ...' if len(skipped) > 20 else ''}; pass --force to "
                     f"grade them again")
    return "\n".join(notes) or None


def _stale(course: Path, assignment: str, student: str) -> bool:
    """nbgrader's rule: not autograded yet, or submitted again since (a newer timestamp.txt)."""
    from nbgrader.coursedir import CourseDirectory

    done = course / "autograded" / student / assignment
    if not done.exists():
        return True
    stamps = CourseDirectory(root=str(course))
    new = stamps.get_existing_timestamp(str(course / "submitted" / student / assignment))
    old = stamps.get_existing_timestamp(str(done))
    return new is not None and old is not None and new > old


def _serve(conn, log: str, threads: int) -> None:
    """A worker's loop: grade each Task the parent sends until it sends None or goes away."""
    _warm(log, threads)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        conn.send(grade(task))


class Worker:
    """One forked grading process and the submission it is grading, if any."""

    def __init__(self, context, log: str, threads: int):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, log, threads), daemon=True)
        self.process.start()
        child.close()
        self.task: Task | None = None

    def give(self, task: Task) -> None:
        self.task = task
        self.conn.send(task)

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _died(worker: Worker, assignment: str, tries: int) -> dict:
    code = worker.process.exitcode
    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
    return {"student": worker.task.student, "assignment": assignment, "seconds": 0.0,
            "error": f"WorkerDied: the grading worker died {tries} times while grading this submission ({how}; "
                     f"e.g. the out-of-memory killer); the rest of the class was graded"}


def autograde(course: Path, assignment: str, students: list[str], jobs: int | None = None, write: bool = True,
              options: tuple[str, ...] = (), on_result=None) -> list[dict]:
    """Grade these students' submissions with `jobs` workers and return the workers' results.

    With `write` the parent records each result in the gradebook and autograded/ as it arrives (a shard does not).
    A worker that dies (killed, out of memory) costs only the submission it was grading: that one is graded
    again once by a fresh worker, then reported as failed; the others go on.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    course = course.resolve()
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(students) or 1))
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="ftlab-autograde-") as tmp:
        base = str(snapshot(course, Path(tmp) / "gradebook.db"))
        queue = [Task(str(course), assignment, s, base, options) for s in students]
        tries = dict.fromkeys(students, 0)
        threads = max(1, (os.cpu_count() or 1) // jobs)
        # Pre-warmed workers: import nbgrader and the course config's modules once, here, and fork. Each worker
        # starts with them loaded instead of spending seconds of CPU importing them again. Forking is safe:
        # this process has run no torch op, so no OpenMP pool exists to be copied half-initialised.
        import nbgrader.apps.autogradeapp  # noqa: F401

        from ftlab.assessment.course import execute, grader  # noqa: F401 - grader imports torch
        context = multiprocessing.get_context("fork")
        log = str(Path(tmp) / "workers.log")
        workers = [Worker(context, log, threads) for _ in range(jobs)]
        gb = _gradebook(course) if write else None
        try:
            while queue or any(w.task for w in workers):
                for worker in workers:
                    if worker.task is None and queue:
                        worker.give(queue.pop(0))
                busy = [w for w in workers if w.task]
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
                for index, worker in enumerate(workers):
                    if worker.task is None or not {worker.conn, worker.process.sentinel} & set(ready):
                        continue
                    try:
                        result = worker.conn.recv() if worker.conn.poll() else None
                    except (EOFError, OSError):
                        result = None
                    if result is None:  # the worker died: replace it; grade its submission once more
                        worker.process.join()
                        tries[worker.task.student] += 1
                        if tries[worker.task.student] < 2:
                            queue.insert(0, worker.task)
                        else:
                            result = _died(worker, assignment, tries[worker.task.student])
                        worker.conn.close()
                        workers[index] = Worker(context, log, threads)
                    else:
                        worker.task = None
                    if result is not None:
                        if gb is not None and not result["error"]:
                            record(gb, course, result)
                        results.append(result)
                        if on_result:
                            on_result(result)
        finally:
            for worker in workers:
                worker.stop()
            if gb is not None:
                gb.close()
    return sorted(results, key=lambda r: r["student"])


def write_results(path: Path, course: Path, assignment: str, shard: Shard, results: list[dict]) -> Path:
    """The shard's result file, written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_text(json.dumps({"format": FORMAT, "assignment": assignment, "shard": str(shard),
                                   "results": results}), encoding="utf-8")
    partial.replace(path)
    return path


def merge(course: Path, paths: list[Path]) -> list[dict]:
    """Import result files into the gradebook; every file is checked before anything is written."""
    course = course.resolve()
    loaded = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise AutogradeError(f"cannot read result file {path}: {error}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise AutogradeError(f"{path} is not an ftlab autograde result file (format {FORMAT})")
        _check_course(course, data["assignment"])
        loaded.append(data)
    results = [r for data in loaded for r in data["results"]]
    seen = [(r["assignment"], r["student"]) for r in results]
    twice = sorted({key for key in seen if seen.count(key) > 1})
    if twice:
        raise AutogradeError(f"these submissions are in more than one result file: {twice}")
    with _gradebook(course) as gb:
        for result in results:
            if not result["error"]:
                record(gb, course, result)
    return results


# ---- command line ------------------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    """The flags of `ftlab course autograde`."""
    parser.add_argument("assignment", help="assignment name, as in the gradebook")
    parser.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: one per core)")
    parser.add_argument("--shard", default=None, metavar="I/N",
                        help="grade only slice I of N (0-based) and write a result file for `course merge`")
    parser.add_argument("--out", type=Path, default=None,
                        help="result file of a shard (default: autograde-results/ASSIGNMENT-I-of-N.json)")
    parser.add_argument("--force", action="store_true", help="grade again submissions already autograded")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (course config: Execute.timeout)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run kernels without bubblewrap: only for submissions you trust")
    parser.add_argument("--root", type=Path, default=None, help="course directory (default: . or ./quizzes)")


def merge_arguments(parser) -> None:
    """The flags of `ftlab course merge`."""
    parser.add_argument("results", nargs="+", type=Path, help="result files")
    parser.add_argument("--root", type=Path, default=None, help="course directory (default: . or ./quizzes)")


def _root(args) -> Path:
    from ftlab.assessment.course.build import default_root

    return args.root if args.root is not None else default_root()


def run(args) -> None:
    from ftlab.assessment.course.jail import bwrap

    course = _root(args)
    try:
        if args.jobs is not None and args.jobs < 1:
            raise AutogradeError(f"--jobs must be 1 or more, got {args.jobs}")
        shard = Shard.parse(args.shard) if args.shard else None
        if not args.no_sandbox and bwrap() is None:
            raise AutogradeError("bubblewrap (bwrap) is not installed, so submissions would run with your rights: "
                                 "apt-get install bubblewrap, or pass --no-sandbox for submissions you trust")
        options = (*(["--BoundedExecute.sandbox=False"] if args.no_sandbox else []),
                   *([f"--Execute.timeout={args.timeout}"] if args.timeout else []))
        students = pending(course, args.assignment, shard, args.force)
        note = skipped_note(course, args.assignment, students) if shard is None else None
        if note:
            print(note)
        if not students:
            return
        progress = Progress(args.assignment, len(students))
        results = autograde(course, args.assignment, students, args.jobs, shard is None, options, progress.add)
    except AutogradeError as error:
        sys.exit(f"ftlab course autograde: {error}")
    print(summary(results))
    if shard is not None:
        out = args.out or course / "autograde-results" / f"{args.assignment}-{shard.index}-of-{shard.count}.json"
        print(f"results of shard {shard}: {write_results(out, course, args.assignment, shard, results)}")
    if any(r["error"] for r in results):
        sys.exit(1)


def run_merge(args) -> None:
    try:
        results = merge(_root(args), args.results)
    except AutogradeError as error:
        sys.exit(f"ftlab course merge: {error}")
    print(summary(results))
    print(f"merged {sum(not r['error'] for r in results)} submissions into {_root(args) / 'gradebook.db'}")
