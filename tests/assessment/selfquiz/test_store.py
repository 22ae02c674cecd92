"""The SQLite progress store: round trips, two writer processes, corrupt, foreign and locked files."""
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest

from ftlab.assessment.bank import Grade
from ftlab.assessment.selfquiz.store import Store, StoreError, data_dir

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)


def test_round_trip_and_default_location(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    with Store(learner="ada lovelace") as store:
        assert store.path == tmp_path / "progress" / "ada_lovelace.sqlite3"
        store.record(Grade("q1", 0.0, 1.0, False, "no", diagnosis="why"), "B", NOW, "quiz")
        store.record(Grade("q2", 3.0, 4.0, False, "ok", missing=["x"]), "some text", NOW, "revise")
    with Store(learner="ada lovelace") as store:
        first, second = store.answers()
        assert (first.item_id, first.answer, first.diagnosis, first.answered_at) == ("q1", "B", "why", NOW)
        assert (second.score, second.max_score, second.source) == (3.0, 4.0, "revise")
        assert [a.item_id for a in store.answers("q2")] == ["q2"]
        assert store.cards() == {} and store.review_logs() == []


WRITER = textwrap.dedent("""
    import sys, time
    from datetime import datetime, timezone
    from pathlib import Path
    from ftlab.assessment.bank import Grade
    from ftlab.assessment.selfquiz.store import Store
    path, name = Path(sys.argv[1]), sys.argv[2]
    store = Store(path)
    (path.parent / f"ready-{name}").touch()
    while len(list(path.parent.glob("ready-*"))) < 2:  # start writing together, after the slow imports
        time.sleep(0.002)
    for i in range(300):
        store.record(Grade(f"{name}-{i}", 1.0, 1.0, True, "ok"), i, datetime.now(timezone.utc), name)
        time.sleep(0.002)  # a learner between answers; lets the two writers overlap for sure
""")


@pytest.mark.slow
def test_two_writer_processes_lose_nothing(tmp_path):
    path = tmp_path / "shared.sqlite3"
    Store(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with Store(path) as store:
        ids = [a.item_id for a in store.answers()]
    assert sorted(ids) == sorted(f"{n}-{i}" for n in "ab" for i in range(300))
    switches = sum(x[0] != y[0] for x, y in zip(ids, ids[1:]))
    print(f"\n600 answers from two processes, writer switched {switches} times")
    assert switches >= 10, "the writers never overlapped, so this run did not test concurrency"


@pytest.mark.parametrize("content", [b"this is not a database at all " * 50,
                                     b"SQLite format 3\x00" + b"\xff" * 4000])
def test_corrupt_file_is_refused_and_left_untouched(tmp_path, content):
    path = tmp_path / "learner.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StoreError) as info:
        Store(path)
    message = str(info.value)
    assert str(path) in message and "left untouched" in message and "FTLAB_DATA_DIR" in message
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["learner.sqlite3"]


def test_foreign_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not an ftlab progress store"):
        Store(path)
    assert path.read_bytes() == before


def test_locked_store_gives_a_clear_message_and_keeps_history(tmp_path):
    path = tmp_path / "p.sqlite3"
    with Store(path) as store:
        store.record(Grade("kept", 1.0, 1.0, True, "ok"), "A", NOW, "quiz")
    store = Store(path, timeout_s=0.2)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked by another process.*Nothing was lost"):
            store.record(Grade("lost?", 1.0, 1.0, True, "ok"), "A", NOW, "quiz")
        with pytest.raises(StoreError, match=f"{path}.*locked"):
            Store(path, timeout_s=0.2)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.record(Grade("after", 1.0, 1.0, True, "ok"), "A", NOW, "quiz")
    assert [a.item_id for a in store.answers()] == ["kept", "after"]
    store.close()


V1_SCHEMA = """
CREATE TABLE answers (
    id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, answered_at TEXT NOT NULL, source TEXT NOT NULL,
    answer TEXT, score REAL NOT NULL, max_score REAL NOT NULL, correct INTEGER NOT NULL, diagnosis TEXT);
CREATE TABLE cards (item_id TEXT PRIMARY KEY, card TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE review_logs (id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, log TEXT NOT NULL);
INSERT INTO answers VALUES (1, 'q1', '2026-01-05T09:30:00+00:00', 'quiz', '"B"', 0.0, 1.0, 0, 'why');
PRAGMA user_version = 1;
"""


def test_a_version_1_store_is_migrated_in_place_and_keeps_its_history(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SCHEMA)
    with Store(path) as store:
        (old,) = store.answers()
        assert (old.item_id, old.answer, old.attempt, old.rating, old.hints) == ("q1", "B", "review", None, 0)
        store.record(Grade("q2", 1.0, 1.0, True, "ok"), "A", NOW, "revise", attempt="practice", rating="good",
                     hints=1)
        assert store.answers()[-1].attempt == "practice" and store.flags() == {} and store.pulled() == {}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2


def test_flags_pulls_and_undo_of_a_practice_answer(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.set_flag("a", suspended=True)
        store.set_flag("b", buried_until=NOW)
        store.set_flag("b", unbury=True)
        assert store.flags() == {"a": (True, None), "b": (False, None)}
        store.pull(["c", "d"], "a check failed", NOW)
        store.close_pulls("c")
        assert store.pulled() == {"d": "a check failed"}
        store.record(Grade("e", 1.0, 1.0, True, "ok"), "A", NOW, "quiz", attempt="practice")
        assert store.undo_last().attempt == "practice" and store.answers() == []
