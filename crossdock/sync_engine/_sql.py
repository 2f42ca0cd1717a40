"""Small SQL helpers shared by the sync engine modules (private).

Everything here works the same on SQLite and PostgreSQL: dialect-specific
``INSERT … ON CONFLICT``, chunking of ``IN (…)`` lists, lookups by a list of
values, sync event rows, and the bulk writes of the order import — values
bound the way Core binds them, but without Core's per-row machinery.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import JSON, any_, bindparam, func, select, text
from sqlalchemy import insert as core_insert
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable

from crossdock.db.base import UTCDateTime, utcnow
from crossdock.db.engine import Database
from crossdock.db.models import SyncEvent
from crossdock.synclog import OUTCOMES, correlation_id

T = TypeVar("T")

# Well under SQLite's bound-parameter limit and PostgreSQL's 65535.
IN_CHUNK = 900

EVENTS = SyncEvent.__table__



@contextlib.contextmanager
def write_tx(target: Database | Session) -> Iterator[Session]:
    """The caller's session (its transaction), or a write transaction of our own."""
    if isinstance(target, Session):
        yield target
    else:
        with target.write() as session:
            yield session

def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def is_postgres(session: Session) -> bool:
    return dialect(session) == "postgresql"


def upsert_insert(session: Session, table: Any):
    """``INSERT`` that accepts ``.on_conflict_do_nothing()`` / ``.on_conflict_do_update()``."""
    return pg_insert(table) if is_postgres(session) else sqlite_insert(table)


