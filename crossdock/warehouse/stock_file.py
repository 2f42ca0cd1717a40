"""Stock files (``crossdock stock import FILE.csv``): read, checked and applied
in the caller's transaction, all or nothing; each change goes through
:func:`crossdock.warehouse.stock.apply_change`, through the caller's
:class:`~crossdock.warehouse.ledger.Ledger`. One header line, columns:

=============  ========  ==========================================================
column         required  meaning
=============  ========  ==========================================================
``sku``        yes       catalogue SKU
``warehouse``  yes       warehouse code
``delta``      one of    change: ``+12`` received, ``-2`` damaged
``on_hand``    one of    counted quantity: the change is computed (stocktake)
``reason``     see note  why (receive, count, damage, return, …)
``reference``  no        delivery note, count sheet, … (default: file and line)
``bin``        no        bin the SKU lives in (must exist in the warehouse)
=============  ========  ==========================================================

``reason`` may instead be given once for the whole file (``--reason``).
Several ``delta`` rows for one SKU and warehouse are movements: they apply in
file order, each with its reason. An ``on_hand`` row (a count) must be the
only row for its SKU and warehouse (XD-WH-006, both lines named: which figure
would be right?). The file is read completely and every row checked before
anything is written — the values, the rows that conflict, and what each change
would leave on hand (below what is reserved: XD-INV-005; beyond 2,147,483,647:
XD-WH-005); any bad row is XD-WH-003 listing every bad line, and nothing from
the file is applied.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.base import INTEGER_MAX
from crossdock.db.models import Bin, Product, StockLevel, Warehouse
from crossdock.errors import CrossdockError, WarehouseError
from crossdock.warehouse.ledger import Ledger, StockAdjustment
from crossdock.warehouse.stock import (
    DELTA_RE,
    MAX_REASON_LEN,
    MAX_REFERENCE_LEN,
    StockChange,
    set_bin,
)

log = logging.getLogger(__name__)

FILE_COLUMNS = ("sku", "warehouse", "delta", "on_hand", "reason", "reference", "bin")
_IN_CHUNK = 900
_SCAN_OVER = 8 * _IN_CHUNK


@dataclass(frozen=True, slots=True)
class StockFileRow:
    line: int
    sku: str
    warehouse: str
    delta: int | None          # a change …
    on_hand: int | None        # … or a counted quantity
    reason: str
    reference: str | None
    bin: str | None


_LINE = re.compile(r"^line (\d+):")


def _bad_file(path: str, problems: Sequence[str]) -> WarehouseError:
    problems = sorted(problems, key=lambda p: int(m.group(1)) if (m := _LINE.match(p)) else 0)
    shown = "; ".join(problems[:20]) + (f"; … {len(problems) - 20} more" if len(problems) > 20 else "")
    return WarehouseError("XD-WH-003", entity=f"file {path}", detail=shown, problems=list(problems))


def parse_stock_file(text: str, *, path: str = "<csv>", default_reason: str | None = None) -> list[StockFileRow]:
    """Parse a stock CSV (see the module doc). Every problem of every line is
    collected and raised together as XD-WH-003."""
    rows, problems = parse_stock_rows(text, path=path, default_reason=default_reason)
    if problems:
        raise _bad_file(path, problems)
    return rows


def parse_stock_rows(text: str, *, path: str = "<csv>",
                     default_reason: str | None = None) -> tuple[list[StockFileRow], list[str]]:
    """The rows of a stock CSV and the problems of its lines (``line N: …``),
    for :func:`import_stock_rows` to report together with what only the
    database can tell. A file that cannot be read as a stock file at all (no
    header, unknown columns, no rows) is XD-WH-003 at once."""
    if text.startswith("\ufeff"):
        text = text[1:]
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)     # spreadsheets in some locales write ";"
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise _bad_file(path, ["the file is empty"]) from None
    except csv.Error as exc:
        raise _bad_file(path, [f"line 1: {exc}"]) from None
    columns = [h.strip().lower() for h in header]
    problems: list[str] = []
    unknown = [c for c in columns if c not in FILE_COLUMNS]
    if unknown:
        problems.append(f"line 1: unknown column(s) {', '.join(repr(c) for c in unknown)}; "
                        f"known: {', '.join(FILE_COLUMNS)}")
    for needed in ("sku", "warehouse"):
        if needed not in columns:
            problems.append(f"line 1: column {needed!r} missing")
    if "delta" not in columns and "on_hand" not in columns:
        problems.append("line 1: need a 'delta' or an 'on_hand' column")
    if "reason" not in columns and not (default_reason or "").strip():
        problems.append("line 1: no 'reason' column and no --reason for the file")
    if len(set(columns)) != len(columns):
        problems.append("line 1: a column appears twice")
    if problems:
        raise _bad_file(path, problems)

    rows: list[StockFileRow] = []
    seen: dict[tuple[str, str], list[tuple[int, bool]]] = {}     # (sku, warehouse) -> [(line, is a count)]
    try:
        for record in reader:
            n = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(columns):
                problems.append(f"line {n}: {len(record)} fields, the header has {len(columns)}")
                continue
            cell = {c: v.strip() for c, v in zip(columns, record)}
            where = f"line {n}"
            sku, warehouse = cell.get("sku", ""), cell.get("warehouse", "")
            if not sku:
                problems.append(f"{where}: sku is empty")
            if not warehouse:
                problems.append(f"{where}: warehouse is empty")
            delta_text, count_text = cell.get("delta", ""), cell.get("on_hand", "")
            delta = count = None
            if delta_text and count_text:
                problems.append(f"{where}: give delta or on_hand, not both")
            elif delta_text:
                if not DELTA_RE.match(delta_text):
                    problems.append(f"{where}: delta {delta_text!r} is not a whole number")
                elif abs(int(delta_text)) > INTEGER_MAX:
                    problems.append(f"{where}: [XD-WH-005] delta {delta_text} is beyond {INTEGER_MAX:,} units")
                else:
                    delta = int(delta_text)
            elif count_text:
                if not (count_text.isascii() and count_text.isdigit()):
                    problems.append(f"{where}: on_hand {count_text!r} is not a whole number >= 0")
                elif int(count_text) > INTEGER_MAX:
                    problems.append(f"{where}: [XD-WH-005] on_hand {count_text} is beyond {INTEGER_MAX:,} units")
                else:
                    count = int(count_text)
            else:
                problems.append(f"{where}: no delta or on_hand")
            reason = cell.get("reason") or (default_reason or "").strip()
            if not reason:
                problems.append(f"{where}: reason is empty")
            elif len(reason) > MAX_REASON_LEN:
                problems.append(f"{where}: reason longer than {MAX_REASON_LEN} characters")
            bin_code = cell.get("bin") or None
            if delta == 0 and bin_code is None:
                problems.append(f"{where}: delta 0 changes nothing")
            if sku and warehouse:
                problems += _conflict(seen.setdefault((sku, warehouse), []), n, count_text != "", sku, warehouse)
            rows.append(StockFileRow(line=n, sku=sku, warehouse=warehouse, delta=delta, on_hand=count,
                                     reason=reason, reference=(cell.get("reference") or None), bin=bin_code))
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")
    if not rows and not problems:
        raise _bad_file(path, ["no rows after the header"])
    return rows, problems


def _conflict(earlier: list[tuple[int, bool]], line: int, is_count: bool, sku: str, warehouse: str) -> list[str]:
    """XD-WH-006 when a count shares its SKU and warehouse with any other row
    (``earlier`` holds that key's rows so far; this row is added to it)."""
    clash = next((first for first, first_is_count in earlier if is_count or first_is_count), None)
    earlier.append((line, is_count))
    if clash is None:
        return []
    return [f"line {line}: [XD-WH-006] SKU {sku!r} in warehouse {warehouse!r} is counted (on_hand) and has another "
            f"row on line {clash}; keep one count per SKU and warehouse"]


@dataclass(frozen=True, slots=True)
class ImportResult:
    path: str
    changes: tuple[StockChange, ...]
    unchanged: int                       # counted rows that matched what was on hand

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.path, "rows": len(self.changes) + self.unchanged, "applied": len(self.changes),
                "unchanged": self.unchanged, "changes": [c.to_dict() for c in self.changes]}


