"""What ``crossdock stock …`` and ``crossdock warehouse …`` do, one function per command.

Each takes the database (and the configuration where it matters) and returns
the command's document, or the result object whose ``to_dict()`` is that
document: the CLI prints it with ``--json`` and renders the same data as text
(so will the web console). The configured warehouses and bins are made to
exist in the database first (:func:`open_site`). The commands that change
stock or ship take the :class:`~crossdock.warehouse.ledger.Ledger` to write
through (the CLI passes the engine's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossdock.db.engine import Database
from crossdock.errors import ConfigError, ShippingError
from crossdock.warehouse import stock, stock_file
from crossdock.warehouse.ledger import Ledger

__all__ = ["adjust_stock", "carrier_from_config", "history_doc", "import_stock", "open_site",
           "picklists_doc", "reprint_label", "reserve_open_orders", "ship", "stock_doc",
           "track", "warehouses_doc"]

_CARRIER_OPTIONS = {"seed", "failure_rate", "stall_rate", "time_scale", "stage_hours", "currency", "max_weight_g"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def open_site(db: Database, cfg: Any) -> Database:
    """``db`` with the configured warehouses and bins in it."""
    if cfg.warehouses:
        db.run_write(lambda s: stock.sync_warehouses(s, cfg.warehouses))
    return db


def carrier_from_config(name: str, cfg: Any, *, clock: Callable[[], dt.datetime] = _now):
    """The carrier called ``name``: the sandbox (options from ``[sandbox.carrier]``),
    a registered integration, or a manual carrier for every other known name."""
    from crossdock.warehouse.carrier_codes import normalise_carrier_name
    from crossdock.warehouse.carriers import SandboxCarrier, get_carrier

    if normalise_carrier_name(name) == "sandbox":
        raw = (cfg.sandbox or {}).get("carrier") or {}
        if not isinstance(raw, dict):
            raise ConfigError("XD-CFG-003", detail="sandbox.carrier must be a table")
        unknown = sorted(set(raw) - _CARRIER_OPTIONS)
        if unknown:
            raise ConfigError("XD-CFG-003", detail=f"sandbox.carrier.{unknown[0]}: unknown key "
                                                   f"(known: {', '.join(sorted(_CARRIER_OPTIONS))})")
        try:
            return SandboxCarrier(clock=clock, **dict(raw))
        except (TypeError, ValueError) as exc:
            raise ConfigError("XD-CFG-003", detail=f"sandbox.carrier: {exc}") from None
    return get_carrier(name)


# ------------------------------------------------------------------ stock
def adjust_stock(db: Database, sku: str, warehouse: str, delta: str, *, reason: str, reference: str | None = None,
                 bin_code: str | None = None, actor: str | None = None, ledger: Ledger) -> stock.StockChange:
    """``stock adjust``: receive or adjust one SKU in one warehouse (``delta``: ``+12``, ``-2``)."""
    change = stock.parse_delta(delta)
    return db.run_write(lambda s: stock.adjust(s, sku, warehouse, change, reason=reason, reference=reference,
                                               bin=bin_code, actor=actor, ledger=ledger))


def import_stock(db: Database, path: Path, *, reason: str | None = None,
                 actor: str | None = None, ledger: Ledger) -> stock_file.ImportResult:
    """``stock import``: a stock file, all or nothing (a bad row is XD-WH-003)."""
    rows, problems = stock_file.parse_stock_rows(stock_file.read_stock_file(path), path=str(path),
                                                 default_reason=reason)
    return db.run_write(lambda s: stock_file.import_stock_rows(s, rows, ledger=ledger, path=str(path),
                                                               actor=actor, problems=problems))


def stock_doc(db: Database, *, sku: str | None = None, warehouse: str | None = None) -> dict[str, Any]:
    """``stock show``: levels per SKU and warehouse, and totals per SKU."""
    with db.read() as s:
        rows = stock.stock_view(s, sku=sku, warehouse=warehouse)
    return {"levels": [r.to_dict() for r in rows],
            "totals": [{"sku": k, **v} for k, v in sorted(stock.totals(rows).items())]}


def history_doc(db: Database, *, sku: str | None = None, warehouse: str | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
    """``stock history``: every on-hand change with its reason, newest first."""
    with db.read() as s:
        return [stock.movement_to_dict(m) for m in stock.movements(s, sku=sku, warehouse=warehouse, limit=limit)]


# ------------------------------------------------------------------ warehouse
def warehouses_doc(db: Database) -> list[dict[str, Any]]:
    """``warehouse list``: code, name, country and bins of each warehouse."""
    from crossdock.db.models import Bin, Warehouse

    with db.read() as s:
        bins: dict[str, list[str]] = {}
        for wh, code in s.execute(select(Bin.warehouse, Bin.code).order_by(Bin.warehouse, Bin.code)):
            bins.setdefault(wh, []).append(code)
        return [{"code": w.code, "name": w.name, "country": w.country, "bins": bins.get(w.code, [])}
                for w in s.scalars(select(Warehouse).order_by(Warehouse.code))]


def reserve_open_orders(db: Database, cfg: Any, order: str | None = None, *,
                        ledger: Ledger) -> list[dict[str, Any]]:
    """``warehouse reserve``: reserve stock for one order, or every open one,
    with the configured routing; per order what is held where."""
    from crossdock.db.models import Order, Reservation
    from crossdock.warehouse.picking import READY_STATUSES
    from crossdock.warehouse.shipping import find_order

    def run(s: Session) -> list[dict[str, Any]]:
        if order:
            ids = [find_order(s, order).id]
        else:
            ids = list(s.scalars(select(Order.id).where(Order.local_status.in_(READY_STATUSES))))
        results = stock.reserve_routed(s, ids, ledger=ledger, cfg=cfg)
        refs = {o.id: (o.channel, o.platform_order_id)
                for o in s.scalars(select(Order).where(Order.id.in_(list(results) or [-1])))}
        line_ids = [ln.line_id for r in results.values() for ln in r.lines]
        held = dict(s.execute(select(Reservation.order_line_id, Reservation.warehouse)
                              .where(Reservation.order_line_id.in_(line_ids or [-1]))).all())
        return [{"order_id": oid, "channel": refs[oid][0], "platform_order_id": refs[oid][1],
                 "fully_reserved": r.fully_held and r.skipped_reason is None, "skipped": r.skipped_reason,
                 "lines": [{"sku": ln.sku, "warehouse": ln.warehouse or held.get(ln.line_id),
                            "quantity": ln.quantity, "status": ln.status} for ln in r.lines]}
                for oid, r in sorted(results.items())]

    return db.run_write(run)


def picklists_doc(db: Database, *, warehouse: str | None = None, limit: int | None = None,
                  pdf: Path | None = None) -> dict[str, Any]:
    """``warehouse picklist``: the orders ready to ship batched per warehouse,
    sorted by bin; with ``pdf`` the one warehouse's list written there too."""
    from crossdock.warehouse.picking import build_picklists, write_picklist_pdf

    with db.read() as s:
        if warehouse:
            stock.get_warehouse(s, warehouse)            # XD-WH-001 for a typo rather than an empty list
        lists = build_picklists(s, now=_now(), warehouse=warehouse, limit=limit)
    written = None
    if pdf is not None and lists:
        if len(lists) > 1:
            raise ConfigError("XD-CFG-009", detail="orders are ready in several warehouses ("
                                                   + ", ".join(p.warehouse for p in lists)
                                                   + "); choose one with --warehouse for the PDF")
        written = str(write_picklist_pdf(lists[0], pdf))
    return {"picklists": [p.to_dict() for p in lists], "pdf": written}