def chunks(items: Sequence[T] | Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    if isinstance(items, list):
        for i in range(0, len(items), size):
            yield items[i:i + size]
        return
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def now_or(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given as now; use an aware UTC datetime")
    return now.astimezone(dt.timezone.utc)


# Column order of a sync_events row built as a tuple (see :func:`insert_tuples`).
EVENT_COLS = ("at", "correlation_id", "channel", "entity_type", "entity", "operation", "outcome", "code",
              "message", "attempt", "duration_ms", "details")


def event_row(*, operation: str, outcome: str, at: dt.datetime, channel: str | None = None,
              entity_type: str | None = None, entity: str | None = None, code: str | None = None,
              message: str | None = None, details: dict[str, Any] | None = None,
              attempt: int = 1, duration_ms: int | None = None,
              correlation: str | None = None) -> dict[str, Any]:
    """One ``sync_events`` row as a dict for a Core bulk insert. Callers only
    put identifiers and counts in ``message``/``details`` (never secrets)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    return {"at": at, "correlation_id": correlation or correlation_id(), "channel": channel, "entity_type": entity_type,
            "entity": entity, "operation": operation, "outcome": outcome, "code": code, "message": message,
            "attempt": attempt, "duration_ms": duration_ms, "details": details}


def changed(session: Session, statement: Executable, params: dict[str, Any] | None = None) -> int:
    """Run an UPDATE or DELETE (with ``params`` for its bound parameters) and
    return how many rows it changed. ``Session.execute`` is typed to return a
    plain ``Result``; for DML it is the ``CursorResult`` that carries the count."""
    result = session.execute(statement, params)
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} carries no row count: not an UPDATE or DELETE")
    return result.rowcount


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if len(rows) > 50:
        bulk_insert(session, EVENTS, rows)
    elif rows:
        session.execute(core_insert(EVENTS), rows)


# ---------------------------------------------------------------- lookups by a list of values
# SQLite has json_each built in from 3.38 (and as the usual JSON1 extension before).
_SQLITE_JSON = sqlite3.sqlite_version_info >= (3, 38, 0)


def _json_lists(session: Session) -> bool:
    return _SQLITE_JSON and dialect(session) == "sqlite"


def lookup_chunk(session: Session) -> int:
    """How many values one :func:`in_values` lookup takes."""
    return 50_000 if _json_lists(session) or is_postgres(session) else IN_CHUNK


def list_kind(session: Session) -> str:
    """How :func:`in_values` binds a list on this session's database: ``json``
    (SQLite's ``json_each``), ``array`` (PostgreSQL) or ``expanding`` (a plain ``IN``)."""
    return "json" if _json_lists(session) else "array" if is_postgres(session) else "expanding"


def in_param(kind: str, column: Any, name: str | None, value: Any = None) -> Any:
    """:func:`in_values` with the list as the named parameter ``name``, for a
    statement built once per :func:`list_kind` and run with
    ``{name: list_param(kind, values)}`` (at most :func:`lookup_chunk` values);
    or, unnamed, bound to ``value`` (what :func:`in_values` builds)."""
    required = value is None        # named: the caller must give it at execution
    if kind == "json":
        return column.in_(select(func.json_each(bindparam(name, value, required=required))
                                 .table_valued("value").c.value))
    if kind == "array":
        return column == any_(bindparam(name, value, type_=postgresql.ARRAY(column.type), required=required))
    return column.in_(bindparam(name, value, expanding=True, required=required))


def list_param(kind: str, values: Sequence[str | int]) -> Any:
    """The value of an :func:`in_param` parameter."""
    return json.dumps(list(values)) if kind == "json" else list(values)


def in_values(session: Session, column: Any, values: Sequence[str | int]) -> Any:
    """``column IN (values)`` for a list of ids, SKUs… (str or int). On SQLite
    the list is ONE JSON parameter read by ``json_each`` (the planner still
    searches the column's index per value); on PostgreSQL ONE array parameter,
    ``column = ANY(array)`` (an index scan as IN is): no statement with
    hundreds of placeholders to render and bind on every call — a 100,000-row
    stock file spent seconds rendering them. Elsewhere a plain ``IN`` (call
    with at most :func:`lookup_chunk` values)."""
    kind = list_kind(session)
    return in_param(kind, column, None, list_param(kind, values))


# ---------------------------------------------------------------- bind conversion without Core's per-row machinery
_UTC = dt.timezone.utc
_NAIVE = "naive datetime given to a UTC column; use datetime.now(timezone.utc)"
# Core's own SQLite DATETIME storage format
_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _utc_sqlite(value: Any) -> Any:
    """:class:`~crossdock.db.base.UTCDateTime` then SQLite ``DATETIME``, in one step."""
    if value is None:
        return None
    if value.tzinfo is not _UTC:
        if value.tzinfo is None:
            raise ValueError(_NAIVE)
        value = value.astimezone(_UTC)
    return _SQLITE_DATETIME % (value.year, value.month, value.day, value.hour, value.minute, value.second,
                               value.microsecond)


def _utc_pg(value: Any) -> Any:
    if value is None or value.tzinfo is _UTC:
        return value
    if value.tzinfo is None:
        raise ValueError(_NAIVE)
    return value.astimezone(_UTC)


def _json_text(dialect: Any, generic: Callable[[Any], Any]) -> Callable[[Any], Any] | None:
    """JSON stored as text (SQLite): dicts and lists serialised by the C encoder
    directly, as ``json.dumps`` with its defaults does but without rebuilding
    the encoder for every value; anything else goes through Core's processor."""
    if dialect._json_serializer is not None:
        return None
    from json import encoder

    # typeshed leaves the C accelerator out of json.encoder's public names
    make_encoder: Callable[..., Callable[[Any, int], Iterable[str]]] | None = getattr(encoder, "c_make_encoder", None)
    if make_encoder is None:  # pragma: no cover - CPython always has it
        return None
    try:
        encode = make_encoder(None, json.JSONEncoder().default, encoder.encode_basestring_ascii, None,
                                        ": ", ", ", False, False, True)
    except TypeError:  # pragma: no cover - a different interpreter's signature: keep Core's
        return None
    join = "".join

    def convert(value: Any) -> Any:
        if type(value) is dict or type(value) is list:
            return join(encode(value, 0))
        return generic(value)

    return convert


_DATETIME_PROBES = (dt.datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=_UTC), dt.datetime(1999, 12, 31, tzinfo=_UTC),
                    dt.datetime(2026, 3, 29, 1, 59, 59, 7, tzinfo=dt.timezone(dt.timedelta(hours=-7, minutes=-30))),
                    None)
_JSON_PROBES: tuple[Any, ...] = (
    {"name": "Amélie \"Dupont\"\n", "n": 1, "x": 1.5, "ok": True, "none": None, "tags": ["a", 2]},
    [], {}, [{"nested": {"k": [1, 2.25e-7, False]}}], None, "text", 3)


def _fast(dialect: Any, column_type: Any, generic: Callable[[Any], Any]
          ) -> tuple[Callable[[Any], Any] | None, tuple[Any, ...]]:
    if isinstance(column_type, UTCDateTime):
        return {"sqlite": _utc_sqlite, "postgresql": _utc_pg}.get(dialect.name), _DATETIME_PROBES
    if isinstance(column_type, JSON) and dialect.name == "sqlite":
        return _json_text(dialect, generic), _JSON_PROBES
    return None, ()


def _converter(dialect: Any, column: Any) -> Callable[[Any], Any] | None:
    """The function Core applies to a bound value of ``column`` (None: none).
    A hand-written equivalent replaces the generic one for UTC datetimes and
    SQLite JSON, once a check on probe values shows it gives exactly what Core
    gives."""
    generic = column.type.dialect_impl(dialect).bind_processor(dialect)
    if generic is None:
        return None
    fast, probes = _fast(dialect, column.type, generic)
    if fast is not None and all(fast(v) == generic(v) for v in probes):
        return fast
    return generic


_converters_cache: dict[tuple[Any, Any, tuple[str, ...]], tuple[Any, ...]] = {}


def converters(dialect: Any, table: Any, cols: tuple[str, ...]) -> tuple[Callable[[Any], Any] | None, ...]:
    """The bind conversion of each of ``cols`` (None: the driver takes the value as it is)."""
    key = (dialect, table, cols)
    found = _converters_cache.get(key)
    if found is None:
        if len(_converters_cache) > 256:     # engines come and go in tests; keep the cache small
            _converters_cache.clear()
        found = _converters_cache[key] = tuple(_converter(dialect, table.c[c]) for c in cols)
    return found


def as_is(value: Any) -> Any:
    """The no-op bind conversion."""
    return value


def binder(session: Session, column: Any) -> Callable[[Any], Any]:
    """The function that turns a Python value for ``column`` into what the
    driver is given (what Core would bind: e.g. a UTC datetime becomes text on
    SQLite); a no-op for types the driver takes as they are."""
    proc = converters(session.get_bind().dialect, column.table, (column.name,))[0]
    return as_is if proc is None else proc


def bind_value(session: Session, column: Any, value: Any) -> Any:
    """``value`` converted the way Core binds it for ``column``."""
    return binder(session, column)(value)


# ---------------------------------------------------------------- bulk writes
_sql_cache: dict[tuple[Any, ...], str] = {}
_NONE = {type(None)}


def _insert_sql(dialect: Any, table: Any, cols: tuple[str, ...], conflict_do_nothing: tuple[str, ...] | None,
                on_conflict_sql: str | None) -> str:
    key = (dialect.name, dialect.paramstyle, table.name, cols, conflict_do_nothing, on_conflict_sql)
    sql = _sql_cache.get(key)
    if sql is None:
        quote = dialect.identifier_preparer.quote
        if dialect.paramstyle == "qmark":
            mark = "?"
        elif dialect.paramstyle in ("pyformat", "format"):
            mark = "%s"      # positional: psycopg takes tuples with %s whatever the dialect's default style
        else:  # pragma: no cover - the two drivers crossdock ships use these styles
            raise RuntimeError(f"unsupported paramstyle {dialect.paramstyle}")
        sql = _sql_cache[key] = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) "
                                 f"VALUES ({', '.join(mark for _ in cols)})"
                                 + _on_conflict(quote, conflict_do_nothing, on_conflict_sql))
    return sql