def import_stock_rows(session: Session, rows: Sequence[StockFileRow], *, ledger: Ledger, path: str = "<csv>",
                      actor: str | None = None, problems: Sequence[str] = ()) -> ImportResult:
    """Apply parsed rows in the caller's transaction, all or nothing: every
    row is checked (warehouse, SKU, bin, what it leaves on hand) before the
    first change, and reported as one XD-WH-003 together with ``problems``
    (the file's own, from :func:`parse_stock_rows`); a change still refused
    while applying (XD-INV-005) becomes XD-WH-003 naming its line — the
    caller's transaction must then roll back (``Database.write`` does that
    when the error leaves the ``with``)."""
    problems = list(problems)
    warehouses = set(session.scalars(select(Warehouse.code)))
    skus = sorted({r.sku for r in rows})
    known_skus = {sku for (sku,) in _rows_of(session, select(Product.sku), Product.sku, skus)}
    bins = {(w, c) for w, c in session.execute(select(Bin.warehouse, Bin.code))}
    for r in rows:
        where = f"line {r.line}"
        if r.warehouse not in warehouses:
            problems.append(f"{where}: [XD-WH-001] unknown warehouse {r.warehouse!r}")
        if r.sku not in known_skus:
            problems.append(f"{where}: [XD-INV-004] SKU {r.sku!r} is not in the catalogue")
        if r.bin and r.warehouse in warehouses and (r.warehouse, r.bin) not in bins:
            problems.append(f"{where}: [XD-WH-004] warehouse {r.warehouse} has no bin {r.bin!r}")
    found, levels = _outcome_problems(session, rows, skus)
    before = dict(levels)
    problems += found
    if problems:
        raise _bad_file(path, problems)

    changes: list[StockChange] = []
    adjustments: list[StockAdjustment] = []
    unchanged = 0
    skus_changed: set[str] = set()
    name = Path(path).name
    # in (SKU, warehouse) order, like every other stock writer; the sort is stable, so repeated rows
    # of one SKU and warehouse keep their order. The rows are locked (_outcome_problems): what is on
    # hand now is what a count is compared with, and every change goes to the ledger in ONE call.
    lines: list[int] = []
    for r in sorted(rows, key=lambda r: (r.sku, r.warehouse)):
        on_hand, reserved, bin_code = levels.get((r.sku, r.warehouse), (0, 0, None))
        delta = r.on_hand - on_hand if r.on_hand is not None else (r.delta or 0)
        if delta == 0 and r.bin is None:
            unchanged += 1
            continue
        reference = (r.reference or f"{name}:{r.line}")[:MAX_REFERENCE_LEN]
        if delta:
            adjustments.append(StockAdjustment(r.sku, r.warehouse, delta, r.reason, reference))
            lines.append(r.line)
            skus_changed.add(r.sku)
        levels[(r.sku, r.warehouse)] = (on_hand + delta, reserved, r.bin or bin_code)
        changes.append(StockChange(sku=r.sku, warehouse=r.warehouse, delta=delta, on_hand=on_hand + delta,
                                   reserved=reserved, bin=r.bin or bin_code, reason=r.reason, reference=reference))
    try:
        ledger.adjust_stock_many(session, adjustments, actor=actor)
    except CrossdockError as exc:
        index = exc.context.get("change")
        where = f"line {lines[index]}: " if isinstance(index, int) and 0 <= index < len(lines) else ""
        raise _bad_file(path, [f"{where}[{exc.code}] {exc.detail or exc.title}"]) from exc
    bin_now = {key: level[2] for key, level in before.items()}
    for c in changes:                   # then the bins, each change of one recorded (stock.bin)
        if c.bin is not None and c.bin != bin_now.get((c.sku, c.warehouse)):
            set_bin(session, c.sku, c.warehouse, c.bin, reason=c.reason, reference=c.reference, actor=actor)
            bin_now[(c.sku, c.warehouse)] = c.bin
    synclog.record(session, operation="stock.import", outcome="ok", entity_type="file", entity=name,
                   message=f"{len(changes)} changes, {unchanged} unchanged",
                   details={"rows": len(rows), "applied": len(changes), "unchanged": unchanged,
                            "skus": len(skus_changed), "actor": actor})
    log.info("stock file %s: %d changes applied, %d unchanged", path, len(changes), unchanged)
    return ImportResult(path=str(path), changes=tuple(changes), unchanged=unchanged)


