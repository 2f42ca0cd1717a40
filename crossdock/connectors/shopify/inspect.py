"""``crossdock inspect --platform shopify``: normalise a pasted payload.

Accepted shapes:

* kind ``order``: a GraphQL ``Order`` node, a ``{"data": {"order": …}}``
  response, or a webhook / REST order (``{"id", "line_items", …}``, optionally
  wrapped as ``{"order": …}``);
* kind ``orders``: a ``{"data": {"orders": …}}`` response (nodes or edges), an
  ``orders`` connection, a list of nodes, or a REST ``{"orders": […]}`` list;
* kind ``listing``: a ``{"data": {"productVariants": …}}`` response (the
  connector's variant query), a connection, or one variant node.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from crossdock.connectors.shopify import mapping as m
from crossdock.connectors.jsondoc import JsonObject, JsonValue
from crossdock.errors import MappingError
from crossdock.models import Order


def _plain(value: object) -> JsonValue:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return _plain(value.value)
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _order_dict(order: Order) -> JsonObject:
    d = _plain(order)
    assert isinstance(d, dict)          # an Order is a dataclass
    d.pop("raw", None)
    return d


def _unwrap_data(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    data = payload.get("data")
    return data if isinstance(data, Mapping) else payload


def _one_order(node: object) -> JsonObject:
    if not isinstance(node, Mapping):
        raise MappingError("XD-MAP-010", detail="an order must be a JSON object")
    inner = node.get("order")
    order: Mapping[str, Any] = inner if isinstance(inner, Mapping) else node
    if "line_items" in order or "admin_graphql_api_id" in order or "financial_status" in order:
        return _order_dict(m.parse_rest_order(order))
    return _order_dict(m.parse_order(order))


def _nodes(conn: object) -> list[Any]:
    if isinstance(conn, list):
        return conn
    if not isinstance(conn, Mapping):
        raise MappingError("XD-MAP-010", detail="expected a connection with nodes or edges")
    nodes = conn.get("nodes")
    if isinstance(nodes, list):
        return nodes
    if isinstance(conn.get("edges"), list):
        return [e.get("node") for e in conn["edges"] if isinstance(e, Mapping)]
    raise MappingError("XD-MAP-010", detail="expected a connection with nodes or edges")


def inspect_payload(kind: str, payload: object) -> JsonValue:
    if isinstance(payload, (str, bytes)):
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise MappingError("XD-MAP-010", detail=f"not JSON: {exc}") from exc
    if kind == "order":
        if isinstance(payload, Mapping):
            return _one_order(_unwrap_data(payload))
        raise MappingError("XD-MAP-010", detail="an order payload must be a JSON object")
    if kind == "orders":
        conn: object
        if isinstance(payload, Mapping):
            inner = _unwrap_data(payload)
            conn = inner.get("orders") if "orders" in inner else inner
        else:
            conn = payload
        orders: list[JsonValue] = [_one_order(n) for n in _nodes(conn)]
        return orders
    if kind == "listing":
        currency = None
        if isinstance(payload, Mapping):
            inner = _unwrap_data(payload)
            if "productVariants" in inner:
                nodes = _nodes(inner["productVariants"])
            elif "sku" in inner and "inventoryItem" in inner:
                nodes = [inner]
            else:
                nodes = _nodes(inner)
            currency = (payload.get("currency") if isinstance(payload.get("currency"), str) else None)
        else:
            nodes = _nodes(payload)
        try:
            refs, _, _ = m.parse_variants({"productVariants": {"nodes": nodes, "pageInfo": {}}})
        except MappingError:
            raise
        # A variant's price carries no currency; it is the shop's (EUR unless the payload says otherwise).
        return [_plain(m.listed_offer(r, currency or "EUR")) for r in refs]
    raise MappingError("XD-MAP-010", detail=f"unknown kind {kind!r}: order, orders or listing")
