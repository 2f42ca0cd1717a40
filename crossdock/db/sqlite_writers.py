"""SQLite writers of one process take turns in order, instead of by SQLite's busy handler.

SQLite lets one transaction at a time write a database. A second ``BEGIN
IMMEDIATE`` waits in SQLite's busy handler, which sleeps and tries again
(1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms, then 100 ms each): it is not
woken when the writer commits, and a thread that happens to try at the right
moment overtakes one that has waited longer. With a worker's threads all
writing one file (the order store, the quota decisions, the outbox), measured
in the events demo: ``BEGIN IMMEDIATE`` waited 0.1 ms at the median but over
100 ms at p99 and up to a second, on transactions that hold the lock for a
millisecond or two. A sale's way to the other channels passes about ten such
writes.

So every SQLite connection crossdock opens on a database file is a
:class:`WriterConnection` (``sqlite3.connect(..., factory=WriterConnection)``,
see :func:`connect_args`). Before a statement that begins a write transaction
(``BEGIN IMMEDIATE`` / ``BEGIN EXCLUSIVE``) runs, the connection takes its
turn in the file's :class:`WriteTurns`; the turn passes to the next writer as
soon as the transaction ends (``COMMIT``, ``ROLLBACK``, :meth:`commit`,
:meth:`rollback`, an error SQLite rolled back, :meth:`close`), waking it at
once. Waiting writers go by rank (:func:`write_rank`: the fast lane's event
reads and the events receiver :data:`URGENT`, the stock pushes :data:`SOON`,
the rest :data:`NORMAL`), first come first served within a rank, and any
writer that has waited :data:`OLDEST_FIRST_AFTER_S` goes next whatever its
rank, so none starves. SQLite's own lock is unchanged and still decides
between processes (a CLI command beside ``crossdock worker``), with the busy
timeout as before.

What is not changed: deferred read transactions do not queue (WAL lets them
read beside the writer); a turn waited for longer than the connection's busy
timeout fails as SQLite would (``sqlite3.OperationalError: database is
locked``, which :mod:`crossdock.db.engine` translates to XD-DATA-003); a
thread that begins a second write transaction on another connection to the
same file while it holds one waits for itself exactly as it did in SQLite's
busy handler, and fails the same way. In-memory and temporary databases have
no file to share and no turns.

No library offers this (SQLAlchemy leaves SQLite's locking to the driver;
``sqlite3`` has only the busy handler), hence this module.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

__all__ = ["NORMAL", "SOON", "URGENT", "WriteTurns", "WriterConnection", "connect_args", "turns_for", "write_rank"]

_WRITE_BEGINS = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")


#: Ranks of writers (higher goes first): a sale on its way to the other channels, then stock, then the rest.
URGENT = 2      # the fast lane (a webhook's sale read), the events receiver
SOON = 1        # the stock pushes
NORMAL = 0
#: A writer that has waited this long goes next whatever its rank (no rank starves another).
OLDEST_FIRST_AFTER_S = 0.25

_rank: contextvars.ContextVar[int] = contextvars.ContextVar("crossdock_write_rank", default=NORMAL)


@contextlib.contextmanager
def write_rank(rank: int) -> Iterator[None]:
    """Write transactions begun inside take their turn at ``rank``."""
    token = _rank.set(rank)
    try:
        yield
    finally:
        _rank.reset(token)


@dataclass(eq=False)
class _Waiter:
    rank: int
    seq: int
    since: float
    lock: threading.Lock


class WriteTurns:
    """Turns at writing one database file. When the turn is released it is
    handed straight to the next waiter (no thread can overtake it between the
    release and the waiter waking): the highest :func:`write_rank`, first
    come first served within a rank, except that a waiter older than
    :data:`OLDEST_FIRST_AFTER_S` goes first."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: list[_Waiter] = []
        self._held = False
        self._seq = 0

    def acquire(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the turn, at this context's :func:`write_rank`; False when it did not come."""
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            self._seq += 1
            waiter = _Waiter(_rank.get(), self._seq, time.monotonic(), threading.Lock())
            waiter.lock.acquire()
            self._waiters.append(waiter)
        if waiter.lock.acquire(timeout=max(0.0, timeout_s)):
            return True                           # handed over by release()
        with self._mutex:
            try:
                self._waiters.remove(waiter)
            except ValueError:                    # handed over between the timeout and here: ours
                return True
        return False

    def release(self) -> None:
        with self._mutex:
            if not self._waiters:
                self._held = False
                return
            old = time.monotonic() - OLDEST_FIRST_AFTER_S
            oldest = min(self._waiters, key=lambda w: w.seq)
            nxt = oldest if oldest.since <= old else min(self._waiters, key=lambda w: (-w.rank, w.seq))
            self._waiters.remove(nxt)
            nxt.lock.release()                    # the turn passes on; _held stays True

    @property
    def waiting(self) -> int:
        """Writers waiting for their turn (for tests and diagnostics)."""
        with self._mutex:
            return len(self._waiters)


_turns: dict[str, WriteTurns] = {}
_turns_mutex = threading.Lock()


def turns_for(path: str) -> WriteTurns:
    """The process's turns at writing the database file ``path`` (resolved)."""
    key = os.path.realpath(path)
    with _turns_mutex:
        turns = _turns.get(key)
        if turns is None:
            turns = _turns[key] = WriteTurns()
        return turns


class WriterCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> WriterCursor:
        conn = cast(WriterConnection, self.connection)
        if conn._turns is not None and not conn._has_turn and sql.lstrip()[:15].upper() in _WRITE_BEGINS:
            conn._take_turn()
        try:
            return super().execute(sql, parameters)
        finally:
            conn._pass_turn_if_ended()

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> WriterCursor:
        conn = cast(WriterConnection, self.connection)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            conn._pass_turn_if_ended()

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        conn = cast(WriterConnection, self.connection)
        try:
            return super().executescript(sql_script)
        finally:
            conn._pass_turn_if_ended()


class WriterConnection(sqlite3.Connection):
    """A sqlite3 connection whose write transactions take the file's turn (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        timeout = kwargs.get("timeout", args[1] if len(args) > 1 else 5.0)
        self._busy_timeout_s = float(timeout)
        self._has_turn = False
        self._turns: WriteTurns | None = None
        path = next((row[2] for row in super().execute("PRAGMA database_list") if row[1] == "main"), "")
        if path:                                   # '' for in-memory and temporary databases
            self._turns = turns_for(path)

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:   # type: ignore[override]  # typeshed overloads on factory
        return super().cursor(factory or WriterCursor)

    # the connection's shortcuts go through a cursor of ours (sqlite3's do not call cursor())
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        return self.cursor().executescript(sql_script)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._pass_turn_if_ended()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._pass_turn_if_ended()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._has_turn:
                self._pass_turn()

    def __del__(self) -> None:
        # a connection dropped mid-transaction without close() (SQLite rolls it back as it goes):
        # its turn must not be held for ever
        if getattr(self, "_has_turn", False):
            self._pass_turn()

    def _take_turn(self) -> None:
        assert self._turns is not None
        if not self._turns.acquire(self._busy_timeout_s):
            raise sqlite3.OperationalError("database is locked")
        self._has_turn = True

    def _pass_turn_if_ended(self) -> None:
        """After any statement or end: the transaction holding the turn is over (committed, rolled back,
        or rolled back by SQLite on an error), so the turn goes on."""
        if self._has_turn and not self.in_transaction:
            self._pass_turn()

    def _pass_turn(self) -> None:
        self._has_turn = False
        assert self._turns is not None
        self._turns.release()


def connect_args(timeout_s: float) -> dict[str, Any]:
    """``connect_args`` for a SQLAlchemy SQLite engine: the busy timeout and
    :class:`WriterConnection`."""
    return {"timeout": timeout_s, "factory": WriterConnection}
