"""Write (or check) the nbgrader source notebooks of a course folder from its private bank."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ftlab.assessment.bank import Exercise

from ftlab.assessment.course import notebook as nb
from ftlab.assessment.course.assignments import ASSIGNMENTS, Assignment, cells
from ftlab.assessment.course.keys import Keys, KeysError, load_keys


def default_root() -> Path:
    """The course directory: this one when it holds nbgrader_config.py (run from quizzes/), else ./quizzes."""
    return Path(".") if Path("nbgrader_config.py").exists() else Path("quizzes")


def source_path(root: Path, assignment: Assignment) -> Path:
    """Where nbgrader expects the instructor's version: source/<assignment>/<assignment>.ipynb."""
    return root / "source" / assignment.name / f"{assignment.name}.ipynb"


def source_cells(root: Path, assignment: Assignment, keys: Keys) -> list:
    """The source notebook's cells; with variants on, each student's shown from their id (variants.py)."""
    from ftlab.assessment.course.variants import course_variants, personalize, roster

    settings = course_variants(root)
    if not settings.on(assignment.name):
        return cells(assignment, keys)
    return personalize(assignment, keys, cells(assignment, keys), settings.secret, roster(root))


def render(root: Path, assignment: Assignment, keys: Keys) -> str:
    """The source notebook's exact text."""
    return nb.dumps(nb.notebook(source_cells(root, assignment, keys)))


def stale(root: Path) -> list[Path]:
    """Source notebooks that are missing or differ from what the course's private bank generates now."""
    keys = load_keys(root)
    out = []
    for assignment in ASSIGNMENTS:
        path = source_path(root, assignment)
        if not path.exists() or path.read_text(encoding="utf-8") != render(root, assignment, keys):
            out.append(path)
    return out


def check_exercises(keys: Keys) -> None:
    """Every exercise item of the private bank names a check that takes its objects and settings (KeysError
    otherwise), so a typo fails the build, not the grading of the first student. Imports torch."""
    from ftlab.assessment.bank.checks import check_for  # torch: only `build` pays for it, not `--check`

    for item in keys.bank.items:
        if isinstance(item, Exercise):
            try:
                check_for(item)
            except ValueError as err:
                raise KeysError(f"the course's private bank: {err}") from None


def check_public_overlap(keys: Keys) -> None:
    """KeysError when a graded course item reads like an item of the public bank, which ships with ftlab: a
    student could look its answer up (overlap.py)."""
    from ftlab.assessment.course.overlap import similar_items

    found = similar_items(keys.bank)
    if found:
        pairs = "; ".join(f"{s.course} ~ {s.public} ({s.score:g})" for s in found)
        raise KeysError(f"the course's private bank has items that the public bank (ftlab/assessment/bank/items/, "
                        f"installed with ftlab) answers: {pairs}. Rewrite the course items so that their prompt "
                        f"and answer are the course's own")


def build(root: Path) -> list[Path]:
    """Check the exercises and the overlap with the public bank, then write every source notebook whose text
    changed; return the paths written."""
    keys = load_keys(root)
    check_exercises(keys)
    check_public_overlap(keys)
    written = []
    for assignment in ASSIGNMENTS:
        path = source_path(root, assignment)
        if nb.write(nb.notebook(source_cells(root, assignment, keys)), path):
            written.append(path)
    (root / "source").chmod(0o700)  # the instructor's notebooks hold the solutions
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `ftlab course build`, shared with this module's own entry point."""
    parser.add_argument("--root", type=Path, default=None,
                        help="the course folder, with its private bank/ (default: . inside quizzes/, else ./quizzes)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook in source/ differs from the bank")


def run(args: argparse.Namespace) -> int:
    """Build or check as the parsed arguments say; the exit status."""
    if args.root is None:
        args.root = default_root()
        if not (args.root / "nbgrader_config.py").exists():
            print(f"{args.root.resolve()} is not the course directory (no nbgrader_config.py); use --root")
            return 2
    if not args.root.is_dir():
        print(f"{args.root} is not a folder; give an existing course folder (make one with `ftlab course init`)")
        return 2
    try:
        if args.check:
            paths = stale(args.root)
            for path in paths:
                print(f"out of date: {path} (run: ftlab course build)")
            return 1 if paths else 0
        paths = build(args.root)
    except (KeysError, ValueError) as err:  # BankError is a ValueError, as is a variant setting that does not fit
        print(err)
        return 2
    for path in paths:
        print(f"wrote {path}")
    print(f"{len(ASSIGNMENTS)} assignments in {args.root / 'source'}, {len(paths)} changed")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: python -m ftlab.assessment.course.build [--root quizzes] [--check]."""
    parser = argparse.ArgumentParser(prog="ftlab course build", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
