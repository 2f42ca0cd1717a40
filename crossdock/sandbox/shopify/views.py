"""GraphQL resolvers: one small view class per Shopify type.

graphql-core's default resolver reads an attribute of the source object and,
when it is callable, calls it with the field's arguments, so each view simply
has one attribute or method per schema field (camelCase, like the schema).
Plain nested objects (MoneyBag, TaxLine, PageInfo…) are dicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Callable, Iterable

from graphql import GraphQLError
from graphql.execution.values import get_directive_values

from crossdock.sandbox.shopify import schema as sdl
from crossdock.sandbox.shopify.search import CursorError, Searchable, paginate, search
from crossdock.sandbox.shopify.store import (
    VALID_REASONS,
    AdjustmentGroup,
    FOLineRec,
    FulfillmentOrderRec,
    FulfillmentRec,
    InventoryItem,
    Level,
    LineRec,
    Location,
    OrderRec,
    Product,
    Shop,
    TaxLineRec,
    Variant,
    WebhookSub,
    gid,
    money,
    parse_gid,
    ts_iso,
)

if TYPE_CHECKING:
    from crossdock.sandbox.shopify.sim import ShopifySim

MAX_INPUT_ARRAY = 250
ALL_ORDERS_HORIZON_S = 60 * 86400
WEBHOOK_TOPICS = {"ORDERS_CREATE": "orders/create", "ORDERS_UPDATED": "orders/updated", "ORDERS_PAID": "orders/paid",
                  "ORDERS_CANCELLED": "orders/cancelled", "ORDERS_FULFILLED": "orders/fulfilled",
                  "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled", "ORDERS_DELETE": "orders/delete",
                  "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
                  "INVENTORY_LEVELS_CONNECT": "inventory_levels/connect",
                  "INVENTORY_LEVELS_DISCONNECT": "inventory_levels/disconnect",
                  "PRODUCTS_CREATE": "products/create", "PRODUCTS_UPDATE": "products/update"}


def decimal_str(value: Decimal) -> str:
    """Shopify's ``Decimal`` scalar: shortest form with at least one decimal ("10.0", "10.5", "9.99")."""
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def money_str(value: Decimal) -> str:
    """Shopify's ``Money`` scalar (ProductVariant.price): two decimals."""
    return format(money(value), "f")


def money_bag(shop_amount: Decimal, shop_currency: str, pres_amount: Decimal, pres_currency: str) -> dict:
    return {"shopMoney": {"amount": decimal_str(money(shop_amount)), "currencyCode": shop_currency},
            "presentmentMoney": {"amount": decimal_str(money(pres_amount)), "currencyCode": pres_currency}}


@dataclass
class Ctx:
    """Per-request context."""

    sim: "ShopifySim"
    shop: Shop
    version: str
    now: float
    warnings: list[str] = field(default_factory=list)
    touched_skus: set[str] = field(default_factory=set)
    events: list[tuple[str, Any]] = field(default_factory=list)   # (REST topic, record)


def _conn(items: Iterable[Any], *, key: Callable[[Any], tuple], node: Callable[[Any], Any],
          first: int | None = None, after: str | None = None, last: int | None = None,
          before: str | None = None, reverse: bool = False, **_: Any) -> dict:
    try:
        page = paginate(list(items), key=key, first=first, after=after, last=last, before=before,
                        reverse=bool(reverse))
    except CursorError as exc:
        raise GraphQLError(str(exc)) from exc
    nodes = [node(it) for it in page.items]
    return {"edges": [{"cursor": c, "node": n} for c, n in zip(page.cursors, nodes)], "nodes": nodes,
            "pageInfo": page.page_info}


def _by_id(x: Any) -> tuple[int, int]:
    return (x.id, x.id)


# --- leaf-ish views ----------------------------------------------------------------

class ShopView:
    __typename = "Shop"

    def __init__(self, ctx: Ctx) -> None:
        s = ctx.shop
        self.id = gid("Shop", s.numeric_id)
        self.name = s.name
        self.email = f"owner@{s.domain}"
        self.myshopifyDomain = s.domain
        self.currencyCode = s.currency
        self.enabledPresentmentCurrencies = sorted({s.currency, "EUR", "GBP", "CHF", "USD", "SEK", "DKK", "NOK",
                                                    "PLN", "CZK"})
        self.ianaTimezone = s.timezone
        self.plan = {"partnerDevelopment": False, "shopifyPlus": False, "publicDisplayName": "Basic"}
        self.taxesIncluded = True


class LocationView:
    __typename = "Location"

    def __init__(self, ctx: Ctx, loc: Location) -> None:
        self._ctx, self._loc = ctx, loc
        self.id = gid("Location", loc.id)
        self.legacyResourceId = str(loc.id)
        self.name = loc.name
        self.isActive = loc.active
        self.fulfillsOnlineOrders = True
        self.shipsInventory = True
        self.address = {"countryCode": loc.country, "city": loc.city, "zip": loc.zip, "address1": loc.address1}

    def inventoryLevel(self, info, inventoryItemId: str) -> "LevelView | None":
        item_id = parse_gid(inventoryItemId, "InventoryItem")
        lvl = self._ctx.shop.levels.get((item_id or -1, self._loc.id))
        return LevelView(self._ctx, lvl) if lvl else None

    def inventoryLevels(self, info, query: str | None = None, **page) -> dict:
        levels = [lv for (iid, lid), lv in self._ctx.shop.levels.items() if lid == self._loc.id]
        return _conn(levels, key=_by_id, node=lambda lv: LevelView(self._ctx, lv), **page)


