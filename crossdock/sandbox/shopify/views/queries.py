"""The QueryRoot fields: single resources by id, the Node interface, and
searchable, sortable connections (with the search index's lag and the
60-day order window of an app without ``read_all_orders``)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from crossdock.sandbox.shopify.records import OrderRec, parse_gid
from crossdock.sandbox.shopify.search import Searchable, search
from crossdock.sandbox.shopify.views.base import MAX_INPUT_ARRAY, Ctx, RootPart, by_id, connection, too_many
from crossdock.sandbox.shopify.views.catalogue import (
    InventoryItemView,
    LevelView,
    LocationView,
    ProductView,
    ShopView,
    VariantView,
)
from crossdock.sandbox.shopify.views.orders import FulfillmentOrderView, FulfillmentView, OrderView
from crossdock.sandbox.shopify.views.webhooks import WebhookSubscriptionView

ALL_ORDERS_HORIZON_S = 60 * 86400


def order_search(ctx: Ctx) -> Searchable:
    from crossdock.sandbox.shopify.returns import return_status

    lag = ctx.sim.search_index_lag_s

    def indexed_updated(o: OrderRec) -> float | None:
        return o.updated_at if ctx.now - o.updated_at >= lag else o.prev_updated_at

    def status(o: OrderRec) -> str:
        return "cancelled" if o.cancelled_at else ("closed" if o.closed_at else "open")

    ful = {"UNFULFILLED": "unshipped", "PARTIALLY_FULFILLED": "partial", "FULFILLED": "shipped"}
    return Searchable(fields={
        "created_at": (lambda o: o.created_at, "time"), "processed_at": (lambda o: o.created_at, "time"),
        "updated_at": (indexed_updated, "time"), "id": (lambda o: o.id, "id"),
        "name": (lambda o: [o.name, str(o.number)], "text"),
        "financial_status": (lambda o: o.financial.lower(), "text"),
        "fulfillment_status": (lambda o: ful.get(o.fulfillment_status, o.fulfillment_status.lower()), "text"),
        "status": (status, "text"), "sku": (lambda o: [ln.sku for ln in o.lines], "text"),
        "email": (lambda o: o.email, "text"), "test": (lambda o: "false", "text"),
        "country": (lambda o: o.shipping_address.get("country_code"), "text"),
        "return_status": (lambda o: return_status(ctx.shop, o), "text"),
    }, text=(lambda o: o.name, lambda o: o.email))


def variant_search(ctx: Ctx) -> Searchable:
    shop = ctx.shop
    return Searchable(fields={
        "sku": (lambda v: v.sku, "text"), "id": (lambda v: v.id, "id"), "product_id": (lambda v: v.product_id, "id"),
        "title": (lambda v: v.title, "text"), "barcode": (lambda v: v.barcode, "text"),
        "product_status": (lambda v: shop.products[v.product_id].status.lower(), "text"),
        "updated_at": (lambda v: v.updated_at, "time"), "created_at": (lambda v: v.created_at, "time"),
        "inventory_item_id": (lambda v: v.inventory_item_id, "id"),
    }, text=(lambda v: v.sku, lambda v: shop.products[v.product_id].title))


def item_search(ctx: Ctx) -> Searchable:
    return Searchable(fields={
        "sku": (lambda i: i.sku, "text"), "id": (lambda i: i.id, "id"),
        "created_at": (lambda i: i.created_at, "time"), "updated_at": (lambda i: i.updated_at, "time"),
    }, text=(lambda i: i.sku,))


def product_search(ctx: Ctx) -> Searchable:
    shop = ctx.shop
    return Searchable(fields={
        "title": (lambda p: p.title, "text"), "handle": (lambda p: p.handle, "text"), "id": (lambda p: p.id, "id"),
        "status": (lambda p: p.status.lower(), "text"), "product_type": (lambda p: p.product_type, "text"),
        "sku": (lambda p: [shop.variants[v].sku for v in p.variant_ids], "text"),
        "updated_at": (lambda p: p.updated_at, "time"), "created_at": (lambda p: p.created_at, "time"),
    }, text=(lambda p: p.title,))


ORDER_SORT: dict[str, Callable[[OrderRec], Any]] = {
    "PROCESSED_AT": lambda o: o.created_at, "CREATED_AT": lambda o: o.created_at, "UPDATED_AT": lambda o: o.updated_at,
    "ID": lambda o: o.id, "ORDER_NUMBER": lambda o: o.number, "TOTAL_PRICE": lambda o: float(o.total()),
    "FINANCIAL_STATUS": lambda o: o.financial, "FULFILLMENT_STATUS": lambda o: o.fulfillment_status,
    "RELEVANCE": lambda o: o.id,
}


class QueryRoot(RootPart):
    """QueryRoot fields."""

    def shop(self, info) -> ShopView:
        return ShopView(self._ctx)

    def node(self, info, id: str) -> Any:
        return self._node(id)

    def nodes(self, info, ids: list[str]) -> list[Any]:
        if len(ids) > MAX_INPUT_ARRAY:
            raise too_many(len(ids))
        return [self._node(i) for i in ids]

    def _node(self, value: str) -> Any:
        ctx, shop = self._ctx, self._ctx.shop
        kind = value.split("/")[3] if value.startswith("gid://shopify/") and value.count("/") >= 4 else ""
        num = parse_gid(value, kind) if kind else None
        if num is None:
            return None
        table: dict[str, tuple[dict, Callable[[Any], Any]]] = {
            "Order": (shop.orders, lambda r: OrderView(ctx, r)),
            "Product": (shop.products, lambda r: ProductView(ctx, r)),
            "ProductVariant": (shop.variants, lambda r: VariantView(ctx, r)),
            "InventoryItem": (shop.items, lambda r: InventoryItemView(ctx, r)),
            "Location": (shop.locations, lambda r: LocationView(ctx, r)),
            "FulfillmentOrder": (shop.fulfillment_orders, lambda r: FulfillmentOrderView(ctx, r)),
            "Fulfillment": (shop.fulfillments, lambda r: FulfillmentView(ctx, r)),
            "WebhookSubscription": (shop.subscriptions, lambda r: WebhookSubscriptionView(ctx, r)),
        }
        if kind == "InventoryLevel":
            return self.inventoryLevel(None, value)
        entry = table.get(kind)
        if entry is None or num not in entry[0]:
            return None
        return entry[1](entry[0][num])

    def location(self, info, id: str | None = None) -> LocationView | None:
        shop = self._ctx.shop
        loc_id = parse_gid(id, "Location") if id else shop.primary_location_id
        loc = shop.locations.get(loc_id or -1)
        return LocationView(self._ctx, loc) if loc else None

    def locations(self, info, query: str | None = None, sortKey: str = "ID", includeInactive: bool = False,
                  **page) -> dict:
        spec = Searchable(fields={"name": (lambda l: l.name, "text"), "id": (lambda l: l.id, "id"),
                                  "active": (lambda l: str(l.active).lower(), "text")}, text=(lambda l: l.name,))
        locs = [l for l in self._ctx.shop.locations.values() if includeInactive or l.active]
        locs = search(locs, query, spec, self._ctx.warnings)
        key = (lambda l: (l.name, l.id)) if sortKey == "NAME" else by_id
        return connection(locs, key=key, node=lambda l: LocationView(self._ctx, l), **page)

    def order(self, info, id: str) -> OrderView | None:
        o = self._ctx.shop.orders.get(parse_gid(id, "Order") or -1)
        return OrderView(self._ctx, o) if o else None

    def orders(self, info, sortKey: str = "PROCESSED_AT", query: str | None = None, savedSearchId: str | None = None,
               **page) -> dict:
        ctx = self._ctx
        # Without the read_all_orders scope an app sees the last 60 days only (the sandbox app lacks it).
        horizon = ctx.now - ALL_ORDERS_HORIZON_S
        orders: Iterable[OrderRec] = [o for o in ctx.shop.orders.values() if o.created_at >= horizon]
        if query:
            # The search index trails writes: a brand-new order is not searchable yet.
            lag = ctx.sim.search_index_lag_s
            orders = [o for o in orders if ctx.now - o.created_at >= lag]
            orders = search(orders, query, order_search(ctx), ctx.warnings)
        sort = ORDER_SORT.get(sortKey, ORDER_SORT["ID"])
        return connection(orders, key=lambda o: (sort(o), o.id), node=lambda o: OrderView(ctx, o), **page)

    def fulfillmentOrder(self, info, id: str) -> FulfillmentOrderView | None:
        fo = self._ctx.shop.fulfillment_orders.get(parse_gid(id, "FulfillmentOrder") or -1)
        return FulfillmentOrderView(self._ctx, fo) if fo else None

    def product(self, info, id: str) -> ProductView | None:
        p = self._ctx.shop.products.get(parse_gid(id, "Product") or -1)
        return ProductView(self._ctx, p) if p else None

    def products(self, info, sortKey: str = "ID", query: str | None = None, **page) -> dict:
        ps = search(self._ctx.shop.products.values(), query, product_search(self._ctx), self._ctx.warnings)
        sorts = {"TITLE": lambda p: p.title, "UPDATED_AT": lambda p: p.updated_at,
                 "CREATED_AT": lambda p: p.created_at, "PRODUCT_TYPE": lambda p: p.product_type,
                 "VENDOR": lambda p: p.vendor}
        sort = sorts.get(sortKey, lambda p: p.id)
        return connection(ps, key=lambda p: (sort(p), p.id), node=lambda p: ProductView(self._ctx, p), **page)

    def productVariant(self, info, id: str) -> VariantView | None:
        v = self._ctx.shop.variants.get(parse_gid(id, "ProductVariant") or -1)
        return VariantView(self._ctx, v) if v else None

    def productVariants(self, info, sortKey: str = "ID", query: str | None = None, **page) -> dict:
        vs = search(self._ctx.shop.variants.values(), query, variant_search(self._ctx), self._ctx.warnings)
        sorts = {"SKU": lambda v: v.sku or "", "TITLE": lambda v: v.title, "NAME": lambda v: v.title,
                 "FULL_TITLE": lambda v: v.title}
        sort = sorts.get(sortKey, lambda v: v.id)
        return connection(vs, key=lambda v: (sort(v), v.id), node=lambda v: VariantView(self._ctx, v), **page)

    def inventoryItem(self, info, id: str) -> InventoryItemView | None:
        it = self._ctx.shop.items.get(parse_gid(id, "InventoryItem") or -1)
        return InventoryItemView(self._ctx, it) if it else None

    def inventoryItems(self, info, query: str | None = None, **page) -> dict:
        items = search(self._ctx.shop.items.values(), query, item_search(self._ctx), self._ctx.warnings)
        return connection(items, key=by_id, node=lambda i: InventoryItemView(self._ctx, i), **page)

    def inventoryLevel(self, info, id: str) -> LevelView | None:
        num = parse_gid(id, "InventoryLevel")
        for lvl in self._ctx.shop.levels.values():
            if lvl.id == num:
                return LevelView(self._ctx, lvl)
        return None

    def webhookSubscription(self, info, id: str) -> WebhookSubscriptionView | None:
        w = self._ctx.shop.subscriptions.get(parse_gid(id, "WebhookSubscription") or -1)
        return WebhookSubscriptionView(self._ctx, w) if w else None

    def webhookSubscriptions(self, info, topics: list[str] | None = None, uri: str | None = None, **page) -> dict:
        subs = [w for w in self._ctx.shop.subscriptions.values()
                if (topics is None or w.topic in topics) and (uri is None or w.uri == uri)]
        return connection(subs, key=by_id, node=lambda w: WebhookSubscriptionView(self._ctx, w), **page)
