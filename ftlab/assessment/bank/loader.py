"""Load and validate the TOML question bank, naming file, item and field in every error."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ftlab.assessment.bank.items import DIFFICULTIES, Card, Choice, Concept, Exercise, Explain, Item, Misconception
from ftlab.assessment.bank.kinds import KINDS
from ftlab.assessment.bank.reader import LABELLED, read_labelled

ITEMS_DIR = Path(__file__).parent / "items"
BANK_FORMAT = 1
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class BankError(ValueError):
    """A malformed bank file; the message says which file, item and field, and what was expected."""

    def __init__(self, file: Path | str, item_id: str | None, field: str | None, problem: str):
        self.file, self.item_id, self.field, self.problem = str(file), item_id, field, problem
        where = [f"file {self.file}"]
        if item_id:
            where.append(f"item {item_id!r}")
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {problem}")


@dataclass
class Bank:
    """All items of the bank, in file order, with lookup and filtering."""

    items: list[Item]

    def __post_init__(self) -> None:
        self._by_id = {item.id: item for item in self.items}

    def get(self, item_id: str) -> Item:
        """Return the item with this id; KeyError naming the id if there is none."""
        try:
            return self._by_id[item_id]
        except KeyError:
            raise KeyError(f"no bank item with id {item_id!r}") from None

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def __len__(self) -> int:
        return len(self.items)

    @property
    def topics(self) -> list[str]:
        """Topics in first-seen order."""
        return list(dict.fromkeys(item.topic for item in self.items))

    def select(self, topic: str | None = None, difficulty: str | None = None, kind: str | None = None) -> list[Item]:
        """Items matching every filter that is given; kind "choice" also matches true/false items."""
        kinds = {"choice", "truefalse"} if kind == "choice" else {kind}
        return [
            item for item in self.items
            if (topic is None or item.topic == topic)
            and (difficulty is None or item.difficulty == difficulty)
            and (kind is None or item.kind in kinds)
        ]


def load_bank(directory: Path | None = None) -> Bank:
    """Read every items/*.toml file, validate it, and reject duplicate ids across files."""
    directory = Path(directory) if directory is not None else ITEMS_DIR
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise BankError(directory, None, None, "no *.toml item files found")
    items: list[Item] = []
    seen: dict[str, Path] = {}
    for path in files:
        for item in load_file(path):
            if item.id in seen:
                raise BankError(path, item.id, "id", f"duplicate id, already used in {seen[item.id].name}")
            seen[item.id] = path
            items.append(item)
    for item in items:  # a failed coding exercise schedules these cards, so they must exist
        for recall_id in getattr(item, "recall", ()):
            if recall_id not in seen:
                raise BankError(seen[item.id], item.id, "recall", f"no bank item with id {recall_id!r}")
    labelled = read_labelled(directory)
    by_id = {item.id: item for item in items}
    for item_id in labelled:
        if not hasattr(by_id.get(item_id), "labelled"):
            raise BankError(directory / LABELLED, item_id, None, "labelled answers for no explain item or card here")
    return Bank([replace(item, labelled=labelled[item.id]) if item.id in labelled else item for item in items])


def load_file(path: Path) -> list[Item]:
    """Parse one bank file; its top-level `topic` is the default topic of its items."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise BankError(path, None, None, f"not valid TOML ({err})") from None
    if data.get("format") != BANK_FORMAT:
        raise BankError(path, None, "format", f"expected format = {BANK_FORMAT}")
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise BankError(path, None, "items", "expected one or more [[items]] tables")
    return [_item(path, raw, data.get("topic")) for raw in raw_items]


def _item(path: Path, raw: dict[str, Any], default_topic: str | None) -> Item:
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not _ID.match(item_id):
        raise BankError(path, str(item_id) if item_id else None, "id", "expected lowercase letters, digits and dashes")
    v = _Validator(path, item_id, raw)
    kind = v.choice("kind", tuple(KINDS))
    common = dict(
        id=item_id, kind=kind, topic=v.text("topic", default_topic),
        difficulty=v.choice("difficulty", DIFFICULTIES), prompt=v.text("prompt"),
        retired=v.text("retired") if "retired" in raw else "",
    )
    authored = {f.name for f in fields(KINDS[kind].item)} - {"labelled"}  # labelled answers come from their own file
    unknown = sorted(set(raw) - authored)
    if unknown:
        raise BankError(path, item_id, unknown[0], f"unknown field for kind {kind!r}")
    return KINDS[kind].function("read")(v, common)


def read_card(v: _Validator, common: dict[str, Any]) -> Card:
    """A recall card's fields: its answer, and optionally one or two concepts and a typed solution."""
    concepts = v.concepts(minimum=1, maximum=2) if "concepts" in v.raw else []
    return Card(**common, answer=v.text("answer"), concepts=concepts,
                solution=v.text("solution") if "solution" in v.raw else "")


def read_explain(v: _Validator, common: dict[str, Any]) -> Explain:
    """A free-text question's fields: its rubric concepts, model answer, hint and an optional solution."""
    return Explain(**common, concepts=v.concepts(), model_answer=v.text("model_answer"), hint=v.text("hint"),
                   solution=v.text("solution") if "solution" in v.raw else "")


def read_exercise(v: _Validator, common: dict[str, Any]) -> Exercise:
    """A coding exercise's fields; the check is named here and resolved when it runs (ftlab.assessment.bank.checks needs
    torch, which loading the bank never imports)."""
    check = v.text("check")
    if not _NAME.match(check):
        raise v.error("check", "expected the name of a check function in ftlab.assessment.bank.checks")
    settings = v.raw.get("settings", {})
    if not isinstance(settings, dict) or not all(isinstance(x, (int, float, str, bool)) for x in settings.values()):
        raise v.error("settings", "expected a table of plain values: keyword arguments of the check")
    points = v.raw.get("points", 1.0)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        raise v.error("points", f"expected a positive number, got {points!r}")
    return Exercise(**common, check=check, hint=v.text("hint"), solution=v.text("solution"),
                    needs=v.text_list("needs") if "needs" in v.raw else ["model"], settings=dict(settings),
                    setup=v.text("setup") if "setup" in v.raw else "", points=float(points),
                    recall=v.text_list("recall") if "recall" in v.raw else [])


def read_choice(v: _Validator, common: dict[str, Any]) -> Choice:
    """A multiple-choice or true/false item's fields: options (fixed for true/false), answer, and the mistake
    behind each wrong option."""
    if common["kind"] == "truefalse":
        if "options" in v.raw:
            raise v.error("options", "a true/false item has the fixed options True and False; remove this field")
        options = ["True", "False"]
        truth = v.raw.get("answer")
        if not isinstance(truth, bool):
            raise v.error("answer", "expected true or false")
        answer = 0 if truth else 1
    else:
        options = v.text_list("options", minimum=2)
        letters = [chr(ord("A") + i) for i in range(len(options))]
        answer = v.letter("answer", letters)
    letters = [chr(ord("A") + i) for i in range(len(options))]
    mistakes_raw = v.raw.get("mistakes")
    if not isinstance(mistakes_raw, dict):
        raise v.error("mistakes", "expected a table: wrong option letter -> the mistake behind choosing it")
    mistakes: dict[int, str] = {}
    for key, text in mistakes_raw.items():
        if key not in letters or letters.index(key) == answer:
            raise v.error(f"mistakes.{key}", f"expected a wrong option letter among {letters}")
        if not isinstance(text, str) or not text.strip():
            raise v.error(f"mistakes.{key}", "expected a non-empty string")
        mistakes[letters.index(key)] = text.strip()
    lacking = [letters[i] for i in range(len(options)) if i != answer and i not in mistakes]
    if lacking:
        raise v.error("mistakes", f"every wrong option needs its mistake; missing {lacking}")
    return Choice(**common, options=options, answer=answer, explanation=v.text("explanation"),
                  hint=v.text("hint"), mistakes=mistakes)


@dataclass
class _Validator:
    """Field readers that raise BankError pointing at this item."""

    path: Path
    item_id: str
    raw: dict[str, Any]

    def error(self, field: str, problem: str) -> BankError:
        return BankError(self.path, self.item_id, field, problem)

    def text(self, field: str, default: Any = None) -> str:
        value = self.raw.get(field, default)
        if not isinstance(value, str) or not value.strip():
            raise self.error(field, "expected a non-empty string")
        return value.strip()

    def flag(self, field: str) -> bool:
        value = self.raw.get(field, False)
        if not isinstance(value, bool):
            raise self.error(field, f"expected true or false, got {value!r}")
        return value

    def choice(self, field: str, allowed: tuple[str, ...]) -> str:
        value = self.raw.get(field)
        if value not in allowed:
            raise self.error(field, f"expected one of {list(allowed)}, got {value!r}")
        return value

    def letter(self, field: str, letters: list[str]) -> int:
        value = self.raw.get(field)
        if not isinstance(value, str) or value.upper() not in letters:
            raise self.error(field, f"expected an option letter among {letters}, got {value!r}")
        return letters.index(value.upper())

    def text_list(self, field: str, minimum: int = 1) -> list[str]:
        value = self.raw.get(field)
        if not isinstance(value, list) or len(value) < minimum:
            raise self.error(field, f"expected a list of at least {minimum} strings")
        for i, entry in enumerate(value):
            if not isinstance(entry, str) or not entry.strip():
                raise self.error(f"{field}[{i}]", "expected a non-empty string")
        return [entry.strip() for entry in value]

    def concepts(self, minimum: int = 2, maximum: int | None = None) -> list[Concept]:
        value = self.raw.get("concepts")
        if not isinstance(value, list) or not minimum <= len(value) <= (maximum or len(value)):
            count = f"{minimum} to {maximum}" if maximum else f"{minimum} or more"
            raise self.error("concepts", f"expected {count} [[items.concepts]] tables")
        concepts = []
        for i, entry in enumerate(value):
            sub = _Validator(self.path, self.item_id, entry if isinstance(entry, dict) else {})
            try:
                concepts.append(Concept(name=sub.text("name"), phrasings=sub.text_list("phrasings"),
                                        misconceptions=sub.misconceptions(),
                                        check_when_absent=sub.flag("check_when_absent")))
            except BankError as err:
                raise self.error(f"concepts[{i}].{err.field}", err.problem) from None
            unknown = sorted(set(sub.raw) - {"name", "phrasings", "misconceptions", "check_when_absent"})
            if unknown:
                raise self.error(f"concepts[{i}].{unknown[0]}",
                                 "unknown field; expected name, phrasings, misconceptions, check_when_absent")
        return concepts

    def misconceptions(self) -> list[Misconception]:
        value = self.raw.get("misconceptions", [])
        if not isinstance(value, list):
            raise self.error("misconceptions", "expected [[...misconceptions]] tables with name and phrasings")
        out = []
        for i, entry in enumerate(value):
            sub = _Validator(self.path, self.item_id, entry if isinstance(entry, dict) else {})
            try:
                out.append(Misconception(name=sub.text("name"), phrasings=sub.text_list("phrasings")))
            except BankError as err:
                raise self.error(f"misconceptions[{i}].{err.field}", err.problem) from None
        return out
