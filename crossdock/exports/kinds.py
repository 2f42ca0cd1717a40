"""What each export holds: its columns (name, meaning, how a row gives it),
the rows it reads in key order, and the time column ``--from``/``--to``
filter on. docs/exports.md is written from :data:`KINDS` (a test keeps them equal)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select

from crossdock.catalog.columns import price_text
from crossdock.db.models import ChannelListing, Order, OrderLine, Product, StockLevel

__all__ = ["KINDS", "Column", "Kind", "cell", "reference_markdown"]

ORDERS, LINES = Order.__table__, OrderLine.__table__
PRODUCTS, LISTINGS, STOCK = Product.__table__, ChannelListing.__table__, StockLevel.__table__


@dataclass(frozen=True)
class Column:
    name: str
    meaning: str
    get: Callable[[Any], Any]


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    columns: tuple[Column, ...]
    query: Callable[[], Select[Any]]
    key: Any                        # the column rows are paged by (unique, ascending)
    time: Any                       # the column --from / --to filter on
    time_name: str


def cell(value: Any) -> Any:
    """A JSON-able value: times ISO 8601, amounts as text with at least two
    decimals and no trailing zeros beyond (no float rounding)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return price_text(value)
    return value


def _c(name: str, meaning: str, attr: str | None = None) -> Column:
    key = attr or name
    return Column(name, meaning, lambda r: getattr(r, key))


def _addr(field: str) -> Callable[[Any], Any]:
    return lambda r: (r.shipping_address or {}).get(field)


ORDER_COLUMNS = (
    _c("channel", "crossdock channel name"),
    _c("order_id", "the platform's order id", "platform_order_id"),
    _c("purchased_at", "when the buyer ordered (UTC, ISO 8601)"),
    _c("platform_status", "the order's status on the platform"),
    _c("status", "crossdock's status: new, reserved, shipped, cancelled, …", "local_status"),
    _c("buyer_country", "ship-to country (ISO 3166 alpha-2)"),
    _c("order_total", "the order's total as the platform gave it", "total_amount"),
    _c("order_currency", "currency of order_total", "currency"),
    _c("order_refunded", "refunds of the order that did not fail, in order_currency", "refunded_amount"),
    Column("order_net", "order_total - order_refunded (empty without a total)",
           lambda r: r.total_amount - (r.refunded_amount or 0) if r.total_amount is not None else None),
    _c("order_tax", "the order's tax in order_currency, where the platform gives it", "tax_amount"),
    _c("order_shipping", "shipping charged in order_currency, where the platform gives it", "shipping_amount"),
    _c("presentment_currency", "the currency the buyer paid in, when the platform converted"),
    _c("presentment_total", "the order's total in presentment_currency"),
    _c("warehouse", "warehouse code the order ships from"),
    _c("line_id", "the platform's line id", "platform_line_id"),
    _c("sku", "catalogue SKU of the line (empty: not linked)"),
    _c("title", "the line's title on the platform"),
    _c("quantity", "units ordered"),
    _c("quantity_shipped", "units shipped so far"),
    _c("unit_price", "price of one unit", "unit_price"),
    _c("line_currency", "currency of unit_price", "line_currency"),
    _c("tax_amount", "tax of the line, where the platform gives it", "line_tax_amount"),
    _c("hs_code", "the line's HS code as the platform gave it (the catalogue's is in the products export)",
       "line_hs_code"),
    _c("country_of_origin", "the line's country of origin as the platform gave it", "line_country_of_origin"),
)

CUSTOMER_COLUMNS = (
    _c("channel", "crossdock channel name"),
    _c("order_id", "the order the buyer placed", "platform_order_id"),
    _c("purchased_at", "when (UTC, ISO 8601)"),
    Column("name", "ship-to name as the platform gave it", _addr("name")),
    Column("city", "ship-to city", _addr("city")),
    Column("postal_code", "ship-to postal code", _addr("postal_code")),
    Column("country", "ship-to country", lambda r: (r.shipping_address or {}).get("country_code")
           or r.buyer_country),
    Column("email", "the buyer's e-mail or the platform's relay alias, where the platform gives one",
           _addr("email")),
)

