"""Shipping an order, and following its parcel until it is delivered.

:func:`ship_order` works in four steps, so a failure at any point leaves the
order ready to ship with its reservation intact:

1. **Plan** (read transaction): find the order, check it is ready (see
   :mod:`.picking`), build the :class:`~.parcel.Parcel` from the order, its
   warehouse and the catalogue, and the CN22/CN23 declaration when the parcel
   is cross-border (XD-SHIP-004 names every missing HS code, origin, weight).
2. **Book** with the carrier, *outside* any transaction, under an idempotency
   key derived from the order and the number of shipments it already has
   (``ship:<channel>:<order>:<n>``): a retry after a crash books nothing new.
3. **Write the labels**: PDF (with the customs pages) and ZPL at 203 and
   300 dpi, atomically, named after the tracking number.
4. **Record** (one write transaction): the shipment row, the reservations
   consumed (on hand and reserved both go down), the order marked
   ``shipped``, the channel confirmation enqueued in the outbox
   (``confirm_shipment:<shipment id>``: never confirmed twice) and the sync
   events. The order row is locked and re-checked first, so two concurrent
   ``ship`` commands give one shipment and XD-SHIP-005 for the other.

When steps 1-3 fail, only a failed sync event is written. Printing to a
network printer (TCP 9100) comes after the commit: a dead printer does not
undo a booked shipment; the ZPL stays on disk for a reprint
(:func:`print_label`).

:func:`poll_tracking` asks each carrier about open parcels, stores new
tracking events, moves the shipment (and, when every parcel arrived, the
order) to ``delivered`` and flags parcels silent for too long with
XD-SHIP-002.

Every sync event names the platform order id as entity and carries the
order's correlation id (:func:`order_correlation_id`), so
``crossdock logs trace ORDER`` shows import → reservation → label →
confirmation → tracking as one chain.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.engine import Database
from crossdock.db.models import (
    Channel,
    Order,
    OrderLine,
    Product,
    Reservation,
    Shipment,
    SyncEvent,
    Warehouse,
)
from crossdock.db.models import TrackingEvent as TrackingEventRow
from crossdock.errors import (
    ConfigError,
    CrossdockError,
    InventoryError,
    OrderError,
    ShippingError,
)
from crossdock.models import Address, Money, TaxInfo, TrackingEvent
from crossdock.platforms import find as find_platform
from crossdock.warehouse.carriers.base import Carrier, CreatedShipment
from crossdock.warehouse.customs import (
    CustomsCategory,
    CustomsDeclaration,
    build_customs_declaration,
    parcel_is_cross_border,
)
from crossdock.warehouse.labels import LabelData, render_pdf, render_zpl, write_label
from crossdock.warehouse.parcel import OrderRef, Parcel, ParcelLine, ShipFrom, normalise_country
from crossdock.warehouse.picking import READY_STATUSES, readiness
from crossdock.warehouse.printer import NetworkPrinter
from crossdock.warehouse.tracking import (
    STALE_CODE,
    TERMINAL_STATUSES,
    TrackedParcel,
    stale_parcels,
    tracking_status_summary,
)

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
CarrierFactory = Callable[[str], Carrier]

CONFIRM_SHIPMENT = "confirm_shipment"
LABEL_DPIS = (203, 300)
SHIPPED_STATUSES = ("shipped", "delivered")
DEFAULT_STALE_DAYS = 7.0
#: Shipment status of a parcel whose carrier cannot be followed (manual carriers).
UNTRACKED = "untracked"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# ----------------------------------------------------------------- options

@dataclass(frozen=True, slots=True)
class ShippingOptions:
    """The ``[rules.shipping]`` table of the configuration::

        [rules.shipping]
        carrier = "sandbox"            # default for `warehouse ship`
        service = "standard"
        packaging_weight_g = 60        # added to the line weights
        printer = "10.0.0.7:9100"      # default label printer (none: files only)
        printer_dpi = 203
        require_ioss = false           # true: refuse EU facilitated parcels without IOSS (XD-MAP-009)
        customs_category = "sale_of_goods"
        cn22_thresholds = { EUR = "350", GBP = "270" }
        stale_after_days = 7           # XD-SHIP-002 after this many silent days
    """

    carrier: str = "sandbox"
    service: str = "standard"
    packaging_weight_g: int = 0
    printer: str | None = None
    printer_dpi: int = 203
    require_ioss: bool = False
    customs_category: CustomsCategory = CustomsCategory.SALE_OF_GOODS
    cn22_thresholds: Mapping[str, Decimal] | None = None
    stale_after_days: float = DEFAULT_STALE_DAYS

    @classmethod
    def from_config(cls, cfg: Any) -> ShippingOptions:
        raw = ((getattr(cfg, "rules", None) or {}).get("shipping")) or {}
        if not isinstance(raw, Mapping):
            raise ConfigError("XD-CFG-003", detail="rules.shipping must be a table")
        where = "rules.shipping."
        known = {f for f in cls.__dataclass_fields__}  # type: ignore[attr-defined]
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError("XD-CFG-003",
                              detail=f"{where}{unknown[0]}: unknown key (known: {', '.join(sorted(known))})")

        def get(key: str, typ: type | tuple[type, ...], default: Any) -> Any:
            value = raw.get(key, default)
            if value is not default and (not isinstance(value, typ) or isinstance(value, bool) and typ is not bool):
                raise ConfigError("XD-CFG-003", detail=f"{where}{key} has the wrong type: {value!r}")
            return value

        try:
            category = CustomsCategory(get("customs_category", str, CustomsCategory.SALE_OF_GOODS.value))
        except ValueError:
            raise ConfigError("XD-CFG-003", detail=f"{where}customs_category must be one of "
                                                   f"{', '.join(c.value for c in CustomsCategory)}") from None
        thresholds = get("cn22_thresholds", dict, None)
        if thresholds is not None:
            try:
                thresholds = {str(k).upper(): Decimal(str(v)) for k, v in thresholds.items()}
            except InvalidOperation:
                raise ConfigError("XD-CFG-003", detail=f"{where}cn22_thresholds values must be amounts") from None
        dpi = get("printer_dpi", int, 203)
        if dpi not in LABEL_DPIS:
            raise ConfigError("XD-CFG-003", detail=f"{where}printer_dpi must be one of {LABEL_DPIS}")
        packaging = get("packaging_weight_g", int, 0)
        stale = float(get("stale_after_days", (int, float), DEFAULT_STALE_DAYS))
        if packaging < 0 or stale <= 0:
            raise ConfigError("XD-CFG-003", detail=f"{where}packaging_weight_g must be >= 0 and "
                                                   "stale_after_days > 0")
        return cls(carrier=get("carrier", str, "sandbox"), service=get("service", str, "standard"),
                   packaging_weight_g=packaging, printer=get("printer", str, None), printer_dpi=dpi,
                   require_ioss=bool(get("require_ioss", bool, False)), customs_category=category,
                   cn22_thresholds=thresholds, stale_after_days=stale)


# ----------------------------------------------------------------- results

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


@dataclass(frozen=True, slots=True)
class _OrderIdent:
    order_id: int
    channel: str
    platform_order_id: str
    correlation_id: str

    def event(self, operation: str, outcome: str, **fields: Any) -> synclog.Event:
        return synclog.Event(operation=operation, outcome=outcome, channel=self.channel, entity_type="order",
                             entity=self.platform_order_id, correlation_id=self.correlation_id, **fields)

    def failure(self, operation: str, exc: CrossdockError, *, outcome: str = "failed",
                details: dict[str, Any] | None = None) -> synclog.Event:
        return synclog.event_from_error(operation, exc, outcome=outcome, channel=self.channel,
                                        entity=self.platform_order_id, entity_type="order",
                                        correlation_id=self.correlation_id, details=details)


@dataclass(frozen=True, slots=True)
class _Plan:
    ident: _OrderIdent
    warehouse: str
    parcel: Parcel
    customs: CustomsDeclaration | None
    cross_border: bool
    shipments_before: int
    lines: tuple[tuple[int, str, int], ...]     # (order_line_id, platform_line_id, units)

    @property
    def idempotency_key(self) -> str:
        return f"ship:{self.ident.channel}:{self.ident.platform_order_id}:{self.shipments_before}"


# ----------------------------------------------------------------- finding orders

def find_order(session: Session, ref: str | int) -> Order:
    """An order by platform order id (``302-…``), ``channel/platform-id`` or
    local numeric id. XD-ORD-005 when none matches; XD-CFG-009 when a
    platform id exists on several channels."""
    text = str(ref).strip()
    if not text:
        raise OrderError("XD-ORD-005", detail="no order id given")
    if "/" in text:
        channel, _, pid = text.partition("/")
        order = session.scalar(select(Order).where(Order.channel == channel, Order.platform_order_id == pid))
        if order is None:
            raise OrderError("XD-ORD-005", channel=channel, entity=f"order {pid}", detail="not imported")
        return order
    matches = list(session.scalars(select(Order).where(Order.platform_order_id == text).limit(5)))
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ConfigError("XD-CFG-009", detail=f"order {text} exists on several channels "
                                               f"({', '.join(sorted(o.channel for o in matches))}); "
                                               f"write CHANNEL/{text}")
    if text.isdigit():
        order = session.get(Order, int(text))
        if order is not None:
            return order
    raise OrderError("XD-ORD-005", entity=f"order {text}", detail="no order with that id")


def derived_correlation_id(channel: str, platform_order_id: str) -> str:
    """A stable correlation id for an order (the one its import used)."""
    from crossdock.synclog import order_correlation

    return order_correlation(channel, platform_order_id)


def order_correlation_id(session: Session, order: Order) -> str:
    """The correlation id of the order's first logged event (its import),
    else :func:`derived_correlation_id`."""
    cid = session.scalar(
        select(SyncEvent.correlation_id)
        .where(SyncEvent.entity == order.platform_order_id, SyncEvent.correlation_id.is_not(None),
               or_(SyncEvent.channel == order.channel, SyncEvent.channel.is_(None)))
        .order_by(SyncEvent.at, SyncEvent.id).limit(1))
    return cid or derived_correlation_id(order.channel, order.platform_order_id)


def _ident(session: Session, order: Order) -> _OrderIdent:
    return _OrderIdent(order.id, order.channel, order.platform_order_id, order_correlation_id(session, order))


# ----------------------------------------------------------------- building the parcel

_ADDRESS_KEYS = {
    "country_code": "country_code", "country": "country_code", "countrycode": "country_code",
    "name": "name", "line1": "line1", "address1": "line1", "addressline1": "line1", "street": "line1",
    "line2": "line2", "address2": "line2", "addressline2": "line2",
    "city": "city", "region": "region", "state": "region", "province": "region",
    "stateorregion": "region", "postal_code": "postal_code", "postalcode": "postal_code", "zip": "postal_code",
    "postcode": "postal_code", "phone": "phone",
}


def address_from_json(raw: Mapping[str, Any] | None, *, country: str | None = None) -> Address:
    """An :class:`Address` from a stored JSON address (crossdock's field names,
    or the usual platform spellings); ``country`` fills a missing country."""
    values: dict[str, str] = {}
    for key, value in (raw or {}).items():
        target = _ADDRESS_KEYS.get(str(key).replace("_", "").lower()) or _ADDRESS_KEYS.get(str(key))
        if target and value not in (None, "") and target not in values:
            values[target] = str(value)
    if "country_code" not in values and country:
        values["country_code"] = country
    if "country_code" in values:
        values["country_code"] = normalise_country(values["country_code"]) or values["country_code"]
    return Address(**values)


def _ship_from(session: Session, code: str, cfg: Any) -> ShipFrom:
    wh_cfg = (getattr(cfg, "warehouses", None) or {}).get(code)
    row = session.get(Warehouse, code)
    country = (wh_cfg.country if wh_cfg else None) or (row.country if row else None)
    if not country:
        from crossdock.errors import WarehouseError

        raise WarehouseError("XD-WH-001", entity=f"warehouse {code}", detail="not configured")
    raw = (wh_cfg.address if wh_cfg and wh_cfg.address else None) or (row.address if row else None) or {}
    address = address_from_json(raw, country=country)
    if not address.name:
        name = (wh_cfg.name if wh_cfg else None) or (row.name if row else None)
        if name and name != code:
            address = replace(address, name=name)
    return ShipFrom(code, country, address)


def _tax(order: Order, lines: Iterable[OrderLine]) -> TaxInfo | None:
    ioss = order.ioss_number or next((ln.ioss_number for ln in lines if ln.ioss_number), None)
    scheme = (order.tax_scheme or "").strip() or None
    if not (order.tax_model or ioss or scheme):
        return None
    deemed = scheme.upper() if scheme and scheme.upper() in ("IOSS", "UOSS") else None
    return TaxInfo(model=order.tax_model, ioss_number=ioss, scheme=scheme, deemed_reseller_category=deemed)


def _to_eur(session: Session, on: dt.date) -> Callable[[Money], Decimal]:
    table: list[Any] = []

    def convert(money: Money) -> Decimal:
        if not table:
            from crossdock.mapping.fx_store import table_from_db

            table.append(table_from_db(session))
        return table[0].convert(money, "EUR", on).amount

    return convert


def _tidy(amount: Decimal, currency: str) -> Decimal:
    """``49.9000`` (as stored) -> ``49.90``: the currency's minor unit when no
    precision is lost, so customs forms show amounts as people write them."""
    from crossdock.mapping.money import is_known_currency, minor_unit

    if not is_known_currency(currency):
        return amount
    unit = minor_unit(currency)
    quantised = amount.quantize(unit)
    return quantised if quantised == amount else amount


def _plan(session: Session, order: Order, ident: _OrderIdent, *, cfg: Any, options: ShippingOptions,
          today: dt.date) -> _Plan:
    shipments = list(session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)))
    if order.local_status in SHIPPED_STATUSES:
        shown = ", ".join(f"{s.carrier} {s.tracking_number}" for s in shipments) or "shipped on the platform"
        raise ShippingError("XD-SHIP-005", channel=order.channel, entity=f"order {order.platform_order_id}",
                            detail=f"already {order.local_status}: {shown}")
    lines = list(session.scalars(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)))
    reservations = list(session.scalars(
        select(Reservation).where(Reservation.order_line_id.in_([ln.id for ln in lines] or [-1]))))
    ready = readiness(order, lines, reservations)
    if order.local_status not in READY_STATUSES:
        raise OrderError("XD-ORD-006", channel=order.channel, entity=f"order {order.platform_order_id}",
                         detail=f"cannot ship an order that is {order.local_status}")
    if not ready.ready:
        raise InventoryError("XD-INV-001", channel=order.channel, entity=f"order {order.platform_order_id}",
                             detail="not ready to ship: " + "; ".join(ready.problems))
    assert ready.warehouse is not None

    channel = session.get(Channel, order.channel)
    platform = channel.platform if channel is not None and find_platform(channel.platform) is not None else None
    skus = sorted({ln.sku for ln, _q in ready.lines if ln.sku})
    products = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus or ["\x00"])))}
    currency = order.currency or (channel.currency if channel else None) or "EUR"
    parcel_lines = []
    for line, qty in ready.lines:
        product = products.get(line.sku or "")
        line_currency = line.currency or currency
        price = _tidy(line.unit_price if line.unit_price is not None else Decimal(0), line_currency)
        parcel_lines.append(ParcelLine(
            sku=line.sku or "", title=(product.title if product else None) or line.title or line.sku or "",
            quantity=qty, unit_value=Money(price, line_currency),
            hs_code=product.hs_code if product else None,
            country_of_origin=product.country_of_origin if product else None,
            weight_g=product.weight_g if product else None,
        ))
    ship_to = address_from_json(order.shipping_address, country=order.buyer_country)
    parcel = Parcel(
        ship_from=_ship_from(session, ready.warehouse, cfg),
        ship_to=ship_to,
        lines=tuple(parcel_lines),
        order=OrderRef(order.channel, order.platform_order_id, platform=platform,
                       marketplace_id=order.marketplace_id),
        tax=_tax(order, lines),
        packaging_weight_g=options.packaging_weight_g,
    )
    cross_border = parcel_is_cross_border(parcel)      # XD-SHIP-004 when the address has no country
    customs = None
    if cross_border:
        customs = build_customs_declaration(
            parcel, category=options.customs_category, cn22_thresholds=options.cn22_thresholds,
            to_eur=_to_eur(session, today), require_ioss=options.require_ioss)
    return _Plan(ident=ident, warehouse=ready.warehouse, parcel=parcel, customs=customs, cross_border=cross_border,
                 shipments_before=len(shipments),
                 lines=tuple((ln.id, ln.platform_line_id, q) for ln, q in ready.lines))


# ----------------------------------------------------------------- labels

def _write_labels(plan: _Plan, created: CreatedShipment, *, labels_dir: str | Path,
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
    service: str | None = None,
    labels_dir: str | Path,
    printer: str | None = None,
    printer_dpi: int | None = None,
    tracking_number: str | None = None,
    clock: Clock = _utcnow,
    cfg: Any = None,
    options: ShippingOptions | None = None,
) -> ShipResult:
    """Ship one order (see the module doc for the steps and guarantees).

    ``order_id`` is a platform order id, ``channel/platform-id`` or the local
    id. ``tracking_number`` is for manual carriers. Raises the step's error
    (XD-ORD-005/006, XD-INV-001 not ready, XD-SHIP-004 customs, XD-SHIP-001
    carrier, XD-SHIP-003 label, XD-SHIP-005 already shipped); a printer
    failure is returned in ``print_error`` instead, since the parcel is shipped.
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
        ident = _ident(session, order)
        try:
            plan = _plan(session, order, ident, cfg=cfg, options=opts, today=started.date())
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
                                                                    shipped_at=shipped_at, ms=t.ms))
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