def _outcome_problems(session: Session, rows: Sequence[StockFileRow],
                      skus: Sequence[str]) -> tuple[list[str], dict[tuple[str, str], tuple[int, int, str | None]]]:
    """What each row would leave on hand, checked before the first change so
    every refused line is named: below what is reserved or below 0
    (XD-INV-005), beyond what a stock level holds (XD-WH-005). Returns the
    problems and the stock levels (on hand, reserved, bin) before the file,
    read with their rows locked (PostgreSQL ``FOR UPDATE`` in (SKU, warehouse)
    order; SQLite holds the write lock): they stay what they are until the
    file is applied."""
    levels: dict[tuple[str, str], tuple[int, int, str | None]] = {}
    for sku, warehouse, on_hand, reserved, bin_code in _rows_of(
            session, select(StockLevel.sku, StockLevel.warehouse, StockLevel.on_hand, StockLevel.reserved,
                            StockLevel.bin).order_by(StockLevel.sku, StockLevel.warehouse).with_for_update(),
            StockLevel.sku, skus):
        levels[(sku, warehouse)] = (on_hand, reserved, bin_code)
    running = {key: (on_hand, reserved) for key, (on_hand, reserved, _) in levels.items()}
    problems: list[str] = []
    for r in rows:                      # file order: a SKU's movements apply one after the other
        on_hand, reserved = running.get((r.sku, r.warehouse), (0, 0))
        after = r.on_hand if r.on_hand is not None else on_hand + (r.delta or 0)
        if after > INTEGER_MAX:
            problems.append(f"line {r.line}: [XD-WH-005] {r.warehouse}: on hand {on_hand} {after - on_hand:+d} would "
                            f"be beyond {INTEGER_MAX:,} units")
        elif after < max(reserved, 0):
            problems.append(f"line {r.line}: [XD-INV-005] {r.warehouse}: on hand {on_hand}, reserved {reserved}, "
                            f"change {after - on_hand:+d} ({r.reason})")
        else:
            running[(r.sku, r.warehouse)] = (after, reserved)
    return problems, levels


