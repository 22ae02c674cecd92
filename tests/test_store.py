"""The SQLite progress store: round trips, two writer processes, corrupt, foreign and locked files."""
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest

from ftlab.bank import Grade
from ftlab.selfquiz.store import Store, StoreError, data_dir

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
    from ftlab.bank import Grade
    from ftlab.selfquiz.store import Store
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
