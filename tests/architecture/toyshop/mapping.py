"""Toyshop's field mappings, pure: its JSON in, crossdock's normalised data out
(and back). Toyshop is a made-up fourth platform that lives only in the tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crossdock.mapping.status import StatusMap, rule
from crossdock.models import Address, ItemResult, ListedOffer, Money, Order, OrderLine, ShipmentConfirmation
from crossdock.models import OrderStatus as S

NAME = "toyshop"

STATUSES = StatusMap(
    platform=NAME, primary_field="status",
    rules=(rule(S.PENDING, status="new"), rule(S.UNSHIPPED, status="paid"), rule(S.SHIPPED, status="sent"),
           rule(S.CANCELLED, status="void")),
    known={"status": frozenset({"new", "paid", "sent", "void"})},
)


def iso(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).isoformat()


def parse_order(raw: Mapping[str, Any]) -> Order:
    currency = str(raw["currency"])
    lines = [OrderLine(platform_line_id=str(li["id"]), sku=li.get("sku"), quantity=int(li["qty"]),
                       unit_price=Money(Decimal(str(li["price"])), currency), title=li.get("title"),
                       quantity_shipped=int(li.get("shipped", 0))) for li in raw["lines"]]
    ship_to = raw.get("ship_to") or {}
    return Order(platform=NAME, platform_order_id=str(raw["id"]), platform_status=str(raw["status"]),
                 status=STATUSES.map(str(raw["status"]), order_id=str(raw["id"])),
                 purchased_at=dt.datetime.fromisoformat(raw["created"]),
                 updated_at=dt.datetime.fromisoformat(raw["updated"]),
                 total=Money(Decimal(str(raw["total"])), currency), buyer_country=ship_to.get("country"),
                 lines=lines, raw=dict(raw),
                 shipping_address=Address(country_code=ship_to.get("country"), name=ship_to.get("name"),
                                          line1=ship_to.get("street"), city=ship_to.get("city"),
                                          postal_code=ship_to.get("zip")))


def stock_body(updates: Sequence[Any]) -> dict[str, Any]:
    return {"items": [{"sku": u.sku, "quantity": u.quantity} for u in updates]}


def stock_results(body: Mapping[str, Any]) -> list[ItemResult]:
    return [ItemResult(str(r["sku"]), bool(r["ok"]), None if r["ok"] else "XD-PLATFORM-002", r.get("error"))
            for r in body["results"]]


def listed_offer(raw: Mapping[str, Any], currency: str) -> ListedOffer:
    return ListedOffer(sku=str(raw["sku"]), quantity=int(raw["quantity"]),
                       price=Money(Decimal(str(raw["price"])), currency), listing_id=str(raw["id"]),
                       status="active", ids={"toy_id": str(raw["id"])})


def shipment_body(c: ShipmentConfirmation) -> dict[str, Any]:
    return {"carrier": c.carrier, "tracking": c.tracking_number, "shipped_at": iso(c.shipped_at),
            "lines": [{"id": line_id, "qty": qty} for line_id, qty in c.lines]}
