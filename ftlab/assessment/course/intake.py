"""Submissions read within bounds before nbgrader sees them: a private copy of each submission folder holding only
regular files of bounded size, its notebooks parsed without recursion and nested no deeper than a notebook needs.

nbgrader reads a notebook with Python's json module, which ends in RecursionError on metadata nested a few
thousand levels deep, and follows links and FIFOs like files. `copy_submission` makes the copy nbgrader
grades instead: links, FIFOs, devices and oversized files are left out, values nested deeper than MAX_DEPTH
become null, outputs are dropped (autograding clears them anyway), and a notebook that cannot be read at all
becomes an empty one, so the grader restores its cells and grades it as blank. A file with the same bytes as one
of the course's own (bank, source notebooks, config) is left out too, or graded as blank if it is the notebook:
`nbgrader collect` follows links, so a link a student plants in the exchange arrives as a copy of what it named.
Each change is a flag. `ftlab course autograde` grades the copy; for plain `nbgrader autograde`, `pre_convert` (the
course config's pre-convert hook) puts the copy in the submission's place, keeps the original in quarantine/ and
records the flags there.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import time
from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

MARKUP = set("<>&\"'`\\")  # characters a page reads as markup or as the end of a script string
ID_RULE = "no < > & \" ' ` \\ and no control characters"  # said wherever such a folder is left out
MAX_DEPTH = 32  # levels of JSON nesting kept; a notebook's own structure needs about eight
MAX_NOTEBOOK = 64 << 20  # bytes of one notebook read; a course notebook without outputs is far smaller
MAX_FILE = 16 << 20  # bytes of any other file a submission may bring (a small data file)
EMPTY = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
PRIVATE = ("bank/**/*", "source/**/*.ipynb", "nbgrader_config.py")  # course files no submission may bring (a data
# file in source/ is released to students with the notebook, so it is theirs to bring back)
QUARANTINE = "quarantine"  # course folder where plain nbgrader's intake keeps submissions as they came
RECORD = "intake.json"  # beside them: the flags of the copy in place, for RestoreCellMetadata to show


def student_id_ok(name: str) -> bool:
    """Whether a submission folder's name can be a student id: nbgrader's formgrader writes the id into its pages
    unescaped, even into a script, so a name with markup characters (MARKUP) or control characters would run in the
    instructor's browser. Any other name ("josé", "j.doe@uni") is an id."""
    return bool(name) and name.isprintable() and not MARKUP & set(name)


class RefuseOddStudentIds(NbGraderPreprocessor):
    """First sanitize step of plain `nbgrader autograde`, which makes a gradebook student from any folder name: a
    name that is no student id is not graded and leaves the gradebook again, so it never reaches formgrader."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        student = resources["nbgrader"]["student"]
        if student_id_ok(student):
            return nb, resources
        with Gradebook(resources["nbgrader"]["db_url"]) as gb:
            gb.remove_student(student)
        raise ValueError(f"not graded: the folder submitted/{ascii(student)} is no student id ({ID_RULE}); rename it "
                         f"to the student's id")


def _regular(path: Path, limit: int) -> tuple[int | None, str | None]:
    """An open file descriptor of a regular file of at most `limit` bytes, else (None, why)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as err:
        return None, f"not a regular file ({err.strerror})"
    info = os.fstat(fd)
    why = None if stat.S_ISREG(info.st_mode) else "not a regular file"
    why = why or (f"{info.st_size / 2**20:.0f} MB, more than the {limit >> 20} MB read" if info.st_size > limit
                  else None)
    if why:
        os.close(fd)
        return None, why
    return fd, None


def private_digests(course: Path) -> frozenset[bytes]:
    """SHA-256 of every course-private file (PRIVATE): what no submission may carry a copy of."""
    return frozenset(hashlib.sha256(path.read_bytes()).digest() for pattern in PRIVATE
                     for path in sorted(course.glob(pattern)) if path.is_file() and not path.is_symlink())


def read_notebook(data: bytes) -> tuple[dict, list[str]]:
    """The notebook's JSON with values below MAX_DEPTH replaced by null and outputs dropped; the changes made."""
    import ijson

    notes: list[str] = []
    stack: list[tuple[object, str | None]] = []  # (container, key waiting for its value)
    skipping, root = 0, None
    with io.BytesIO(data) as stream:
        for event, value in ijson.basic_parse(stream, use_float=True):
            if skipping:
                skipping += event in ("start_map", "start_array")
                skipping -= event in ("end_map", "end_array")
                if not skipping:
                    _put(stack, None)
                continue
            if event == "map_key":
                stack[-1] = (stack[-1][0], value)
            elif event in ("start_map", "start_array"):
                if len(stack) >= MAX_DEPTH:
                    skipping = 1
                    notes.append(f"a value nested deeper than {MAX_DEPTH} levels (under {_where(stack)}) was "
                                 f"dropped")
                    continue
                stack.append(({} if event == "start_map" else [], None))
            elif event in ("end_map", "end_array"):
                done = stack.pop()[0]
                if stack:
                    _put(stack, done)
                else:
                    root = done
            else:
                _put(stack, value)
    if not isinstance(root, dict) or not isinstance(root.get("cells"), list):
        raise ValueError("not a notebook")
    for cell in root["cells"]:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return root, notes


