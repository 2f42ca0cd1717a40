"""The SQLite quota store's own file (private to :mod:`.sql`).

On SQLite every platform call is a write transaction of the quota store, and
SQLite lets one transaction write a file at a time. In crossdock's own
database file those decisions queued behind every order stored, every push
recorded and every outbox claim — and those behind them: in the events demo a
quota decision waited 3.5 ms at the median and 64 ms at p99 for the file,
though it holds the lock for 0.2 ms. So the quota store keeps its tables in a
file of its own beside the database (``crossdock.sqlite`` →
``crossdock.quota.sqlite``): every process of the deployment opens the same
file, so the budget is shared exactly as before, and a decision waits only for
other decisions.

The file is created on first use, with the quota tables, in one ``BEGIN
IMMEDIATE`` transaction (processes starting together create it once); a
table missing from it (a damaged or hand-edited file) is made again at the
next start. A database that kept its quota state inside (crossdock before
this file) has its rows copied over then: the buckets as they were, and the
usage history ``crossdock report api-usage`` reads. The quota state is not in backups of
the database: after a restore, buckets start full and the platform's
answers (429s, rate headers) correct them, as on a new install.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from crossdock.errors import DataError
from crossdock.ratelimit.backends.sql_tables import TABLES

__all__ = ["BUSY_TIMEOUT_S", "prepare_quota_file", "quota_file"]

BUSY_TIMEOUT_S = 30.0       # how long a quota transaction waits for the file's lock


def quota_file(database: str) -> str:
    """The quota store's file for the SQLite database file ``database``:
    ``crossdock.sqlite`` → ``crossdock.quota.sqlite`` (no suffix: ``NAME.quota``)."""
    path = Path(database)
    name = f"{path.stem}.quota{path.suffix}" if path.suffix else f"{path.name}.quota"
    return str(path.with_name(name))


def _coded(exc: sqlite3.Error, path: str) -> Exception:
    from crossdock.db.engine import translate_db_error

    return translate_db_error(exc, url=f"sqlite:///{path}") or DataError(
        "XD-DATA-001", detail=f"quota store {path}: {exc}")


def _missing(conn: sqlite3.Connection) -> list[Table]:
    have = {r[0] for r in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}
    return [t for t in TABLES if t.name not in have]


def _ddl(table: Table) -> list[str]:
    dialect = sqlite_dialect.dialect()
    return [str(CreateTable(table).compile(dialect=dialect)).strip(),
            *(str(CreateIndex(index).compile(dialect=dialect)).strip() for index in table.indexes)]


def prepare_quota_file(database: str, *, busy_timeout_s: float) -> str:
    """Make sure the quota file of ``database`` exists with its tables (rows
    copied from ``database`` when it has quota tables of its own); returns its
    path. A file that cannot be made or read is the database error it is
    (read-only folder or full disk XD-DATA-008, a damaged file XD-DATA-006,
    locked XD-DATA-003), naming the quota file."""
    path = quota_file(database)
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    except sqlite3.Error as exc:
        raise _coded(exc, path) from exc
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        if not _missing(conn):
            return path                   # every later start: one lookup
        old = Path(database).exists()
        if old:
            conn.execute("ATTACH DATABASE ? AS crossdock_db", (database,))
        conn.execute("BEGIN IMMEDIATE")
        try:
            missing = _missing(conn)      # another process may have made them meanwhile
            new_file = len(missing) == len(TABLES)
            for table in missing:
                for statement in _ddl(table):
                    conn.execute(statement)
            if new_file and old:
                have = {r[0] for r in conn.execute(
                    "SELECT name FROM crossdock_db.sqlite_master WHERE type = 'table'")}
                for table in TABLES:
                    if table.name in have:
                        cols = ", ".join(c.name for c in table.columns)
                        conn.execute(f"INSERT INTO main.{table.name} ({cols}) "
                                     f"SELECT {cols} FROM crossdock_db.{table.name}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise _coded(exc, path) from exc
    finally:
        conn.close()
    return path