class LevelView:
    __typename = "InventoryLevel"

    def __init__(self, ctx: Ctx, lvl: Level) -> None:
        self._ctx, self._lvl = ctx, lvl
        self.id = f"gid://shopify/InventoryLevel/{lvl.id}?inventory_item_id={lvl.item_id}"
        self.createdAt = ts_iso(lvl.created_at)
        self.updatedAt = ts_iso(lvl.updated_at)
        self.canDeactivate = True

    def item(self, info) -> "InventoryItemView":
        return InventoryItemView(self._ctx, self._ctx.shop.items[self._lvl.item_id])

    def location(self, info) -> LocationView:
        return LocationView(self._ctx, self._ctx.shop.locations[self._lvl.location_id])

    def quantities(self, info, names: list[str]) -> list[dict]:
        out = []
        for n in names:
            q = self._lvl.quantity(n)
            if q is None:
                raise GraphQLError(f"The quantity name '{n}' is not valid.")
            out.append({"id": f"gid://shopify/InventoryQuantity/{self._lvl.id}?inventory_item_id="
                              f"{self._lvl.item_id}&name={n}",
                        "name": n, "quantity": q, "updatedAt": ts_iso(self._lvl.updated_at)})
        return out


class InventoryItemView:
    __typename = "InventoryItem"

    def __init__(self, ctx: Ctx, item: InventoryItem) -> None:
        self._ctx, self._item = ctx, item
        self.id = gid("InventoryItem", item.id)
        self.legacyResourceId = str(item.id)
        self.sku = item.sku
        self.tracked = item.tracked
        self.requiresShipping = item.requires_shipping
        self.harmonizedSystemCode = item.hs_code
        self.countryCodeOfOrigin = item.country_of_origin
        self.provinceCodeOfOrigin = None
        self.createdAt = ts_iso(item.created_at)
        self.updatedAt = ts_iso(item.updated_at)

    def countryHarmonizedSystemCodes(self, info, **page) -> dict:
        rows = [(i, {"countryCode": cc, "harmonizedSystemCode": code})
                for i, (cc, code) in enumerate(self._item.country_hs_codes)]
        return _conn(rows, key=lambda r: (r[0], r[0]), node=lambda r: r[1], **page)

    def inventoryLevel(self, info, locationId: str) -> LevelView | None:
        loc_id = parse_gid(locationId, "Location")
        lvl = self._ctx.shop.levels.get((self._item.id, loc_id or -1))
        return LevelView(self._ctx, lvl) if lvl else None

    def inventoryLevels(self, info, query: str | None = None, **page) -> dict:
        levels = [lv for (iid, _), lv in self._ctx.shop.levels.items() if iid == self._item.id]
        return _conn(levels, key=_by_id, node=lambda lv: LevelView(self._ctx, lv), **page)

    def variant(self, info) -> "VariantView":
        return VariantView(self._ctx, self._ctx.shop.variants[self._item.variant_id])


class VariantView:
    __typename = "ProductVariant"

    def __init__(self, ctx: Ctx, v: Variant) -> None:
        self._ctx, self._v = ctx, v
        product = ctx.shop.products[v.product_id]
        self.id = gid("ProductVariant", v.id)
        self.legacyResourceId = str(v.id)
        self.title = v.title
        self.displayName = f"{product.title} - {v.title}"
        self.sku = v.sku
        self.barcode = v.barcode
        self.price = money_str(v.price)
        self.compareAtPrice = money_str(v.compare_at_price) if v.compare_at_price is not None else None
        self.taxable = v.taxable
        lvl = ctx.shop.level(v.inventory_item_id)
        self.inventoryQuantity = lvl.available if lvl else 0
        self.availableForSale = product.status == "ACTIVE" and (self.inventoryQuantity or 0) > 0
        self.createdAt = ts_iso(v.created_at)
        self.updatedAt = ts_iso(v.updated_at)

    def product(self, info) -> "ProductView":
        return ProductView(self._ctx, self._ctx.shop.products[self._v.product_id])

    def inventoryItem(self, info) -> InventoryItemView:
        return InventoryItemView(self._ctx, self._ctx.shop.items[self._v.inventory_item_id])


class ProductView:
    __typename = "Product"

    def __init__(self, ctx: Ctx, p: Product) -> None:
        self._ctx, self._p = ctx, p
        self.id = gid("Product", p.id)
        self.legacyResourceId = str(p.id)
        self.title = p.title
        self.handle = p.handle
        self.descriptionHtml = p.description_html
        self.vendor = p.vendor
        self.productType = p.product_type
        self.status = p.status
        self.tags = list(p.tags)
        self.createdAt = ts_iso(p.created_at)
        self.updatedAt = ts_iso(p.updated_at)
        self.tracksInventory = True
        self.hasOnlyDefaultVariant = len(p.variant_ids) == 1

    def totalInventory(self, info) -> int:
        total = 0
        for vid in self._p.variant_ids:
            lvl = self._ctx.shop.level(self._ctx.shop.variants[vid].inventory_item_id)
            total += lvl.available if lvl else 0
        return total

    def variants(self, info, **page) -> dict:
        vs = [self._ctx.shop.variants[v] for v in self._p.variant_ids]
        return _conn(vs, key=_by_id, node=lambda v: VariantView(self._ctx, v), **page)