def _on_conflict(quote: Callable[[str], str], conflict_do_nothing: tuple[str, ...] | None,
                 on_conflict_sql: str | None) -> str:
    if conflict_do_nothing:
        return f" ON CONFLICT ({', '.join(quote(c) for c in conflict_do_nothing)}) DO NOTHING"
    return " " + on_conflict_sql if on_conflict_sql else ""


def _unnest_sql(dialect: Any, table: Any, cols: tuple[str, ...], conflict_do_nothing: tuple[str, ...] | None,
                on_conflict_sql: str | None) -> str:
    """PostgreSQL: ``INSERT … SELECT`` from one array parameter per column,
    rows in array order (``WITH ORDINALITY``: ids from a sequence follow it).
    Arrays travel in the binary format (the text format quotes every element
    in Python); JSON travels as text and is cast per element."""
    key = ("unnest", table.name, cols, conflict_do_nothing, on_conflict_sql)
    sql = _sql_cache.get(key)
    if sql is None:
        quote = dialect.identifier_preparer.quote
        arrays, values = [], []
        for i, c in enumerate(cols):
            type_sql = table.c[c].type.compile(dialect=dialect)
            if type_sql.upper() in ("JSON", "JSONB"):
                arrays.append("%b::text[]")
                values.append(f"u.c{i}::{type_sql}")
            else:
                arrays.append(f"%b::{type_sql}[]")
                values.append(f"u.c{i}")
        sql = _sql_cache[key] = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) "
                                 f"SELECT {', '.join(values)} FROM unnest({', '.join(arrays)}) WITH ORDINALITY "
                                 f"AS u({', '.join(f'c{i}' for i in range(len(cols)))}, ord) ORDER BY u.ord"
                                 + _on_conflict(quote, conflict_do_nothing, on_conflict_sql))
    return sql


