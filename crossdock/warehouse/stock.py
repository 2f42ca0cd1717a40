"""Stock in the database: warehouses and bins, receiving and adjustments,
CSV import, the stock view, and routing an order to a warehouse.

Every on-hand change goes through the engine's
:func:`crossdock.sync_engine.inventory.adjust_stock` (one ``stock_movements``
row with the reason: the audit trail; XD-INV-005 when on hand would go
negative or below what is reserved) and then marks the SKU dirty, so the new
availability reaches every channel. Functions take the caller's Session: the
change, its audit row, the stock push and the sync event commit together.

Stock file (``crossdock stock import FILE.csv``), one header line, columns:

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.base import INTEGER_MAX
from crossdock.db.models import Bin, Order, Product, StockLevel, StockMovement, Warehouse
from crossdock.errors import ConfigError, CrossdockError, InventoryError, OrderError, WarehouseError
from crossdock.warehouse.routing import RoutingPreference, WarehouseSite

log = logging.getLogger(__name__)

MAX_REASON_LEN = 64
MAX_REFERENCE_LEN = 200
_DELTA = re.compile(r"^[+-]?\d+$")
FILE_COLUMNS = ("sku", "warehouse", "delta", "on_hand", "reason", "reference", "bin")
_IN_CHUNK = 900


# ----------------------------------------------------------------- warehouses and bins

def sync_warehouses(session: Session, warehouses: Mapping[str, Any] | Iterable[Any]) -> list[str]:
    """Make the configured warehouses and their bins exist in the database
    (objects with ``code``, ``name``, ``country``, ``bins``, ``address`` —
    :class:`crossdock.config.WarehouseConfig`). Name, country and address
    follow the config; bins are only added (stock may still name a removed
    one). Returns the codes created."""
    items = list(warehouses.values()) if isinstance(warehouses, Mapping) else list(warehouses)
    created: list[str] = []
    for wh in items:
        row = session.get(Warehouse, wh.code)
        country = str(wh.country).upper()
        if row is None:
            session.add(Warehouse(code=wh.code, name=wh.name or wh.code, country=country,
                                  address=dict(wh.address or {})))
            created.append(wh.code)
        else:
            row.name, row.country = wh.name or wh.code, country
            if dict(row.address or {}) != dict(wh.address or {}):
                row.address = dict(wh.address or {})
        session.flush()
        have = set(session.scalars(select(Bin.code).where(Bin.warehouse == wh.code)))
        for code in dict.fromkeys(b.strip() for b in (wh.bins or []) if b and b.strip()):
            if code not in have:
                session.add(Bin(warehouse=wh.code, code=code))
    session.flush()
    if created:
        log.info("warehouses created from the configuration: %s", ", ".join(created))
    return created


def get_warehouse(session: Session, code: str) -> Warehouse:
    """The warehouse row; XD-WH-001 (with the known codes) when there is none."""
    row = session.get(Warehouse, code)
    if row is None:
        known = ", ".join(sorted(session.scalars(select(Warehouse.code)))) or "none configured"
        raise WarehouseError("XD-WH-001", entity=f"warehouse {code}", detail=f"known: {known}")
    return row


def _check_bin(session: Session, warehouse: str, code: str) -> None:
    if session.scalar(select(Bin.id).where(Bin.warehouse == warehouse, Bin.code == code)) is None:
        known = sorted(session.scalars(select(Bin.code).where(Bin.warehouse == warehouse)))
        shown = ", ".join(known[:12]) + (" …" if len(known) > 12 else "") if known else "none defined"
        raise WarehouseError("XD-WH-004", entity=f"bin {code}",
                             detail=f"warehouse {warehouse} has no bin {code!r} (bins: {shown})")


def _check_sku(session: Session, sku: str) -> None:
    if session.get(Product, sku) is None:
        raise InventoryError("XD-INV-004", entity=f"sku {sku}", detail="not in the catalogue")


def parse_delta(text: str | int) -> int:
    """``"+12"``, ``"-3"`` or ``"7"`` as an int; XD-CFG-009 otherwise."""
    value = str(text).strip()
    if not _DELTA.match(value):
        raise ConfigError("XD-CFG-009", detail=f"quantity change {text!r}: write a whole number like +12 or -3")
    change = int(value)
    if abs(change) > INTEGER_MAX:
        raise WarehouseError("XD-WH-005", detail=f"quantity change {value}: at most {INTEGER_MAX:,} units either way")
    return change


def _reason(reason: str | None) -> str:
    value = (reason or "").strip()
    if not value:
        raise ConfigError("XD-CFG-009", detail="a stock change needs a reason (--reason receive|count|damage|…)")
    if len(value) > MAX_REASON_LEN:
        raise ConfigError("XD-CFG-009", detail=f"reason longer than {MAX_REASON_LEN} characters")
    return value


# ----------------------------------------------------------------- changes

@dataclass(frozen=True, slots=True)
class StockChange:
    sku: str
    warehouse: str
    delta: int
    on_hand: int
    reserved: int
    bin: str | None
    reason: str
    reference: str | None

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def to_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "warehouse": self.warehouse, "delta": self.delta, "on_hand": self.on_hand,
                "reserved": self.reserved, "available": self.available, "bin": self.bin,
                "reason": self.reason, "reference": self.reference}


def _level(session: Session, sku: str, warehouse: str) -> StockLevel | None:
    return session.scalar(select(StockLevel).where(StockLevel.sku == sku, StockLevel.warehouse == warehouse))


def _apply(session: Session, sku: str, warehouse: str, delta: int, *, reason: str, reference: str | None,
           bin_code: str | None, actor: str | None) -> StockChange:
    """One change: the engine's ``adjust_stock`` (audit row, sync event, stock
    push) for the quantity, then the bin."""
    from crossdock.sync_engine.inventory import adjust_stock

    if delta:
        adjust_stock(session, sku, warehouse, delta, reason, reference, actor=actor)
    level = _level(session, sku, warehouse)
    if bin_code is not None and (level is None or level.bin != bin_code):
        if level is None:
            level = StockLevel(sku=sku, warehouse=warehouse, on_hand=0, reserved=0)
            session.add(level)
        previous = level.bin
        level.bin = bin_code
        session.flush()
        synclog.record(session, operation="stock.bin", outcome="ok", entity_type="sku", entity=sku,
                       message=f"{warehouse}: bin {previous or '-'} -> {bin_code}",
                       details={"warehouse": warehouse, "bin": bin_code, "previous": previous,
                                "reason": reason, "reference": reference, "actor": actor})
    return StockChange(sku=sku, warehouse=warehouse, delta=delta, on_hand=level.on_hand if level else 0,
                       reserved=level.reserved if level else 0, bin=level.bin if level else None,
                       reason=reason, reference=reference)


def adjust(
    session: Session,
    sku: str,
    warehouse: str,
    delta: int | str,
    *,
    reason: str,
    reference: str | None = None,
    bin: str | None = None,  # noqa: A002 - the domain word
    actor: str | None = None,
) -> StockChange:
    """Receive (+), write off (-) or move to a bin (``delta`` 0 with ``bin``).

    XD-WH-001 unknown warehouse, XD-WH-004 unknown bin, XD-INV-004 unknown
    SKU, XD-INV-005 when on hand would go negative or below reserved,
    XD-CFG-009 without a reason or with nothing to change.
    """
    change = parse_delta(delta)
    why = _reason(reason)
    ref = (reference or "").strip()[:MAX_REFERENCE_LEN] or None
    get_warehouse(session, warehouse)
    _check_sku(session, sku)
    bin_code = bin.strip() if bin and bin.strip() else None
    if bin_code:
        _check_bin(session, warehouse, bin_code)
    if change == 0 and bin_code is None:
        raise ConfigError("XD-CFG-009", detail="nothing to change: give a non-zero quantity or --bin")
    result = _apply(session, sku, warehouse, change, reason=why, reference=ref, bin_code=bin_code, actor=actor)
    log.info("stock %s@%s %+d (%s) -> on hand %d", sku, warehouse, change, why, result.on_hand)
    return result


# ----------------------------------------------------------------- stock files

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
                if not _DELTA.match(delta_text):
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


def import_stock_rows(session: Session, rows: Sequence[StockFileRow], *, path: str = "<csv>",
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
    known_skus: set[str] = set()
    for start in range(0, len(skus), _IN_CHUNK):
        known_skus.update(session.scalars(select(Product.sku).where(Product.sku.in_(skus[start:start + _IN_CHUNK]))))
    bins = {(w, c) for w, c in session.execute(select(Bin.warehouse, Bin.code))}
    for r in rows:
        where = f"line {r.line}"
        if r.warehouse not in warehouses:
            problems.append(f"{where}: [XD-WH-001] unknown warehouse {r.warehouse!r}")
        if r.sku not in known_skus:
            problems.append(f"{where}: [XD-INV-004] SKU {r.sku!r} is not in the catalogue")
        if r.bin and r.warehouse in warehouses and (r.warehouse, r.bin) not in bins:
            problems.append(f"{where}: [XD-WH-004] warehouse {r.warehouse} has no bin {r.bin!r}")
    problems += _outcome_problems(session, rows, skus)
    if problems:
        raise _bad_file(path, problems)

    changes: list[StockChange] = []
    unchanged = 0
    skus_changed: set[str] = set()
    name = Path(path).name
    # stock rows are locked in (SKU, warehouse) order, like every other stock writer;
    # the sort is stable, so repeated rows of one SKU and warehouse keep their order
    for r in sorted(rows, key=lambda r: (r.sku, r.warehouse)):
        if r.on_hand is not None:
            level = _level(session, r.sku, r.warehouse)
            delta = r.on_hand - (level.on_hand if level else 0)
        else:
            delta = r.delta or 0
        if delta == 0 and r.bin is None:
            unchanged += 1
            continue
        reference = (r.reference or f"{name}:{r.line}")[:MAX_REFERENCE_LEN]
        try:
            change = _apply(session, r.sku, r.warehouse, delta, reason=r.reason, reference=reference,
                            bin_code=r.bin, actor=actor)
        except CrossdockError as exc:
            raise _bad_file(path, [f"line {r.line}: [{exc.code}] {exc.detail or exc.title}"]) from exc
        changes.append(change)
        if delta:
            skus_changed.add(r.sku)
    synclog.record(session, operation="stock.import", outcome="ok", entity_type="file", entity=name,
                   message=f"{len(changes)} changes, {unchanged} unchanged",
                   details={"rows": len(rows), "applied": len(changes), "unchanged": unchanged,
                            "skus": len(skus_changed), "actor": actor})
    log.info("stock file %s: %d changes applied, %d unchanged", path, len(changes), unchanged)
    return ImportResult(path=str(path), changes=tuple(changes), unchanged=unchanged)


def _outcome_problems(session: Session, rows: Sequence[StockFileRow], skus: Sequence[str]) -> list[str]:
    """What each row would leave on hand, checked before the first change so
    every refused line is named: below what is reserved or below 0
    (XD-INV-005), beyond what a stock level holds (XD-WH-005)."""
    levels: dict[tuple[str, str], tuple[int, int]] = {}
    for start in range(0, len(skus), _IN_CHUNK):
        for sku, warehouse, on_hand, reserved in session.execute(
                select(StockLevel.sku, StockLevel.warehouse, StockLevel.on_hand, StockLevel.reserved)
                .where(StockLevel.sku.in_(skus[start:start + _IN_CHUNK]))):
            levels[(sku, warehouse)] = (on_hand, reserved)
    problems: list[str] = []
    for r in rows:                      # file order: a SKU's movements apply one after the other
        on_hand, reserved = levels.get((r.sku, r.warehouse), (0, 0))
        after = r.on_hand if r.on_hand is not None else on_hand + (r.delta or 0)
        if after > INTEGER_MAX:
            problems.append(f"line {r.line}: [XD-WH-005] {r.warehouse}: on hand {on_hand} {after - on_hand:+d} would "
                            f"be beyond {INTEGER_MAX:,} units")
        elif after < max(reserved, 0):
            problems.append(f"line {r.line}: [XD-INV-005] {r.warehouse}: on hand {on_hand}, reserved {reserved}, "
                            f"change {after - on_hand:+d} ({r.reason})")
        else:
            levels[(r.sku, r.warehouse)] = (after, reserved)
    return problems


def read_stock_file(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WarehouseError("XD-WH-003", entity=f"file {path}", detail=f"cannot read: {exc}") from exc


def import_stock_file(session: Session, path: str | Path, *, default_reason: str | None = None,
                      actor: str | None = None) -> ImportResult:
    """Read, check and apply a stock CSV in the caller's transaction (all or nothing)."""
    rows, problems = parse_stock_rows(read_stock_file(path), path=str(path), default_reason=default_reason)
    return import_stock_rows(session, rows, path=str(path), actor=actor, problems=problems)


