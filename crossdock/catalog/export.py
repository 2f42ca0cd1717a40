"""``crossdock catalog export``, ``catalog show SKU`` and ``catalog list``.

The export writes the columns the import reads (:data:`crossdock.catalog.columns.COLUMNS`),
in SKU order, a page of :data:`PAGE` products at a time (memory stays flat):
importing an export changes nothing, and exporting again gives the same file.
CSV: attributes as compact JSON text with sorted keys, images joined with ``|``,
empty cells for no value. JSON: an array of objects, prices as strings (no
float rounding on the way).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crossdock.catalog import columns as C
from crossdock.db.models import ChannelListing, Product, StockLevel
from crossdock.errors import InventoryError

PAGE = 1000
PRODUCTS = Product.__table__


def iter_products(session: Session, *, page: int = PAGE) -> Iterator[Any]:
    """Every product row in SKU order, read a page at a time (keyset paging)."""
    after: str | None = None
    while True:
        stmt = select(PRODUCTS).order_by(PRODUCTS.c.sku).limit(page)
        if after is not None:
            stmt = stmt.where(PRODUCTS.c.sku > after)
        rows = session.execute(stmt).all()
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].sku


def iter_records(session: Session, *, page: int = PAGE) -> Iterator[dict[str, Any]]:
    """:func:`iter_products` as catalogue objects, with their aliases and bundle components."""
    from crossdock.catalog.kits import kit_columns

    rows: list[Any] = []
    for row in iter_products(session, page=page):
        rows.append(row)
        if len(rows) >= page:
            kits = kit_columns(session, [r.sku for r in rows])
            yield from (product_record(r, kits.get(r.sku)) for r in rows)
            rows = []
    if rows:
        kits = kit_columns(session, [r.sku for r in rows])
        yield from (product_record(r, kits.get(r.sku)) for r in rows)


def product_record(row: Any, kit: dict[str, Any] | None = None) -> dict[str, Any]:
    """A product as a JSON catalogue object (the import's JSON form); ``kit``: its
    ``aliases`` (list of ALIAS or ALIAS@CHANNEL) and ``bundle`` (component → quantity)."""
    kit = kit or {}
    return {"sku": row.sku, "title": row.title, "description": row.description or "", "category": row.category,
            "brand": row.brand, "attributes": dict(row.attributes or {}), "images": list(row.images or []),
            "weight_g": row.weight_g, "hs_code": row.hs_code, "country_of_origin": row.country_of_origin,
            "base_price": C.price_text(row.base_price), "base_currency": row.base_currency,
            "safety_stock": row.safety_stock or 0, "aliases": list(kit.get("aliases") or []),
            "bundle": dict(kit["bundle"]) if kit.get("bundle") else None}


def csv_cells(record: dict[str, Any]) -> list[str]:
    """A JSON catalogue object as the CSV row of the same product."""
    cells = []
    for column in C.COLUMNS:
        value = record[column]
        if column == "attributes":
            cells.append(C.attributes_text(value))
        elif column in ("images", "aliases"):
            cells.append(C.IMAGE_SEPARATOR.join(value))
        elif column == "bundle":
            cells.append(C.IMAGE_SEPARATOR.join(f"{c}:{q}" for c, q in sorted((value or {}).items())))
        else:
            cells.append("" if value is None else str(value))
    return cells


def export_catalog(session: Session, out: TextIO, *, fmt: str = "csv") -> int:
    """Write every product to ``out`` as CSV or JSON; returns how many."""
    if fmt not in ("csv", "json"):
        from crossdock.errors import ConfigError

        raise ConfigError("XD-CFG-009", detail=f"--format {fmt!r}: csv or json")
    n = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(C.COLUMNS)
        for record in iter_records(session):
            writer.writerow(csv_cells(record))
            n += 1
        return n
    out.write("[")
    for record in iter_records(session):
        out.write(",\n  " if n else "\n  ")
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=False))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def export_catalog_file(db: Any, path: str | Path, *, fmt: str = "csv") -> int:
    """Write every product to the file ``path`` (a temporary file beside it,
    renamed into place: a failed export leaves no half file); returns how many."""
    target = Path(path).resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=str(target.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f, db.read() as s:
            n = export_catalog(s, f, fmt=fmt)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return n


# ------------------------------------------------------------------ show / list
def _listing_dict(row: ChannelListing) -> dict[str, Any]:
    ids = dict(row.platform_ids or {})
    return {"channel": row.channel, "sku": row.sku, "listing_id": row.listing_id, "kind": ids.get("kind"),
            "status": row.status,
            "last_pushed_qty": row.last_pushed_qty, "listed_qty_seen": row.listed_qty_seen,
            "last_pushed_price": C.price_text(row.last_pushed_price), "last_pushed_currency": row.last_pushed_currency,
            "listed_price_seen": C.price_text(row.listed_price_seen),
            "seen_at": row.seen_at.isoformat() if row.seen_at else None,
            "last_pushed_at": row.last_pushed_at.isoformat() if row.last_pushed_at else None,
            "platform_ids": ids}


def show_product(session: Session, sku: str) -> dict[str, Any]:
    """One product with its stock per warehouse and its listing per channel;
    XD-INV-004 when the catalogue has no such SKU."""
    from crossdock.sync_engine.inventory import availability_snapshot

    row = session.execute(select(PRODUCTS).where(PRODUCTS.c.sku == sku)).first()
    if row is None:
        raise InventoryError("XD-INV-004", entity=f"sku {sku}", detail="not in the catalogue "
                                                                       "(crossdock catalog list shows what is)")
    stock = [{"warehouse": lv.warehouse, "bin": lv.bin, "on_hand": lv.on_hand, "reserved": lv.reserved,
              "available": lv.on_hand - lv.reserved}
             for lv in session.scalars(select(StockLevel).where(StockLevel.sku == sku).order_by(StockLevel.warehouse))]
    listings = [_listing_dict(r) for r in session.scalars(
        select(ChannelListing).where(ChannelListing.sku == sku).order_by(ChannelListing.channel))]
    from crossdock.catalog.kits import kit_columns

    return {"product": {**product_record(row, kit_columns(session, [sku]).get(sku)),
                        "created_at": row.created_at.isoformat() if row.created_at else None,
                        "updated_at": row.updated_at.isoformat() if row.updated_at else None},
            "stock": stock, "available_to_sell": availability_snapshot(session, [sku])[sku],
            "listings": listings}


def list_products(session: Session, *, limit: int = 100, after: str | None = None) -> dict[str, Any]:
    """Up to ``limit`` products in SKU order (after ``after``), with stock
    totals and the channels listing each; ``total`` counts the catalogue."""
    stmt = select(PRODUCTS.c.sku, PRODUCTS.c.title, PRODUCTS.c.brand, PRODUCTS.c.base_price,
                  PRODUCTS.c.base_currency, PRODUCTS.c.safety_stock).order_by(PRODUCTS.c.sku).limit(limit)
    if after:
        stmt = stmt.where(PRODUCTS.c.sku > after)
    rows = session.execute(stmt).all()
    skus = [r.sku for r in rows]
    stock: dict[str, tuple[int, int]] = {}
    channels: dict[str, list[str]] = {s: [] for s in skus}
    if skus:
        stock = {r.sku: (int(r.on_hand or 0), int(r.reserved or 0)) for r in session.execute(
            select(StockLevel.sku, func.sum(StockLevel.on_hand).label("on_hand"),
                   func.sum(StockLevel.reserved).label("reserved"))
            .where(StockLevel.sku.in_(skus)).group_by(StockLevel.sku))}
        for channel, sku in session.execute(select(ChannelListing.channel, ChannelListing.sku)
                                            .where(ChannelListing.sku.in_(skus)).order_by(ChannelListing.channel)):
            channels[sku].append(channel)
    total = session.scalar(select(func.count()).select_from(PRODUCTS)) or 0
    products = [{"sku": r.sku, "title": r.title, "brand": r.brand, "base_price": C.price_text(r.base_price),
                 "base_currency": r.base_currency, "safety_stock": r.safety_stock or 0,
                 "on_hand": stock.get(r.sku, (0, 0))[0], "reserved": stock.get(r.sku, (0, 0))[1],
                 "channels": channels[r.sku]} for r in rows]
    return {"total": int(total), "shown": len(products), "products": products,
            "next_after": skus[-1] if len(skus) == limit else None}


__all__ = ["export_catalog", "iter_products", "list_products", "product_record", "show_product"]