def _rows_of(session: Session, stmt: Any, column: Any, skus: Sequence[str]) -> list[Any]:
    """The rows of ``stmt`` (a SELECT whose first column is ``column``) whose ``column`` is one of
    ``skus`` (sorted): IN lists of
    :data:`_IN_CHUNK`, or — a large file on SQLite, which holds the database's write
    lock anyway — one pass over the table, kept for ``skus`` (hundreds of IN lists
    would cost more than reading every row once)."""
    name = session.get_bind().dialect.name
    if len(skus) > _SCAN_OVER and name == "sqlite":
        wanted = set(skus)
        return [row for row in session.execute(stmt) if row[0] in wanted]
    rows: list[Any] = []
    if name == "postgresql":        # one array parameter per 50,000 (= ANY): nothing to render per SKU
        for start in range(0, len(skus), 50_000):
            part = list(skus[start:start + 50_000])
            rows.extend(session.execute(stmt.where(column == any_(bindparam(None, part, type_=ARRAY(column.type))))))
        return rows
    for start in range(0, len(skus), _IN_CHUNK):
        rows.extend(session.execute(stmt.where(column.in_(skus[start:start + _IN_CHUNK]))))
    return rows


def read_stock_file(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WarehouseError("XD-WH-003", entity=f"file {path}", detail=f"cannot read: {exc}") from exc


def import_stock_file(session: Session, path: str | Path, *, ledger: Ledger, default_reason: str | None = None,
                      actor: str | None = None) -> ImportResult:
    """Read, check and apply a stock CSV in the caller's transaction (all or nothing)."""
    rows, problems = parse_stock_rows(read_stock_file(path), path=str(path), default_reason=default_reason)
    return import_stock_rows(session, rows, ledger=ledger, path=str(path), actor=actor, problems=problems)

__all__ = [
    "FILE_COLUMNS",
    "ImportResult",
    "StockFileRow",
    "import_stock_file",
    "import_stock_rows",
    "parse_stock_file",
    "parse_stock_rows",
    "read_stock_file",
]
