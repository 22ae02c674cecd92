"""Per-learner progress in SQLite: every answer with its time, fsrs cards and review logs, safe across processes."""
from __future__ import annotations

import getpass
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs
from fsrs import Card, ReviewLog, State

from ftlab.assessment.bank import Grade

SCHEMA_VERSION = 2
SQLITE_HEADER = b"SQLite format 3\x00"
SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, answered_at TEXT NOT NULL, source TEXT NOT NULL,
    answer TEXT, score REAL NOT NULL, max_score REAL NOT NULL, correct INTEGER NOT NULL, diagnosis TEXT);
CREATE TABLE IF NOT EXISTS cards (item_id TEXT PRIMARY KEY, card TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS review_logs (id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, log TEXT NOT NULL);
"""
# Version 1 -> 2: the attempt kind (review or practice), the rating and hints behind it, the card before it
# (so undo can restore it), item flags (suspend, bury) and cards pulled forward by a failed coding exercise.
MIGRATE_2 = """
ALTER TABLE answers ADD COLUMN attempt TEXT NOT NULL DEFAULT 'review';
ALTER TABLE answers ADD COLUMN rating TEXT;
ALTER TABLE answers ADD COLUMN hints INTEGER NOT NULL DEFAULT 0;
ALTER TABLE answers ADD COLUMN card_before TEXT;
ALTER TABLE review_logs ADD COLUMN answer_id INTEGER;
CREATE TABLE IF NOT EXISTS flags (item_id TEXT PRIMARY KEY, suspended INTEGER NOT NULL DEFAULT 0, buried_until TEXT);
CREATE TABLE IF NOT EXISTS pulls (id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, reason TEXT NOT NULL,
    pulled_at TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0);
"""


class StoreError(RuntimeError):
    """The progress file cannot be used; the message names the file and what to do. History is never touched."""


def data_dir() -> Path:
    """Where progress lives: $FTLAB_DATA_DIR if set, else the platform's user data directory."""
    return Path(os.environ.get("FTLAB_DATA_DIR") or platformdirs.user_data_dir("ftlab"))


def default_learner() -> str:
    """$FTLAB_LEARNER if set, else the login name."""
    return os.environ.get("FTLAB_LEARNER") or getpass.getuser()


@dataclass(frozen=True)
class AnswerRecord:
    """One stored answer, as it was graded at the time."""

    item_id: str
    answered_at: datetime
    source: str
    answer: Any
    score: float
    max_score: float
    correct: bool
    diagnosis: str | None
    attempt: str = "review"  # "review": the first attempt in a session, scheduled; "practice": a retry, not scheduled
    rating: str | None = None
    hints: int = 0
    state_before: State | None = None  # the item's fsrs state before this review; None for a new item or practice


class Store:
    """One learner's SQLite file; each write is one IMMEDIATE transaction in WAL mode with a busy timeout."""

    def __init__(self, path: Path | str | None = None, learner: str | None = None, timeout_s: float = 15.0):
        self.path = Path(path) if path is not None else self.path_for(learner or default_learner())
        self.timeout_s = timeout_s
        self._conn = self._open()

    @staticmethod
    def path_for(learner: str) -> Path:
        """The progress file of a learner, under data_dir()."""
        return data_dir() / "progress" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', learner)}.sqlite3"

    def _open(self) -> sqlite3.Connection:
        if self.path.exists():
            with self.path.open("rb") as f:
                header = f.read(len(SQLITE_HEADER))
            if header and header != SQLITE_HEADER:
                raise self._corrupt("it is not an SQLite database")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise self._corrupt(f"SQLite integrity check failed ({check})")
            self._check_ours(conn)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            with self._transaction(conn):
                version = self._check_ours(conn)
                for script in {0: (SCHEMA, MIGRATE_2), 1: (MIGRATE_2,)}.get(version, ()):
                    for statement in script.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as err:
            conn.close()
            raise self._explain(err) from None
        except StoreError:
            conn.close()
            raise
        return conn

    def _check_ours(self, conn: sqlite3.Connection) -> int:
        """Schema version of an ftlab store (0: still empty); refuse a database that belongs to something else."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if version not in (0, 1, SCHEMA_VERSION) or (version == 0 and tables):
            raise self._corrupt(f"it is not an ftlab progress store (schema version {version})")
        return version

    def _corrupt(self, why: str) -> StoreError:
        return StoreError(f"Progress file {self.path} cannot be read: {why}. It was left untouched. Move it aside "
                          f"(or restore a backup) to start a new history, or set FTLAB_DATA_DIR to another folder.")

    def _explain(self, err: sqlite3.DatabaseError) -> StoreError:
        if "locked" in str(err) or "busy" in str(err):
            return StoreError(f"Progress file {self.path} stayed locked by another process for {self.timeout_s:g} s. "
                              f"Nothing was lost; close other quizzes or notebooks using it and try again.")
        return self._corrupt(str(err))

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        conn = conn or self._conn
        try:
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(err, sqlite3.DatabaseError):
                raise self._explain(err) from None
            raise

    def record(self, grade: Grade, answer: Any, when: datetime, source: str, card: Card | None = None,
               log: ReviewLog | None = None, attempt: str = "review", rating: str | None = None, hints: int = 0,
               card_before: Card | None = None) -> None:
        """Store an answer, and the item's new fsrs card and review log, all in one transaction."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO answers (item_id, answered_at, source, answer, score, max_score, correct, diagnosis, "
                "attempt, rating, hints, card_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (grade.item_id, when.isoformat(), source, json.dumps(answer, default=lambda o: type(o).__name__),
                 grade.score, grade.max_score, int(grade.correct), grade.diagnosis, attempt, rating, hints,
                 card_before.to_json() if card_before is not None else None),
            )
            if card is not None:
                conn.execute("INSERT OR REPLACE INTO cards (item_id, card, updated_at) VALUES (?, ?, ?)",
                             (grade.item_id, card.to_json(), when.isoformat()))
            if log is not None:
                conn.execute("INSERT INTO review_logs (item_id, log, answer_id) VALUES (?, ?, ?)",
                             (grade.item_id, log.to_json(), cursor.lastrowid))

    def undo_last(self) -> AnswerRecord | None:
        """Forget the latest answer: its row, its review log, and the card as it was before it. None if empty."""
        with self._transaction() as conn:
            row = conn.execute("SELECT id, card_before, attempt FROM answers ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                return None
            last = self.answers(limit_last=1)[0]
            answer_id, card_before, attempt = row
            if attempt == "review":
                if card_before is None:
                    conn.execute("DELETE FROM cards WHERE item_id = ?", (last.item_id,))
                else:
                    conn.execute("UPDATE cards SET card = ? WHERE item_id = ?", (card_before, last.item_id))
            conn.execute("DELETE FROM review_logs WHERE answer_id = ?", (answer_id,))
            conn.execute("DELETE FROM answers WHERE id = ?", (answer_id,))
        return last

    def answers(self, item_id: str | None = None, limit_last: int | None = None) -> list[AnswerRecord]:
        """Every stored answer (optionally for one item, or only the latest few), oldest first."""
        sql = ("SELECT item_id, answered_at, source, answer, score, max_score, correct, diagnosis, attempt, rating, "
               "hints, card_before FROM answers" + (" WHERE item_id = ?" if item_id else ""))
        params: tuple = (item_id,) if item_id else ()
        if limit_last is not None:
            rows = self._read(sql + " ORDER BY id DESC LIMIT ?", (*params, limit_last))[::-1]
        else:
            rows = self._read(sql + " ORDER BY id", params)
        return [AnswerRecord(r[0], datetime.fromisoformat(r[1]), r[2], json.loads(r[3]), r[4], r[5], bool(r[6]), r[7],
                             r[8], r[9], r[10], Card.from_json(r[11]).state if r[11] else None) for r in rows]

    def cards(self) -> dict[str, Card]:
        """The current fsrs card of every item reviewed so far."""
        return {item_id: Card.from_json(text) for item_id, text in self._read("SELECT item_id, card FROM cards")}

    def review_logs(self) -> list[tuple[str, ReviewLog]]:
        """(item id, fsrs ReviewLog) pairs, oldest first: the input for refitting fsrs parameters."""
        return [(item_id, ReviewLog.from_json(text))
                for item_id, text in self._read("SELECT item_id, log FROM review_logs ORDER BY id")]

    def set_flag(self, item_id: str, suspended: bool | None = None, buried_until: datetime | None = None,
                 unbury: bool = False) -> None:
        """Suspend or unsuspend an item (it leaves revision until unsuspended) or bury it until a time."""
        with self._transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO flags (item_id) VALUES (?)", (item_id,))
            if suspended is not None:
                conn.execute("UPDATE flags SET suspended = ? WHERE item_id = ?", (int(suspended), item_id))
            if buried_until is not None or unbury:
                conn.execute("UPDATE flags SET buried_until = ? WHERE item_id = ?",
                             (buried_until.isoformat() if buried_until else None, item_id))

    def flags(self) -> dict[str, tuple[bool, datetime | None]]:
        """item id -> (suspended, buried until) for every flagged item."""
        return {r[0]: (bool(r[1]), datetime.fromisoformat(r[2]) if r[2] else None)
                for r in self._read("SELECT item_id, suspended, buried_until FROM flags")}

    def pull(self, item_ids: list[str], reason: str, when: datetime) -> None:
        """Ask for these items to be revised next, saying why (e.g. a coding exercise that failed its check)."""
        with self._transaction() as conn:
            conn.executemany("INSERT INTO pulls (item_id, reason, pulled_at) VALUES (?, ?, ?)",
                             [(item_id, reason, when.isoformat()) for item_id in item_ids])

    def pulled(self) -> dict[str, str]:
        """Open pulls: item id -> the reason, latest reason first wins."""
        rows = self._read("SELECT item_id, reason FROM pulls WHERE done = 0 ORDER BY id")
        return {item_id: reason for item_id, reason in rows}

    def close_pulls(self, item_id: str) -> None:
        """The item was reviewed: its pulls are done."""
        with self._transaction() as conn:
            conn.execute("UPDATE pulls SET done = 1 WHERE item_id = ?", (item_id,))

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as err:
            raise self._explain(err) from None

    def close(self) -> None:
        """Close the connection (WAL content is checkpointed by SQLite)."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
