"""A throwaway copy of the course with scripted students: the tests and the benchmark drive nbgrader through it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ftlab.assessment.course import notebook as nb
from ftlab.assessment.course.restore import grade_id


@dataclass
class Student:
    """One scripted submission: answer sources by grade id, edited or deleted cells, or no cells at all."""

    id: str
    answers: dict[str, str] = field(default_factory=dict)  # grade id -> the student's source
    edits: dict[str, str] = field(default_factory=dict)  # grade id of a read-only or test cell -> new source
    deleted: frozenset[str] = frozenset()  # grade ids of cells the student deleted
    empty: bool = False  # every cell deleted
    forged: dict[str, float] = field(default_factory=dict)  # grade id -> points of a grade cell the student made up


def copy_course(quizzes: Path, dest: Path) -> Path:
    """Copy the config, the private bank and the source notebooks (nothing nbgrader wrote) into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(quizzes / "nbgrader_config.py", dest / "nbgrader_config.py")
    for folder in ("bank", "source"):
        shutil.copytree(quizzes / folder, dest / folder, dirs_exist_ok=True)
    return dest


def nbgrader(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real nbgrader CLI in the course directory; on failure raise with its log.

    nbgrader's gradebook shells out to `alembic` by name, so this interpreter's bin/ goes first on PATH
    (a venv that was never activated would otherwise fail with FileNotFoundError: 'alembic').
    """
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True, env=env)
    if check and done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def solutions(source: Path) -> dict[str, str]:
    """The instructor's answer for every answer cell of a source notebook, delimiters removed."""
    out = {}
    for cell in nbformat.read(source, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        text = cell.source
        if nb.BEGIN in text:
            head, body, tail = nb.split_solution(text)
            text = head + body.strip("\n") + tail
        out[meta["grade_id"]] = text.strip()
    return out


def submission(released: Path, student: Student) -> nbformat.NotebookNode:
    """The released notebook as this student hands it in."""
    work = nbformat.read(released, as_version=4)
    if student.empty:
        work.cells = []
        return work
    work.cells = [cell for cell in work.cells if grade_id(cell) not in student.deleted]
    for cell in work.cells:
        gid = grade_id(cell)
        if gid in student.answers:
            cell.source = student.answers[gid]
        elif gid in student.edits:
            cell.source = student.edits[gid]
    for gid, points in student.forged.items():
        meta = {"grade": True, "solution": False, "locked": True, "grade_id": gid, "points": points,
                "schema_version": nb.SCHEMA_VERSION}
        work.cells.append(nbformat.v4.new_code_cell(repr(points), metadata={"nbgrader": meta}))
    return work


def submit(course: Path, assignment: str, student: Student) -> Path:
    """Place the student's notebook where `nbgrader collect` would: submitted/<student>/<assignment>/."""
    released = course / "release" / assignment / f"{assignment}.ipynb"
    path = course / "submitted" / student.id / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(submission(released, student), path)
    return path
