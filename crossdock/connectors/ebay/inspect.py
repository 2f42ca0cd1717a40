"""``crossdock inspect --platform ebay``: a recorded eBay payload → normalised JSON.

Accepts REST JSON (a Fulfillment ``Order``, an ``OrderSearchPagedCollection``,
an Inventory offer / ``Offers`` collection / inventory item) and Trading XML
(``GetOrdersResponse``, ``GetItemResponse``), as a dict or as text.
Anything else is MappingError XD-MAP-010.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from enum import Enum
from typing import Any, Mapping

from crossdock.connectors.ebay import mapping
from crossdock.connectors.jsondoc import JsonValue
from crossdock.errors import MappingError

KINDS = ("order", "orders", "listing")


def jsonable(value: object) -> JsonValue:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "raw"}
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _load(payload: object) -> tuple[object, bool]:
    """(data, is_trading_xml)"""
    if isinstance(payload, (dict, list)):
        return payload, False
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    text = text.strip()
    if text.startswith("<"):
        return mapping.xml_to_dict(text), True
    try:
        return json.loads(text), False
    except json.JSONDecodeError as exc:
        raise MappingError("XD-MAP-010", detail=f"neither JSON nor XML: {exc}") from exc


def _trading_body(data: Mapping[str, Any], call: str) -> Mapping[str, Any] | None:
    body = data.get(f"{call}Response")
    return body if isinstance(body, Mapping) else None


def inspect_payload(kind: str, payload: object) -> JsonValue:
    if kind not in KINDS:
        raise MappingError("XD-MAP-010", detail=f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    data, xml = _load(payload)
    if xml:
        assert isinstance(data, dict)
        orders = _trading_body(data, "GetOrders")
        item = _trading_body(data, "GetItem")
        if kind in ("order", "orders") and orders is not None:
            parsed = [jsonable(o) for o in mapping.parse_trading_orders(orders)]
            if kind == "orders":
                return parsed
            if len(parsed) != 1:
                raise MappingError("XD-MAP-010", detail=f"expected one order, the document has {len(parsed)}")
            return parsed[0]
        if kind == "order" and "Order" in data:
            return jsonable(mapping.parse_trading_order(data["Order"]))
        if kind == "listing" and item is not None:
            return jsonable(mapping.parse_trading_item(item))
        raise MappingError("XD-MAP-010", detail=f"this Trading document is not a {kind} payload "
                                                f"(root {', '.join(data)})")
    if kind == "order":
        if isinstance(data, Mapping) and "orders" in data and len(data["orders"] or []) == 1:
            data = data["orders"][0]
        if not isinstance(data, Mapping):
            raise MappingError("XD-MAP-010", detail="an eBay order is a JSON object")
        return jsonable(mapping.parse_order(data))
    if kind == "orders":
        rows = data if isinstance(data, list) else (data.get("orders") if isinstance(data, Mapping) else None)
        if rows is None:
            if isinstance(data, Mapping) and "orderId" in data:
                rows = [data]
            else:
                raise MappingError("XD-MAP-010", detail="not an eBay order collection (no orders[])")
        return [jsonable(mapping.parse_order(o)) for o in rows]
    # listing
    if isinstance(data, Mapping) and isinstance(data.get("offers"), list):
        return [jsonable(mapping.parse_offer(o)) for o in data["offers"]]
    if isinstance(data, Mapping) and isinstance(data.get("inventoryItems"), list):
        return [jsonable(mapping.parse_inventory_item(i)) for i in data["inventoryItems"]]
    if isinstance(data, Mapping) and "offerId" in data:
        return jsonable(mapping.parse_offer(data))
    if isinstance(data, Mapping) and "availability" in data:
        return jsonable(mapping.parse_inventory_item(data))
    raise MappingError("XD-MAP-010", detail="not an eBay offer, offer collection or inventory item")
