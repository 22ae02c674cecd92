"""Autograding seconds per notebook for every course assignment, measured with the real nbgrader CLI.

Builds a throwaway copy of quizzes/, submits the solutions as several students and times
`nbgrader autograde` per assignment (kernel start, the run, the gradebook writes).
Usage: python -m ftlab.bench autograde-time [--students 3]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from ftlab.assessment.course.assignments import ASSIGNMENTS
from ftlab.assessment.course.sandbox import Student, copy_course, nbgrader, solutions, submit
from ftlab.bench import course_folder



def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ftlab.bench autograde-time", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=3, help="submissions per assignment")
    parser.add_argument("--course", type=course_folder, default="quizzes",
                        help="the course folder to copy (default: quizzes/ of the checkout you run from)")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__}, {args.students} students per assignment")
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_course(args.course, Path(tmp))
        for assignment in ASSIGNMENTS:
            nbgrader(root, "generate_assignment", assignment.name, "--create")
            keys = solutions(root / "source" / assignment.name / f"{assignment.name}.ipynb")
            for i in range(args.students):
                submit(root, assignment.name, Student(f"student{i + 1}", keys))
            started = time.perf_counter()
            nbgrader(root, "autograde", assignment.name)
            seconds = time.perf_counter() - started
            print(f"{assignment.name:10s} {seconds:6.1f} s for {args.students} notebooks: "
                  f"{seconds / args.students:5.1f} s per notebook")


if __name__ == "__main__":
    main()