# ----------------------------------------------------------------- reading

@dataclass(frozen=True, slots=True)
class LevelRow:
    sku: str
    title: str
    warehouse: str
    bin: str | None
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def to_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "title": self.title, "warehouse": self.warehouse, "bin": self.bin,
                "on_hand": self.on_hand, "reserved": self.reserved, "available": self.available}


def stock_view(session: Session, *, sku: str | None = None, warehouse: str | None = None) -> list[LevelRow]:
    """Stock per SKU and warehouse, sorted by SKU then warehouse."""
    stmt = (select(StockLevel, Product.title).join(Product, Product.sku == StockLevel.sku, isouter=True)
            .order_by(StockLevel.sku, StockLevel.warehouse))
    if sku:
        stmt = stmt.where(StockLevel.sku == sku)
    if warehouse:
        stmt = stmt.where(StockLevel.warehouse == warehouse)
    return [LevelRow(sku=lv.sku, title=title or "", warehouse=lv.warehouse, bin=lv.bin, on_hand=lv.on_hand,
                     reserved=lv.reserved) for lv, title in session.execute(stmt)]


def totals(rows: Iterable[LevelRow]) -> dict[str, dict[str, int]]:
    """SKU -> on hand, reserved and available summed over warehouses."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        t = out.setdefault(r.sku, {"on_hand": 0, "reserved": 0, "available": 0})
        t["on_hand"] += r.on_hand
        t["reserved"] += r.reserved
        t["available"] += r.available
    return out


def movements(session: Session, *, sku: str | None = None, warehouse: str | None = None,
              limit: int = 100) -> list[StockMovement]:
    """The audit trail, newest first."""
    stmt = select(StockMovement)
    if sku:
        stmt = stmt.where(StockMovement.sku == sku)
    if warehouse:
        stmt = stmt.where(StockMovement.warehouse == warehouse)
    return list(session.scalars(stmt.order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
                                .limit(limit)))


def movement_to_dict(m: StockMovement) -> dict[str, Any]:
    return {"id": m.id, "at": m.created_at.isoformat() if m.created_at else None, "sku": m.sku,
            "warehouse": m.warehouse, "delta": m.delta, "reason": m.reason, "reference": m.reference,
            "actor": m.actor}


# ----------------------------------------------------------------- routing

def routing_preference(cfg: Any) -> RoutingPreference:
    """``[rules.routing]`` of the configuration (see :mod:`.routing`)::

        [rules.routing]
        fallback = ["DE", "CN"]
        by_destination = { GB = ["DE"], US = ["CN"] }
        only_listed = false
    """
    raw = ((getattr(cfg, "rules", None) or {}).get("routing")) if cfg is not None else None
    if raw is not None and not isinstance(raw, Mapping):
        raise ConfigError("XD-CFG-003", detail="rules.routing must be a table")
    return RoutingPreference.from_config(raw)


def warehouse_sites(session: Session) -> list[WarehouseSite]:
    """The warehouses in the database as routing sites, in code order."""
    return [WarehouseSite(code, country) for code, country in
            session.execute(select(Warehouse.code, Warehouse.country).order_by(Warehouse.code))]


def reserve_routed(session: Session, order_ids: int | Iterable[int], *, cfg: Any = None,
                   preference: RoutingPreference | None = None) -> dict[int, Any]:
    """Reserve orders with the configured routing: each order goes to the
    first warehouse (by :class:`RoutingPreference`, see
    :mod:`crossdock.warehouse.routing`) that can fill all of it. Uses the
    engine's ``reserve_order`` with ``routing_chooser``, oldest purchase
    first (lines already reserved are left alone). When no single
    warehouse can fill an order, the engine falls back to reserving each SKU
    where most is free; such a split order is not ready to ship
    (:func:`crossdock.warehouse.picking.readiness` says why). Each order's
    events carry its correlation id. Returns order id → ReservationResult."""
    from crossdock.sync_engine.inventory import reserve_order, routing_chooser
    from crossdock.warehouse.shipping import order_correlation_id

    ids = [order_ids] if isinstance(order_ids, int) else sorted(set(order_ids))
    pref = preference if preference is not None else routing_preference(cfg)
    chooser = routing_chooser(warehouse_sites(session), pref)
    orders = []
    for order_id in ids:
        order = session.get(Order, order_id)
        if order is None:
            raise OrderError("XD-ORD-005", entity=f"order {order_id}", detail="no order with that id")
        orders.append(order)
    results: dict[int, Any] = {}
    for order in sorted(orders, key=lambda o: (o.purchased_at, o.id)):
        with synclog.correlation(order_correlation_id(session, order)):
            results[order.id] = reserve_order(session, order.id, chooser=chooser)
    return results


__all__ = [
    "FILE_COLUMNS",
    "ImportResult",
    "LevelRow",
    "StockChange",
    "StockFileRow",
    "adjust",
    "get_warehouse",
    "import_stock_file",
    "import_stock_rows",
    "movement_to_dict",
    "movements",
    "parse_delta",
    "parse_stock_file",
    "parse_stock_rows",
    "read_stock_file",
    "reserve_routed",
    "routing_preference",
    "stock_view",
    "sync_warehouses",
    "totals",
    "warehouse_sites",
]
