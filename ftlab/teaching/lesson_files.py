"""`ftlab lessons [DIR]`: copy the lesson notebooks, unexecuted, into a folder of the student's own.

The notebooks ship in the wheel as data files (share/ftlab/lessons under the install prefix); in a source
checkout they are the repository's lessons/ folder. Light imports only: the CLI builds its parser from here.
"""
from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path


def source_dir() -> Path:
    """Where this installation's lessons are: the checkout's lessons/ folder, else the wheel's data files."""
    checkout = Path(__file__).resolve().parents[2] / "lessons"
    candidates = [checkout, Path(sysconfig.get_path("data")) / "share" / "ftlab" / "lessons",
                  Path(sys.prefix) / "share" / "ftlab" / "lessons"]
    for place in candidates:
        if (place / "01_why_fine_tune.ipynb").is_file():
            return place
    raise FileNotFoundError("the lesson notebooks are not installed; looked in " + ", ".join(map(str, candidates)))


def copy_lessons(target: str | Path, force: bool = False) -> list[Path]:
    """Copy every lesson notebook and the lessons README into `target` (created if needed); existing files
    are kept unless force, so a student's own work is never overwritten. Returns the files written."""
    source, target = source_dir(), Path(target)
    files = sorted(source.glob("*.ipynb")) + [p for p in [source / "README.md"] if p.exists()]
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} exists and is not a folder; choose another DIR")
    clashes = [target / f.name for f in files if (target / f.name).exists()]
    if clashes and not force:
        raise FileExistsError(f"{len(clashes)} lesson file(s) already exist in {target} (first: {clashes[0].name}); "
                              f"they may hold your work: choose another DIR, or pass --force to overwrite them")
    target.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copyfile(f, target / f.name)
    return [target / f.name for f in files]


def add_arguments(parser) -> None:
    parser.add_argument("dir", nargs="?", default="ftlab-lessons", help="folder to copy them into (default: ftlab-lessons)")
    parser.add_argument("--force", action="store_true", help="overwrite lesson files that already exist there")


def run(args) -> None:
    try:
        written = copy_lessons(args.dir, force=args.force)
    except (FileExistsError, FileNotFoundError, NotADirectoryError) as err:
        sys.exit(f"ftlab lessons: {err}")
    folder = Path(args.dir)
    print(f"Copied {len(written)} files into {folder.resolve()}:")
    for f in written:
        print(f"  {f.name}")
    print(f"\nOpen them with:\n  jupyter lab {folder}\nthen double-click 01_why_fine_tune.ipynb and run the cells in "
          f"order (Shift+Enter). Each lesson runs offline on a CPU in about a minute.")
