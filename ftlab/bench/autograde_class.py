"""A whole class autograded two ways, side by side: serial `nbgrader autograde` vs `ftlab course autograde --jobs J`.

Generates the freezing assignment and a class: one stuck (endless loop), one SIGINT-ignoring, one os._exit,
one segfault and one sandbox-probing submission (source, gradebook, site-packages, network, 64 GiB, a full
/tmp and folder, a fork bomb), the rest honest, partial and blank in turn. Both graders use the course config
(same preprocessors, same jail and limits); serial nbgrader starts a cold kernel (a new jail and zygote that
imports torch) per notebook, ftlab forks each kernel from its worker's warm zygote. Prints wall time, seconds
per notebook (kernel start with imports, cells, the rest), whether every grade is identical, what the stuck
notebooks cost beyond an honest one, and every probe's outcome.
Usage: python -m ftlab.bench autograde-class [--students 10] [--jobs 2] [--timeout 20]
"""
from __future__ import annotations

import argparse
import json
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
from ftlab.bench import course_folder

ASSIGNMENT = "freezing"
HOSTILE = ("stuck", "sigint", "crash", "segfault", "probe")
ENV = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


def timed(run) -> tuple[float, object]:
    """Wall seconds of `run()` and its result. (No CPU time: RUSAGE_CHILDREN misses the jailed kernels.)"""
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


def timings(course: Path, students: list[str]) -> tuple[float, float]:
    """Mean kernel start and mean cell seconds per notebook, from BoundedExecute's metadata in autograded/."""
    metas = [nbformat.read(course / "autograded" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4).metadata.ftlab
             for s in students]
    kernel = [m.kernel_start_s for m in metas]
    cells = [m.run_s - m.kernel_start_s for m in metas]
    return sum(kernel) / len(kernel), sum(cells) / len(cells)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ftlab.bench autograde-class", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=10, help="class size, the five hostile students included")
    parser.add_argument("--jobs", type=int, default=2, help="ftlab workers")
    parser.add_argument("--timeout", type=int, default=20, help="seconds per cell for both graders")
    parser.add_argument("--course", type=course_folder, default="quizzes",
                        help="the course folder to copy (default: quizzes/ of the checkout you run from)")
    args = parser.parse_args(argv)
    n = args.students
    if n <= len(HOSTILE):
        parser.error(f"--students must be above {len(HOSTILE)} (the hostile students)")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start, {n} students "
          f"({', '.join(HOSTILE)} and {n - len(HOSTILE)} honest/partial/blank), --jobs {args.jobs}, "
          f"cell timeout {args.timeout} s")
    with tempfile.TemporaryDirectory() as tmp, socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.1)
        pristine = copy_course(args.course, Path(tmp) / "pristine")
        nbgrader(pristine, "generate_assignment", ASSIGNMENT, "--create")
        keys = solutions(pristine / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        kinds = adversaries(keys, pristine, ASSIGNMENT, server.getsockname()[1])
        benign = []
        for i in range(n - len(HOSTILE)):
            kind = kinds[("honest", "partial", "blank")[i % 3]]
            benign.append(f"{kind.id}{i + 1:02d}")
            submit(pristine, ASSIGNMENT, Student(benign[-1], kind.answers, kind.edits, kind.deleted, kind.empty))
        for kind in HOSTILE:
            submit(pristine, ASSIGNMENT, kinds[kind])
        serial, parallel = (Path(shutil.copytree(pristine, Path(tmp) / name)) for name in ("serial", "parallel"))
        s_wall, _ = timed(lambda: nbgrader(serial, "autograde", ASSIGNMENT, f"--Execute.timeout={args.timeout}"))
        fixed, _ = timed(lambda: nbgrader(serial, "autograde", ASSIGNMENT))  # nothing left: start-up alone
        p_wall, out = timed(lambda: ftlab(parallel, "autograde", ASSIGNMENT, "--jobs", str(args.jobs),
                                          "--timeout", str(args.timeout)))
        try:
            server.accept()
            reached = True
        except TimeoutError:
            reached = False
        rows = table(out)
        s_kernel, s_cells = timings(serial, benign)
        p_kernel, p_cells = timings(parallel, benign)
        p_total = sum(float(rows[s][0]) for s in benign) / len(benign)
        serial_grades, parallel_grades = grades(serial), grades(parallel)
        same = [s for s in serial_grades if serial_grades[s] == parallel_grades.get(s)]
        print(f"\n{'':38s} {'serial nbgrader':>16s} {'ftlab --jobs ' + str(args.jobs):>16s}")
        print(f"{'wall, whole class (s)':38s} {s_wall:16.1f} {p_wall:16.1f}   ratio {p_wall / s_wall:.2f}")
        print(f"{'command start-up (s)':38s} {fixed:16.1f}")
        p_all = sum(float(row[0]) for row in rows.values()) / len(rows)
        print(f"{'wall per notebook, all ' + str(n) + ' (s)':38s} {(s_wall - fixed) / n:16.1f} {p_all:16.1f}   "
              f"(ftlab: in its worker)")
        print(f"benign notebooks ({len(benign)}), mean seconds:")
        print(f"{'  wall per notebook':38s} {'':16s} {p_total:16.1f}")
        print(f"{'  kernel start, imports included':38s} {s_kernel:16.2f} {p_kernel:16.2f}")
        print(f"{'  cells of the notebook':38s} {s_cells:16.2f} {p_cells:16.2f}")
        print(f"{'  the rest (nbgrader, grading)':38s} {'':16s} {p_total - p_kernel - p_cells:16.2f}")
        differ = sorted((set(serial_grades) | set(parallel_grades)) - set(same))
        print(f"identical grades, submission for submission: {len(same)} of {n}"
              f"{'; differ: ' + json.dumps(differ) if differ else ''}")
        print(f"\nftlab summary:\n{out[out.index('student'):]}")
        honest = [float(rows[s][0]) for s in benign if s.startswith("honest")]
        honest_mean = sum(honest) / len(honest)
        for kind in ("stuck", "sigint"):
            cost = float(rows[kind][0]) - honest_mean
            print(f"{kind}: costs {cost:.1f} s more than an honest notebook ({honest_mean:.1f} s); target <= timeout "
                  f"+ 10 = {args.timeout + 10} s: {'met' if cost <= args.timeout + 10 else 'MISSED'}")
        notebook = nbformat.read(parallel / "autograded" / "probe" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
        print("\n".join(line for line in text.splitlines() if line.startswith("PROBE ")))
        print(f"listener on 127.0.0.1 reached: {reached}; the prober's grades: {parallel_grades['probe']}")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
