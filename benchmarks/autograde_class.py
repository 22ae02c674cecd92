"""A whole class autograded two ways, side by side: serial stock `nbgrader autograde` vs `ftlab course autograde`.

Generates the freezing assignment and a class of honest, partial and blank submissions; grades it with
nbgrader's own Execute (the course config without the ftlab block) and with `ftlab course autograde
--jobs J`; prints wall time, seconds per notebook split into kernel start, cells and the rest,
and whether every grade is identical. Then grades hostile submissions (an endless loop, one that ignores
SIGINT, os._exit, a segfault, sandbox probes) and prints what each cost and whether every probe failed.
Usage: python benchmarks/autograde_class.py [--students 6] [--jobs 2] [--timeout 20] [--skip-hostile]
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from ftlab.assessment.course.adversaries import students as adversaries
from ftlab.assessment.course.sandbox import Student, copy_course, nbgrader, solutions, submit

QUIZZES = Path(__file__).resolve().parents[1] / "quizzes"
ASSIGNMENT = "freezing"
MARKER = "# --- ftlab course autograde"  # the course config's block that switches on BoundedExecute and the jail
ENV = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


def timed(run) -> tuple[float, object]:
    """Wall seconds of `run()` and its result. (No CPU time: RUSAGE_CHILDREN gave ftlab 3.3 s per notebook,
    less than its kernels' imports alone take, so it misses the jailed kernels and would flatter ftlab.)"""
    started = time.perf_counter()
    out = run()
    return time.perf_counter() - started, out


def ftlab(course: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "ftlab.cli", "course", *args], cwd=course, capture_output=True,
                          text=True, env=ENV)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"ftlab course {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def grades(course: Path) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {sub.student.id: {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades}
                for sub in gb.assignment_submissions(ASSIGNMENT)}


def table(stdout: str) -> dict[str, list[str]]:
    """The rows of `ftlab course autograde`'s summary table, by student."""
    rows = [line.split(None, 5) for line in stdout.splitlines()]
    start = next(i for i, row in enumerate(rows) if row[:2] == ["student", "seconds"])
    return {row[0]: row[1:] for row in rows[start + 1:] if len(row) >= 5}


def per_notebook(rows: dict[str, list[str]]) -> tuple[float, float, float]:
    """Mean seconds per notebook in the workers: total, kernel start, cells."""
    total = [float(r[0]) for r in rows.values()]
    kernel = [float(r[1]) for r in rows.values()]
    cells = [float(r[2]) for r in rows.values()]
    return sum(total) / len(total), sum(kernel) / len(kernel), sum(cells) / len(cells)


def imports(course: Path) -> float:
    """Mean seconds of the first cell (the imports) over the autograded notebooks, from BoundedExecute's timings."""
    firsts = [nbformat.read(p, as_version=4).metadata.ftlab.cell_s[0][1]
              for p in (course / "autograded").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")]
    return sum(firsts) / len(firsts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=6, help="benign submissions (honest, partial, blank in turn)")
    parser.add_argument("--jobs", type=int, default=2, help="ftlab workers")
    parser.add_argument("--timeout", type=int, default=20, help="seconds per cell for both graders")
    parser.add_argument("--skip-hostile", action="store_true", help="only the serial vs parallel comparison")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, {args.students} students, --jobs {args.jobs}, "
          f"cell timeout {args.timeout} s")
    with tempfile.TemporaryDirectory() as tmp:
        pristine = copy_course(QUIZZES, Path(tmp) / "pristine")
        nbgrader(pristine, "generate_assignment", ASSIGNMENT, "--create")
        keys = solutions(pristine / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        kinds = adversaries(keys, pristine, ASSIGNMENT, port=9)
        for i in range(args.students):
            kind = kinds[("honest", "partial", "blank")[i % 3]]
            submit(pristine, ASSIGNMENT, Student(f"{kind.id}{i + 1:02d}", kind.answers, kind.edits, kind.deleted,
                                                 kind.empty))
        serial, parallel = (Path(shutil.copytree(pristine, Path(tmp) / name)) for name in ("serial", "parallel"))
        config = serial / "nbgrader_config.py"
        config.write_text(config.read_text().split(MARKER)[0])  # stock nbgrader Execute: the "before"
        s_wall, _ = timed(lambda: nbgrader(serial, "autograde", ASSIGNMENT, f"--Execute.timeout={args.timeout}"))
        fixed, _ = timed(lambda: nbgrader(serial, "autograde", ASSIGNMENT))  # nothing left: start-up alone
        p_wall, out = timed(lambda: ftlab(parallel, "autograde", ASSIGNMENT, "--jobs", str(args.jobs),
                                                 "--timeout", str(args.timeout)))
        total, kernel, cells = per_notebook(table(out))
        same = grades(serial) == grades(parallel)
        n = args.students
        print(f"\n{'':34s} {'serial nbgrader':>16s} {'ftlab --jobs ' + str(args.jobs):>16s}")
        print(f"{'wall, whole class (s)':34s} {s_wall:16.1f} {p_wall:16.1f}   ratio {p_wall / s_wall:.2f}")
        print(f"{'command start-up (s)':34s} {fixed:16.1f} {p_wall - total * n / args.jobs:16.1f}")
        print(f"{'wall per notebook (s)':34s} {(s_wall - fixed) / n:16.1f} {total:16.1f}   (ftlab: in its worker)")
        print(f"{'  of which cells (s)':34s} {'':16s} {cells:16.1f}")
        print(f"{'    first cell: import torch, ftlab':34s} {'':16s} {imports(parallel):16.1f}")
        print(f"{'  overhead: kernel start (s)':34s} {'':16s} {kernel:16.1f}")
        print(f"{'  overhead: rest (s)':34s} {'':16s} {total - cells - kernel:16.1f}")
        print(f"identical grades, submission for submission: {same}")
        if args.skip_hostile:
            return
        hostile = Path(shutil.copytree(pristine, Path(tmp) / "hostile", ignore=shutil.ignore_patterns("submitted")))
        with socket.create_server(("127.0.0.1", 0)) as server:
            server.settimeout(0.1)
            kinds = adversaries(keys, hostile, ASSIGNMENT, server.getsockname()[1])
            for kind in ("honest", "stuck", "sigint", "crash", "segfault", "probe"):
                submit(hostile, ASSIGNMENT, kinds[kind])
            h_wall, out = timed(lambda: ftlab(hostile, "autograde", ASSIGNMENT, "--jobs", str(args.jobs),
                                                 "--timeout", str(args.timeout)))
            try:
                server.accept()
                reached = True
            except TimeoutError:
                reached = False
        rows = table(out)
        print(f"\nhostile class, {h_wall:.1f} s wall:\n{out[out.index('student'):]}")
        honest = float(rows["honest"][0])
        for kind in ("stuck", "sigint"):
            cost = float(rows[kind][0]) - honest
            print(f"{kind}: costs {cost:.1f} s more than the honest notebook; target <= timeout + 10 = "
                  f"{args.timeout + 10} s: {'met' if cost <= args.timeout + 10 else 'MISSED'}")
        notebook = nbformat.read(hostile / "autograded" / "probe" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
        print("\n".join(line for line in text.splitlines() if line.startswith("PROBE ")))
        print(f"listener on 127.0.0.1 reached: {reached}; grades of the prober: {grades(hostile)['probe']}")


if __name__ == "__main__":
    main()
