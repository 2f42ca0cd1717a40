"""Shipping an order: plan, book, write the labels, record, print (the steps
and their guarantees are in :mod:`crossdock.warehouse.shipping`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.engine import Database
from crossdock.db.models import Order, OrderLine, Reservation, Shipment
from crossdock.errors import ConfigError, CrossdockError, OrderError, ShippingError
from crossdock.models import Money
from crossdock.warehouse.carriers.base import Carrier, CreatedShipment
from crossdock.warehouse.customs import CustomsDeclaration
from crossdock.warehouse.labels import LabelData, render_pdf, render_zpl, write_label
from crossdock.warehouse.ledger import Ledger, ShipmentConfirmation
from crossdock.warehouse.picking import bundle_recipes, readiness
from crossdock.warehouse.printer import NetworkPrinter
from crossdock.warehouse.shipping.options import LABEL_DPIS, ShippingOptions
from crossdock.warehouse.shipping.orders import SHIPPED_STATUSES, find_order, order_ident
from crossdock.warehouse.shipping.plan import ShipPlan, plan_shipment

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]

CONFIRM_SHIPMENT = "confirm_shipment"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True, slots=True)
class ShipResult:
    shipment_id: int
    order_id: int
    channel: str
    platform_order_id: str
    warehouse: str
    carrier: str
    service: str
    tracking_number: str
    label_paths: dict[str, str]              # "pdf", "zpl203", "zpl300" -> path
    customs: CustomsDeclaration | None
    cross_border: bool
    tracking_url: str | None = None
    cost: Money | None = None
    confirmation_enqueued: bool = True
    printed_bytes: int | None = None         # bytes sent to the printer, None when not printed
    print_error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "shipment_id": self.shipment_id, "order_id": self.order_id, "channel": self.channel,
            "platform_order_id": self.platform_order_id, "warehouse": self.warehouse,
            "carrier": self.carrier, "service": self.service, "tracking_number": self.tracking_number,
            "tracking_url": self.tracking_url, "cost": self.cost.to_dict() if self.cost else None,
            "label_paths": dict(self.label_paths), "cross_border": self.cross_border,
            "customs": self.customs.to_dict() if self.customs else None,
            "confirmation_enqueued": self.confirmation_enqueued,
            "printed_bytes": self.printed_bytes, "print_error": self.print_error,
        }


# ----------------------------------------------------------------- labels

def _write_labels(plan: ShipPlan, created: CreatedShipment, *, labels_dir: str | Path,
                  shipped_on: dt.date) -> tuple[dict[str, str], dict[int, bytes]]:
    label = LabelData.from_parcel(plan.parcel, tracking_number=created.tracking_number, carrier=created.carrier,
                                  service=created.service, customs=plan.customs, shipped_on=shipped_on)
    zpl = {dpi: render_zpl(label, dpi=dpi) for dpi in LABEL_DPIS}
    paths = {"pdf": str(write_label(render_pdf(label), folder=labels_dir, tracking_number=created.tracking_number,
                                    fmt="pdf"))}
    for dpi, data in zpl.items():
        # one file per resolution: <tracking>-203dpi.zpl, <tracking>-300dpi.zpl
        paths[f"zpl{dpi}"] = str(write_label(data, folder=labels_dir,
                                             tracking_number=f"{created.tracking_number}-{dpi}dpi", fmt="zpl"))
    return paths, zpl


def print_label(zpl: bytes, printer: str | NetworkPrinter, *, timeout_s: float = 10.0) -> int:
    """Send ZPL raw to ``host[:port]`` (TCP 9100); XD-SHIP-006 / XD-SHIP-003 on failure."""
    target = printer if isinstance(printer, NetworkPrinter) else _parse_printer(printer, timeout_s)
    return target.send(zpl)


def _parse_printer(address: str, timeout_s: float) -> NetworkPrinter:
    try:
        return NetworkPrinter.parse(address, timeout_s=timeout_s)
    except ValueError as exc:
        raise ConfigError("XD-CFG-009", detail=f"--printer {address!r}: {exc}; write host or host:port") from None


# ----------------------------------------------------------------- shipping

def ship_order(
    db: Database,
    order_id: str | int,
    *,
    carrier: Carrier,
    ledger: Ledger,
    service: str | None = None,
    labels_dir: str | Path,
    printer: str | None = None,
    printer_dpi: int | None = None,
    tracking_number: str | None = None,
    clock: Clock = _utcnow,
    cfg: Any = None,
    options: ShippingOptions | None = None,
    only: Mapping[str, int] | None = None,
) -> ShipResult:
    """Ship one order (see :mod:`crossdock.warehouse.shipping` for the steps and guarantees).

    ``order_id`` is a platform order id, ``channel/platform-id`` or the local
    id. ``tracking_number`` is for manual carriers. ``only`` (SKU → units)
    ships part of the order in this parcel: its lines, its confirmation and
    the units consumed are those; the order is ``partially_shipped`` until a
    later parcel ships the rest. ``ledger`` consumes the
    reservation and queues the channel confirmation (the engine's
    :data:`~crossdock.sync_engine.warehouse_ledger.ENGINE_LEDGER`). Raises
    the step's error (XD-ORD-005/006, XD-INV-001 not ready, XD-SHIP-004
    customs, XD-SHIP-001 carrier, XD-SHIP-003 label, XD-SHIP-005 already
    shipped); a printer failure is returned in ``print_error`` instead, since
    the parcel is shipped.
    """
    opts = options or ShippingOptions.from_config(cfg)
    service = service or opts.service
    dpi = printer_dpi or opts.printer_dpi
    if dpi not in LABEL_DPIS:
        raise ConfigError("XD-CFG-009", detail=f"printer dpi must be one of {LABEL_DPIS}, got {dpi}")
    printer_parsed = _parse_printer(printer, 10.0) if printer else None
    started = clock()
    if started.tzinfo is None:
        raise ValueError("clock must return aware datetimes")

    # 1. plan
    failure: CrossdockError | None = None
    with db.read() as session:
        order = find_order(session, order_id)
        ident = order_ident(session, order)
        try:
            plan = plan_shipment(session, order, ident, cfg=cfg, options=opts, today=started.date(), only=only)
        except CrossdockError as exc:
            failure = exc
    if failure is not None:
        outcome = "skipped" if failure.code == "XD-SHIP-005" else "failed"
        synclog.record_now(db, ident.failure("shipment.create", failure, outcome=outcome))
        raise failure

    # 2. book with the carrier (outside any transaction)
    try:
        with synclog.timed() as t:
            created = carrier.create_shipment(plan.parcel, service=service, idempotency_key=plan.idempotency_key,
                                              tracking_number=tracking_number)
    except CrossdockError as exc:
        synclog.record_now(db, ident.failure("shipment.create", exc, details={
            "carrier": getattr(carrier, "name", None), "service": service, "idempotency_key": plan.idempotency_key,
            "warehouse": plan.warehouse}))
        raise
    except Exception as exc:  # noqa: BLE001 - a carrier integration's own exception: translate once, here
        err = ShippingError("XD-SHIP-001", channel=ident.channel, entity=f"order {ident.platform_order_id}",
                            detail=f"carrier {getattr(carrier, 'name', carrier)!r} failed: "
                                   f"{type(exc).__name__}: {exc}"[:500])
        synclog.record_now(db, ident.failure("shipment.create", err, details={"service": service}))
        raise err from exc

    # 3. labels
    shipped_at = clock()
    try:
        paths, zpl = _write_labels(plan, created, labels_dir=labels_dir, shipped_on=shipped_at.date())
    except CrossdockError as exc:
        synclog.record_now(db, ident.failure("label.create", exc, details={
            "carrier": created.carrier, "tracking_number": created.tracking_number}))
        raise

    # 4. record
    try:
        with synclog.correlation(ident.correlation_id):     # the engine's stock events join the chain
            shipment_id, enqueued = db.run_write(lambda s: _record(s, plan, created, paths, service=service,
                                                                    shipped_at=shipped_at, ms=t.ms,
                                                                    ledger=ledger))
    except CrossdockError as exc:
        outcome = "skipped" if exc.code == "XD-SHIP-005" else "failed"
        synclog.record_now(db, ident.failure("shipment.create", exc, outcome=outcome, details={
            "carrier": created.carrier, "tracking_number": created.tracking_number}))
        raise

    result = ShipResult(
        shipment_id=shipment_id, order_id=ident.order_id, channel=ident.channel,
        platform_order_id=ident.platform_order_id, warehouse=plan.warehouse, carrier=created.carrier,
        service=created.service, tracking_number=created.tracking_number, label_paths=paths,
        customs=plan.customs, cross_border=plan.cross_border, tracking_url=created.tracking_url,
        cost=created.cost, confirmation_enqueued=enqueued,
    )
    log.info("order %s/%s shipped: %s %s from %s", ident.channel, ident.platform_order_id, created.carrier,
             created.tracking_number, plan.warehouse)

    # 5. print (the shipment stands whatever the printer does)
    if printer_parsed is not None:
        try:
            sent = print_label(zpl[dpi], printer_parsed)
        except CrossdockError as exc:
            synclog.record_now(db, ident.failure("label.print", exc, details={
                "printer": f"{printer_parsed.host}:{printer_parsed.port}", "tracking_number": created.tracking_number,
                "zpl": paths[f"zpl{dpi}"]}))
            return replace(result, print_error=exc.to_dict())
        synclog.record_now(db, ident.event("label.print", "ok", details={
            "printer": f"{printer_parsed.host}:{printer_parsed.port}", "bytes": sent, "dpi": dpi,
            "tracking_number": created.tracking_number}))
        result = replace(result, printed_bytes=sent)
    return result


def _left_to_ship(quantity: int, shipped: int | None) -> int:
    return max(int(quantity) - int(shipped or 0), 0)


# _record's statements, built once: building a statement costs more than running it on SQLite
_ORDERS = Order.__table__
_LINES = OrderLine.__table__
_SHIPMENTS = Shipment.__table__
_LOCK_ORDER = (select(_ORDERS.c.id, _ORDERS.c.channel, _ORDERS.c.platform_order_id, _ORDERS.c.local_status,
                      _ORDERS.c.fulfillment_channel, _ORDERS.c.warehouse)
               .where(_ORDERS.c.id == bindparam("order_id")).with_for_update())
_COUNT_SHIPMENTS = select(func.count()).select_from(_SHIPMENTS).where(_SHIPMENTS.c.order_id == bindparam("order_id"))
_ORDER_LINES = (select(_LINES.c.id, _LINES.c.platform_line_id, _LINES.c.sku, _LINES.c.quantity,
                       _LINES.c.quantity_shipped)
                .where(_LINES.c.order_id == bindparam("order_id")).order_by(_LINES.c.id))
_LINE_RESERVATIONS = select(Reservation.__table__).where(
    Reservation.__table__.c.order_line_id.in_(bindparam("line_ids", expanding=True)))
_INSERT_SHIPMENT = insert(_SHIPMENTS).returning(_SHIPMENTS.c.id)
_SET_SHIPPED = update(_LINES).where(_LINES.c.id == bindparam("line_id")).values(
    quantity_shipped=bindparam("shipped"))
_SET_ORDER_STATUS = update(_ORDERS).where(_ORDERS.c.id == bindparam("order_id")).values(
    local_status=bindparam("status"), status_changed_at=bindparam("changed_at"))   # updated_at: its onupdate


def _record(session: Session, plan: ShipPlan, created: CreatedShipment, paths: dict[str, str], *, service: str,
            shipped_at: dt.datetime, ms: int, ledger: Ledger) -> tuple[int, bool]:
    """Record the booked shipment, in one write transaction: the order row locked first
    (``FOR UPDATE``), checked still as planned, then the shipment row, the units consumed,
    the lines' shipped units, the order's status and the channel's confirmation queued.
    Core statements (rows, not ORM objects): the same rows written in the same order as
    the ORM's flushes wrote them, without the identity map and unit of work per order."""
    ident = plan.ident
    order: Any = session.execute(_LOCK_ORDER, {"order_id": ident.order_id}).first()
    if order is None:
        raise OrderError("XD-ORD-005", channel=ident.channel, entity=f"order {ident.platform_order_id}",
                         detail="deleted while shipping")
    count = session.scalar(_COUNT_SHIPMENTS, {"order_id": order.id})
    if order.local_status in SHIPPED_STATUSES or count != plan.shipments_before:
        raise ShippingError("XD-SHIP-005", channel=ident.channel, entity=f"order {ident.platform_order_id}",
                            detail=f"shipped by another command meanwhile; this booking "
                                   f"({created.carrier} {created.tracking_number}) was not recorded")
    lines: list[Any] = list(session.execute(_ORDER_LINES, {"order_id": order.id}))
    reservations: list[Any] = list(session.execute(_LINE_RESERVATIONS,
                                                   {"line_ids": [ln.id for ln in lines] or [-1]}))
    ready = readiness(order, lines, reservations, bundle_recipes(session, (ln.sku for ln in lines)),
                      only=dict(plan.only) if plan.only is not None else None)
    if not ready.ready or ready.warehouse != plan.warehouse:
        raise OrderError("XD-ORD-006", channel=ident.channel, entity=f"order {ident.platform_order_id}",
                         detail=f"changed while shipping ({'; '.join(ready.problems) or 'warehouse moved'}); "
                                f"the booking {created.carrier} {created.tracking_number} was not recorded — "
                                "void it with the carrier")

    shipment_id: int = session.execute(_INSERT_SHIPMENT, {
        "order_id": order.id, "warehouse": plan.warehouse, "carrier": created.carrier,
        "service": created.service or service, "tracking_number": created.tracking_number,
        "status": "label_created", "cost_amount": created.cost.amount if created.cost else None,
        "cost_currency": created.cost.currency if created.cost else None,
        "label_paths": [paths[k] for k in sorted(paths)], "customs": plan.customs.to_dict() if plan.customs else None,
        "cross_border": plan.cross_border, "created_at": shipped_at,
    }).scalar_one()

    reference = f"shipment {shipment_id} {created.carrier} {created.tracking_number}"
    shipped_qty = {line_id: qty for line_id, _pl, qty in plan.lines}
    if plan.only is None:
        ledger.consume_order(session, order.id, reference=reference)
    else:               # a parcel of part of the order: these units only, the rest stays reserved
        for line_id, qty in shipped_qty.items():
            ledger.consume_line(session, line_id, quantity=qty, reference=reference)
    now_shipped = {line.id: min(line.quantity, (line.quantity_shipped or 0) + shipped_qty[line.id])
                   for line in lines if line.id in shipped_qty}
    left = any(_left_to_ship(line.quantity, now_shipped.get(line.id, line.quantity_shipped)) for line in lines)
    # the order row first, then its lines: the order the ORM's flush wrote them in
    session.execute(_SET_ORDER_STATUS, {"order_id": order.id, "status": "partially_shipped" if left else "shipped",
                                        "changed_at": shipped_at})
    for line in lines:
        if line.id in now_shipped and now_shipped[line.id] != line.quantity_shipped:   # unchanged: not written
            session.execute(_SET_SHIPPED, {"line_id": line.id, "shipped": now_shipped[line.id]})

    payload: ShipmentConfirmation = {
        "shipment_id": shipment_id, "order_id": order.id, "channel": order.channel,
        "platform_order_id": order.platform_order_id, "carrier": created.carrier,
        "service": created.service or service, "tracking_number": created.tracking_number,
        "tracking_url": created.tracking_url, "shipped_at": shipped_at.isoformat(),
        "lines": [[pl, qty] for _lid, pl, qty in plan.lines], "warehouse": plan.warehouse,
    }
    key = f"{CONFIRM_SHIPMENT}:{shipment_id}"
    enqueued = ledger.queue_confirmation(session, payload, key=key, correlation_id=ident.correlation_id)

    customs = plan.customs
    synclog.record(session, ident.event("label.create", "ok", details={
        "tracking_number": created.tracking_number, "paths": paths,
        "customs_form": customs.form if customs else None}))
    synclog.record(session, ident.event("shipment.create", "ok", duration_ms=ms, details={
        "shipment_id": shipment_id, "carrier": created.carrier, "service": created.service,
        "tracking_number": created.tracking_number, "warehouse": plan.warehouse,
        "cross_border": plan.cross_border, "customs_form": customs.form if customs else None,
        "ioss_number": customs.ioss_number if customs else None, "shipped_at": shipped_at.isoformat(),
        "customs_warnings": list(customs.warnings) if customs else []}))
    synclog.record(session, ident.event("shipment.confirm.queued", "ok" if enqueued else "skipped", details={
        "idempotency_key": key, "shipment_id": shipment_id}))
    return shipment_id, enqueued


__all__ = ["CONFIRM_SHIPMENT", "ShipResult", "print_label", "ship_order"]