def _put(stack: list, value: object) -> None:
    container, key = stack[-1]
    if isinstance(container, dict):
        container[key] = value
    else:
        container.append(value)


def _where(stack: list) -> str:
    keys = [str(key) if isinstance(c, dict) else str(len(c)) for c, key in stack[:5]]
    return "/".join(keys) or "the top"


def copy_submission(source: Path, dest: Path, private: frozenset[bytes] = frozenset()) -> list[dict]:
    """Copy the submission folder `source` to `dest` within the bounds above, leaving out copies of the files whose
    digests are `private`; the flags of what was changed."""
    flags = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() and not path.is_symlink():
            continue
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        notebook = path.suffix == ".ipynb"
        fd, why = _regular(path, MAX_NOTEBOOK if notebook else MAX_FILE)
        data = None
        if fd is not None:
            with os.fdopen(fd, "rb") as stream:
                data = stream.read(MAX_NOTEBOOK if notebook else MAX_FILE)
            if hashlib.sha256(data).digest() in private:
                data, why = None, "the same bytes as one of the course's own files (a link followed on collect?)"
        if not notebook:
            if data is None:
                flags.append({"notebook": relative.stem, "grade_id": str(relative), "reason": "FileLeftOut",
                              "detail": f"{relative}: {why}; not given to the grader"})
            else:
                target.write_bytes(data)
            continue
        notes: list[str] = []
        try:
            if data is None:
                raise ValueError(why)
            nb, notes = read_notebook(data)
        except Exception as err:  # noqa: BLE001 - ijson's, OSError, ValueError: the same verdict
            nb, notes = dict(EMPTY), [f"the notebook could not be read ({str(err)[:120]}); graded as blank"]
        target.write_text(json.dumps(nb), encoding="utf-8")
        flags += [{"notebook": relative.stem, "grade_id": str(relative), "reason": "NotebookUnreadable", "detail": note}
                  for note in notes]
    return flags


def pre_convert(course: Path | str, notebooks: list | tuple = (), **_) -> None:
    """nbgrader's pre-convert hook for plain `nbgrader autograde`: the intake above, in place. When anything had to
    change, the submission folder moves to quarantine/<student>/<assignment>/<time>/ as it came, its bounded copy
    takes its place, and the flags are recorded beside it (`recorded_flags`), out of the submission's reach."""
    course = Path(course)
    folder = Path(os.path.abspath(notebooks[0])).parent if notebooks else None  # submitted/<student>/<assignment>:
    if folder is None or not folder.is_relative_to(course):  # the hook is told the notebooks only; `ftlab course
        return  # autograde` hands nbgrader a bounded copy outside the course
    kept = course / QUARANTINE / folder.parent.name / folder.name
    work = course / QUARANTINE / f".intake-{os.getpid()}"
    (course / QUARANTINE).mkdir(mode=0o700, exist_ok=True)  # students' files: the instructor's eyes only
    shutil.rmtree(work, ignore_errors=True)
    try:
        flags = copy_submission(folder, work, private_digests(course))
        if not flags:  # within bounds: the submission itself, or the copy an earlier run put here (keep its flags)
            if (kept / RECORD).is_file() and json.loads((kept / RECORD).read_text())["digest"] != _digest(folder):
                (kept / RECORD).unlink()  # a new submission since: the old flags are not about it
            return
        kept.mkdir(parents=True, exist_ok=True)
        os.rename(folder, kept / time.strftime("%Y%m%d-%H%M%S"))
        os.rename(work, folder)
        (kept / RECORD).write_text(json.dumps({"digest": _digest(folder), "flags": flags}), encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def recorded_flags(course: Path, student: str, assignment: str) -> list[dict]:
    """The flags plain nbgrader's intake recorded for the submission now in place (none if it was within bounds)."""
    record = course / QUARANTINE / student / assignment / RECORD
    return json.loads(record.read_text(encoding="utf-8"))["flags"] if record.is_file() else []


def _digest(folder: Path) -> str:
    """One SHA-256 over the submission's notebooks: tells the copy the intake left from a newer submission."""
    found = hashlib.sha256()
    for path in sorted(folder.glob("*.ipynb")):
        found.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return found.hexdigest()
