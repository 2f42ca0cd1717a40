"""The rows an order is stored as: ``orders`` and ``order_lines`` values in
the column order the bulk inserts use, and the lookup of the orders already
stored (:mod:`crossdock.sync_engine.orders` writes them)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from crossdock.db.models import PLATFORM_ID_MAX
from crossdock.models import Address, Money, Order
from crossdock.sync_engine._sql import (
    IN_CHUNK,
    as_is,
    binder,
    chunks,
    in_param,
    in_values,
    is_postgres,
    list_kind,
    list_param,
    lookup_chunk,
)
from crossdock.sync_engine._tables import LISTINGS, ORDERS

__all__ = ["ADDRESS_COLS", "AMOUNT_COLS", "Binds", "Customs", "KNOWN_COLS", "LINE_COLS", "NO_FLAGS", "ORDER_COLS",
           "PLAIN", "binds", "details_filled", "find_existing", "line_rows", "line_values", "listed_customs",
           "order_row", "order_values"]


_ADDRESS_FIELDS = tuple(f.name for f in dataclasses.fields(Address))
_address_values = attrgetter(*_ADDRESS_FIELDS)


def _address(a: Address | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {k: v for k, v in zip(_ADDRESS_FIELDS, _address_values(a)) if v is not None}


NO_FLAGS: list[Any] = []   # never mutated: a new order has no flags

# Column order of the tuples built by _order_values / _line_values (bulk inserts, see _sql.insert_tuples).
ORDER_COLS = ("id", "channel", "platform_order_id", "platform_status", "local_status", "marketplace_id",
              "purchased_at", "platform_updated_at", "ship_by", "buyer_country", "currency", "total_amount",
              "tax_model", "tax_scheme", "ioss_number", "fulfillment_channel", "warehouse", "shipping_address",
              "flags", "imported_at", "updated_at", "status_changed_at", "tax_amount", "shipping_amount",
              "shipping_tax_amount", "presentment_currency", "presentment_total", "presentment_tax",
              "presentment_shipping")
LINE_COLS = ("id", "order_id", "platform_line_id", "sku", "listing_id", "title", "quantity", "quantity_shipped",
             "unit_price", "currency", "tax_amount", "ioss_number", "shipping_amount", "shipping_tax_amount",
             "presentment_unit_price", "hs_code", "country_of_origin")


class Binds(NamedTuple):
    """Bind conversions for the typed columns of the tuples below (see _sql.binder)."""

    at: Callable[[Any], Any]           # UTC datetimes
    json: Callable[[Any], Any]
    money: Callable[[Any], Any]


PLAIN = Binds(as_is, as_is, as_is)     # Python values, for Core


def binds(session: Session) -> Binds:
    return Binds(binder(session, ORDERS.c.purchased_at), binder(session, ORDERS.c.shipping_address),
                  binder(session, ORDERS.c.total_amount))


def order_values(channel: str, o: Order, local: str, oid: int | None, b: Binds, at: Any,
                  flags: Any) -> tuple[Any, ...]:
    """One ``orders`` row in ORDER_COLS order; ``at`` and ``flags`` are given already bound."""
    tax, total, conv, money = o.tax, o.total, b.at, b.money
    purchased, updated = o.purchased_at, o.updated_at
    purchased_b = conv(purchased)
    updated_b = purchased_b if updated == purchased else conv(updated)   # a new order: often the same moment
    ship_by = o.ship_by
    shipping, shipping_tax = o.shipping, o.shipping_tax
    p_total, p_tax, p_shipping = o.presentment_total, o.presentment_tax, o.presentment_shipping
    presented = p_total or p_tax or p_shipping
    tax_amount = tax.tax_amount if tax else None
    return (oid, channel, o.platform_order_id, o.platform_status[:PLATFORM_ID_MAX], local, o.marketplace_id,
            purchased_b, updated_b, conv(ship_by) if ship_by is not None else None, o.buyer_country,
            total.currency if total else None, money(total.amount) if total else None,
            tax.model if tax else None, tax.scheme if tax else None, tax.ioss_number if tax else None,
            o.fulfillment_channel, None, b.json(_address(o.shipping_address)), flags, at, at, at,
            money(tax_amount.amount) if tax_amount is not None else None,
            money(shipping.amount) if shipping is not None else None,
            money(shipping_tax.amount) if shipping_tax is not None else None,
            presented.currency if presented else None,
            money(p_total.amount) if p_total is not None else None,
            money(p_tax.amount) if p_tax is not None else None,
            money(p_shipping.amount) if p_shipping is not None else None)


def _amount(m: Money | None, money: Callable[[Any], Any]) -> Any:
    return money(m.amount) if m is not None else None


#: SKU → (HS code, country of origin) of the channel's listing (:func:`listed_customs`)
Customs = Mapping[str, tuple[str | None, str | None]]


def listed_customs(session: Session, channel: str, orders: Iterable[Order]) -> Customs:
    """The platform's product data for customs (``channel_listings``, read by
    ``listings pull``) of the SKUs of lines that came without an HS code or
    country of origin: an order line gets the platform's values before the
    catalogue's (one indexed query per chunk of SKUs; none when every line has both)."""
    skus = sorted({ln.sku for o in orders for ln in o.lines
                   if ln.sku and not (ln.hs_code and ln.country_of_origin)})
    out: dict[str, tuple[str | None, str | None]] = {}
    kind = list_kind(session)
    for part in chunks(skus, lookup_chunk(session)):      # one parameter per chunk, not one per SKU
        for r in session.execute(_customs_of(kind), {"p_channel": channel, "p_skus": list_param(kind, part)}):
            out[r.sku] = (r.hs_code, r.country_of_origin)
    return out


