"""Stream an export: read a page of rows in key order, write each, repeat.

Keyset paging (``WHERE key > last ORDER BY key LIMIT n``), each page in its
own short read transaction, rather than one long cursor: the same on SQLite
and PostgreSQL, memory bounded by one page, and a long export never holds a
transaction open against the workers. Output goes to a stream, or to a file
written beside its target and renamed into place (0600: orders and customers
are personal data)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from crossdock.errors import ConfigError, DataError
from crossdock.exports.kinds import KINDS, Kind, cell

__all__ = ["FORMATS", "PAGE", "export", "export_to_file", "iter_rows", "parse_when"]

PAGE = 2000
FORMATS = ("csv", "json")


def parse_when(text: str | None, option: str) -> dt.datetime | None:
    """``2026-05-01`` (that day's start, UTC) or an ISO date-time."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError("XD-CFG-009", detail=f"{option} {text!r}: a date (2026-05-01) or date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def iter_rows(db: Any, kind: Kind, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
              page: int = PAGE) -> Iterator[Any]:
    """The rows of ``kind`` (``since`` ≤ time < ``until``), a page at a time."""
    last: Any = None
    key_name = "line_pk" if kind.name == "orders" else kind.key.name
    while True:
        stmt = kind.query().order_by(kind.key).limit(page)
        if since is not None:
            stmt = stmt.where(kind.time >= since)
        if until is not None:
            stmt = stmt.where(kind.time < until)
        if last is not None:
            stmt = stmt.where(kind.key > last)
        with db.read() as s:
            rows = s.execute(stmt).all()
        yield from rows
        if len(rows) < page:
            return
        last = getattr(rows[-1], key_name)


def export(db: Any, what: str, out: TextIO, *, fmt: str = "csv", since: dt.datetime | None = None,
           until: dt.datetime | None = None) -> int:
    """Write the ``what`` export to ``out``; returns the rows written."""
    if fmt not in FORMATS:
        raise ConfigError("XD-CFG-009", detail=f"--format {fmt!r}: csv or json")
    kind = KINDS[what]
    names = [c.name for c in kind.columns]
    n = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in iter_rows(db, kind, since=since, until=until):
            writer.writerow(["" if (v := cell(c.get(row))) is None else v for c in kind.columns])
            n += 1
        return n
    out.write("[")
    for row in iter_rows(db, kind, since=since, until=until):
        out.write(",\n" if n else "\n")
        out.write(json.dumps({c.name: cell(c.get(row)) for c in kind.columns}, ensure_ascii=False))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def export_to_file(db: Any, what: str, path: str | Path, **options: Any) -> int:
    """:func:`export` into ``path`` (``.part`` beside it, 0600, renamed when complete: no half file)."""
    from crossdock.backup import private_file

    target = Path(path).expanduser().resolve()
    try:
        with private_file(target) as part, open(part, "w", encoding="utf-8", newline="") as f:
            n = export(db, what, f, **options)
    except OSError as exc:
        raise DataError("XD-DATA-012", detail=f"cannot write {target}: {exc}") from exc
    return n