def insert_tuples(session: Session, table: Any, cols: Sequence[str], rows: Sequence[Sequence[Any]], *,
                  converted: bool = False, conflict_do_nothing: Sequence[str] | None = None,
                  on_conflict_sql: str | None = None) -> int:
    """INSERT ``rows`` (tuples in ``cols`` order) with one DBAPI executemany
    of positional parameters (PostgreSQL: one statement over an array per
    column, see :func:`_unnest_sql`).

    Values go through each column type's own bind conversion (the same Core
    applies — aware datetimes to UTC, JSON, money), column by column with no
    per-row parameter machinery; a value every row shares (the transaction's
    timestamp) is converted once. ``converted=True``: the caller already
    applied :func:`binder` to every value that needs it (the hottest inserts
    build their tuples that way). ``on_conflict_sql`` is a literal
    ``ON CONFLICT …`` clause (same syntax on SQLite and PostgreSQL; never built
    from data). Used for the order import's hot inserts; everything else uses Core.
    Returns the number of rows inserted (the driver's executemany row count).
    """
    if not rows:
        return 0
    conn = session.connection()
    dialect = conn.dialect
    cols = tuple(cols)
    conflict = tuple(conflict_do_nothing) if conflict_do_nothing else None
    procs = () if converted else converters(dialect, table, cols)
    if dialect.name == "postgresql":
        # one statement over column arrays: one execution in the server instead of one per row
        arrays: list[list[Any]] = [list(c) for c in zip(*rows)]
        for i, proc in enumerate(procs):
            if proc is not None:
                arrays[i] = list(map(proc, arrays[i]))
        if all(len(set(map(type, a)) - _NONE) <= 1 for a in arrays):
            return conn.exec_driver_sql(_unnest_sql(dialect, table, cols, conflict, on_conflict_sql),
                                        tuple(arrays)).rowcount
        # a column of mixed Python types (an int beside Decimals) is no array the driver dumps: row by row
        rows, procs = list(zip(*arrays)), ()
    sql = _insert_sql(dialect, table, cols, conflict, on_conflict_sql)
    if any(p is not None for p in procs):
        n = len(rows)
        columns: list[Any] = list(zip(*rows))
        for i, proc in enumerate(procs):
            if proc is None:
                continue
            values = columns[i]
            v = values[0]
            if values[-1] is v and all(x is v for x in values):     # one value shared by every row
                columns[i] = (proc(v),) * n
            else:
                columns[i] = map(proc, values)
        params: list[Any] = list(zip(*columns))
    else:
        params = list(rows)
    return conn.exec_driver_sql(sql, params).rowcount


