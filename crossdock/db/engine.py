"""Engines and transactions, the same API on SQLite and PostgreSQL.

SQLite (the embedded default) is opened in WAL mode with a busy timeout and
foreign keys on; every write transaction starts with ``BEGIN IMMEDIATE`` so it
takes the write lock up front — a deferred transaction that later upgrades to a
write fails with "database is locked" under concurrency instead of waiting.
Read-only work uses :meth:`Database.read` (``BEGIN DEFERRED``), which WAL lets
run beside a writer.

Database errors that are the environment's, not crossdock's, are translated
once, here (:func:`translate_db_error`, a table by SQLite error name and
PostgreSQL SQLSTATE): unreachable → XD-DATA-001, out of date → XD-DATA-002,
busy → XD-DATA-003, damaged → XD-DATA-006, read-only or full → XD-DATA-008,
each naming the database with its password masked. Everything that touches
the database goes through :meth:`Database.read`, :meth:`Database.write`,
:meth:`Database.connect` or :meth:`Database.begin`, which raise those codes;
anything else (a real bug) passes through unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from crossdock.db.sqlite_writers import connect_args as sqlite_connect_args
from crossdock.errors import ConfigError, DataError

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///crossdock.sqlite"
SQLITE_BUSY_TIMEOUT_MS = 30_000
UNREACHABLE = "XD-DATA-001"     # the code a long-running caller waits out (see is_unreachable)

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


def safe_url(url: str) -> str:
    """``url`` as people write it (no driver suffix), password masked."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unparsable database URL>"
    backend = parsed.get_backend_name()
    if backend == "sqlite":                 # no password; rendering would escape a file: URI's colon
        return backend + url[url.index("://"):]
    return parsed.set(drivername=backend).render_as_string(hide_password=True)


def masked_url(url: str) -> str:
    """``url`` exactly as given, its password shown as ``***`` (what ``crossdock
    db …`` print)."""
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)


# ------------------------------------------------------------------ error translation
# SQLite: the driver's error name (``sqlite_errorname``), by prefix: SQLITE_READONLY
# covers SQLITE_READONLY_DIRECTORY, _DBMOVED, …; SQLITE_CANTOPEN is decided by
# looking at the path (_cantopen).
_SQLITE_ERRORS: tuple[tuple[str, str], ...] = (
    ("SQLITE_BUSY", "XD-DATA-003"),
    ("SQLITE_LOCKED", "XD-DATA-003"),
    ("SQLITE_READONLY", "XD-DATA-008"),
    ("SQLITE_FULL", "XD-DATA-008"),
    ("SQLITE_PERM", "XD-DATA-008"),
    ("SQLITE_IOERR", "XD-DATA-008"),
    ("SQLITE_CORRUPT", "XD-DATA-006"),
    ("SQLITE_NOTADB", "XD-DATA-006"),
)
# PostgreSQL: SQLSTATE, exact or by class (its first two characters).
_PG_SQLSTATES: dict[str, str] = {
    "08": UNREACHABLE,          # connection exception
    "28": UNREACHABLE,          # invalid authorisation (user, password)
    "3D000": UNREACHABLE,       # the database does not exist
    "57P01": UNREACHABLE,       # admin shutdown (server stopped, backend terminated)
    "57P02": UNREACHABLE,       # crash shutdown
    "57P03": UNREACHABLE,       # cannot connect now (starting up, recovering)
    "40001": "XD-DATA-003",     # serialisation failure
    "40P01": "XD-DATA-003",     # deadlock
    "55P03": "XD-DATA-003",     # lock not available
    "42P01": "XD-DATA-002",     # undefined table: not migrated
    "25006": "XD-DATA-008",     # read-only transaction (a standby, default_transaction_read_only)
    "53100": "XD-DATA-008",     # disk full
    "XX001": "XD-DATA-006",     # data corrupted
    "XX002": "XD-DATA-006",     # index corrupted
}
# Other drivers (and errors without a name or SQLSTATE): words in the message.
_MESSAGE_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("database is locked", "database is busy", "deadlock", "could not serialize"), "XD-DATA-003"),
    (("no such table",), "XD-DATA-002"),
    (("readonly database", "read-only transaction"), "XD-DATA-008"),
    (("unable to open database", "connection refused", "could not connect", "connection failed",
      "server closed the connection"), UNREACHABLE),
)


def _writable(path: Path) -> bool:
    # os.access honours the immutable flag even for root, where mode bits do not count
    return os.access(path, os.W_OK)


def sqlite_path(url: str | None) -> Path | None:
    """The absolute path of a SQLite database URL's file (None: not SQLite, in memory)."""
    if not url:
        return None
    try:
        database = make_url(url).database
    except ArgumentError:
        return None
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):            # a URI filename: file:PATH?mode=ro
        database = database[len("file:"):].split("?", 1)[0]
    return Path(database).expanduser().absolute()


