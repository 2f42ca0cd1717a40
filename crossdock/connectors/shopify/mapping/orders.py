"""Shopify orders: the GraphQL requests that read them, and GraphQL nodes,
webhook and REST payloads parsed into :class:`~crossdock.models.Order`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from decimal import Decimal, InvalidOperation
from typing import Any

from crossdock.clock import iso, parse_iso
from crossdock.connectors.shopify import queries as q
from crossdock.connectors.shopify.mapping.common import body, legacy_id, order_gid
from crossdock.connectors.shopify.mapping.refunds import parse_refunds
from crossdock.errors import MappingError
from crossdock.models import (
    Address,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    TaxInfo,
)

# --- orders: requests -----------------------------------------------------------------------

def _search_time(value: dt.datetime) -> str:
    return iso(value)


def orders_search(updated_after: dt.datetime, updated_before: dt.datetime) -> str:
    """Half-open window [after, before) on updated_at, second precision like Shopify."""
    return f"updated_at:>='{_search_time(updated_after)}' updated_at:<'{_search_time(updated_before)}'"


def orders_request(updated_after: dt.datetime, updated_before: dt.datetime, *, first: int, lines: int,
                   after: str | None = None) -> dict[str, Any]:
    return body(q.ORDERS, {"first": first, "after": after, "lines": lines,
                           "query": orders_search(updated_after, updated_before)})


def order_lines_request(order_id: str, *, first: int, after: str | None) -> dict[str, Any]:
    return body(q.ORDER_LINES, {"id": order_gid(order_id), "first": first, "after": after})


def order_request(order_id: str, *, lines: int) -> dict[str, Any]:
    """One order by id, with the fields and the first ``lines`` lines the import reads."""
    return body(q.ORDER, {"id": order_gid(order_id), "lines": lines})


def orders_by_id_request(order_ids: Sequence[str], *, lines: int) -> dict[str, Any]:
    """Several orders by id in one request (:func:`queries.orders_by_id_document`)."""
    variables: dict[str, Any] = {"lines": lines}
    variables.update({f"id{i}": order_gid(oid) for i, oid in enumerate(order_ids)})
    return body(q.orders_by_id_document(len(order_ids)), variables)


# --- orders: parsing ---------------------------------------------------------------------------

#: displayFulfillmentStatus -> crossdock status (financial status and cancellation refine it).
FULFILLMENT_STATUS: Mapping[str, OrderStatus] = {
    "UNFULFILLED": OrderStatus.UNSHIPPED, "OPEN": OrderStatus.UNSHIPPED, "IN_PROGRESS": OrderStatus.UNSHIPPED,
    "PENDING_FULFILLMENT": OrderStatus.UNSHIPPED, "ON_HOLD": OrderStatus.UNSHIPPED,
    "SCHEDULED": OrderStatus.UNSHIPPED, "REQUEST_DECLINED": OrderStatus.UNSHIPPED,
    "PARTIALLY_FULFILLED": OrderStatus.PARTIALLY_SHIPPED, "FULFILLED": OrderStatus.SHIPPED,
    "RESTOCKED": OrderStatus.RETURNED,
}
#: displayFinancialStatus -> what it does to an order that has not shipped yet.
FINANCIAL_UNSHIPPED: Mapping[str, OrderStatus | None] = {
    "PAID": None, "PARTIALLY_PAID": None, "PARTIALLY_REFUNDED": None, "AUTHORIZED": None,
    "PENDING": OrderStatus.PENDING, "EXPIRED": OrderStatus.CANCELLED, "VOIDED": OrderStatus.CANCELLED,
    "REFUNDED": OrderStatus.CANCELLED,
}
#: REST / webhook spellings -> GraphQL enum names.
REST_FULFILLMENT = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED",
                    "restocked": "RESTOCKED", "unfulfilled": "UNFULFILLED"}


def order_status(financial: str | None, fulfillment: str, *, cancelled: bool) -> OrderStatus:
    if cancelled:
        return OrderStatus.CANCELLED
    base = FULFILLMENT_STATUS.get(fulfillment)
    if base is None or (financial is not None and financial not in FINANCIAL_UNSHIPPED):
        raise MappingError("XD-MAP-011", detail=f"Shopify status {financial}/{fulfillment}")
    if financial == "REFUNDED" and base in (OrderStatus.SHIPPED, OrderStatus.PARTIALLY_SHIPPED):
        return OrderStatus.RETURNED
    if base is OrderStatus.UNSHIPPED and financial is not None:
        return FINANCIAL_UNSHIPPED[financial] or base
    return base


def platform_status(financial: str | None, fulfillment: str, *, cancelled: bool) -> str:
    parts = (["CANCELLED"] if cancelled else []) + [financial or "-", fulfillment]
    return "/".join(parts)


def _money(m: Mapping[str, Any] | None) -> Money | None:
    if not m:
        return None
    return Money(Decimal(str(m["amount"])), str(m["currencyCode"]))


def _shop_money(bag: Mapping[str, Any] | None) -> Money | None:
    return _money(bag.get("shopMoney")) if bag else None


def _presentment(bag: Mapping[str, Any] | None) -> Money | None:
    """The amount in the buyer's currency, when it is not the shop's (else None: the shop's amount is it)."""
    if not bag or not bag.get("presentmentMoney"):
        return None
    shown, shop = _money(bag["presentmentMoney"]), _money(bag.get("shopMoney"))
    return shown if shop is None or shown is None or shown.currency != shop.currency else None


def _customs(node: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(HS code, country of origin) of a line: the variant's inventory item,
    else the duty Shopify charged on it (which carries the same two codes)."""
    item = (node.get("variant") or {}).get("inventoryItem") or {}
    duties = node.get("duties") or [{}]
    hs = item.get("harmonizedSystemCode") or duties[0].get("harmonizedSystemCode")
    origin = item.get("countryCodeOfOrigin") or duties[0].get("countryCodeOfOrigin")
    return hs or None, origin or None


def _sum(moneys: Iterable[Money | None]) -> Money | None:
    total: Money | None = None
    for m in moneys:
        if m is None:
            continue
        total = m if total is None else Money(total.amount + m.amount, total.currency)
    return total


def _tax_info(tax_lines: Sequence[Mapping[str, Any]], amount: Money | None) -> TaxInfo | None:
    if not tax_lines and amount is None:
        return None
    liable = any(t.get("channelLiable") for t in tax_lines)
    return TaxInfo(model="MarketplaceFacilitator" if liable else None, tax_amount=amount)


def parse_line(node: Mapping[str, Any]) -> OrderLine:
    taxes = node.get("taxLines") or []
    tax_amount = _sum(_shop_money(t.get("priceSet")) for t in taxes)
    quantity = int(node["quantity"])
    current = int(node.get("currentQuantity", quantity))
    unfulfilled = node.get("unfulfilledQuantity")
    shipped = max(0, current - int(unfulfilled)) if unfulfilled is not None else 0
    variant = node.get("variant") or {}
    hs_code, origin = _customs(node)
    return OrderLine(platform_line_id=legacy_id(node["id"]) or "", sku=node.get("sku") or None, quantity=quantity,
                     unit_price=_shop_money(node.get("originalUnitPriceSet")), title=node.get("name"),
                     listing_id=legacy_id(variant.get("id")),
                     tax=_tax_info(taxes, tax_amount) if taxes else None, quantity_shipped=shipped,
                     presentment_unit_price=_presentment(node.get("originalUnitPriceSet")),
                     hs_code=hs_code, country_of_origin=origin)


def _address(a: Mapping[str, Any] | None) -> Address | None:
    if not a:
        return None
    return Address(country_code=a.get("countryCodeV2"), name=a.get("name"), line1=a.get("address1"),
                   line2=a.get("address2"), city=a.get("city"), region=a.get("provinceCode"),
                   postal_code=a.get("zip"), phone=a.get("phone"))


def _ident(payload: object) -> object:
    """The id an unreadable order names, for the error (a caller may pass anything)."""
    return payload.get("id") if isinstance(payload, Mapping) else "?"


def parse_order(node: Mapping[str, Any]) -> Order:
    """One GraphQL ``Order`` node (see :data:`queries.ORDER_FIELDS`)."""
    try:
        fin = node.get("displayFinancialStatus")
        ful = node.get("displayFulfillmentStatus") or "UNFULFILLED"
        cancelled = node.get("cancelledAt") is not None
        address = _address(node.get("shippingAddress"))
        lines_conn = node.get("lineItems") or {}
        lines_nodes = lines_conn.get("nodes")
        if lines_nodes is None:
            lines_nodes = [e["node"] for e in lines_conn.get("edges") or []]
        return Order(
            platform="shopify", platform_order_id=legacy_id(node["id"]) or "",
            platform_status=platform_status(fin, ful, cancelled=cancelled),
            status=order_status(fin, ful, cancelled=cancelled),
            purchased_at=parse_iso(node.get("processedAt") or node["createdAt"]),
            updated_at=parse_iso(node["updatedAt"]), total=_shop_money(node.get("totalPriceSet")),
            buyer_country=address.country_code if address else None,
            lines=[parse_line(n) for n in lines_nodes],
            tax=_tax_info(node.get("taxLines") or [], _shop_money(node.get("totalTaxSet"))),
            shipping_address=address, raw=dict(node),
            shipping=_shop_money(node.get("totalShippingPriceSet")),
            presentment_total=_presentment(node.get("totalPriceSet")),
            presentment_tax=_presentment(node.get("totalTaxSet")),
            presentment_shipping=_presentment(node.get("totalShippingPriceSet")), refunds=parse_refunds(node))
    except MappingError:
        raise
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
        raise MappingError("XD-MAP-010", entity=f"order {_ident(node)}",
                           detail=f"Shopify Order node: {type(exc).__name__}: {exc}") from exc


@dataclass
class OrdersPage:
    orders: list[Order]
    has_next: bool
    end_cursor: str | None
    more_lines: list[tuple[str, str | None]] = field(default_factory=list)   # (order id, lines end cursor)


def parse_orders_page(data: Mapping[str, Any],
                      mapped: Callable[[Mapping[str, Any], str | None, Callable[[], Order]], Order | None]
                      | None = None) -> OrdersPage:
    """The page's orders; ``mapped(node, order id, parse)`` (``OrderQuery.mapped``)
    reads each node, and may set one aside that cannot be read."""
    try:
        conn = data["orders"]
        nodes = conn.get("nodes")
        if nodes is None:
            nodes = [e["node"] for e in conn.get("edges") or []]
        info = conn["pageInfo"]
    except (KeyError, TypeError) as exc:
        raise MappingError("XD-MAP-010", detail=f"Shopify orders page: {type(exc).__name__}: {exc}") from exc
    orders: list[Order] = []
    more: list[tuple[str, str | None]] = []
    for n in nodes:
        order = mapped(n, legacy_id(n.get("id")) if isinstance(n, Mapping) else None,
                       partial(parse_order, n)) if mapped else parse_order(n)
        if order is None:
            continue
        orders.append(order)
        li = (n.get("lineItems") or {}).get("pageInfo") or {}
        if li.get("hasNextPage"):
            more.append((order.platform_order_id, li.get("endCursor")))
    return OrdersPage(orders, bool(info.get("hasNextPage")), info.get("endCursor"), more)


def parse_single_order(data: Mapping[str, Any]) -> tuple[Order, str | None] | None:
    """(order, end cursor of its lines when more lines follow) from :func:`order_request`'s
    answer, or None when the shop has no such order (or this app may not see it)."""
    node = (data or {}).get("order")
    if node is None:
        return None
    order = parse_order(node)
    li = (node.get("lineItems") or {}).get("pageInfo") or {}
    return order, (li.get("endCursor") if li.get("hasNextPage") else None)


def parse_orders_by_id(data: Mapping[str, Any], order_ids: Sequence[str]
                       ) -> list[tuple[str, Mapping[str, Any] | None]]:
    """(order id, its ``Order`` node or None when the shop has no such order) for each
    id of :func:`orders_by_id_request`, in its order."""
    return [(oid, (data or {}).get(f"o{i}")) for i, oid in enumerate(order_ids)]


def parse_order_lines(data: Mapping[str, Any]) -> tuple[list[OrderLine], list[dict[str, Any]], bool, str | None]:
    try:
        conn = data["order"]["lineItems"]
        nodes = conn["nodes"]
        info = conn["pageInfo"]
    except (KeyError, TypeError) as exc:
        raise MappingError("XD-MAP-010", detail=f"Shopify order lines: {type(exc).__name__}: {exc}") from exc
    return [parse_line(n) for n in nodes], list(nodes), bool(info.get("hasNextPage")), info.get("endCursor")


# --- webhook / REST orders -------------------------------------------------------------------

def _rest_money(set_: Mapping[str, Any] | None, which: str = "shop_money") -> Money | None:
    if not set_ or not set_.get(which):
        return None
    m = set_[which]
    return Money(Decimal(str(m["amount"])), str(m["currency_code"]))


def _rest_presentment(set_: Mapping[str, Any] | None) -> Money | None:
    shown, shop = _rest_money(set_, "presentment_money"), _rest_money(set_)
    return shown if shown is not None and (shop is None or shown.currency != shop.currency) else None


def parse_rest_order(payload: Mapping[str, Any]) -> Order:
    """An order as webhooks (orders/create, /updated, /paid, /cancelled) and REST send it."""
    try:
        fin_raw = payload.get("financial_status")
        fin = fin_raw.upper() if fin_raw else None
        ful = REST_FULFILLMENT.get(payload.get("fulfillment_status"))
        if ful is None:
            raise MappingError("XD-MAP-011", detail=f"Shopify fulfillment_status {payload.get('fulfillment_status')!r}")
        cancelled = payload.get("cancelled_at") is not None
        currency = payload.get("currency")
        a = payload.get("shipping_address") or None
        address = Address(country_code=a.get("country_code"), name=a.get("name"), line1=a.get("address1"),
                          line2=a.get("address2"), city=a.get("city"), region=a.get("province_code"),
                          postal_code=a.get("zip"), phone=a.get("phone")) if a else None
        lines = []
        for li in payload.get("line_items") or []:
            taxes = li.get("tax_lines") or []
            tax_amount = _sum(_rest_money(t.get("price_set")) for t in taxes)
            unit = _rest_money(li.get("price_set")) or (Money(Decimal(str(li["price"])), currency)
                                                         if li.get("price") is not None and currency else None)
            qty = int(li["quantity"])
            current = int(li.get("current_quantity", qty))
            fulfillable = li.get("fulfillable_quantity")
            duty = (li.get("duties") or [{}])[0]
            lines.append(OrderLine(
                presentment_unit_price=_rest_presentment(li.get("price_set")),
                hs_code=duty.get("harmonized_system_code") or None,
                country_of_origin=duty.get("country_code_of_origin") or None,
                platform_line_id=str(li["id"]), sku=li.get("sku") or None, quantity=qty, unit_price=unit,
                title=li.get("name") or li.get("title"),
                listing_id=str(li["variant_id"]) if li.get("variant_id") is not None else None,
                tax=TaxInfo(model="MarketplaceFacilitator" if any(t.get("channel_liable") for t in taxes) else None,
                            tax_amount=tax_amount) if taxes else None,
                quantity_shipped=max(0, current - int(fulfillable)) if fulfillable is not None else 0))
        taxes = payload.get("tax_lines") or []
        total = _rest_money(payload.get("total_price_set")) or (
            Money(Decimal(str(payload["total_price"])), currency) if payload.get("total_price") and currency else None)
        tax_total = _rest_money(payload.get("total_tax_set"))
        return Order(
            platform="shopify", platform_order_id=str(payload["id"]),
            platform_status=platform_status(fin, ful, cancelled=cancelled),
            status=order_status(fin, ful, cancelled=cancelled),
            purchased_at=parse_iso(payload.get("processed_at") or payload["created_at"]),
            updated_at=parse_iso(payload["updated_at"]), total=total,
            buyer_country=address.country_code if address else None, lines=lines,
            tax=TaxInfo(model="MarketplaceFacilitator" if any(t.get("channel_liable") for t in taxes) else None,
                        tax_amount=tax_total) if (taxes or tax_total) else None,
            shipping_address=address, raw=dict(payload),
            shipping=_rest_money(payload.get("total_shipping_price_set")),
            presentment_total=_rest_presentment(payload.get("total_price_set")),
            presentment_tax=_rest_presentment(payload.get("total_tax_set")),
            presentment_shipping=_rest_presentment(payload.get("total_shipping_price_set")))
    except MappingError:
        raise
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
        raise MappingError("XD-MAP-010", entity=f"order {_ident(payload)}",
                           detail=f"Shopify webhook order: {type(exc).__name__}: {exc}") from exc