def tax_line(t: TaxLineRec, order: OrderRec) -> dict:
    return {"title": t.title, "rate": float(t.rate), "ratePercentage": float(t.rate * 100),
            "priceSet": money_bag(t.amount, order.currency, t.amount_presentment, order.presentment_currency),
            "channelLiable": t.channel_liable, "source": "Shopify"}


class LineItemView:
    __typename = "LineItem"

    def __init__(self, ctx: Ctx, order: OrderRec, ln: LineRec) -> None:
        self._ctx, self._order, self._ln = ctx, order, ln
        self.id = gid("LineItem", ln.id)
        self.name = ln.title
        self.title = ln.title
        self.sku = ln.sku
        self.vendor = "crossdock"
        self.quantity = ln.quantity
        self.currentQuantity = ln.current_quantity
        self.unfulfilledQuantity = ln.unfulfilled
        self.requiresShipping = True
        self.taxable = True
        self.variantTitle = None
        c, pc = order.currency, order.presentment_currency
        self.originalUnitPriceSet = money_bag(ln.unit_price, c, ln.unit_price_presentment, pc)
        self.discountedUnitPriceSet = self.originalUnitPriceSet
        self.originalTotalSet = money_bag(ln.unit_price * ln.quantity, c, ln.unit_price_presentment * ln.quantity, pc)
        self.duties = [{"id": gid("Duty", d.id), "harmonizedSystemCode": d.hs_code,
                        "countryCodeOfOrigin": d.country_of_origin,
                        "price": money_bag(d.amount, c, d.amount_presentment, pc), "taxLines": []}
                       for d in ln.duties]

    def taxLines(self, info, first: int | None = None) -> list[dict]:
        rows = [tax_line(t, self._order) for t in self._ln.tax_lines]
        return rows[:first] if first is not None else rows

    def variant(self, info) -> VariantView | None:
        v = self._ctx.shop.variants.get(self._ln.variant_id or -1)
        return VariantView(self._ctx, v) if v else None

    def product(self, info) -> ProductView | None:
        p = self._ctx.shop.products.get(self._ln.product_id or -1)
        return ProductView(self._ctx, p) if p else None


class FulfillmentView:
    __typename = "Fulfillment"

    def __init__(self, ctx: Ctx, f: FulfillmentRec) -> None:
        self._ctx, self._f = ctx, f
        self.id = gid("Fulfillment", f.id)
        self.legacyResourceId = str(f.id)
        self.name = f.name
        self.status = f.status
        self.createdAt = ts_iso(f.created_at)
        self.updatedAt = ts_iso(f.updated_at)

    def trackingInfo(self, info, first: int | None = None) -> list[dict]:
        rows = [dict(t) for t in self._f.tracking]
        return rows[:first] if first is not None else rows

    def order(self, info) -> "OrderView":
        return OrderView(self._ctx, self._ctx.shop.orders[self._f.order_id])

    def location(self, info) -> LocationView | None:
        loc = self._ctx.shop.locations.get(self._f.location_id)
        return LocationView(self._ctx, loc) if loc else None


class FOLineView:
    __typename = "FulfillmentOrderLineItem"

    def __init__(self, ctx: Ctx, order: OrderRec, fl: FOLineRec) -> None:
        self._ctx, self._order, self._fl = ctx, order, fl
        self._ln = next(ln for ln in order.lines if ln.id == fl.line_id)
        self.id = gid("FulfillmentOrderLineItem", fl.id)
        self.sku = self._ln.sku
        self.totalQuantity = fl.total
        self.remainingQuantity = fl.remaining
        v = ctx.shop.variants.get(self._ln.variant_id or -1)
        self.inventoryItemId = gid("InventoryItem", v.inventory_item_id) if v else None

    def lineItem(self, info) -> LineItemView:
        return LineItemView(self._ctx, self._order, self._ln)

    def variant(self, info) -> VariantView | None:
        v = self._ctx.shop.variants.get(self._ln.variant_id or -1)
        return VariantView(self._ctx, v) if v else None


class FulfillmentOrderView:
    __typename = "FulfillmentOrder"

    def __init__(self, ctx: Ctx, fo: FulfillmentOrderRec) -> None:
        self._ctx, self._fo = ctx, fo
        self._order = ctx.shop.orders[fo.order_id]
        self.id = gid("FulfillmentOrder", fo.id)
        self.status = fo.status
        self.requestStatus = "UNSUBMITTED"
        self.createdAt = ts_iso(fo.created_at)
        self.updatedAt = ts_iso(fo.updated_at)
        self.orderId = gid("Order", fo.order_id)
        self.orderName = self._order.name

    def order(self, info) -> "OrderView":
        return OrderView(self._ctx, self._order)

    def assignedLocation(self, info) -> dict:
        loc = self._ctx.shop.locations[self._fo.location_id]
        return {"name": loc.name, "countryCode": loc.country, "location": LocationView(self._ctx, loc)}

    def lineItems(self, info, **page) -> dict:
        return _conn(self._fo.lines, key=_by_id, node=lambda fl: FOLineView(self._ctx, self._order, fl), **page)


