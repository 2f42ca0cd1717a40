"""Step 1 of shipping an order: the plan, built in a read transaction. Check
the order is ready (see :mod:`crossdock.warehouse.picking`), build the
:class:`~crossdock.warehouse.parcel.Parcel` from the order, its warehouse
and the catalogue, and the CN22/CN23 declaration when the parcel is
cross-border (XD-SHIP-004 names every missing HS code, origin, weight)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from crossdock.db.models import Channel, Order, OrderLine, Product, Reservation, Shipment, Warehouse
from crossdock.errors import InventoryError, OrderError, ShippingError
from crossdock.models import Address, Money, TaxInfo
from crossdock.platforms import find as find_platform
from crossdock.warehouse.customs import CustomsDeclaration, build_customs_declaration, parcel_is_cross_border
from crossdock.warehouse.parcel import OrderRef, Parcel, ParcelLine, ShipFrom, normalise_country
from crossdock.warehouse.picking import READY_STATUSES, bundle_recipes, readiness
from crossdock.warehouse.shipping.options import ShippingOptions
from crossdock.warehouse.shipping.orders import SHIPPED_STATUSES, OrderIdent


@dataclass(frozen=True, slots=True)
class ShipPlan:
    """What step 1 decided: the parcel, its customs declaration and the
    order lines it ships; booked and recorded by :func:`~.ship.ship_order`."""

    ident: OrderIdent
    warehouse: str
    parcel: Parcel
    customs: CustomsDeclaration | None
    cross_border: bool
    shipments_before: int
    lines: tuple[tuple[int, str, int], ...]     # (order_line_id, platform_line_id, units)
    only: tuple[tuple[str, int], ...] | None = None   # a partial shipment: (SKU, units) asked; None: all left

    @property
    def idempotency_key(self) -> str:
        return f"ship:{self.ident.channel}:{self.ident.platform_order_id}:{self.shipments_before}"


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


# plan_shipment's ORM statements, built once: building a statement and its cache key costs more than
# running it on SQLite, and auto-ship plans every order it ships
_SHIPMENTS_OF = select(Shipment).where(Shipment.order_id == bindparam("order_id")).order_by(Shipment.id)
_LINES_OF = select(OrderLine).where(OrderLine.order_id == bindparam("order_id")).order_by(OrderLine.id)
_RESERVATIONS_OF = select(Reservation).where(Reservation.order_line_id.in_(bindparam("line_ids", expanding=True)))
_PRODUCTS = select(Product).where(Product.sku.in_(bindparam("skus", expanding=True)))


def plan_shipment(session: Session, order: Order, ident: OrderIdent, *, cfg: Any, options: ShippingOptions,
                  today: dt.date, only: Mapping[str, int] | None = None) -> ShipPlan:
    shipments = list(session.scalars(_SHIPMENTS_OF, {"order_id": order.id}))
    if order.local_status in SHIPPED_STATUSES:
        shown = ", ".join(f"{s.carrier} {s.tracking_number}" for s in shipments) or "shipped on the platform"
        raise ShippingError("XD-SHIP-005", channel=order.channel, entity=f"order {order.platform_order_id}",
                            detail=f"already {order.local_status}: {shown}")
    lines = list(session.scalars(_LINES_OF, {"order_id": order.id}))
    reservations = list(session.scalars(_RESERVATIONS_OF, {"line_ids": [ln.id for ln in lines] or [-1]}))
    recipes = bundle_recipes(session, (ln.sku for ln in lines))
    ready = readiness(order, lines, reservations, recipes, only=only)
    if order.local_status not in READY_STATUSES:
        raise OrderError("XD-ORD-006", channel=order.channel, entity=f"order {order.platform_order_id}",
                         detail=f"cannot ship an order that is {order.local_status}")
    if not ready.ready:
        raise InventoryError("XD-INV-001", channel=order.channel, entity=f"order {order.platform_order_id}",
                             detail="not ready to ship: " + "; ".join(ready.problems))
    assert ready.warehouse is not None

    channel = session.get(Channel, order.channel)
    platform = channel.platform if channel is not None and find_platform(channel.platform) is not None else None
    skus = sorted({ln.sku for ln, _q in ready.lines if ln.sku} | {c for r in recipes.values() for c in r})
    products = {p.sku: p for p in session.scalars(_PRODUCTS, {"skus": skus or ["\x00"]})}
    currency = order.currency or (channel.currency if channel else None) or "EUR"
    parcel_lines = []
    for line, qty in ready.lines:
        line_currency = line.currency or currency
        price = _tidy(line.unit_price if line.unit_price is not None else Decimal(0), line_currency)
        # a line of a bundle ships (and is declared) as its components, its price split between them
        for sku, units, value in _contents(line.sku, qty, price, recipes, products):
            product = products.get(sku)
            own = sku == line.sku
            parcel_lines.append(ParcelLine(
                sku=sku, title=(product.title if product else None) or (line.title if own else None) or sku,
                quantity=units, unit_value=Money(_tidy(value, line_currency), line_currency),
                # the catalogue's codes; where it has none, the ones the platform gave with the order
                hs_code=(product.hs_code if product else None) or (line.hs_code if own else None),
                country_of_origin=(product.country_of_origin if product else None)
                or (line.country_of_origin if own else None),
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
    return ShipPlan(ident=ident, warehouse=ready.warehouse, parcel=parcel, customs=customs,
                    cross_border=cross_border, shipments_before=len(shipments),
                    lines=tuple((ln.id, ln.platform_line_id, q) for ln, q in ready.lines),
                    only=tuple(sorted(only.items())) if only is not None else None)


def _contents(sku: str | None, qty: int, unit_price: Decimal, recipes: Mapping[str, Mapping[str, int]],
              products: Mapping[str, Product]) -> list[tuple[str, int, Decimal]]:
    """(SKU, units, value of one unit) a line puts in the parcel: itself, or a bundle's
    components, the bundle's price split in proportion to their base prices (equally per
    unit where a component has none)."""
    if not sku or sku not in recipes:
        return [(sku or "", qty, unit_price)]
    comps = sorted(recipes[sku].items())
    weights = {c: Decimal((products[c].base_price if c in products else None) or 0) for c, _ in comps}
    if any(w <= 0 for w in weights.values()):
        weights = {c: Decimal(1) for c, _ in comps}
    per_bundle = sum(weights[c] * q for c, q in comps)
    return [(c, qty * q, (unit_price * weights[c] / per_bundle).quantize(Decimal("0.01"))) for c, q in comps]


__all__ = ["ShipPlan", "address_from_json", "plan_shipment"]
