"""A review list: bank items an instructor asks one student to revise, each with why (the misconception the
student's answer showed). `ftlab course report --assign-review DIR` writes one per student; the student's
`ftlab revise --assigned FILE` makes the items due now with that reason."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

from ftlab.assessment.bank.loader import Bank

FORMAT = 1


class ReviewListError(ValueError):
    """A review list that cannot be used; the message names the file and what is wrong."""


def write_review_list(path: Path, assignment: str, entries: dict[str, str]) -> Path:
    """Write `entries` (item id -> reason) as TOML at `path`."""
    lines = [f"# Review assigned by your instructor after {assignment!r}: run `ftlab revise --assigned {Path(path).name}`",
             f"format = {FORMAT}", f"assignment = {json.dumps(assignment)}", ""]
    for item_id, reason in entries.items():
        lines += ["[[items]]", f"id = {json.dumps(item_id)}", f"reason = {json.dumps(reason)}", ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")
    return Path(path)


def read_review_list(path: Path, bank: Bank) -> dict[str, str]:
    """item id -> reason, every id checked against the bank before anything is returned."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ReviewListError(f"{path}: not a readable review list ({err})") from None
    if data.get("format") != FORMAT or not isinstance(data.get("items"), list):
        raise ReviewListError(f"{path}: not an ftlab review list (format = {FORMAT} with [[items]] of id and reason)")
    entries = {str(e.get("id")): str(e.get("reason", "your instructor asked")) for e in data["items"]
               if isinstance(e, dict)}
    unknown = [i for i in entries if i not in bank]
    if unknown:
        raise ReviewListError(f"{path}: no bank item {', '.join(map(repr, unknown))}; is your ftlab older than your "
                              f"course's? (pip install -U ftlab)")
    return entries