@functools.lru_cache(maxsize=4)
def _customs_of(kind: str) -> Any:
    """listed_customs' query, built once per list kind (every window of new orders runs it)."""
    L = LISTINGS.c
    return select(L.sku, L.hs_code, L.country_of_origin).where(
        L.channel == bindparam("p_channel"), in_param(kind, L.sku, "p_skus"),
        L.hs_code.is_not(None) | L.country_of_origin.is_not(None))


def line_values(order_id: int, o: Order, line_ids: Iterable[int | None], b: Binds,
                listed: Customs | None = None) -> list[tuple[Any, ...]]:
    """The order's ``order_lines`` rows in LINE_COLS order (``line_ids`` in line order); ``listed``:
    the listings' customs data, for lines the order gave none."""
    rows = []
    money = b.money
    for line, lid in zip(o.lines, line_ids):
        tax, price = line.tax, line.unit_price
        hs, origin = (listed or {}).get(line.sku or "", (None, None))
        rows.append((lid, order_id, line.platform_line_id, line.sku, line.listing_id,
                     line.title, line.quantity, line.quantity_shipped,
                     money(price.amount) if price else None, price.currency if price else None,
                     money(tax.tax_amount.amount) if tax and tax.tax_amount else None,
                     tax.ioss_number if tax else None, _amount(line.shipping, money),
                     _amount(line.shipping_tax, money), _amount(line.presentment_unit_price, money),
                     line.hs_code or hs, line.country_of_origin or origin))
    return rows


def order_row(channel: str, o: Order, local: str, at: dt.datetime, *, oid: int | None = None) -> dict[str, Any]:
    """One ``orders`` row as a dict of Python values (for Core; the import inserts bound tuples)."""
    return dict(zip(ORDER_COLS, order_values(channel, o, local, oid, PLAIN, at, NO_FLAGS)))


def line_rows(order_id: int, o: Order) -> list[dict[str, Any]]:
    return [dict(zip(LINE_COLS, row)) for row in line_values(order_id, o, [None] * len(o.lines), PLAIN)]


KNOWN_COLS = (ORDERS.c.id, ORDERS.c.platform_order_id, ORDERS.c.platform_status, ORDERS.c.local_status,
               ORDERS.c.platform_updated_at, ORDERS.c.status_changed_at, ORDERS.c.flags, ORDERS.c.buyer_country,
               ORDERS.c.total_amount)


#: The columns of an order's amounts and of its address, filled by :func:`details_filled`.
AMOUNT_COLS = ("currency", "total_amount", "tax_model", "tax_scheme", "ioss_number", "tax_amount", "shipping_amount",
               "shipping_tax_amount", "presentment_currency", "presentment_total", "presentment_tax",
               "presentment_shipping")
ADDRESS_COLS = ("buyer_country", "shipping_address")


def details_filled(row: Any, o: Order) -> dict[str, Any] | None:
    """What a stored order read before the platform gave it gets from a newer
    read that has it, else None: an order first read Pending has no amounts
    and no shipping address (Amazon gives them once it is paid; an event's
    read comes that early). The amounts are filled while the stored order has
    none; the address while it has no country — an address crossdock erased
    keeps its country, so it is never filled again. The values are the ones
    :func:`order_values` stores for a new order."""
    cols = (AMOUNT_COLS if row.total_amount is None and o.total is not None else ()) \
        + (ADDRESS_COLS if not row.buyer_country and o.buyer_country else ())
    if not cols:
        return None
    values = dict(zip(ORDER_COLS, order_values("", o, "", row.id, PLAIN, None, None)))
    return {"oid": row.id, **{c: values[c] for c in cols}}


def find_existing(session: Session, channel: str, pids: list[str]) -> dict[str, Any]:
    """The stored orders among ``pids``. On PostgreSQL the ids are joined as
    ``unnest(array)``: an index lookup per id whatever the table statistics
    (a long ``IN`` list on a freshly filled, not yet analysed table gets a
    plan that filters every row of the channel)."""
    found: dict[str, Any] = {}
    pg = is_postgres(session)
    step = 1000 if pg else lookup_chunk(session)
    json_list = not pg and step > IN_CHUNK          # SQLite reading the list as one JSON parameter
    for part in chunks(pids, step):
        if pg:
            rows = session.execute(_KNOWN_PG, {"channel": channel, "pids": part})
        elif json_list:
            rows = session.execute(_KNOWN_JSON, {"channel": channel, "pids": json.dumps(list(part))})
        else:
            rows = session.execute(select(*KNOWN_COLS).where(ORDERS.c.channel == channel,
                                                             in_values(session, ORDERS.c.platform_order_id, part)))
        for r in rows:
            found[r.platform_order_id] = r
    return found


# find_existing's statements, built once (every import window with orders runs one): the same SQL
# in_values builds (SQLite: the ids as one JSON parameter read by json_each; PostgreSQL: unnest)
_WANTED_PG = func.unnest(bindparam("pids", type_=ARRAY(String))).table_valued("pid").render_derived()
_KNOWN_PG = (select(*KNOWN_COLS).select_from(ORDERS.join(_WANTED_PG, ORDERS.c.platform_order_id == _WANTED_PG.c.pid))
             .where(ORDERS.c.channel == bindparam("channel")))
_KNOWN_JSON = select(*KNOWN_COLS).where(
    ORDERS.c.channel == bindparam("channel"),
    ORDERS.c.platform_order_id.in_(select(func.json_each(bindparam("pids", type_=String)).table_valued("value").c.value)))