class OrderView:
    __typename = "Order"

    def __init__(self, ctx: Ctx, o: OrderRec) -> None:
        self._ctx, self._o = ctx, o
        c, pc = o.currency, o.presentment_currency
        self.id = gid("Order", o.id)
        self.legacyResourceId = str(o.id)
        self.name = o.name
        self.email = o.email
        self.phone = None
        self.note = None
        self.tags = []
        self.test = False
        self.sourceName = o.source_name
        self.createdAt = ts_iso(o.created_at)
        self.updatedAt = ts_iso(o.updated_at)
        self.processedAt = ts_iso(o.created_at)
        self.cancelledAt = ts_iso(o.cancelled_at)
        self.cancelReason = o.cancel_reason
        self.closed = o.closed_at is not None
        self.closedAt = ts_iso(o.closed_at)
        self.confirmed = True
        self.displayFinancialStatus = o.financial
        self.displayFulfillmentStatus = o.fulfillment_status
        self.currencyCode = c
        self.presentmentCurrencyCode = pc
        self.taxesIncluded = o.taxes_included
        self.taxExempt = False
        self.dutiesIncluded = o.duties_included
        self.totalPriceSet = money_bag(o.total(), c, o.total(True), pc)
        self.subtotalPriceSet = money_bag(o.subtotal(), c, o.subtotal(True), pc)
        self.totalTaxSet = money_bag(o.total_tax(), c, o.total_tax(True), pc)
        self.totalShippingPriceSet = money_bag(o.shipping, c, o.shipping_presentment, pc)
        self.currentTotalPriceSet = money_bag(o.current_total(), c, o.current_total(True), pc)
        has_duties = any(ln.duties for ln in o.lines)
        self.originalTotalDutiesSet = money_bag(o.total_duties(), c, o.total_duties(True), pc) if has_duties else None
        self.currentTotalDutiesSet = self.originalTotalDutiesSet
        self.taxLines = [tax_line(t, o) for t in o.tax_lines()]
        self.shippingAddress = _address(o.shipping_address)
        self.billingAddress = _address(o.shipping_address)

    def lineItems(self, info, **page) -> dict:
        return _conn(self._o.lines, key=_by_id, node=lambda ln: LineItemView(self._ctx, self._o, ln), **page)

    def fulfillmentOrders(self, info, displayable: bool = False, query: str | None = None, **page) -> dict:
        fos = [self._ctx.shop.fulfillment_orders[i] for i in self._o.fulfillment_order_ids]
        if displayable:
            fos = [fo for fo in fos if fo.status not in ("CANCELLED", "INCOMPLETE")]
        return _conn(fos, key=_by_id, node=lambda fo: FulfillmentOrderView(self._ctx, fo), **page)

    def fulfillments(self, info, first: int | None = None) -> list[FulfillmentView]:
        rows = [FulfillmentView(self._ctx, self._ctx.shop.fulfillments[i]) for i in self._o.fulfillment_ids]
        return rows[:first] if first is not None else rows


def _address(a: dict[str, Any] | None) -> dict | None:
    if not a:
        return None
    return {"id": gid("MailingAddress", a["id"]), "name": a["name"], "firstName": a["first_name"],
            "lastName": a["last_name"], "company": a.get("company"), "address1": a["address1"],
            "address2": a.get("address2"), "city": a["city"], "province": a.get("province"),
            "provinceCode": a.get("province_code"), "zip": a["zip"], "country": a["country"],
            "countryCodeV2": a["country_code"], "phone": a.get("phone")}


class WebhookSubscriptionView:
    __typename = "WebhookSubscription"

    def __init__(self, ctx: Ctx, w: WebhookSub) -> None:
        self.id = gid("WebhookSubscription", w.id)
        self.legacyResourceId = str(w.id)
        self.topic = w.topic
        self.uri = w.uri
        self.format = w.format
        self.includeFields = list(w.include_fields)
        self.filter = w.filter
        self.createdAt = ts_iso(w.created_at)
        self.updatedAt = ts_iso(w.updated_at)


class AdjustmentGroupView:
    __typename = "InventoryAdjustmentGroup"

    def __init__(self, ctx: Ctx, g: AdjustmentGroup) -> None:
        self._ctx, self._g = ctx, g
        self.id = gid("InventoryAdjustmentGroup", g.id)
        self.createdAt = ts_iso(g.created_at)
        self.reason = g.reason
        self.referenceDocumentUri = g.reference_document_uri

    def changes(self, info, inventoryItemIds: list[str] | None = None, locationIds: list[str] | None = None,
                quantityNames: list[str] | None = None) -> list[dict]:
        shop = self._ctx.shop
        out = []
        for ch in self._g.changes:
            if inventoryItemIds is not None and gid("InventoryItem", ch["item_id"]) not in inventoryItemIds:
                continue
            if locationIds is not None and gid("Location", ch["location_id"]) not in locationIds:
                continue
            if quantityNames is not None and ch["name"] not in quantityNames:
                continue
            out.append({"name": ch["name"], "delta": ch["delta"], "quantityAfterChange": ch["after"],
                        "ledgerDocumentUri": None,
                        "item": InventoryItemView(self._ctx, shop.items[ch["item_id"]]),
                        "location": LocationView(self._ctx, shop.locations[ch["location_id"]])})
        return out


# --- search specs -------------------------------------------------------------

def _order_search(ctx: Ctx) -> Searchable:
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
    }, text=(lambda o: o.name, lambda o: o.email))