def bulk_insert(session: Session, table: Any, rows: Sequence[dict[str, Any]], *,
                conflict_do_nothing: Sequence[str] | None = None, on_conflict_sql: str | None = None) -> None:
    """:func:`insert_tuples` for rows given as dicts (all with the same keys)."""
    if not rows:
        return
    cols = tuple(rows[0])
    get = itemgetter(*cols)
    tuples = list(map(get, rows)) if len(cols) > 1 else [(get(r),) for r in rows]
    insert_tuples(session, table, cols, tuples, conflict_do_nothing=conflict_do_nothing,
                  on_conflict_sql=on_conflict_sql)


def execute_many(session: Session, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """A literal statement written with ``?`` placeholders (never built from
    data), run with one executemany of positional rows of bind-ready values
    (see :func:`bind_value`). Returns the total row count."""
    conn = session.connection()
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    return conn.exec_driver_sql(sql, list(rows)).rowcount


def update_rows(session: Session, table: Any, keys: Sequence[str], columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> int:
    """UPDATE ``table`` SET ``columns`` WHERE ``keys`` match, one row per tuple
    (key values, then column values, all bind-ready: see :func:`bind_value`).
    PostgreSQL: one statement joining arrays of each (``UPDATE … FROM
    unnest(…)``), one execution in the server instead of one per row — a
    100,000-row stock file was 100,000 pipelined UPDATEs; elsewhere one
    executemany. Returns the rows updated."""
    if not rows:
        return 0
    conn = session.connection()
    quote = conn.dialect.identifier_preparer.quote
    name = quote(table.name)
    if conn.dialect.name == "postgresql":
        cols = (*keys, *columns)
        arrays = [f"%b::{table.c[c].type.compile(dialect=conn.dialect)}[]" for c in cols]
        sql = (f"UPDATE {name} AS t SET {', '.join(f'{quote(c)} = u.{quote(c)}' for c in columns)} "
               f"FROM unnest({', '.join(arrays)}) AS u({', '.join(quote(c) for c in cols)}) "
               f"WHERE {' AND '.join(f't.{quote(k)} = u.{quote(k)}' for k in keys)}")
        return conn.exec_driver_sql(sql, tuple(list(c) for c in zip(*rows))).rowcount
    sql = (f"UPDATE {name} SET {', '.join(f'{quote(c)} = ?' for c in columns)} "
           f"WHERE {' AND '.join(f'{quote(k)} = ?' for k in keys)}")
    n = len(keys)
    return execute_many(session, sql, [(*r[n:], *r[:n]) for r in rows])


# the sequence looked up once (an uncorrelated subquery), the ids returned as one array
_PG_IDS = text("SELECT array_agg(nextval(CAST((SELECT pg_get_serial_sequence(:t, 'id')) AS regclass))) "
               "FROM generate_series(1, :n)")


def allocate_ids(session: Session, table: Any, n: int) -> list[int]:
    """``n`` fresh primary keys for ``table``, so a bulk insert needs no RETURNING.

    PostgreSQL draws them from the column's sequence (safe under any
    concurrency). SQLite continues after the largest id: safe because a
    crossdock write transaction holds the database write lock from its first
    statement (``BEGIN IMMEDIATE``), so no one else inserts until we commit.
    """
    if n <= 0:
        return []
    if is_postgres(session):
        return sorted(session.execute(_PG_IDS, {"t": table.name, "n": n}).scalar_one())
    conn = session.connection()
    top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {conn.dialect.identifier_preparer.quote(table.name)}"
                               ).scalar_one()
    return list(range(top + 1, top + 1 + n))
