"""Reading orders from Shopify's Admin GraphQL API, page by page: a window's
orders (``orders(query: updated_at…, sortKey: UPDATED_AT)``, lines inline)
orders by id (after an event named them) and an order's lines beyond the first page. The connector keeps the pages
read before a quota wait (``Connector.orders_in_update_order``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from crossdock.connectors.contract import OrderQuery
from crossdock.connectors.shopify import mapping as m
from crossdock.connectors.shopify import queries as q
from crossdock.connectors.shopify.mapping.listings import MAX_QUERY_COST
from crossdock.connectors.shopify.client import ShopifyClient
from crossdock.connectors.shopify.settings import ShopifySettings
from crossdock.errors import MappingError
from crossdock.models import Order
from crossdock.ratelimit.budget import Priority

__all__ = ["ORDER_LINES_PAGE", "complete_lines", "orders_by_id", "orders_pages"]

#: Lines read per call when an order has more than come inline.
ORDER_LINES_PAGE = 50


def orders_pages(client: ShopifyClient, settings: ShopifySettings, query: OrderQuery, updated_after: dt.datetime,
                 updated_before: dt.datetime) -> Iterator[Order]:
    """The window's orders page by page, in update order. An order updated
    while the pages are read may come twice; the newer one is the one kept."""
    seen: dict[str, dt.datetime] = {}
    after: str | None = None
    while True:
        data = client.graphql(
            m.orders_request(updated_after, updated_before, first=settings.orders_page_size,
                             lines=settings.line_items_page_size, after=after),
            priority=Priority.CRITICAL)
        page = m.parse_orders_page(data, query.mapped)
        fresh = {}
        for order in page.orders:
            prev = seen.get(order.platform_order_id)
            if prev is None or order.updated_at >= prev:
                seen[order.platform_order_id] = order.updated_at
                fresh[order.platform_order_id] = order
        for order_id, cursor in page.more_lines:
            if order_id in fresh:
                complete_lines(client, fresh[order_id], cursor)
        yield from sorted(fresh.values(), key=lambda o: (o.updated_at, o.platform_order_id))
        if not page.has_next:
            break
        after = page.end_cursor


def orders_by_id(client: ShopifyClient, settings: ShopifySettings, order_ids: Sequence[str], *,
                 missing: Callable[[str, str, str], None],
                 parse: Callable[[Mapping[str, Any]], Order]) -> Iterator[Order]:
    """Orders by id, ``orders_page_size`` a request (aliased ``order(id:)`` fields: one
    round trip for the orders an event read names, each seen at once, where a search
    lags); an id the shop does not show is XD-PLATFORM-002, an order that cannot be
    mapped its own code."""
    ids = list(dict.fromkeys(str(i) for i in order_ids))
    # as many as the page size, and never more than one request may cost
    one = m.estimate_cost(q.orders_by_id_document(1), {"lines": settings.line_items_page_size})
    step = max(1, min(settings.orders_page_size, MAX_QUERY_COST // max(1, one)))
    for start in range(0, len(ids), step):
        chunk = ids[start:start + step]
        data = client.graphql(m.orders_by_id_request(chunk, lines=settings.line_items_page_size),
                              priority=Priority.CRITICAL, entity=f"{len(chunk)} order(s) by id")
        for oid, node in m.parse_orders_by_id(data, chunk):
            if node is None:
                missing(oid, "XD-PLATFORM-002", "Shopify shows no order with this id")
                continue
            try:
                yield parse(node)
            except MappingError as exc:
                missing(oid, exc.code, exc.message)


def complete_lines(client: ShopifyClient, order: Order, cursor: str | None) -> None:
    """Read the order's lines after ``cursor`` into it (and into its raw payload)."""
    after = cursor
    while True:
        data = client.graphql(m.order_lines_request(order.platform_order_id, first=ORDER_LINES_PAGE, after=after),
                              priority=Priority.CRITICAL, entity=f"order {order.platform_order_id}")
        lines, nodes, has_next, after = m.parse_order_lines(data)
        order.lines.extend(lines)
        if order.raw is not None:
            conn = dict(order.raw.get("lineItems") or {})
            conn["nodes"] = list(conn.get("nodes") or []) + nodes
            order.raw["lineItems"] = conn
        if not has_next:
            return
