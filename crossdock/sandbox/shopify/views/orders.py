"""Resolvers of the order types (Order, LineItem, FulfillmentOrder and its
lines, Fulfillment) and the ``fulfillmentCreate`` mutation."""

from __future__ import annotations

import uuid
from typing import Any

from crossdock.sandbox.shopify.records import (
    FOLineRec,
    FulfillmentOrderRec,
    FulfillmentRec,
    LineRec,
    OrderRec,
    TaxLineRec,
    gid,
    parse_gid,
    ts_iso,
)
from crossdock.sandbox.shopify.views.base import MAX_INPUT_ARRAY, Ctx, RootPart, by_id, connection, money_bag, too_many
from crossdock.sandbox.shopify.views.catalogue import LocationView, ProductView, VariantView


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
        self.duties: list[dict[str, Any]] = [{"id": gid("Duty", d.id), "harmonizedSystemCode": d.hs_code,
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

    def fulfillmentLineItems(self, info, **page) -> dict:
        from crossdock.sandbox.shopify.returns import fulfillment_line_items

        return fulfillment_line_items(self._ctx, self._f.id, page)


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
        return connection(self._fo.lines, key=by_id, node=lambda fl: FOLineView(self._ctx, self._order, fl), **page)


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
        self.tags: list[str] = []
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
        self.totalRefundedSet = money_bag(o.refunded(), c, o.refunded(True), pc)
        has_duties = any(ln.duties for ln in o.lines)
        self.originalTotalDutiesSet = money_bag(o.total_duties(), c, o.total_duties(True), pc) if has_duties else None
        self.currentTotalDutiesSet = self.originalTotalDutiesSet
        self.taxLines = [tax_line(t, o) for t in o.tax_lines()]
        self.shippingAddress = address(o.shipping_address)
        self.billingAddress = address(o.shipping_address)

    def lineItems(self, info, **page) -> dict:
        return connection(self._o.lines, key=by_id, node=lambda ln: LineItemView(self._ctx, self._o, ln), **page)

    def fulfillmentOrders(self, info, displayable: bool = False, query: str | None = None, **page) -> dict:
        fos = [self._ctx.shop.fulfillment_orders[i] for i in self._o.fulfillment_order_ids]
        if displayable:
            fos = [fo for fo in fos if fo.status not in ("CANCELLED", "INCOMPLETE")]
        return connection(fos, key=by_id, node=lambda fo: FulfillmentOrderView(self._ctx, fo), **page)

    def fulfillments(self, info, first: int | None = None) -> list[FulfillmentView]:
        rows = [FulfillmentView(self._ctx, self._ctx.shop.fulfillments[i]) for i in self._o.fulfillment_ids]
        return rows[:first] if first is not None else rows

    def returns(self, info, query: str | None = None, **page) -> dict:
        from crossdock.sandbox.shopify.returns import order_returns

        return order_returns(self._ctx, self._o, page)
    def refunds(self, info, first: int | None = None) -> list:
        from crossdock.sandbox.shopify.views.refunds import refunds_of

        return refunds_of(self._ctx, self._o, first)

    def transactions(self, info, first: int | None = None, **_: Any) -> list[dict]:
        from crossdock.sandbox.shopify.views.refunds import transactions

        return transactions(self._o, first)


def address(a: dict[str, Any] | None) -> dict | None:
    if not a:
        return None
    return {"id": gid("MailingAddress", a["id"]), "name": a["name"], "firstName": a["first_name"],
            "lastName": a["last_name"], "company": a.get("company"), "address1": a["address1"],
            "address2": a.get("address2"), "city": a["city"], "province": a.get("province"),
            "provinceCode": a.get("province_code"), "zip": a["zip"], "country": a["country"],
            "countryCodeV2": a["country_code"], "phone": a.get("phone")}


class OrderMutations(RootPart):
    """Mutation fields on orders."""

    def fulfillmentCreate(self, info, fulfillment: dict, message: str | None = None) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        groups = fulfillment["lineItemsByFulfillmentOrder"]
        if len(groups) > MAX_INPUT_ARRAY:
            raise too_many(len(groups), info)

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

    def orderCancel(self, info, orderId: str, reason: str, restock: bool, refund: bool | None = None,
                    notifyCustomer: bool = False, staffNote: str | None = None) -> dict:
        """Shopify's orderCancel: refused (orderCancelUserErrors) for an unknown
        order, one already cancelled, or one with anything fulfilled; else the
        order is cancelled, refunded and restocked (the sim's own cancel) and
        the job comes back done."""
        ctx, shop = self._ctx, self._ctx.shop

        def fail(code: str, msg: str, field_path: list[str]) -> dict:
            errs = [{"code": code, "field": field_path, "message": msg}]
            return {"job": None, "orderCancelUserErrors": errs,
                    "userErrors": [{"field": e["field"], "message": e["message"]} for e in errs]}

        order = shop.orders.get(parse_gid(orderId, "Order") or -1)
        if order is None:
            return fail("NOT_FOUND", "Order does not exist", ["orderId"])
        if order.cancelled_at is not None:
            return fail("INVALID", "Order has already been cancelled", ["orderId"])
        if any(ln.fulfilled for ln in order.lines):
            return fail("INVALID", "Cannot cancel an order that has fulfillments; cancel them first", ["orderId"])
        ctx.sim.cancel_order(shop, order, reason)
        return {"job": {"id": f"gid://shopify/Job/{uuid.uuid4()}", "done": True},
                "orderCancelUserErrors": [], "userErrors": []}