def _record(session: Session, plan: _Plan, created: CreatedShipment, paths: dict[str, str], *, service: str,
            shipped_at: dt.datetime, ms: int) -> tuple[int, bool]:
    from crossdock.sync_engine import outbox

    ident = plan.ident
    order = session.get(Order, ident.order_id, with_for_update=True, populate_existing=True)
    if order is None:
        raise OrderError("XD-ORD-005", channel=ident.channel, entity=f"order {ident.platform_order_id}",
                         detail="deleted while shipping")
    count = session.scalar(select(func.count()).select_from(Shipment).where(Shipment.order_id == order.id))
    if order.local_status in SHIPPED_STATUSES or count != plan.shipments_before:
        raise ShippingError("XD-SHIP-005", channel=ident.channel, entity=f"order {ident.platform_order_id}",
                            detail=f"shipped by another command meanwhile; this booking "
                                   f"({created.carrier} {created.tracking_number}) was not recorded")
    lines = list(session.scalars(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)))
    reservations = list(session.scalars(
        select(Reservation).where(Reservation.order_line_id.in_([ln.id for ln in lines] or [-1]))))
    ready = readiness(order, lines, reservations)
    if not ready.ready or ready.warehouse != plan.warehouse:
        raise OrderError("XD-ORD-006", channel=ident.channel, entity=f"order {ident.platform_order_id}",
                         detail=f"changed while shipping ({'; '.join(ready.problems) or 'warehouse moved'}); "
                                f"the booking {created.carrier} {created.tracking_number} was not recorded — "
                                "void it with the carrier")

    shipment = Shipment(
        order_id=order.id, warehouse=plan.warehouse, carrier=created.carrier, service=created.service or service,
        tracking_number=created.tracking_number, status="label_created",
        cost_amount=created.cost.amount if created.cost else None,
        cost_currency=created.cost.currency if created.cost else None,
        label_paths=[paths[k] for k in sorted(paths)], customs=plan.customs.to_dict() if plan.customs else None,
        cross_border=plan.cross_border, created_at=shipped_at,
    )
    session.add(shipment)
    session.flush()

    _consume(session, order.id, reference=f"shipment {shipment.id} {created.carrier} {created.tracking_number}")
    shipped_qty = {line_id: qty for line_id, _pl, qty in plan.lines}
    for line in lines:
        if line.id in shipped_qty:
            line.quantity_shipped = min(line.quantity, (line.quantity_shipped or 0) + shipped_qty[line.id])
    order.local_status = "shipped"
    order.status_changed_at = shipped_at

    payload = {
        "shipment_id": shipment.id, "order_id": order.id, "channel": order.channel,
        "platform_order_id": order.platform_order_id, "carrier": created.carrier,
        "service": created.service or service, "tracking_number": created.tracking_number,
        "tracking_url": created.tracking_url, "shipped_at": shipped_at.isoformat(),
        "lines": [[pl, qty] for _lid, pl, qty in plan.lines], "warehouse": plan.warehouse,
    }
    key = f"{CONFIRM_SHIPMENT}:{shipment.id}"
    enqueued = outbox.enqueue(session, CONFIRM_SHIPMENT, channel=order.channel, entity=order.platform_order_id,
                              payload=payload, idempotency_key=key, priority=outbox.PRIORITY_URGENT,
                              correlation_id=ident.correlation_id)

    customs = plan.customs
    synclog.record(session, ident.event("label.create", "ok", details={
        "tracking_number": created.tracking_number, "paths": paths,
        "customs_form": customs.form if customs else None}))
    synclog.record(session, ident.event("shipment.create", "ok", duration_ms=ms, details={
        "shipment_id": shipment.id, "carrier": created.carrier, "service": created.service,
        "tracking_number": created.tracking_number, "warehouse": plan.warehouse,
        "cross_border": plan.cross_border, "customs_form": customs.form if customs else None,
        "ioss_number": customs.ioss_number if customs else None, "shipped_at": shipped_at.isoformat(),
        "customs_warnings": list(customs.warnings) if customs else []}))
    synclog.record(session, ident.event("shipment.confirm.queued", "ok" if enqueued else "skipped", details={
        "idempotency_key": key, "shipment_id": shipment.id}))
    return shipment.id, enqueued


