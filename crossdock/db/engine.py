"""Engines and transactions, the same API on SQLite and PostgreSQL.

SQLite (the embedded default) is opened in WAL mode with a busy timeout and
foreign keys on; every write transaction starts with ``BEGIN IMMEDIATE`` so it
takes the write lock up front — a deferred transaction that later upgrades to a
write fails with "database is locked" under concurrency instead of waiting.
Read-only work uses :meth:`Database.read` (``BEGIN DEFERRED``), which WAL lets
run beside a writer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Callable, Iterator, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crossdock.errors import ConfigError, DataError

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///crossdock.sqlite"
SQLITE_BUSY_TIMEOUT_MS = 30_000

T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Accept the URLs people write and pick the drivers we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError("XD-CFG-008", detail=f"database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError("XD-CFG-008", detail=f"database URL scheme {parsed.drivername!r} is not supported")
    return url


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    url = normalise_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        database = make_url(url).database
        if database and database != ":memory:":
            folder = os.path.dirname(os.path.abspath(database))
            if not os.path.isdir(folder):
                raise DataError("XD-DATA-001", detail=f"SQLite folder {folder} does not exist")
        engine = create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                             "check_same_thread": False})
        _sqlite_setup(engine)
    else:
        engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)
    return engine


class Database:
    """An engine plus transaction helpers. ``write()`` and ``read()`` yield a
    Session whose transaction commits on success and rolls back on error."""

    def __init__(self, url: str = DEFAULT_URL, *, engine: Engine | None = None) -> None:
        self.url = normalise_url(url)
        self.engine = engine or make_engine(self.url)
        self.dialect = self.engine.dialect.name
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        with self._translate():
            with self._sessions() as session:
                with session.begin():
                    yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._translate():
            if not self.is_sqlite:
                with self._sessions() as session:
                    with session.begin():
                        yield session
                return
            with self.engine.connect() as conn:
                conn.execution_options(sqlite_begin="DEFERRED")
                with Session(bind=conn, expire_on_commit=False) as session:
                    with session.begin():
                        yield session

    def run_write(self, fn: Callable[[Session], T], *, attempts: int = 5) -> T:
        """Run ``fn`` in a write transaction, retrying serialisation failures and
        deadlocks (PostgreSQL) a few times; the whole function reruns."""
        for attempt in range(1, attempts + 1):
            try:
                with self.write() as session:
                    return fn(session)
            except DataError as exc:
                if exc.code != "XD-DATA-003" or attempt == attempts:
                    raise
                time.sleep(0.01 * 2 ** attempt)
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            msg = str(exc.orig) if exc.orig is not None else str(exc)
            low = msg.lower()
            if "locked" in low or "busy" in low or "deadlock" in low or "could not serialize" in low:
                raise DataError("XD-DATA-003", detail=msg.splitlines()[0]) from exc
            if "no such table" in low or ("relation" in low and "does not exist" in low):
                raise DataError("XD-DATA-002", detail=msg.splitlines()[0]) from exc
            if "connect" in low or "unable to open" in low or "connection" in low:
                raise DataError("XD-DATA-001", detail=msg.splitlines()[0]) from exc
            raise
        except DBAPIError as exc:
            msg = str(exc.orig) if exc.orig is not None else str(exc)
            low = msg.lower()
            if "deadlock" in low or "could not serialize" in low:
                raise DataError("XD-DATA-003", detail=msg.splitlines()[0]) from exc
            if "relation" in low and "does not exist" in low:
                raise DataError("XD-DATA-002", detail=msg.splitlines()[0]) from exc
            raise

    def ping(self) -> None:
        with self.read() as s:
            s.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
