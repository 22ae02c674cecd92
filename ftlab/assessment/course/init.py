"""`ftlab course init DIR`: a complete nbgrader course folder from the installed package and a private bank."""
from __future__ import annotations

import argparse
import secrets
import shutil
from pathlib import Path

TEMPLATE = Path(__file__).parent / "template" / "nbgrader_config.py"
SEED_LINE = "c.GradeCells.test_seed = 7919"
SECRET_LINE = 'c.CourseVariants.secret = "ftlab-quizzes-example-secret"'
VARIANTS_LINE = "c.CourseVariants.assignments = []"
VARIANTS_ON = '["concepts", "freezing"]'  # a new course gives each student their own variant of these


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `ftlab course init`."""
    parser.add_argument("dir", type=Path, help="the course folder to create (must not exist, or be empty)")
    parser.add_argument("--bank", type=Path, default=None,
                        help="the course-private bank to copy in: a folder of *.toml items with solutions/*.py "
                             "(e.g. quizzes/bank of an ftlab checkout); without it, add bank/ yourself")


def config_text(seed: int, secret: str) -> str:
    """The template nbgrader_config.py with this course's own private test seed and variant secret, variants on."""
    text = TEMPLATE.read_text(encoding="utf-8").replace(SEED_LINE, f"c.GradeCells.test_seed = {seed}")
    text = text.replace(SECRET_LINE, f'c.CourseVariants.secret = "{secret}"')
    return text.replace(VARIANTS_LINE, f"c.CourseVariants.assignments = {VARIANTS_ON}")


def init(folder: Path, bank: Path | None) -> list[Path]:
    """Create the course folder (config, exchange, bank, source notebooks); ValueError naming what is wrong."""
    from ftlab.assessment.course.build import build
    from ftlab.assessment.course.keys import BANK_DIR, read_bank

    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{folder} already exists and is not an empty folder; choose a new one")
    if bank is not None:
        read_bank(bank)  # refuse a bad bank before writing anything
    folder.mkdir(parents=True, exist_ok=True)
    config = config_text(secrets.randbelow(2**31), secrets.token_hex(32))
    (folder / "nbgrader_config.py").write_text(config, encoding="utf-8")
    (folder / "nbgrader_config.py").chmod(0o600)  # its test seed and variant secret are the instructor's alone
    (folder / "exchange").mkdir()
    if bank is None:
        (folder / BANK_DIR / "solutions").mkdir(parents=True)
    else:
        shutil.copytree(bank, folder / BANK_DIR)
    (folder / BANK_DIR).chmod(0o700)  # every key: no other user on a shared machine reads it
    return [] if bank is None else build(folder)


def run(args: argparse.Namespace) -> int:
    """Create the folder as the parsed arguments say; the exit status."""
    from ftlab.assessment.bank import BankError

    from ftlab.assessment.course.keys import KeysError

    try:
        written = init(args.dir, args.bank)
    except (ValueError, KeysError, BankError) as err:  # BankError is a ValueError; named for the reader
        print(err)
        return 2
    print(f"created the course folder {args.dir} (nbgrader_config.py, exchange/, bank/)")
    for path in written:
        print(f"wrote {path}")
    if not written:
        print(f"next: put the graded items in {args.dir / 'bank'} (*.toml, same format as ftlab's bank, and "
              f"solutions/<task>.py), then run `ftlab course build --root {args.dir}`")
    print(f"then, from {args.dir}: nbgrader generate_assignment concepts --create (see the README)")
    return 0
