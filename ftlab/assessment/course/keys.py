"""The course-private keys: graded bank items and solution code kept in the course folder, never in the package.

A course folder holds them in `bank/`: `bank/*.toml` in the bank's one format (read by the bank's one
loader; a coding exercise's item holds its solution code) and `bank/solutions/<task>.py`, the instructor's code
for a task that is not a bank item (the fine-tuning run). Students install
ftlab, so nothing that grades an answer may ship inside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ftlab.assessment.bank import Bank, load_bank

BANK_DIR = "bank"
SOLUTIONS_DIR = "solutions"


class KeysError(FileNotFoundError):
    """The course folder lacks its private bank or a solution, or an exercise names a check that does not fit;
    the message says what and where."""


@dataclass(frozen=True)
class Keys:
    """The graded items and the solution code of one course folder."""

    bank: Bank
    solutions: dict[str, str]  # task key -> solution source, for tasks that are not bank items

    def solution(self, key: str) -> str:
        """The instructor's code for a task; KeysError naming the file that is missing."""
        try:
            return self.solutions[key]
        except KeyError:
            raise KeysError(f"no solution for task {key!r}: expected {BANK_DIR}/{SOLUTIONS_DIR}/{key}.py "
                            f"in the course folder") from None


def load_keys(root: Path) -> Keys:
    """The keys of the course folder `root`: read_bank(root / "bank")."""
    return read_bank(Path(root) / BANK_DIR)


def read_bank(folder: Path) -> Keys:
    """Read `folder/*.toml` and `folder/solutions/*.py`; KeysError if there are no items."""
    folder = Path(folder)
    if not any(folder.glob("*.toml")):
        raise KeysError(f"{folder.resolve()} holds no *.toml items: the graded questions live in the course's "
                        f"private bank, not in the ftlab package (create one with `ftlab course init DIR --bank "
                        f"PATH`, see quizzes/README.md)")
    solutions = {path.stem: path.read_text(encoding="utf-8").strip()
                 for path in sorted((folder / SOLUTIONS_DIR).glob("*.py"))}
    return Keys(load_bank(folder), solutions)