def _variant_search(ctx: Ctx) -> Searchable:
    shop = ctx.shop
    return Searchable(fields={
        "sku": (lambda v: v.sku, "text"), "id": (lambda v: v.id, "id"), "product_id": (lambda v: v.product_id, "id"),
        "title": (lambda v: v.title, "text"), "barcode": (lambda v: v.barcode, "text"),
        "product_status": (lambda v: shop.products[v.product_id].status.lower(), "text"),
        "updated_at": (lambda v: v.updated_at, "time"), "created_at": (lambda v: v.created_at, "time"),
        "inventory_item_id": (lambda v: v.inventory_item_id, "id"),
    }, text=(lambda v: v.sku, lambda v: shop.products[v.product_id].title))


def _item_search(ctx: Ctx) -> Searchable:
    return Searchable(fields={
        "sku": (lambda i: i.sku, "text"), "id": (lambda i: i.id, "id"),
        "created_at": (lambda i: i.created_at, "time"), "updated_at": (lambda i: i.updated_at, "time"),
    }, text=(lambda i: i.sku,))


def _product_search(ctx: Ctx) -> Searchable:
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


# --- root -------------------------------------------------------------------------

class Root:
    """QueryRoot and Mutation fields (graphql-core uses one root value for both)."""

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx

    # ---- queries ------------------------------------------------------------
    def shop(self, info) -> ShopView:
        return ShopView(self._ctx)

    def node(self, info, id: str) -> Any:
        return self._node(id)

    def nodes(self, info, ids: list[str]) -> list[Any]:
        if len(ids) > MAX_INPUT_ARRAY:
            raise _too_many(len(ids))
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
        key = (lambda l: (l.name, l.id)) if sortKey == "NAME" else _by_id
        return _conn(locs, key=key, node=lambda l: LocationView(self._ctx, l), **page)

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
            orders = search(orders, query, _order_search(ctx), ctx.warnings)
        sort = ORDER_SORT.get(sortKey, ORDER_SORT["ID"])
        return _conn(orders, key=lambda o: (sort(o), o.id), node=lambda o: OrderView(ctx, o), **page)

    def fulfillmentOrder(self, info, id: str) -> FulfillmentOrderView | None:
        fo = self._ctx.shop.fulfillment_orders.get(parse_gid(id, "FulfillmentOrder") or -1)
        return FulfillmentOrderView(self._ctx, fo) if fo else None

    def product(self, info, id: str) -> ProductView | None:
        p = self._ctx.shop.products.get(parse_gid(id, "Product") or -1)
        return ProductView(self._ctx, p) if p else None

    def products(self, info, sortKey: str = "ID", query: str | None = None, **page) -> dict:
        ps = search(self._ctx.shop.products.values(), query, _product_search(self._ctx), self._ctx.warnings)
        sorts = {"TITLE": lambda p: p.title, "UPDATED_AT": lambda p: p.updated_at,
                 "CREATED_AT": lambda p: p.created_at, "PRODUCT_TYPE": lambda p: p.product_type,
                 "VENDOR": lambda p: p.vendor}
        sort = sorts.get(sortKey, lambda p: p.id)
        return _conn(ps, key=lambda p: (sort(p), p.id), node=lambda p: ProductView(self._ctx, p), **page)

    def productVariant(self, info, id: str) -> VariantView | None:
        v = self._ctx.shop.variants.get(parse_gid(id, "ProductVariant") or -1)
        return VariantView(self._ctx, v) if v else None

    def productVariants(self, info, sortKey: str = "ID", query: str | None = None, **page) -> dict:
        vs = search(self._ctx.shop.variants.values(), query, _variant_search(self._ctx), self._ctx.warnings)
        sorts = {"SKU": lambda v: v.sku or "", "TITLE": lambda v: v.title, "NAME": lambda v: v.title,
                 "FULL_TITLE": lambda v: v.title}
        sort = sorts.get(sortKey, lambda v: v.id)
        return _conn(vs, key=lambda v: (sort(v), v.id), node=lambda v: VariantView(self._ctx, v), **page)

    def inventoryItem(self, info, id: str) -> InventoryItemView | None:
        it = self._ctx.shop.items.get(parse_gid(id, "InventoryItem") or -1)
        return InventoryItemView(self._ctx, it) if it else None

    def inventoryItems(self, info, query: str | None = None, **page) -> dict:
        items = search(self._ctx.shop.items.values(), query, _item_search(self._ctx), self._ctx.warnings)
        return _conn(items, key=_by_id, node=lambda i: InventoryItemView(self._ctx, i), **page)

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
        return _conn(subs, key=_by_id, node=lambda w: WebhookSubscriptionView(self._ctx, w), **page)

    # ---- mutations -------------------------------------------------------------
    def inventorySetQuantities(self, info, input: dict) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        key = _idempotency_key(info)
        if key is None and sdl.requires_idempotency_key(ctx.version):
            raise GraphQLError("The @idempotent directive is required for this mutation.",
                               info.field_nodes, extensions={"code": "BAD_REQUEST"})
        quantities = input["quantities"]
        if len(quantities) > MAX_INPUT_ARRAY:
            raise _too_many(len(quantities), info)
        fingerprint = json.dumps(input, sort_keys=True, default=str)
        if key is not None and key in shop.idempotency:
            seen_fp, seen = shop.idempotency[key]
            if seen_fp != fingerprint:
                return {"inventoryAdjustmentGroup": None, "userErrors": [_ue(
                    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", None,
                    "The same idempotency key cannot be used with different operation parameters.")]}
            return seen
        errors: list[dict] = []
        name, reason = input["name"], input["reason"]
        if name not in ("available", "on_hand"):
            errors.append(_ue("INVALID_NAME", ["input", "name"],
                              "The quantity name must be either 'available' or 'on_hand'."))
        if reason not in VALID_REASONS:
            errors.append(_ue("INVALID_REASON", ["input", "reason"], "The specified reason is invalid."))
        strict = sdl.requires_change_from_quantity(ctx.version)
        ignore_compare = bool(input.get("ignoreCompareQuantity", False))
        seen_pairs: set[tuple[int, int]] = set()
        plan: list[tuple[int, int, int]] = []
        for i, q in enumerate(quantities):
            path = ["input", "quantities", str(i)]
            item_id = parse_gid(q["inventoryItemId"], "InventoryItem")
            loc_id = parse_gid(q["locationId"], "Location")
            if item_id is None or item_id not in shop.items:
                errors.append(_ue("INVALID_INVENTORY_ITEM", path + ["inventoryItemId"],
                                  "The specified inventory item could not be found."))
                continue
            if loc_id is None or loc_id not in shop.locations:
                errors.append(_ue("INVALID_LOCATION", path + ["locationId"],
                                  "The specified location could not be found."))
                continue
            if (item_id, loc_id) in seen_pairs:
                errors.append(_ue("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", path,
                                  "The combination of inventoryItemId and locationId must be unique."))
                continue
            seen_pairs.add((item_id, loc_id))
            lvl = shop.levels.get((item_id, loc_id))
            if lvl is None:
                errors.append(_ue("ITEM_NOT_STOCKED_AT_LOCATION", path + ["locationId"],
                                  "The specified inventory item is not stocked at the location."))
                continue
            qty = q["quantity"]
            if qty < 0:
                errors.append(_ue("INVALID_QUANTITY_NEGATIVE", path + ["quantity"], "The quantity can't be negative."))
                continue
            if qty > 1_000_000_000:
                errors.append(_ue("INVALID_QUANTITY_TOO_HIGH", path + ["quantity"],
                                  "The total quantity can't be higher than 1,000,000,000."))
                continue
            current = lvl.quantity(name) if name in ("available", "on_hand") else None
            if "changeFromQuantity" in q and q["changeFromQuantity"] is not None:
                if current != q["changeFromQuantity"]:
                    errors.append(_ue("CHANGE_FROM_QUANTITY_STALE", path + ["changeFromQuantity"],
                                      "The changeFromQuantity value does not match persisted value."))
                    continue
            elif "changeFromQuantity" in q:
                pass  # explicit null: the caller opted out of the check
            elif strict:
                errors.append(_ue("COMPARE_QUANTITY_REQUIRED", path + ["changeFromQuantity"],
                                  "The changeFromQuantity argument must be given to each quantity; pass null to "
                                  "opt out of the check."))
                continue
            elif q.get("compareQuantity") is not None:
                if current != q["compareQuantity"]:
                    errors.append(_ue("COMPARE_QUANTITY_STALE", path + ["compareQuantity"],
                                      "The compareQuantity value does not match persisted value."))
                    continue
            elif not ignore_compare:
                errors.append(_ue("COMPARE_QUANTITY_REQUIRED", path + ["compareQuantity"],
                                  "The compareQuantity argument must be given to each quantity or ignored using "
                                  "ignoreCompareQuantity."))
                continue
            plan.append((item_id, loc_id, qty))
        if errors:
            result = {"inventoryAdjustmentGroup": None, "userErrors": errors}
        else:
            changes = []
            for item_id, loc_id, qty in plan:
                lvl = shop.levels[(item_id, loc_id)]
                before_avail, before_on_hand = lvl.available, lvl.on_hand
                if name == "available":
                    shop.set_available(item_id, loc_id, qty, ctx.now)
                else:
                    shop.set_on_hand(item_id, loc_id, qty, ctx.now)
                changes.append({"name": "available", "delta": lvl.available - before_avail, "after": lvl.available,
                                "item_id": item_id, "location_id": loc_id})
                changes.append({"name": "on_hand", "delta": lvl.on_hand - before_on_hand, "after": lvl.on_hand,
                                "item_id": item_id, "location_id": loc_id})
                if lvl.available != before_avail or lvl.on_hand != before_on_hand:
                    ctx.events.append(("inventory_levels/update", lvl))
                    sku = shop.items[item_id].sku
                    if sku:
                        ctx.touched_skus.add(sku)
            group = AdjustmentGroup(shop.ids.next("InventoryAdjustmentGroup"), ctx.now, reason,
                                    input.get("referenceDocumentUri"), changes)
            shop.adjustments[group.id] = group
            result = {"inventoryAdjustmentGroup": AdjustmentGroupView(ctx, group), "userErrors": []}
        if key is not None:
            shop.idempotency[key] = (fingerprint, result)
        return result

    def productVariantsBulkUpdate(self, info, productId: str, variants: list[dict],
                                  allowPartialUpdates: bool = False) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        if len(variants) > MAX_INPUT_ARRAY:
            raise _too_many(len(variants), info)
        product = shop.products.get(parse_gid(productId, "Product") or -1)
        if product is None:
            return {"product": None, "productVariants": None,
                    "userErrors": [_ue("PRODUCT_DOES_NOT_EXIST", ["productId"], "Product does not exist")]}
        errors: list[dict] = []
        plan: list[tuple[Variant, dict, Decimal | None, Decimal | None]] = []
        for i, vin in enumerate(variants):
            path = ["variants", str(i)]
            if not vin.get("id"):
                errors.append(_ue("PRODUCT_VARIANT_ID_MISSING", path + ["id"],
                                  "Product variant is missing ID attribute"))
                continue
            vid = parse_gid(vin["id"], "ProductVariant")
            v = shop.variants.get(vid or -1)
            if v is None or v.product_id != product.id:
                errors.append(_ue("PRODUCT_VARIANT_DOES_NOT_EXIST", path + ["id"], "Product variant does not exist"))
                continue
            price = compare_at = None
            try:
                if vin.get("price") is not None:
                    price = Decimal(str(vin["price"]))
                if vin.get("compareAtPrice") is not None:
                    compare_at = Decimal(str(vin["compareAtPrice"]))
            except InvalidOperation:
                errors.append(_ue("INVALID_INPUT", path + ["price"], "Price is invalid"))
                continue
            if price is not None and (price < 0 or not price.is_finite()):
                errors.append(_ue("GREATER_THAN_OR_EQUAL_TO", path + ["price"],
                                  "Price must be greater than or equal to 0"))
                continue
            inv = vin.get("inventoryItem") or {}
            new_sku = inv.get("sku")
            if new_sku:
                clash = shop.variant_by_sku(new_sku)
                if clash is not None and clash.id != v.id:
                    # Shopify allows duplicate SKUs but warns; the sandbox keeps SKUs unique so mapping is exact.
                    errors.append(_ue("MUST_BE_UNIQUE", path + ["inventoryItem", "sku"],
                                      f"SKU {new_sku} is already used by another variant in this shop"))
                    continue
            plan.append((v, vin, price, compare_at))
        if errors and not allowPartialUpdates:
            return {"product": ProductView(ctx, product), "productVariants": None, "userErrors": errors}
        updated = []
        for v, vin, price, compare_at in plan:
            old_sku = v.sku
            if price is not None:
                v.price = money(price)
            if compare_at is not None:
                v.compare_at_price = money(compare_at)
            if "barcode" in vin:
                v.barcode = vin["barcode"]
            if vin.get("taxable") is not None:
                v.taxable = bool(vin["taxable"])
            inv = vin.get("inventoryItem") or {}
            item = shop.items[v.inventory_item_id]
            if "sku" in inv:
                v.sku = item.sku = inv["sku"]
            if inv.get("tracked") is not None:
                item.tracked = bool(inv["tracked"])
            if inv.get("requiresShipping") is not None:
                item.requires_shipping = bool(inv["requiresShipping"])
            if "harmonizedSystemCode" in inv:
                item.hs_code = inv["harmonizedSystemCode"]
            if "countryCodeOfOrigin" in inv:
                item.country_of_origin = inv["countryCodeOfOrigin"]
            if inv.get("countryHarmonizedSystemCodes") is not None:
                item.country_hs_codes = [(r["countryCode"], r["harmonizedSystemCode"])
                                         for r in inv["countryHarmonizedSystemCodes"]]
            if inv.get("cost") is not None:
                item.cost = Decimal(str(inv["cost"]))
            v.updated_at = item.updated_at = ctx.now
            product.updated_at = ctx.now
            for s in (old_sku, v.sku):
                if s:
                    ctx.touched_skus.add(s)
            updated.append(VariantView(ctx, v))
        return {"product": ProductView(ctx, product), "productVariants": updated, "userErrors": errors}

    def productCreate(self, info, product: dict | None = None) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        spec = product or {}
        title = (spec.get("title") or "").strip()
        if not title:
            return {"product": None, "userErrors": [{"field": ["title"], "message": "Title can't be blank"}]}
        if len(title) > 255:
            return {"product": None, "userErrors": [{"field": ["title"],
                                                     "message": "Title is too long (maximum is 255 characters)"}]}
        p = shop.create_product(title=title, now=ctx.now, status=spec.get("status") or "ACTIVE",
                                handle=spec.get("handle"), description_html=spec.get("descriptionHtml") or "",
                                vendor=spec.get("vendor") or shop.name, product_type=spec.get("productType") or "",
                                tags=spec.get("tags"))
        return {"product": ProductView(ctx, p), "userErrors": []}

    def productUpdate(self, info, product: dict | None = None) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        spec = product or {}
        p = shop.products.get(parse_gid(spec.get("id"), "Product") or -1)
        if p is None:
            return {"product": None, "userErrors": [{"field": ["id"], "message": "Product does not exist"}]}
        if "title" in spec:
            title = (spec["title"] or "").strip()
            if not title or len(title) > 255:
                msg = "Title can't be blank" if not title else "Title is too long (maximum is 255 characters)"
                return {"product": None, "userErrors": [{"field": ["title"], "message": msg}]}
            p.title = title
        for src, dst in (("handle", "handle"), ("descriptionHtml", "description_html"), ("vendor", "vendor"),
                         ("productType", "product_type"), ("status", "status"), ("tags", "tags")):
            if spec.get(src) is not None:
                setattr(p, dst, spec[src])
        p.updated_at = ctx.now
        for vid in p.variant_ids:
            if shop.variants[vid].sku:
                ctx.touched_skus.add(shop.variants[vid].sku)
        return {"product": ProductView(ctx, p), "userErrors": []}

    def fulfillmentCreate(self, info, fulfillment: dict, message: str | None = None) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        groups = fulfillment["lineItemsByFulfillmentOrder"]
        if len(groups) > MAX_INPUT_ARRAY:
            raise _too_many(len(groups), info)

        def fail(msg: str, field_path: list[str] | None = None) -> dict:
            return {"fulfillment": None, "userErrors": [{"field": field_path or ["fulfillment"], "message": msg}]}

        if not groups:
            return fail("Line items by fulfillment order can't be blank",
                        ["fulfillment", "lineItemsByFulfillmentOrder"])
        plan: list[tuple[FulfillmentOrderRec, list[tuple[FOLineRec, int]]]] = []
        order_ids, location_ids = set(), set()
        for g in groups:
            fo = shop.fulfillment_orders.get(parse_gid(g["fulfillmentOrderId"], "FulfillmentOrder") or -1)
            if fo is None:
                return fail("Fulfillment order does not exist.")
            if fo.status not in ("OPEN", "IN_PROGRESS"):
                return fail(f"Fulfillment order {fo.id} has an unfulfillable status= {fo.status.lower()}.")
            order_ids.add(fo.order_id)
            location_ids.add(fo.location_id)
            wanted = g.get("fulfillmentOrderLineItems")
            pairs: list[tuple[FOLineRec, int]] = []
            if wanted is None:
                pairs = [(fl, fl.remaining) for fl in fo.lines if fl.remaining > 0]
            else:
                by_id = {fl.id: fl for fl in fo.lines}
                for w in wanted:
                    fl = by_id.get(parse_gid(w["id"], "FulfillmentOrderLineItem") or -1)
                    if fl is None:
                        return fail("Invalid fulfillment order line item id.")
                    if w["quantity"] <= 0 or w["quantity"] > fl.remaining:
                        return fail("Invalid fulfillment order line item quantity requested.")
                    pairs.append((fl, w["quantity"]))
            if not pairs:
                return fail(f"Fulfillment order {fo.id} has no line items left to fulfill.")
            plan.append((fo, pairs))
        if len(order_ids) > 1 or len(location_ids) > 1:
            return fail("All fulfillment orders must belong to the same order and be assigned to the same location.")
        tracking_in = fulfillment.get("trackingInfo") or {}
        numbers = list(tracking_in.get("numbers") or []) or ([tracking_in["number"]] if tracking_in.get("number")
                                                              else [])
        urls = list(tracking_in.get("urls") or []) or ([tracking_in["url"]] if tracking_in.get("url") else [])
        tracking = [{"company": tracking_in.get("company"), "number": n, "url": urls[i] if i < len(urls) else None}
                    for i, n in enumerate(numbers)]
        order = shop.orders[next(iter(order_ids))]
        rec = shop.fulfill(order, plan, tracking, ctx.now)
        ctx.events.append(("orders/updated", order))
        ctx.events.append(("orders/fulfilled" if order.fulfillment_status == "FULFILLED"
                           else "orders/partially_fulfilled", order))
        return {"fulfillment": FulfillmentView(ctx, rec), "userErrors": []}

    def webhookSubscriptionCreate(self, info, topic: str, webhookSubscription: dict) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        uri = (webhookSubscription.get("uri") or "").strip()
        path = ["webhookSubscription", "uri"]
        if not (uri.startswith("http://") or uri.startswith("https://")):
            return {"webhookSubscription": None, "userErrors": [{"field": path, "message": "Address is invalid"}]}
        if any(w.topic == topic and w.uri == uri for w in shop.subscriptions.values()):
            return {"webhookSubscription": None, "userErrors": [
                {"field": path, "message": "Address for this topic has already been taken"}]}
        w = WebhookSub(shop.ids.next("WebhookSubscription"), topic, uri, ctx.now, ctx.now,
                       webhookSubscription.get("format") or "JSON",
                       list(webhookSubscription.get("includeFields") or []), webhookSubscription.get("filter"))
        shop.subscriptions[w.id] = w
        return {"webhookSubscription": WebhookSubscriptionView(ctx, w), "userErrors": []}

    def webhookSubscriptionDelete(self, info, id: str) -> dict:
        shop = self._ctx.shop
        num = parse_gid(id, "WebhookSubscription")
        if num is None or num not in shop.subscriptions:
            return {"deletedWebhookSubscriptionId": None,
                    "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}]}
        del shop.subscriptions[num]
        return {"deletedWebhookSubscriptionId": id, "userErrors": []}


def _ue(code: str | None, field_path: list[str] | None, message: str) -> dict:
    return {"code": code, "field": field_path, "message": message}


def _too_many(n: int, info: Any = None) -> GraphQLError:
    return GraphQLError(f"The input array size of {n} is greater than the maximum allowed of {MAX_INPUT_ARRAY}.",
                        info.field_nodes if info is not None else None,
                        extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"})


def _idempotency_key(info: Any) -> str | None:
    directive = info.schema.get_directive("idempotent")
    if directive is None:
        return None
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    return values.get("key") if values else None