def _consume(session: Session, order_id: int, *, reference: str) -> None:
    from crossdock.sync_engine.inventory import consume_order

    consume_order(session, order_id, reference=reference)


# ----------------------------------------------------------------- tracking

@dataclass(frozen=True, slots=True)
class TrackingResult:
    checked: int = 0
    new_events: int = 0
    delivered: tuple[str, ...] = ()              # tracking numbers delivered in this run
    stale: tuple[dict[str, Any], ...] = ()       # newly flagged XD-SHIP-002 parcels
    failures: tuple[dict[str, Any], ...] = ()    # carriers that could not answer
    skipped: int = 0                             # untrackable (manual) parcels

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "new_events": self.new_events, "delivered": list(self.delivered),
                "stale": list(self.stale), "failures": list(self.failures), "skipped": self.skipped}


@dataclass(slots=True)
class _Open:
    shipment_id: int
    order_id: int
    carrier: str
    tracking_number: str
    created_at: dt.datetime
    events: list[TrackingEvent] = field(default_factory=list)


def _as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("tracking event times must be aware datetimes")
    return value.astimezone(dt.timezone.utc)


def poll_tracking(
    db: Database,
    carrier_factory: CarrierFactory,
    now: dt.datetime,
    *,
    max_silence_days: float = DEFAULT_STALE_DAYS,
    max_age_days: float = 90.0,
    limit: int = 500,
) -> TrackingResult:
    """Ask the carriers about every parcel not yet delivered and shipped in
    the last ``max_age_days`` (oldest first, at most ``limit``); store new
    events, update the shipment (and the order once all its parcels are
    delivered) and flag silent parcels with XD-SHIP-002 on the order, once.
    Parcels of carriers that cannot be tracked (manual carriers) are set to
    status ``untracked`` and never asked again. Carriers are called outside
    any transaction; each shipment is then written in its own short
    transaction."""
    now = _as_utc(now)
    with db.read() as session:
        rows = list(session.scalars(
            select(Shipment).where(Shipment.delivered_at.is_(None),
                                   Shipment.status.not_in([*TERMINAL_STATUSES, UNTRACKED]),
                                   Shipment.created_at >= now - dt.timedelta(days=max_age_days))
            .order_by(Shipment.created_at, Shipment.id).limit(limit)))
        open_parcels = [_Open(r.id, r.order_id, r.carrier, r.tracking_number, r.created_at) for r in rows]

    carriers: dict[str, Carrier | CrossdockError] = {}
    checked = new_total = skipped = 0
    delivered: list[str] = []
    stale: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for parcel in open_parcels:
        carrier = carriers.get(parcel.carrier)
        if carrier is None:
            try:
                carrier = carrier_factory(parcel.carrier)
            except CrossdockError as exc:
                carrier = exc
            carriers[parcel.carrier] = carrier
        trackable = not isinstance(carrier, CrossdockError) and bool(getattr(carrier, "trackable", True))
        events: list[TrackingEvent] = []
        error: CrossdockError | None = carrier if isinstance(carrier, CrossdockError) else None
        if trackable:
            assert not isinstance(carrier, CrossdockError)
            try:
                events = list(carrier.track(parcel.tracking_number, shipped_at=parcel.created_at))
            except CrossdockError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 - translate the carrier's own failure once
                error = ShippingError("XD-SHIP-001", entity=f"tracking {parcel.tracking_number}",
                                      detail=f"tracking query failed: {type(exc).__name__}: {exc}"[:300],
                                      retry_after_s=60.0)
        elif error is None:
            db.run_write(lambda s, sid=parcel.shipment_id: _mark_untracked(s, sid))
            skipped += 1
            continue
        checked += 1
        outcome = db.run_write(lambda s, p=parcel, ev=events, er=error: _store_tracking(
            s, p, ev, er, now=now, max_silence_days=max_silence_days))
        new_total += outcome["new"]
        if outcome["delivered"]:
            delivered.append(parcel.tracking_number)
        if outcome["stale"] is not None:
            stale.append(outcome["stale"])
        if error is not None:
            failures.append({"tracking_number": parcel.tracking_number, "carrier": parcel.carrier,
                             "code": error.code, "message": error.message})
    log.info("tracking: %d parcels checked, %d new events, %d delivered, %d newly stale, %d failures",
             checked, new_total, len(delivered), len(stale), len(failures))
    return TrackingResult(checked=checked, new_events=new_total, delivered=tuple(delivered), stale=tuple(stale),
                          failures=tuple(failures), skipped=skipped)


