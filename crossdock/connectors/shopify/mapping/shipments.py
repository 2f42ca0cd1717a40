"""Shopify shipments: fulfillment orders read and planned, fulfillments
created, tracking numbers read back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crossdock.connectors.shopify import queries as q
from crossdock.connectors.shopify.mapping.common import body, legacy_id, order_gid
from crossdock.errors import MappingError

# --- shipments ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FOLine:
    id: str                 # FulfillmentOrderLineItem gid
    line_id: str            # LineItem legacy id
    remaining: int


@dataclass(frozen=True)
class FulfillmentOrderInfo:
    id: str
    status: str
    location_id: str | None
    lines: tuple[FOLine, ...]


def fulfillment_orders_request(platform_order_id: str) -> dict[str, Any]:
    return body(q.FULFILLMENT_ORDERS, {"id": order_gid(platform_order_id)})


def parse_fulfillment_orders(data: Mapping[str, Any]) -> tuple[bool, list[FulfillmentOrderInfo]] | None:
    """(cancelled, fulfillment orders), or None when the order does not exist."""
    order = (data or {}).get("order")
    if order is None:
        return None
    try:
        fos = []
        for n in order["fulfillmentOrders"]["nodes"]:
            loc = ((n.get("assignedLocation") or {}).get("location") or {}).get("id")
            lines = tuple(FOLine(li["id"], legacy_id(li["lineItem"]["id"]) or "", int(li["remainingQuantity"]))
                          for li in n["lineItems"]["nodes"])
            fos.append(FulfillmentOrderInfo(n["id"], n["status"], loc, lines))
        return order.get("cancelledAt") is not None, fos
    except (KeyError, TypeError, ValueError) as exc:
        raise MappingError("XD-MAP-010", detail=f"Shopify fulfillment orders: {type(exc).__name__}: {exc}") from exc


def order_tracking_request(platform_order_id: str) -> dict[str, Any]:
    return body(q.ORDER_TRACKING, {"id": order_gid(platform_order_id)})


#: Fulfillment statuses that leave nothing on the order (FulfillmentStatus of the Admin API).
VOID_FULFILLMENT = frozenset({"CANCELLED", "ERROR", "FAILURE"})


def parse_tracking_numbers(data: Mapping[str, Any]) -> set[str] | None:
    """Tracking numbers of the order's standing fulfillments (cancelled or failed ones
    left out), or None when the shop has no such order."""
    order = (data or {}).get("order")
    if order is None:
        return None
    try:
        return {str(t["number"]).strip() for f in order["fulfillments"] if f.get("status") not in VOID_FULFILLMENT
                for t in f.get("trackingInfo") or () if t.get("number")}
    except (KeyError, TypeError) as exc:
        raise MappingError("XD-MAP-010", detail=f"Shopify order fulfillments: {type(exc).__name__}: {exc}") from exc


FULFILLABLE = ("OPEN", "IN_PROGRESS")


def lines_fulfilled(parsed: tuple[bool, list[Any]] | None, lines: Sequence[tuple[str, int]]) -> bool | None:
    """Is a shipment of ``lines`` ((line id, units); none: the whole order) on
    the order, judged from its fulfillment orders (``parse_fulfillment_orders``)?
    None when the order is not there; False when it is cancelled; else whether
    nothing of those lines remains to fulfil."""
    if parsed is None:
        return None
    cancelled, fos = parsed
    if cancelled:
        return False
    remaining: dict[str, int] = {}
    for fo in fos:
        for li in fo.lines:
            remaining[li.line_id] = remaining.get(li.line_id, 0) + li.remaining
    wanted = [(str(line_id), int(qty)) for line_id, qty in lines if int(qty) > 0]
    if not wanted:
        return not any(remaining.values())
    ids = [legacy_id(line_id) for line_id, _ in wanted]
    return all(lid is not None and remaining.get(lid) == 0 for lid in ids)


def plan_fulfillment(fos: Sequence[FulfillmentOrderInfo], wanted: Sequence[tuple[str, int]]
                     ) -> tuple[dict[str | None, list[tuple[str, list[tuple[str, int]]]]], list[tuple[str, int]]]:
    """Allocate (line id, qty) over the open fulfillment orders, grouped by location
    (one fulfillmentCreate per location). ``wanted`` empty = everything remaining.
    Returns (plan, shortfalls) where shortfalls are (line id, qty not allocatable)."""
    open_fos = [fo for fo in fos if fo.status in FULFILLABLE]
    plan: dict[str | None, list[tuple[str, list[tuple[str, int]]]]] = {}
    shortfalls: list[tuple[str, int]] = []

    def add(fo: FulfillmentOrderInfo, fo_line: str, qty: int) -> None:
        groups = plan.setdefault(fo.location_id, [])
        for fo_id, pairs in groups:
            if fo_id == fo.id:
                pairs.append((fo_line, qty))
                return
        groups.append((fo.id, [(fo_line, qty)]))

    if not wanted:
        for fo in open_fos:
            for li in fo.lines:
                if li.remaining > 0:
                    add(fo, li.id, li.remaining)
        return plan, shortfalls
    left = {(fo.id, li.id): li.remaining for fo in open_fos for li in fo.lines}
    for line_id, qty in wanted:
        need = qty
        for fo in open_fos:
            for li in fo.lines:
                if li.line_id != legacy_id(line_id) or need <= 0:
                    continue
                take = min(need, left[(fo.id, li.id)])
                if take > 0:
                    add(fo, li.id, take)
                    left[(fo.id, li.id)] -= take
                    need -= take
        if need > 0:
            shortfalls.append((line_id, need))
    return plan, shortfalls


def fulfillment_create_request(groups: Sequence[tuple[str, Sequence[tuple[str, int]]]], *, company: str | None,
                               number: str, url: str | None, notify_customer: bool) -> dict[str, Any]:
    tracking: dict[str, Any] = {"number": number}
    if company:
        tracking["company"] = company
    if url:
        tracking["url"] = url
    return body(q.FULFILLMENT_CREATE, {"fulfillment": {
        "notifyCustomer": notify_customer, "trackingInfo": tracking,
        "lineItemsByFulfillmentOrder": [
            {"fulfillmentOrderId": fo_id,
             "fulfillmentOrderLineItems": [{"id": li, "quantity": qty} for li, qty in pairs]}
            for fo_id, pairs in groups]}})
