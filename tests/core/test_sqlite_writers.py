"""SQLite writers of one process take turns (crossdock.db.sqlite_writers): in
order of rank then arrival, handed over at commit, released however the
transaction ends; between processes SQLite's own lock still decides."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from crossdock.db import sqlite_writers
from crossdock.db.engine import Database
from crossdock.db.sqlite_writers import NORMAL, SOON, URGENT, WriterConnection, turns_for, write_rank
from crossdock.errors import DataError


def _wait_for(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with database.write() as s:
        s.execute(text("CREATE TABLE log (who TEXT)"))
    return database


def _holder(db: Database, release: threading.Event) -> None:
    """Holds a write transaction (its turn) until ``release``."""
    with db.write() as s:
        s.execute(text("INSERT INTO log VALUES ('holder')"))       # the session begins here
        release.wait(5)


def _writer(db: Database, order: list[str], name: str, rank: int) -> None:
    """Writes at ``rank``; ``order`` gets ``name`` once it had its turn."""
    with write_rank(rank), db.write() as s:
        s.execute(text("INSERT INTO log VALUES (:w)"), {"w": name})
        order.append(name)


def _turn_order(db: Database, turns: sqlite_writers.WriteTurns, writers: list[tuple[str, int, float]]) -> list[str]:
    """While a writer holds the turn, ``writers`` (name, rank, seconds to wait once queued) queue up one
    after another; then the holder commits. Returns the order in which they had their turns."""
    order: list[str] = []
    release = threading.Event()
    first = threading.Thread(target=_holder, args=(db, release))
    first.start()
    _wait_for(lambda: turns._held)
    threads = []
    for i, (name, rank, pause_s) in enumerate(writers):
        t = threading.Thread(target=_writer, args=(db, order, name, rank))
        t.start()
        threads.append(t)
        _wait_for(lambda n=i + 1: turns.waiting == n)     # arrival order is known
        time.sleep(pause_s)
    release.set()
    for t in [first, *threads]:
        t.join(5)
    return order


def test_waiting_writers_go_by_rank_then_arrival(db: Database, tmp_path: Path) -> None:
    turns = turns_for(str(tmp_path / "w.sqlite"))
    order = _turn_order(db, turns, [("normal-1", NORMAL, 0), ("soon", SOON, 0), ("normal-2", NORMAL, 0),
                                    ("urgent", URGENT, 0)])
    assert order == ["urgent", "soon", "normal-1", "normal-2"]
    with db.read() as s:
        assert s.execute(text("SELECT count(*) FROM log")).scalar_one() == 5
    assert not turns._held and turns.waiting == 0


def test_a_writer_waiting_too_long_goes_before_higher_ranks(db: Database, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_writers, "OLDEST_FIRST_AFTER_S", 0.05)
    turns = turns_for(str(tmp_path / "w.sqlite"))
    # the first waits 0.1 s, older than OLDEST_FIRST_AFTER_S, before the urgent one queues
    order = _turn_order(db, turns, [("old-normal", NORMAL, 0.1), ("urgent", URGENT, 0)])
    assert order == ["old-normal", "urgent"]


def test_the_turn_passes_on_however_the_transaction_ends(tmp_path: Path) -> None:
    path = tmp_path / "ends.sqlite"
    turns = turns_for(str(path))
    conn = sqlite3.connect(path, isolation_level=None, factory=WriterConnection, check_same_thread=False)
    conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    ends = {
        "COMMIT": lambda: conn.execute("COMMIT"),
        "ROLLBACK": lambda: conn.execute("ROLLBACK"),
        "commit()": conn.commit,
        "rollback()": conn.rollback,
    }
    for name, end in ends.items():
        conn.execute("BEGIN IMMEDIATE")
        assert turns._held, name
        conn.execute("INSERT INTO t VALUES (NULL)")
        end()
        assert not turns._held, name
    # a statement SQLite itself rolls the transaction back for (a failed COMMIT of a deferred
    # foreign key would; here ROLLBACK inside the failing statement's script) passes the turn too
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError):
        conn.executescript("ROLLBACK; SELECT * FROM no_such_table")
    assert not conn.in_transaction and not turns._held
    conn.execute("BEGIN EXCLUSIVE")
    assert turns._held
    conn.close()                                          # a connection closed mid-transaction
    assert not turns._held
    # a deferred read transaction never queues
    reader = sqlite3.connect(path, isolation_level=None, factory=WriterConnection)
    reader.execute("BEGIN DEFERRED")
    reader.execute("SELECT count(*) FROM t").fetchone()
    assert not turns._held
    reader.execute("COMMIT")
    reader.close()


def test_a_turn_not_had_within_the_busy_timeout_fails_as_sqlite_would(tmp_path: Path) -> None:
    path = tmp_path / "timeout.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, factory=WriterConnection, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, isolation_level=None, factory=WriterConnection, timeout=0.1,
                             check_same_thread=False)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        waiter.execute("BEGIN IMMEDIATE")
    assert 0.09 <= time.monotonic() - started < 2.0
    assert turns_for(str(path)).waiting == 0             # the timed-out waiter left the queue
    holder.execute("COMMIT")
    waiter.execute("BEGIN IMMEDIATE")                     # and the next writer gets the turn
    waiter.execute("COMMIT")
    holder.close(), waiter.close()


def test_crossdock_database_translates_a_lost_turn_to_its_busy_code(db: Database, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    holder = sqlite3.connect(tmp_path / "w.sqlite", isolation_level=None, factory=WriterConnection,
                             check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        conn = db.engine.raw_connection()
        try:
            driver = conn.driver_connection
            assert isinstance(driver, WriterConnection)
            monkeypatch.setattr(driver, "_busy_timeout_s", 0.05)
        finally:
            conn.close()                                  # back to the pool, the timeout kept
        with pytest.raises(DataError) as caught:
            with db.write() as s:
                s.execute(text("INSERT INTO log VALUES ('late')"))
        assert caught.value.code == "XD-DATA-003"
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_another_process_holding_the_lock_is_still_waited_for(db: Database, tmp_path: Path) -> None:
    """Turns order this process's writers; SQLite's busy handler still waits
    for a writer in another process (a CLI command beside the worker)."""
    script = ("import sqlite3, sys, time\n"
              "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
              "c.execute('BEGIN IMMEDIATE'); c.execute(\"INSERT INTO log VALUES ('other process')\")\n"
              "print('locked', flush=True); time.sleep(0.5); c.execute('COMMIT')\n")
    with subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "w.sqlite")], stdout=subprocess.PIPE,
                          text=True) as other:
        assert other.stdout is not None and other.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with db.write() as s:
            s.execute(text("INSERT INTO log VALUES ('here')"))
        assert time.monotonic() - started >= 0.2
        assert other.wait(10) == 0
    with db.read() as s:
        assert [r[0] for r in s.execute(text("SELECT who FROM log"))] == ["other process", "here"]


def test_in_memory_databases_have_no_turns() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None, factory=WriterConnection)
    assert conn._turns is None
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("COMMIT")
    conn.close()


def test_the_quota_store_takes_turns_with_the_other_quota_writers(db: Database) -> None:
    from crossdock.ratelimit.backends.sql import SqlBackend

    backend = SqlBackend(db.engine)
    pooled = backend._engine.raw_connection()
    try:
        # its own file (crossdock.ratelimit.backends.sql_file), with turns of its own
        assert isinstance(pooled.driver_connection, WriterConnection) and backend.path is not None
        assert pooled.driver_connection._turns is turns_for(backend.path)
        assert pooled.driver_connection._turns is not turns_for(db.engine.url.database or "")
    finally:
        pooled.close()


def test_a_connection_dropped_mid_transaction_gives_its_turn_back(tmp_path: Path) -> None:
    import gc
    import warnings

    path = tmp_path / "dropped.sqlite"
    turns = turns_for(str(path))
    conn = sqlite3.connect(path, isolation_level=None, factory=WriterConnection)
    conn.execute("BEGIN IMMEDIATE")
    assert turns._held
    del conn
    with warnings.catch_warnings():     # other tests' leaked sockets may be collected here too: not ours
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    assert not turns._held
    other = sqlite3.connect(path, isolation_level=None, factory=WriterConnection, timeout=1.0)
    other.execute("BEGIN IMMEDIATE")                      # SQLite's lock went with the connection too
    other.execute("COMMIT")
    other.close()