PRODUCT_COLUMNS = (
    _c("sku", "catalogue SKU"), _c("title", "product title"), _c("brand", "brand"), _c("category", "category"),
    _c("base_price", "price before channel rules"), _c("base_currency", "currency of base_price"),
    _c("weight_g", "weight in grams"), _c("hs_code", "customs tariff number"),
    _c("country_of_origin", "country of origin"), _c("safety_stock", "units never offered"),
    _c("updated_at", "last change (UTC)"),
)

LISTING_COLUMNS = (
    _c("channel", "crossdock channel name"), _c("sku", "catalogue SKU"),
    _c("listing_id", "the platform's listing id as people read it (ASIN, ItemID, variant id)"),
    _c("status", "listing status"), _c("last_pushed_qty", "quantity crossdock last sent"),
    _c("last_pushed_price", "price crossdock last sent"), _c("last_pushed_currency", "currency of that price"),
    _c("last_pushed_at", "when (UTC)"), _c("listed_qty_seen", "quantity the channel showed when last read"),
    _c("seen_at", "when it was last read (UTC)"),
)

STOCK_COLUMNS = (
    _c("sku", "catalogue SKU"), _c("warehouse", "warehouse code"), _c("bin", "bin, where kept"),
    _c("on_hand", "units in the warehouse"), _c("reserved", "units held for open orders"),
    Column("available", "on_hand - reserved", lambda r: r.on_hand - r.reserved),
    _c("updated_at", "last change (UTC)"),
)

KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("orders", "One row per order line, with its order's fields.", ORDER_COLUMNS,
         lambda: select(ORDERS, LINES.c.id.label("line_pk"), LINES.c.platform_line_id, LINES.c.sku, LINES.c.title,
                        LINES.c.quantity, LINES.c.quantity_shipped, LINES.c.unit_price,
                        LINES.c.currency.label("line_currency"), LINES.c.tax_amount.label("line_tax_amount"),
                        LINES.c.hs_code.label("line_hs_code"),
                        LINES.c.country_of_origin.label("line_country_of_origin"))
         .join(LINES, LINES.c.order_id == ORDERS.c.id),
         LINES.c.id, ORDERS.c.purchased_at, "purchased_at"),
    Kind("customers", "One row per order: its buyer as the platform gave them (platforms give no buyer id "
         "common to all; the same buyer appears once per order).", CUSTOMER_COLUMNS,
         lambda: select(ORDERS.c.id, ORDERS.c.channel, ORDERS.c.platform_order_id, ORDERS.c.purchased_at,
                        ORDERS.c.buyer_country, ORDERS.c.shipping_address),
         ORDERS.c.id, ORDERS.c.purchased_at, "purchased_at"),
    Kind("products", "One row per catalogue product.", PRODUCT_COLUMNS, lambda: select(PRODUCTS),
         PRODUCTS.c.sku, PRODUCTS.c.updated_at, "updated_at"),
    Kind("listings", "One row per (channel, SKU) listing.", LISTING_COLUMNS, lambda: select(LISTINGS),
         LISTINGS.c.id, LISTINGS.c.last_pushed_at, "last_pushed_at"),
    Kind("stock", "One row per (SKU, warehouse, bin) stock level.", STOCK_COLUMNS, lambda: select(STOCK),
         STOCK.c.id, STOCK.c.updated_at, "updated_at"),
)}


def reference_markdown() -> str:
    """docs/exports.md: every export and its columns."""
    lines = ["# crossdock exports", "",
             "Generated from `crossdock/exports/kinds.py`; a test fails when this file and the code differ.", "",
             "`crossdock export KIND [--from DATE] [--to DATE] [--format csv|json] [--out FILE]` streams the rows",
             "(constant memory) as CSV with a header row, or as a JSON array of objects. Times are UTC ISO 8601,",
             "amounts are text (no rounding), an empty CSV cell is no value. `--from` is inclusive, `--to`",
             "exclusive; each kind filters on the time column named below. A file from `--out` is 0600 and",
             "appears only when complete.", ""]
    for kind in KINDS.values():
        lines += [f"## {kind.name}", "", f"{kind.description} `--from`/`--to` filter on `{kind.time_name}`.", "",
                  "| column | meaning |", "|---|---|"]
        lines += [f"| `{c.name}` | {c.meaning} |" for c in kind.columns]
        lines.append("")
    return "\n".join(lines)
