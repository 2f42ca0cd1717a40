"""``crossdock catalog import FILE``: products from a CSV or JSON file, all or nothing.

The file (columns: :mod:`crossdock.catalog.columns`) is read as a stream —
CSV line by line, JSON array element by element (ijson) — and written in
batches of :data:`BATCH_ROWS` rows inside the caller's ONE transaction. Every
row is checked before its batch is written; once a bad row is found nothing
more is written, the rest of the file is still checked, and the import ends
with XD-INV-008 listing every bad row (CSV line or JSON index, column, code),
so the caller's transaction rolls back and nothing from the file stays.
Duplicate SKUs are found through a temporary table, so memory does not grow
with the file (only with the SKUs whose stock rule changed, see below).

A SKU already in the catalogue is updated, and only in the columns the file
has (a JSON object: the keys it has). Per product the import counts created,
updated or unchanged. What a change means for the channels is done in the
same transaction:

- ``safety_stock`` changed → the SKU is marked dirty on every channel listing
  it (:func:`crossdock.sync_engine.dirty.mark_dirty`, one call with all such
  SKUs), so the worker pushes the new quantities;
- ``base_price`` or ``base_currency`` changed → one ``prices`` outbox entry per
  channel listing such a SKU (idempotency key per import and channel), so the
  worker runs the price push (:func:`crossdock.sync_engine.jobs.prices.push_prices`).
"""

from __future__ import annotations

import csv
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.catalog import columns as C
from crossdock.db.base import utcnow
from crossdock.db.models import ChannelListing, Product
from crossdock.errors import InventoryError

log = logging.getLogger(__name__)

BATCH_ROWS = 1000
MAX_PROBLEMS = 1000               # problems kept in the error (the rest are counted)
PRICE_SKUS_MAX = 500              # a prices entry names its SKUs up to this many; beyond, the whole channel
PRODUCTS = Product.__table__
LISTINGS = ChannelListing.__table__
_PRICE_COLUMNS = ("base_price", "base_currency")
_DEFAULTS: dict[str, Any] = {"description": "", "category": None, "brand": None, "attributes": {}, "images": [],
                             "weight_g": None, "hs_code": None, "country_of_origin": None, "base_price": None,
                             "base_currency": None, "safety_stock": 0}


# ------------------------------------------------------------------ problems
@dataclass(frozen=True, slots=True)
class RowProblem:
    """One bad row: where (CSV ``line`` or JSON ``index``), which column, which code."""

    at: int
    code: str
    message: str
    column: str | None = None
    sku: str | None = None
    unit: str = "line"                     # "line" (CSV) | "index" (JSON array)

    def to_dict(self) -> dict[str, Any]:
        return {self.unit: self.at, "code": self.code, "column": self.column, "sku": self.sku,
                "message": self.message}

    def text(self) -> str:
        where = f"{self.unit} {self.at}" + (f" ({self.sku})" if self.sku else "")
        return f"{where}: [{self.code}] " + (f"{self.column}: " if self.column else "") + self.message


def rejected(path: str, problems: Sequence[RowProblem], *, more: int = 0) -> InventoryError:
    """XD-INV-008 listing ``problems`` (and how many more were not kept)."""
    shown = [p.text() for p in problems[:200]]
    rest = len(problems) - len(shown) + more
    detail = f"{len(problems) + more} problem(s), nothing was imported:\n  " + "\n  ".join(shown)
    if rest:
        detail += f"\n  … {rest} more (--json lists {min(len(problems), MAX_PROBLEMS)})"
    return InventoryError("XD-INV-008", entity=f"file {path}", detail=detail,
                          problems=[p.to_dict() for p in problems], more=more)


# ------------------------------------------------------------------ reading
@dataclass(frozen=True, slots=True)
class RawRow:
    at: int                                # CSV line where the row starts / JSON array index
    values: Mapping[str, Any] | None       # None: the row is not an object (JSON)
    problem: str | None = None             # a shape problem found while reading


