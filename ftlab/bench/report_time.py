"""How long `ftlab course report` takes for a large class: the concepts assignment for N scripted students, graded by
`ftlab course autograde` in three shards and merged (as a cluster would), then the report (terminal table, CSV and
the HTML page with its charts) timed as an instructor runs it: the CLI in a fresh process, and in-process by stage.
Students pick options at random (seeded), and a share of them writes a misconceived recall answer.
Usage: python -m ftlab.bench report-time [--students 300] [--shards 3] [--jobs 2] [--keep DIR]
"""
from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ftlab.assessment.course.assignments import BY_NAME
from ftlab.assessment.course.keys import load_keys
from ftlab.assessment.course.sandbox import Student, copy_course, nbgrader, solutions, submit
from ftlab.bench import course_folder
from ftlab.bench.autograde_class import ENV, timed

ASSIGNMENT = "concepts"
MISCONCEIVED = "Nothing carries over: fine-tuning trains the whole network from scratch and reuses the old head."


def scripted(course: Path, n: int, seed: int = 0) -> list[Student]:
    """N students of the concepts assignment: each choice right or a random distractor, a tenth misconceived."""
    rng = random.Random(seed)
    bank = load_keys(course).bank
    assignment = BY_NAME[ASSIGNMENT]
    keys = solutions(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    out = []
    for s in range(n):
        answers = dict(keys)
        for number, item_id in enumerate(assignment.choices, start=len(assignment.recall) + 1):
            item = bank.get(item_id)
            if rng.random() < 0.3:
                pick = rng.randrange(len(item.options))
                answers[item_id] = (f"q{number} = {pick == 0}" if item.kind == "truefalse"
                                    else f"q{number} = {item.letters[pick]!r}")
        if rng.random() < 0.1:
            answers[assignment.recall[0]] = f"q1 = {MISCONCEIVED!r}"
        out.append(Student(f"student{s:04d}", answers))
    return out


def ftlab(course: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "ftlab.cli", "course", *args], cwd=course, capture_output=True,
                          text=True, env=ENV)
    if done.returncode != 0:
        raise RuntimeError(f"ftlab course {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def grade_class(course: Path, students: int, shards: int, jobs: int) -> float:
    """Generate, submit and grade the class in `shards` shards, then merge; the grading seconds."""
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--create")
    for student in scripted(course, students):
        submit(course, ASSIGNMENT, student)
    started = time.perf_counter()
    files = []
    for i in range(shards):
        out = course / "autograde-results" / f"{ASSIGNMENT}-{i}-of-{shards}.json"
        ftlab(course, "autograde", ASSIGNMENT, "--shard", f"{i}/{shards}", "--jobs", str(jobs), "--no-sandbox",
              "--out", str(out))
        files.append(str(out))
    ftlab(course, "merge", *files)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ftlab.bench report-time", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=300, help="class size")
    parser.add_argument("--shards", type=int, default=3, help="autograde shards merged before the report")
    parser.add_argument("--jobs", type=int, default=2, help="ftlab workers per shard")
    parser.add_argument("--course", type=course_folder, default=Path("quizzes"), help="course folder to copy")
    parser.add_argument("--keep", type=Path, default=None,
                        help="grade into this folder and keep it; if it already holds a graded class, only report")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="ftlab-report-bench-")) / "course"
    if not (work / "gradebook.db").exists():
        copy_course(args.course, work)
        seconds = grade_class(work, args.students, args.shards, args.jobs)
        print(f"graded {args.students} students in {args.shards} shards and merged: {seconds:.0f} s")
    cli, _ = timed(lambda: ftlab(work, "report", ASSIGNMENT, "--html", str(work / "report.html"),
                                 "--csv", str(work / "report.csv")))
    from ftlab.assessment.course.report import build
    from ftlab.assessment.course.report_view import to_html, write_csv

    built, report = timed(lambda: build(work, ASSIGNMENT))
    page, _ = timed(lambda: to_html([report]))
    rows, _ = timed(lambda: write_csv([report], work / "again.csv"))
    print(f"class of {len(report.students)}: `ftlab course report {ASSIGNMENT} --html --csv` took {cli:.2f} s "
          f"(target 10 s) in a fresh process; in-process: build {built:.2f} s, HTML with charts {page:.2f} s, "
          f"CSV {rows:.2f} s")
    if args.keep is None:
        shutil.rmtree(work.parent, ignore_errors=True)
