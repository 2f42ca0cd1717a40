"""``crossdock inspect --platform amazon``: read a saved Amazon payload and
show it normalised, as JSON-able dicts.

Kinds:

- ``orders`` — a getOrders response (``{"payload": {"Orders": [...]}}``, its
  payload, or a bare list of orders) or a getOrder response: a list of orders
  with ids, statuses, totals and currencies. getOrders carries no order
  items (Amazon returns them from a separate getOrderItems call), so
  ``lines`` is empty.
- ``order`` — one order: a getOrderItems response gives the order id and its
  lines (prices, taxes, IOSS data) with ``lines_total`` (its ``status`` is null:
  Amazon sends the status with the order, not the items); a getOrder response
  gives the order without lines; ``{"order": <Order>, "items": [<OrderItem>]}``
  (or an Order carrying ``OrderItems``) gives the full order.
- ``listing`` — a getListingsItem ``Item``: the SKU and, per marketplace, the
  quantity, price, ASIN and status.

The Amazon sandbox examples in the official models (``x-amzn-api-sandbox``
``response`` objects, or the whole ``{"request", "response"}`` entry) are
accepted as they are. Anything else is MappingError XD-MAP-010.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeGuard

from crossdock.connectors.amazon import mapping as M
from crossdock.connectors.jsondoc import JsonObject, JsonValue
from crossdock.errors import ConfigError, MappingError
from crossdock.models import Money

KINDS = ("order", "orders", "listing")


def to_jsonable(value: object) -> JsonValue:
    """Normalised models as plain JSON data (Decimal as text, times ISO 8601)."""
    if isinstance(value, Money):
        return to_jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "raw"}
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _load(payload: object) -> object:
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", errors="replace")
    if isinstance(payload, str):
        try:
            payload = M.loads_exact(payload)
        except ValueError as exc:
            raise MappingError("XD-MAP-010", detail=f"not JSON: {exc}") from exc
    if isinstance(payload, Mapping) and "response" in payload and "request" in payload:
        payload = payload["response"]          # an x-amzn-api-sandbox entry
    return payload


def _unwrap(data: object) -> object:
    if isinstance(data, Mapping) and data.get("errors") and "payload" not in data:
        raise MappingError("XD-MAP-010", detail=f"the file is an Amazon error response: {data['errors']!r}")
    return data.get("payload", data) if isinstance(data, Mapping) else data


def _is_order(obj: object) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(obj, Mapping) and "AmazonOrderId" in obj and "OrderStatus" in obj


def inspect_payload(kind: str, payload: object) -> JsonValue:
    if kind not in KINDS:
        raise ConfigError("XD-CFG-009", detail=f"unknown kind {kind!r} for amazon; one of {', '.join(KINDS)}")
    data = _load(payload)
    try:
        if kind == "orders":
            return _orders(data)
        if kind == "order":
            return _order(data)
        return _listing(data)
    except MappingError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MappingError("XD-MAP-010", detail=f"unreadable Amazon {kind} payload: {exc!r}") from exc


def _orders(data: object) -> list[JsonValue]:
    body = _unwrap(data)
    if isinstance(body, list):
        raw_orders = body
    elif isinstance(body, Mapping) and isinstance(body.get("Orders"), list):
        raw_orders = body["Orders"]
    elif _is_order(body):
        raw_orders = [body]
    else:
        raise MappingError("XD-MAP-010", detail="expected a getOrders or getOrder response (Orders list)")
    return [to_jsonable(M.parse_order(o, keep_raw=False)) for o in raw_orders]


def _order(data: object) -> JsonValue:
    body = _unwrap(data)
    if isinstance(body, Mapping) and "order" in body and "items" in body:
        order_raw, items = _unwrap(body["order"]), _unwrap(body["items"])
        if isinstance(items, Mapping):
            items = items.get("OrderItems")
        rows = items or []
        if not isinstance(rows, list):
            raise MappingError("XD-MAP-010", detail="the order's items are not a list of OrderItems")
        return to_jsonable(M.parse_order(order_raw, rows, keep_raw=False))
    if _is_order(body):
        return to_jsonable(M.parse_order(body, body.get("OrderItems") or [], keep_raw=False))
    if isinstance(body, Mapping) and isinstance(body.get("OrderItems"), list):
        oid = body.get("AmazonOrderId")
        lines = [M.parse_line(i, order_id=oid) for i in body["OrderItems"]]
        currencies = sorted({ln.unit_price.currency for ln in lines if ln.unit_price})
        total = None
        if len(currencies) == 1:
            prices = [M.parse_money(i["ItemPrice"], where="ItemPrice") for i in body["OrderItems"] if i.get("ItemPrice")]
            total = Money(sum((p.amount for p in prices if p is not None), Decimal("0")), currencies[0])
        # getOrderItems does not carry the order's status: it is shown as unknown (null),
        # as for any field the payload lacks; {"order": …, "items": …} gives the full order.
        return {"platform": "amazon", "platform_order_id": oid, "platform_status": None, "status": None,
                "lines": to_jsonable(lines),
                "lines_total": to_jsonable(total), "tax": to_jsonable(M.order_tax(lines)),
                "next_token": body.get("NextToken")}
    raise MappingError("XD-MAP-010", detail="expected a getOrderItems or getOrder response")


def _listing(data: object) -> JsonObject:
    body = _unwrap(data)
    if not isinstance(body, Mapping) or not body.get("sku"):
        raise MappingError("XD-MAP-010", detail="expected a getListingsItem response (an Item with sku)")
    marketplaces: list[str] = []
    for key in ("summaries", "offers"):
        for entry in body.get(key) or []:
            mp = entry.get("marketplaceId")
            if mp and mp not in marketplaces:
                marketplaces.append(mp)
    offers: list[JsonValue] = []
    for mp in marketplaces:
        offer = to_jsonable(M.parse_listing(body, marketplace_id=mp))
        assert isinstance(offer, dict)          # a ListedOffer is a dataclass
        offers.append({"marketplace_id": mp, **offer})
    return {"sku": body["sku"], "offers": offers}


def dumps(result: JsonValue) -> str:
    return json.dumps(result, indent=2, ensure_ascii=False)