def detect_format(path: Path) -> str:
    """``csv`` or ``json``: by extension, else by the first character of the file."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix == ".json":
        return "json"
    with path.open("rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "json" if head[:1] in (b"[", b"{") else "csv"


def _csv_rows(path: Path) -> Iterator[RawRow]:
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        first = f.readline()
        f.seek(0)
        if first.startswith("\ufeff"):
            f.read(1)
        delimiter = max((",", ";", "\t"), key=first.count)   # some spreadsheets write ";" or tabs
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise rejected(str(path), [RowProblem(1, C.FORMAT, f"header unreadable: {exc}")]) from None
        if header is None:
            raise rejected(str(path), [RowProblem(1, C.FORMAT, "the file is empty")])
        names = [h.strip().lower() for h in header]
        problems = []
        unknown = [n for n in names if n not in C.COLUMNS]
        if unknown:
            problems.append(RowProblem(1, C.FORMAT, f"unknown column(s) {', '.join(repr(n) for n in unknown)}; "
                                                    f"known: {', '.join(C.COLUMNS)}"))
        missing = [n for n in C.REQUIRED if n not in names]
        if missing:
            problems.append(RowProblem(1, C.FORMAT, f"required column(s) missing: {', '.join(missing)}"))
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            problems.append(RowProblem(1, C.FORMAT, f"column(s) given twice: {', '.join(twice)}"))
        if problems:
            raise rejected(str(path), problems)
        start = reader.line_num + 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RawRow(start, None, f"unreadable CSV: {exc}")
                return
            except UnicodeDecodeError as exc:
                yield RawRow(start, None, f"not UTF-8 text: {exc}")
                return
            at, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(names):
                yield RawRow(at, None, f"{len(record)} fields, the header has {len(names)}")
                continue
            yield RawRow(at, dict(zip(names, record)))


def _json_rows(path: Path) -> Iterator[RawRow]:
    import ijson

    with path.open("rb") as f:
        head = f.read(4096)
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped[:1] != b"[":
            raise rejected(str(path), [RowProblem(0, C.FORMAT, "a JSON catalogue must be an array of product "
                                                               "objects", unit="index")])
        f.seek(len(head) - len(stripped))
        index = -1
        try:
            for index, item in enumerate(ijson.items(f, "item", use_float=False)):
                if isinstance(item, dict):
                    yield RawRow(index, item)
                else:
                    yield RawRow(index, None, f"expected a product object, got {type(item).__name__}")
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            yield RawRow(index + 1, None, f"unreadable JSON after element {index}: {exc}")


def read_rows(path: str | Path, fmt: str | None = None) -> tuple[str, Iterator[RawRow]]:
    """(format, rows) of a catalogue file, read lazily."""
    p = Path(path)
    if not p.is_file():
        raise rejected(str(path), [RowProblem(0, C.FORMAT, "no such file")])
    fmt = fmt or detect_format(p)
    if fmt not in ("csv", "json"):
        raise rejected(str(path), [RowProblem(0, C.FORMAT, f"format {fmt!r}: csv or json")])
    return fmt, (_csv_rows(p) if fmt == "csv" else _json_rows(p))


# ------------------------------------------------------------------ duplicate SKUs, in the database
class _SeenSkus:
    """SKUs already read from this file, in a temporary table of the
    transaction's connection (memory stays flat however long the file)."""

    NAME = "xd_catalog_import_seen"

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pg = session.get_bind().dialect.name == "postgresql"
        self.qualified = ("pg_temp." if self.pg else "temp.") + self.NAME     # never a table of the schema
        session.execute(text(f"DROP TABLE IF EXISTS {self.qualified}"))
        session.execute(text(f"CREATE TEMPORARY TABLE {self.NAME} (sku VARCHAR({C.SKU_MAX}) PRIMARY KEY, "
                             f"at INTEGER NOT NULL)" + (" ON COMMIT DROP" if self.pg else "")))

    def add(self, rows: Sequence[tuple[str, int]]) -> dict[int, int]:
        """Record (sku, position) pairs; returns the position → first position of
        every pair whose SKU was seen before (in this batch or an earlier one)."""
        first: dict[str, int] = {}
        dups: dict[int, int] = {}
        for sku, at in rows:
            if sku in first:
                dups[at] = first[sku]
            else:
                first[sku] = at
        if first:
            known: dict[str, int] = {sku: at for sku, at in self.session.execute(
                text(f"SELECT sku, at FROM {self.NAME} WHERE sku IN :skus").bindparams(
                    bindparam("skus", expanding=True)), {"skus": list(first)})}
            for sku, at in list(first.items()):
                if sku in known:
                    dups[at] = known[sku]
                    del first[sku]
            if first:
                self.session.execute(text(f"INSERT INTO {self.NAME} (sku, at) VALUES (:sku, :at)"),
                                     [{"sku": s, "at": a} for s, a in first.items()])
        return dups

    def drop(self) -> None:
        if not self.pg:
            self.session.execute(text(f"DROP TABLE IF EXISTS {self.qualified}"))


# ------------------------------------------------------------------ the import
@dataclass
class ImportSummary:
    path: str
    format: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    columns_changed: dict[str, int] = field(default_factory=dict)   # column -> products changed in it
    stock_marked: int = 0                  # (channel, SKU) pairs marked dirty for a stock push
    price_pushes: dict[str, int | None] = field(default_factory=dict)   # channel -> SKUs (None: all)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.path, "format": self.format, "rows": self.rows, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged,
                "columns_changed": dict(sorted(self.columns_changed.items())),
                "stock_marked": self.stock_marked,
                "price_pushes": [{"channel": c, "skus": n} for c, n in sorted(self.price_pushes.items())]}