def _mark_untracked(session: Session, shipment_id: int) -> None:
    shipment = session.get(Shipment, shipment_id, populate_existing=True)
    if shipment is not None and shipment.status == "label_created":
        shipment.status = UNTRACKED


def _store_tracking(session: Session, parcel: _Open, events: list[TrackingEvent], error: CrossdockError | None,
                    *, now: dt.datetime, max_silence_days: float) -> dict[str, Any]:
    shipment = session.get(Shipment, parcel.shipment_id, populate_existing=True)
    order = session.get(Order, parcel.order_id, populate_existing=True)
    assert shipment is not None and order is not None
    ident = _ident(session, order)
    stored = list(session.scalars(select(TrackingEventRow).where(TrackingEventRow.shipment_id == shipment.id)))
    seen = {(_as_utc(r.occurred_at), r.status) for r in stored}
    known = [TrackingEvent(tracking_number=shipment.tracking_number, occurred_at=_as_utc(r.occurred_at),
                           status=r.status, description=r.description or "", location=r.location) for r in stored]
    new: list[TrackingEvent] = []
    for ev in sorted(events, key=lambda e: _as_utc(e.occurred_at)):
        key = (_as_utc(ev.occurred_at), ev.status)
        if key in seen:
            continue
        seen.add(key)
        new.append(ev)
        session.add(TrackingEventRow(shipment_id=shipment.id, occurred_at=key[0], status=ev.status,
                                     description=ev.description or "", location=ev.location, recorded_at=now))
        synclog.record(session, ident.event("tracking.event", "ok", details={
            "tracking_number": shipment.tracking_number, "carrier": shipment.carrier, "status": ev.status,
            "occurred_at": key[0].isoformat(), "location": ev.location, "description": ev.description}))
    if error is not None:
        synclog.record(session, ident.failure("tracking.poll", error, outcome="retry", details={
            "tracking_number": shipment.tracking_number, "carrier": shipment.carrier}))

    summary = tracking_status_summary([*known, *new])
    became_delivered = False
    if summary.event_count:
        shipment.status = summary.status
        shipment.last_event_at = summary.last_event_at
        if summary.delivered_at is not None and shipment.delivered_at is None:
            shipment.delivered_at = summary.delivered_at
            became_delivered = True
    if became_delivered:
        synclog.record(session, ident.event("shipment.delivered", "ok", details={
            "tracking_number": shipment.tracking_number, "delivered_at": summary.delivered_at.isoformat()
            if summary.delivered_at else None}))
        undelivered = session.scalar(select(func.count()).select_from(Shipment).where(
            Shipment.order_id == order.id, Shipment.id != shipment.id, Shipment.delivered_at.is_(None)))
        if not undelivered and order.local_status == "shipped":
            order.local_status = "delivered"
            order.status_changed_at = now

    flags = list(order.flags or [])
    silent = stale_parcels([TrackedParcel(tracking_number=shipment.tracking_number, carrier=shipment.carrier,
                                          shipped_at=shipment.created_at, events=[*known, *new],
                                          order_ref=f"{order.channel}/{order.platform_order_id}")],
                           now, max_silence_days=max_silence_days)
    newly_stale: dict[str, Any] | None = None
    if silent and STALE_CODE not in flags:
        s = silent[0]
        order.flags = [*flags, STALE_CODE]
        newly_stale = {"tracking_number": s.tracking_number, "carrier": s.carrier, "order": s.order_ref,
                       "last_heard_at": s.last_heard_at.isoformat(), "last_status": s.last_status,
                       "silent_days": round(s.silent_for.total_seconds() / 86400, 1)}
        synclog.record(session, ident.event(
            "tracking.stale", "failed", code=STALE_CODE,
            message=f"no tracking event for {newly_stale['silent_days']} days "
                    f"({shipment.carrier} {shipment.tracking_number})", details=newly_stale))
    elif not silent and STALE_CODE in flags:
        order.flags = [f for f in flags if f != STALE_CODE]
        synclog.record(session, ident.event("tracking.resumed", "ok", details={
            "tracking_number": shipment.tracking_number}))
    return {"new": len(new), "delivered": became_delivered, "stale": newly_stale}


__all__ = [
    "CONFIRM_SHIPMENT",
    "LABEL_DPIS",
    "ShipResult",
    "ShippingOptions",
    "TrackingResult",
    "address_from_json",
    "derived_correlation_id",
    "find_order",
    "order_correlation_id",
    "poll_tracking",
    "print_label",
    "ship_order",
]
