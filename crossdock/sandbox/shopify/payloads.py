"""REST-shaped JSON, as Shopify sends it in webhooks and legacy REST answers.

Webhook bodies keep the REST Admin API shape (snake_case, amounts as strings,
times in the shop's time zone with an offset) even for GraphQL-only apps.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crossdock.sandbox.shopify.records import Level, OrderRec, TaxLineRec, gid, money
from crossdock.sandbox.shopify.store import Shop

_FIN = {"PAID": "paid", "PENDING": "pending", "AUTHORIZED": "authorized", "PARTIALLY_PAID": "partially_paid",
        "PARTIALLY_REFUNDED": "partially_refunded", "REFUNDED": "refunded", "VOIDED": "voided",
        "EXPIRED": "expired"}
_FUL = {"UNFULFILLED": None, "PARTIALLY_FULFILLED": "partial", "FULFILLED": "fulfilled", "RESTOCKED": "restocked"}


def local_iso(ts: float | None, tz: str) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, ZoneInfo(tz)).replace(microsecond=0).isoformat()


def _amt(v: Decimal) -> str:
    return format(money(v), "f")


def _set(shop_amount: Decimal, shop_cur: str, pres_amount: Decimal, pres_cur: str) -> dict:
    return {"shop_money": {"amount": _amt(shop_amount), "currency_code": shop_cur},
            "presentment_money": {"amount": _amt(pres_amount), "currency_code": pres_cur}}


def _tax(t: TaxLineRec, o: OrderRec) -> dict:
    return {"title": t.title, "rate": float(t.rate), "price": _amt(t.amount),
            "price_set": _set(t.amount, o.currency, t.amount_presentment, o.presentment_currency),
            "channel_liable": t.channel_liable}


def order_json(shop: Shop, o: OrderRec) -> dict[str, Any]:
    tz = shop.timezone
    c, pc = o.currency, o.presentment_currency
    lines = []
    for ln in o.lines:
        lines.append({
            "id": ln.id, "admin_graphql_api_id": gid("LineItem", ln.id), "variant_id": ln.variant_id,
            "product_id": ln.product_id, "sku": ln.sku, "name": ln.title, "title": ln.title, "vendor": "crossdock",
            "quantity": ln.quantity, "current_quantity": ln.current_quantity, "fulfillable_quantity": ln.unfulfilled,
            "fulfillment_status": ("fulfilled" if ln.fulfilled and not ln.unfulfilled else
                                   "partial" if ln.fulfilled else None),
            "price": _amt(ln.unit_price), "price_set": _set(ln.unit_price, c, ln.unit_price_presentment, pc),
            "taxable": True, "requires_shipping": True, "gift_card": False,
            "tax_lines": [_tax(t, o) for t in ln.tax_lines],
            "duties": [{"id": str(d.id), "harmonized_system_code": d.hs_code,
                        "country_code_of_origin": d.country_of_origin,
                        "price_set": _set(d.amount, c, d.amount_presentment, pc), "tax_lines": []}
                       for d in ln.duties],
        })
    a = dict(o.shipping_address)
    a.pop("id", None)
    has_duties = any(ln.duties for ln in o.lines)
    duties = _set(o.total_duties(), c, o.total_duties(True), pc) if has_duties else None
    return {
        "id": o.id, "admin_graphql_api_id": gid("Order", o.id), "name": o.name, "order_number": o.number,
        "number": o.number - 1000, "email": o.email, "contact_email": o.email, "test": False,
        "created_at": local_iso(o.created_at, tz), "updated_at": local_iso(o.updated_at, tz),
        "processed_at": local_iso(o.created_at, tz), "cancelled_at": local_iso(o.cancelled_at, tz),
        "cancel_reason": o.cancel_reason.lower() if o.cancel_reason else None,
        "closed_at": local_iso(o.closed_at, tz), "confirmed": True, "source_name": o.source_name,
        "currency": c, "presentment_currency": pc,
        "financial_status": _FIN.get(o.financial, o.financial.lower()),
        "fulfillment_status": _FUL.get(o.fulfillment_status),
        "taxes_included": o.taxes_included, "tax_exempt": False,
        "total_price": _amt(o.total()), "subtotal_price": _amt(o.subtotal()), "total_tax": _amt(o.total_tax()),
        "current_total_price": _amt(o.current_total()),
        "total_price_set": _set(o.total(), c, o.total(True), pc),
        "subtotal_price_set": _set(o.subtotal(), c, o.subtotal(True), pc),
        "total_tax_set": _set(o.total_tax(), c, o.total_tax(True), pc),
        "total_shipping_price_set": _set(o.shipping, c, o.shipping_presentment, pc),
        "current_total_price_set": _set(o.current_total(), c, o.current_total(True), pc),
        "original_total_duties_set": duties, "current_total_duties_set": duties,
        "tax_lines": [_tax(t, o) for t in o.tax_lines()],
        "shipping_address": a, "billing_address": a,
        "line_items": lines,
    }


def inventory_level_json(shop: Shop, lvl: Level) -> dict[str, Any]:
    return {"inventory_item_id": lvl.item_id, "location_id": lvl.location_id, "available": lvl.available,
            "updated_at": local_iso(lvl.updated_at, shop.timezone),
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{lvl.id}?inventory_item_id={lvl.item_id}"}


def shop_json(shop: Shop) -> dict[str, Any]:
    loc = shop.locations[shop.primary_location_id]
    return {"shop": {
        "id": shop.numeric_id, "name": shop.name, "email": f"owner@{shop.domain}",
        "domain": shop.domain, "myshopify_domain": shop.domain, "country_code": shop.country,
        "currency": shop.currency, "iana_timezone": shop.timezone, "plan_name": "basic",
        "taxes_included": True, "city": loc.city, "zip": loc.zip,
        "enabled_presentment_currencies": sorted({shop.currency, "EUR", "GBP", "CHF", "USD"}),
        "created_at": local_iso(shop.created_at, shop.timezone),
    }}