def create_private_sqlite_file(url: str) -> bool:
    """Create a SQLite database's file empty with mode 0600 (whatever the
    umask) before SQLite opens it: its -wal and -shm files take the file's
    mode, so buyers' addresses and encrypted tokens are never readable by
    other users. An existing file, a missing folder (reported with its code
    when SQLite opens it), a read-only URI or another database: nothing done.
    Returns whether a file was created."""
    if not url.startswith("sqlite"):
        return False
    path = sqlite_path(url)
    if path is None or "mode=ro" in url or not path.parent.is_dir():
        return False
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError:
        return False            # unwritable folder: SQLite's own error gets its code (XD-DATA-008)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    return True


def _sqlite_read_only(path: Path | None) -> str:
    """Which part of a SQLite database cannot be written, in words ('' if none is found)."""
    if path is None:
        return ""
    if path.exists() and not _writable(path):
        return f"the file {path} is read-only"
    if path.parent.is_dir() and not _writable(path.parent):
        if not path.exists():
            return f"the folder {path.parent} is read-only: the database file cannot be created there"
        return (f"the folder {path.parent} is read-only (SQLite writes {path.name}-wal and {path.name}-shm "
                "beside the database, even to read it)")
    return ""


def _cantopen(path: Path | None) -> tuple[str, str]:
    """SQLITE_CANTOPEN: the folder is missing, the path is a folder, or it cannot be written."""
    if path is None:
        return UNREACHABLE, ""
    if path.is_dir():
        return UNREACHABLE, f"{path} is a folder, not a database file"
    if not path.parent.is_dir():
        return UNREACHABLE, f"the folder {path.parent} does not exist"
    read_only = _sqlite_read_only(path)
    if read_only:
        return "XD-DATA-008", read_only
    return UNREACHABLE, ""


def translate_db_error(exc: BaseException, *, url: str | None = None) -> DataError | None:
    """The crossdock error for a database error caused by the environment, or
    ``None`` when ``exc`` is not one (then it is a bug and stays as it is).

    ``exc`` is a SQLAlchemy ``DBAPIError`` or the driver's own exception;
    ``url`` (shown with its password masked) names the database in the detail."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    message = str(orig).strip()
    first = message.splitlines()[0] if message else type(orig).__name__
    code: str | None = None
    why = ""
    errorname = getattr(orig, "sqlite_errorname", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(orig, sqlite3.Error) and errorname:
        path = sqlite_path(url)
        if errorname.startswith("SQLITE_CANTOPEN"):
            code, why = _cantopen(path)
        else:
            code = next((c for prefix, c in _SQLITE_ERRORS if errorname.startswith(prefix)), None)
            if code == "XD-DATA-008":
                why = _sqlite_read_only(path)
    elif sqlstate:
        code = _PG_SQLSTATES.get(sqlstate) or _PG_SQLSTATES.get(sqlstate[:2])
    elif type(orig).__module__.startswith("psycopg") and type(orig).__name__ == "OperationalError":
        code = UNREACHABLE      # libpq gives no SQLSTATE when it cannot connect or lost the connection
    if code is None and isinstance(exc, DBAPIError) and exc.connection_invalidated:
        code = UNREACHABLE
    if code is None:
        low = message.lower()
        code = next((c for words, c in _MESSAGE_RULES if any(w in low for w in words)), None)
    if code is None:
        return None
    detail = "; ".join(part for part in (why, first) if part)
    if url:
        detail += f" (database {safe_url(url)})"
    return DataError(code, detail=detail)


def is_unreachable(exc: BaseException) -> bool:
    """True for the error a worker should wait out and retry: the database is
    down, unknown, refuses the user, or the connection dropped mid-transaction
    (the transaction was rolled back, nothing half-written)."""
    return isinstance(exc, DataError) and exc.code == UNREACHABLE


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
        path = sqlite_path(url)
        if path is not None and not path.parent.is_dir():
            raise DataError(UNREACHABLE, detail=f"the folder {path.parent} does not exist (database {safe_url(url)})")
        engine = create_engine(url, echo=echo, connect_args={**sqlite_connect_args(SQLITE_BUSY_TIMEOUT_MS / 1000),
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
        if engine is None:
            create_private_sqlite_file(self.url)
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

    @contextlib.contextmanager
    def glance(self) -> Iterator[Connection]:
        """A plain connection for a quick read with a prebuilt Core statement
        (no ORM session): what a loop asks many times a second (is anything
        due?). Like :meth:`read` it never takes SQLite's write lock
        (``BEGIN DEFERRED``), and errors are translated the same way."""
        with self._translate():
            with self.engine.connect() as conn:
                if self.is_sqlite:
                    conn.execution_options(sqlite_begin="DEFERRED")
                yield conn

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A plain connection (migrations, raw SQL), errors translated like ``read``."""
        with self._translate():
            with self.engine.connect() as conn:
                yield conn

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction that commits on success, errors translated like ``write``."""
        with self._translate():
            with self.engine.begin() as conn:
                yield conn

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
        except (DBAPIError, sqlite3.Error) as exc:
            mapped = translate_db_error(exc, url=self.url)
            if mapped is None:
                raise
            log.debug("database error translated to %s", mapped.code, exc_info=True)
            raise mapped from exc

    def ping(self) -> None:
        with self.read() as s:
            s.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