def ship(db: Database, cfg: Any, order: str, *, carrier: str | None = None, service: str | None = None,
         tracking: str | None = None, printer: str | None = None, printer_dpi: int | None = None,
         labels_dir: Path | None = None, ledger: Ledger, lines: str | None = None):
    """``warehouse ship``: book the parcel, write the labels, consume the
    reservation and queue the channel confirmation (a :class:`ShipResult`).
    ``lines`` ("SKU:QTY,SKU:QTY"): ship only these units in this parcel."""
    from crossdock.warehouse.shipping import ShippingOptions, ship_order

    opts = ShippingOptions.from_config(cfg)
    return ship_order(
        db, order, carrier=carrier_from_config(carrier or opts.carrier, cfg), ledger=ledger,
        service=service or opts.service,
        labels_dir=labels_dir or Path(cfg.labels_dir), printer=printer or opts.printer,
        printer_dpi=printer_dpi, tracking_number=tracking, clock=_now, cfg=cfg, options=opts,
        only=parse_lines(lines) if lines is not None else None)


def parse_lines(text: str) -> dict[str, int]:
    """``--lines SKU:QTY[,SKU:QTY…]`` (QTY 1 when left out) as SKU → units; bad
    text is XD-SHIP-008, naming the part it could not read."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        sku, sep, qty = part.rpartition(":") if ":" in part else (part, "", "1")
        if not sku or not qty.isdigit() or int(qty) < 1:
            raise ShippingError("XD-SHIP-008", detail=f"--lines {text!r}: cannot read {part!r} as SKU:QTY "
                                                      "(a quantity of at least 1)")
        out[sku] = out.get(sku, 0) + int(qty)
    return out


def reprint_label(db: Database, cfg: Any, order: str, *, printer: str | None = None,
                  printer_dpi: int | None = None) -> dict[str, Any]:
    """``warehouse reprint``: the order's latest ZPL label to the printer again."""
    from crossdock.db.models import Shipment
    from crossdock.warehouse.shipping import ShippingOptions, find_order, print_label

    opts = ShippingOptions.from_config(cfg)
    address = printer or opts.printer
    if not address:
        raise ConfigError("XD-CFG-009", detail="no printer: give --printer HOST:PORT or set rules.shipping.printer")
    dpi = printer_dpi or opts.printer_dpi
    with db.read() as s:
        found = find_order(s, order)
        shipment = s.scalar(select(Shipment).where(Shipment.order_id == found.id)
                            .order_by(Shipment.id.desc()).limit(1))
    if shipment is None:
        raise ShippingError("XD-SHIP-003", entity=f"order {order}", detail="the order has no shipment to reprint")
    path = next((p for p in shipment.label_paths or [] if p.endswith(f"-{dpi}dpi.zpl")), None)
    try:
        data = Path(path).read_bytes() if path else None
    except OSError as exc:
        raise ShippingError("XD-SHIP-003", entity=f"tracking {shipment.tracking_number}",
                            detail=f"cannot read {path}: {exc.strerror or exc}") from exc
    if data is None:
        raise ShippingError("XD-SHIP-003", entity=f"tracking {shipment.tracking_number}",
                            detail=f"no {dpi} dpi ZPL label recorded")
    sent = print_label(data, address)
    return {"tracking_number": shipment.tracking_number, "printer": address, "bytes": sent, "file": path}


def track(db: Database, cfg: Any, *, stale_days: float | None = None):
    """``warehouse track``: poll the carriers once for parcels not yet
    delivered (a :class:`TrackingResult`)."""
    from crossdock.warehouse.shipping import ShippingOptions, poll_tracking

    opts = ShippingOptions.from_config(cfg)
    return poll_tracking(db, lambda name: carrier_from_config(name, cfg), _now(),
                         max_silence_days=stale_days or opts.stale_after_days)