@dataclass
class _Batch:
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


class _Importer:
    def __init__(self, session: Session, path: str, fmt: str, import_id: str) -> None:
        self.session = session
        self.path = path
        self.unit = "line" if fmt == "csv" else "index"
        self.import_id = import_id
        self.summary = ImportSummary(path=path, format=fmt)
        self.problems: list[RowProblem] = []
        self.more = 0
        self.seen = _SeenSkus(session)
        self.stock_skus: set[str] = set()
        self.price_skus: dict[str, list[str] | None] = {}
        self.kits: list[tuple[int, str, dict[str, Any]]] = []     # (where, SKU, aliases / bundle columns)
        self.created: list[tuple[int, str]] = []                   # (where, SKU) of the new products
        self.now = utcnow()

    def problem(self, at: int, code: str, message: str, column: str | None = None, sku: str | None = None) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(RowProblem(at, code, message, column, sku, self.unit))
        else:
            self.more += 1

    def run(self, rows: Iterator[RawRow]) -> ImportSummary:
        batch: list[tuple[int, dict[str, Any]]] = []
        for raw in rows:
            self.summary.rows += 1
            if raw.values is None:
                self.problem(raw.at, C.FORMAT, raw.problem or "unreadable row")
                continue
            values, problems = C.check_row(raw.values)
            sku = values.get("sku")
            kit = {c: values.pop(c) for c in C.KIT_COLUMNS if c in values}
            if kit and isinstance(sku, str) and not problems:
                self.kits.append((raw.at, sku, kit))
            for column, code, message in problems:
                self.problem(raw.at, code, message, column, sku if isinstance(sku, str) else None)
            if sku is not None:
                batch.append((raw.at, values) if not problems else (raw.at, {"sku": sku, "_bad": True}))
            if len(batch) >= BATCH_ROWS:
                self._batch(batch)
                batch = []
        if batch:
            self._batch(batch)
        self.seen.drop()
        if self.problems or self.more:
            raise rejected(self.path, self.problems, more=self.more)
        if self.summary.rows == 0:
            raise rejected(self.path, [RowProblem(0, C.FORMAT, "no product rows", unit=self.unit)])
        self._kits()
        self._consequences()
        return self.summary

    def _batch(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        dups = self.seen.add([(v["sku"], at) for at, v in batch])
        for at, values in batch:
            if at in dups:
                self.problem(at, "XD-INV-010", f"SKU {values['sku']} is also on {self.unit} {dups[at]}", "sku",
                             values["sku"])
        if self.problems or self.more:
            return                          # nothing more is written: the import will be refused
        self._write(batch)

    def _write(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        s = self.session
        skus = [v["sku"] for _, v in batch]
        existing = {r.sku: r for r in s.execute(select(PRODUCTS).where(PRODUCTS.c.sku.in_(skus)))}
        new_rows: list[dict[str, Any]] = []
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        price_changed: list[str] = []
        for at, values in batch:
            sku = values["sku"]
            row = existing.get(sku)
            if row is None:
                if values.get("base_price") is not None and values.get("base_currency") is None:
                    self.problem(at, C.INVALID, "a base_price needs its base_currency", "base_currency", sku)
                    continue
                new_rows.append({**_DEFAULTS, **values, "created_at": self.now, "updated_at": self.now})
                self.created.append((at, sku))
                self.summary.created += 1
                continue
            changed = [c for c, v in values.items() if c != "sku" and not _same(c, getattr(row, c), v)]
            if values.get("base_price") is not None and values.get("base_currency", row.base_currency) is None:
                self.problem(at, C.INVALID, "a base_price needs its base_currency", "base_currency", sku)
                continue
            if not changed:
                self.summary.unchanged += 1
                continue
            self.summary.updated += 1
            for c in changed:
                self.summary.columns_changed[c] = self.summary.columns_changed.get(c, 0) + 1
            if "safety_stock" in changed:
                self.stock_skus.add(sku)
            if any(c in changed for c in _PRICE_COLUMNS):
                price_changed.append(sku)
            cols = tuple(sorted(changed))
            updates.setdefault(cols, []).append({"b_sku": sku, **{f"v_{c}": values[c] for c in cols}})
        if self.problems:
            return
        if new_rows:
            s.execute(insert(PRODUCTS), new_rows)
        for cols, params in updates.items():
            stmt = (update(PRODUCTS).where(PRODUCTS.c.sku == bindparam("b_sku"))
                    .values(**{c: bindparam(f"v_{c}", type_=PRODUCTS.c[c].type) for c in cols}, updated_at=self.now))
            s.execute(stmt, params, execution_options={"synchronize_session": False})
        if price_changed:
            self._note_prices(price_changed)

    def _kits(self) -> None:
        """The aliases and bundles of the file, once all its products are in
        (only where they differ from what the catalogue has)."""
        from crossdock.catalog import kits
        from crossdock.errors import CrossdockError

        for i in range(0, len(self.created), 500):      # a new product named like an alias is ambiguous
            made = dict(self.created[i:i + 500])
            for at, alias in kits.aliases_named(self.session, list(made.values()), made):
                self.problem(at, kits.ALIAS_REFUSED, f"{alias} is a SKU alias already: an order or listing "
                                                     "under it would be ambiguous", "sku", alias)
        for i in range(0, len(self.kits), 500):
            part = self.kits[i:i + 500]
            now = kits.kit_columns(self.session, [sku for _, sku, _ in part])
            for at, sku, kit in part:
                for column, value in kit.items():
                    have = now.get(sku, {})
                    if column == "aliases":
                        want = sorted(a + (f"{kits.CHANNEL_MARK}{c}" if c else "") for c, a in value)
                        if want == sorted(have.get("aliases", [])):
                            continue
                    elif (value or None) == (have.get("bundle") or None):
                        continue
                    try:
                        if column == "aliases":
                            kits.replace_aliases(self.session, sku, value)
                        elif value is not None:
                            kits.set_bundle(self.session, sku, value, mark=False)
                        else:
                            kits.remove_bundle(self.session, sku)
                    except CrossdockError as exc:
                        self.problem(at, exc.code, exc.detail or exc.message, column, sku)
                        continue
                    self.stock_skus.add(sku)
                    self.summary.columns_changed[column] = self.summary.columns_changed.get(column, 0) + 1
        if self.problems:
            raise rejected(self.path, self.problems, more=self.more)

    def _note_prices(self, skus: list[str]) -> None:
        for channel, sku in self.session.execute(
                select(LISTINGS.c.channel, LISTINGS.c.sku)
                .where(LISTINGS.c.sku.in_(skus), LISTINGS.c.status == "active")):
            listed = self.price_skus.setdefault(channel, [])
            if listed is not None:
                listed.append(sku)
                if len(listed) > PRICE_SKUS_MAX:
                    self.price_skus[channel] = None

    def _consequences(self) -> None:
        """Stock and price pushes for what changed, and the sync event."""
        from crossdock.sync_engine import dirty, outbox

        s = self.session
        if self.stock_skus:
            self.summary.stock_marked = dirty.mark_dirty(s, sorted(self.stock_skus)).marked
        for channel, skus in sorted(self.price_skus.items()):
            payload = {"skus": sorted(set(skus))} if skus is not None else {}
            outbox.enqueue(s, "prices", channel=channel, entity=f"channel {channel}", payload=payload,
                           idempotency_key=f"prices:catalog-import:{channel}:{self.import_id}")
            self.summary.price_pushes[channel] = len(payload["skus"]) if skus is not None else None
        sm = self.summary
        synclog.record(s, operation="catalog.import", outcome="ok", entity_type="file", entity=Path(self.path).name,
                       message=f"{sm.rows} rows: {sm.created} created, {sm.updated} updated, {sm.unchanged} unchanged"
                               f"; {sm.stock_marked} stock pushes marked, price pushes on "
                               f"{len(sm.price_pushes)} channel(s)",
                       details={k: v for k, v in sm.to_dict().items() if k != "file"} | {"import": self.import_id})
        log.info("catalogue %s: %d created, %d updated, %d unchanged", self.path, sm.created, sm.updated,
                 sm.unchanged)


def _same(column: str, stored: Any, new: Any) -> bool:
    if column == "description":
        return (stored or "") == new
    if column == "attributes":
        return dict(stored or {}) == new
    if column == "images":
        return list(stored or []) == new
    if column == "safety_stock":
        return (stored or 0) == new
    return stored == new


def import_catalog(session: Session, path: str | Path, *, fmt: str | None = None,
                   import_id: str | None = None) -> ImportSummary:
    """Import a catalogue file in the caller's transaction (see the module
    doc). Raises XD-INV-008 listing every bad row; the caller must then roll
    back (``Database.write`` does when the error leaves its ``with``)."""
    kind, rows = read_rows(path, fmt)
    return _Importer(session, str(path), kind, import_id or uuid.uuid4().hex).run(rows)


__all__ = ["BATCH_ROWS", "ImportSummary", "RowProblem", "detect_format", "import_catalog", "read_rows"]
