"""Every Shopify field mapping, as pure functions.

Requests: GraphQL ``{"query", "variables"}`` bodies built from normalised data.
Responses: GraphQL nodes (camelCase) and webhook/REST payloads (snake_case)
parsed into :mod:`crossdock.models`. Cross-border data is kept: shop currency
amounts (``shopMoney``) become the normalised money, the buyer's
``presentmentMoney`` stays in ``raw``; buyer country from the shipping address;
tax lines (``channelLiable`` = a marketplace collected the tax); duties with HS
code and origin stay in ``raw``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, OperationDefinitionNode, parse
from graphql.language import FragmentDefinitionNode, IntValueNode, VariableNode

from crossdock.clock import iso, parse_iso
from crossdock.connectors.base import RefreshResult
from crossdock.connectors.shopify import queries as q
from crossdock.errors import MappingError
from crossdock.models import (
    Address,
    ListedOffer,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    TaxInfo,
)

MAX_FIRST = 250        # Shopify's cap on page sizes and input arrays

# --- ids -------------------------------------------------------------------------------

def gid(kind: str, legacy_id: str | int) -> str:
    return f"gid://shopify/{kind}/{legacy_id}"


def legacy_id(value: str | int | None) -> str | None:
    """``gid://shopify/Order/123`` (or 123) -> "123"."""
    if value is None:
        return None
    text = str(value)
    if text.startswith("gid://"):
        text = text.rsplit("/", 1)[-1].split("?", 1)[0]
    return text


def order_gid(platform_order_id: str) -> str:
    return platform_order_id if platform_order_id.startswith("gid://") else gid("Order", platform_order_id)


# --- query cost ---------------------------------------------------------------------------

def estimate_cost(query: str, variables: Mapping[str, Any] | None = None) -> int:
    """Shopify's requested cost of one of our documents, before sending it.

    Same rules as Shopify (objects 1, scalars 0, connections 2 + first × node,
    mutations 10). A field taking ``first``/``last`` is a connection; that holds
    for every document in :mod:`queries`. The quota budget is charged this much
    up front and refunded from ``extensions.cost`` after the call.
    """
    doc = parse(query)
    frags = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    vars_ = dict(variables or {})
    roots = _merged(op.selection_set.selections, frags)
    if op.operation.value == "mutation":
        return sum(10 + _nested_connections(sel, frags, vars_) for sel in roots.values())
    return sum(_field_cost(sel, frags, vars_) for sel in roots.values())


def _merged(selections: Iterable[Any], frags: Mapping[str, FragmentDefinitionNode]) -> dict[str, list[FieldNode]]:
    out: dict[str, list[FieldNode]] = {}
    for sel in selections:
        if isinstance(sel, FieldNode):
            out.setdefault((sel.alias or sel.name).value, []).append(sel)
        elif isinstance(sel, FragmentSpreadNode):
            for k, v in _merged(frags[sel.name.value].selection_set.selections, frags).items():
                out.setdefault(k, []).extend(v)
        elif isinstance(sel, InlineFragmentNode):
            for k, v in _merged(sel.selection_set.selections, frags).items():
                out.setdefault(k, []).extend(v)
    return out


def _children(nodes: list[FieldNode], frags: Mapping[str, FragmentDefinitionNode]) -> dict[str, list[FieldNode]]:
    sels = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
    return _merged(sels, frags)


def _page_size(node: FieldNode, vars_: Mapping[str, Any]) -> int | None:
    for arg in node.arguments or ():
        if arg.name.value in ("first", "last"):
            if isinstance(arg.value, IntValueNode):
                return int(arg.value.value)
            if isinstance(arg.value, VariableNode):
                return int(vars_.get(arg.value.name.value) or 0)
    return None


def _field_cost(nodes: list[FieldNode], frags, vars_) -> int:
    node = nodes[0]
    if node.name.value.startswith("__") or not any(n.selection_set for n in nodes):
        return 0
    size = _page_size(node, vars_)
    if size is not None:
        per_node = 0
        for key, sub in _children(nodes, frags).items():
            name = sub[0].name.value
            if name == "nodes":
                per_node += 1 + sum(_field_cost(c, frags, vars_) for c in _children(sub, frags).values())
            elif name == "edges":
                for inner in _children(sub, frags).values():
                    if inner[0].name.value == "node":
                        per_node += 1 + sum(_field_cost(c, frags, vars_) for c in _children(inner, frags).values())
        return 2 + size * per_node
    return 1 + sum(_field_cost(c, frags, vars_) for c in _children(nodes, frags).values())


def _nested_connections(nodes: list[FieldNode], frags, vars_) -> int:
    total = 0
    for sub in _children(nodes, frags).values():
        if not any(n.selection_set for n in sub):
            continue
        if _page_size(sub[0], vars_) is not None:
            total += _field_cost(sub, frags, vars_)
        else:
            total += _nested_connections(sub, frags, vars_)
    return total


def body(query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    return {"query": query, "variables": dict(variables)}


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
    return OrderLine(platform_line_id=legacy_id(node["id"]) or "", sku=node.get("sku") or None, quantity=quantity,
                     unit_price=_shop_money(node.get("originalUnitPriceSet")), title=node.get("name"),
                     listing_id=legacy_id(variant.get("id")),
                     tax=_tax_info(taxes, tax_amount) if taxes else None, quantity_shipped=shipped)


def _address(a: Mapping[str, Any] | None) -> Address | None:
    if not a:
        return None
    return Address(country_code=a.get("countryCodeV2"), name=a.get("name"), line1=a.get("address1"),
                   line2=a.get("address2"), city=a.get("city"), region=a.get("provinceCode"),
                   postal_code=a.get("zip"), phone=a.get("phone"))


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
            shipping_address=address, raw=dict(node))
    except MappingError:
        raise
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
        raise MappingError("XD-MAP-010", entity=f"order {node.get('id') if isinstance(node, Mapping) else '?'}",
                           detail=f"Shopify Order node: {type(exc).__name__}: {exc}") from exc


@dataclass
class OrdersPage:
    orders: list[Order]
    has_next: bool
    end_cursor: str | None
    more_lines: list[tuple[str, str]] = field(default_factory=list)   # (order id, lines end cursor)


def parse_orders_page(data: Mapping[str, Any]) -> OrdersPage:
    try:
        conn = data["orders"]
        nodes = conn.get("nodes")
        if nodes is None:
            nodes = [e["node"] for e in conn.get("edges") or []]
        info = conn["pageInfo"]
    except (KeyError, TypeError) as exc:
        raise MappingError("XD-MAP-010", detail=f"Shopify orders page: {type(exc).__name__}: {exc}") from exc
    orders, more = [], []
    for n in nodes:
        order = parse_order(n)
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


def parse_order_lines(data: Mapping[str, Any]) -> tuple[list[OrderLine], list[dict], bool, str | None]:
    try:
        conn = data["order"]["lineItems"]
        nodes = conn["nodes"]
        info = conn["pageInfo"]
    except (KeyError, TypeError) as exc:
        raise MappingError("XD-MAP-010", detail=f"Shopify order lines: {type(exc).__name__}: {exc}") from exc
    return [parse_line(n) for n in nodes], list(nodes), bool(info.get("hasNextPage")), info.get("endCursor")


# --- webhook / REST orders -------------------------------------------------------------------

def _rest_money(set_: Mapping[str, Any] | None) -> Money | None:
    if not set_ or not set_.get("shop_money"):
        return None
    m = set_["shop_money"]
    return Money(Decimal(str(m["amount"])), str(m["currency_code"]))


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
            lines.append(OrderLine(
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
            shipping_address=address, raw=dict(payload))
    except MappingError:
        raise
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
        ident = payload.get("id") if isinstance(payload, Mapping) else "?"
        raise MappingError("XD-MAP-010", entity=f"order {ident}",
                           detail=f"Shopify webhook order: {type(exc).__name__}: {exc}") from exc


# --- SKUs, listings, stock --------------------------------------------------------------------

@dataclass(frozen=True)
class VariantRef:
    """What the connector caches per SKU (see ``ShopifyConnector`` for the cache)."""

    sku: str
    variant_id: str             # gid
    product_id: str             # gid
    inventory_item_id: str      # gid
    price: Decimal | None = None
    available: int | None = None
    product_status: str | None = None
    tracked: bool = True
    title: str | None = None    # the product's title


def _search_value(sku: str) -> str:
    return '"' + sku.replace("\\", "\\\\").replace('"', '\\"') + '"'


def variants_request(skus: Sequence[str] | None, *, location_id: str, first: int,
                     after: str | None = None) -> dict[str, Any]:
    """By SKU (``skus``) or, with ``skus=None``, every variant of the shop page by page."""
    query = " OR ".join(f"sku:{_search_value(s)}" for s in skus) if skus else ""
    return body(q.VARIANTS_BY_SKU, {"first": first, "after": after, "query": query, "location": location_id})


def parse_variants(data: Mapping[str, Any]) -> tuple[list[VariantRef], bool, str | None]:
    try:
        conn = data["productVariants"]
        out = []
        for n in conn["nodes"]:
            if not n.get("sku"):
                continue
            item = n["inventoryItem"]
            level = item.get("inventoryLevel")
            available = None
            if level is not None:
                available = next((int(x["quantity"]) for x in level.get("quantities") or []
                                  if x.get("name") == "available"), None)
            out.append(VariantRef(sku=n["sku"], variant_id=n["id"], product_id=n["product"]["id"],
                                  inventory_item_id=item["id"],
                                  price=Decimal(str(n["price"])) if n.get("price") is not None else None,
                                  available=available, product_status=n["product"].get("status"),
                                  tracked=bool(item.get("tracked", True)), title=n["product"].get("title")))
        info = conn["pageInfo"]
        return out, bool(info.get("hasNextPage")), info.get("endCursor")
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise MappingError("XD-MAP-010", detail=f"Shopify productVariants: {type(exc).__name__}: {exc}") from exc


def listed_offer(ref: VariantRef, currency: str) -> ListedOffer:
    return ListedOffer(sku=ref.sku, quantity=ref.available if ref.tracked else None,
                       price=Money(ref.price, currency) if ref.price is not None else None,
                       listing_id=legacy_id(ref.variant_id), status=ref.product_status, title=ref.title,
                       ids={"variant_id": ref.variant_id, "product_id": ref.product_id,
                            "inventory_item_id": ref.inventory_item_id})


@dataclass(frozen=True)
class StockEntry:
    sku: str
    inventory_item_id: str
    location_id: str
    quantity: int
    change_from: int | None     # None = set (crossdock is the source of truth); int = compare-and-set


def inventory_set_request(entries: Sequence[StockEntry], *, reason: str, reference: str | None,
                          idempotency_key: str) -> dict[str, Any]:
    """``changeFromQuantity`` is always sent: from 2026-04 Shopify requires it,
    and an explicit null opts out of the compare-and-set check."""
    quantities = [{"inventoryItemId": e.inventory_item_id, "locationId": e.location_id, "quantity": e.quantity,
                   "changeFromQuantity": e.change_from} for e in entries]
    input_: dict[str, Any] = {"name": "available", "reason": reason, "quantities": quantities}
    if reference:
        input_["referenceDocumentUri"] = reference
    return body(q.inventory_set_document(), {"input": input_, "key": idempotency_key})


@dataclass(frozen=True)
class UserError:
    index: int | None      # the input array position the error names, if any
    code: str | None
    message: str
    field: tuple[str, ...] = ()


def user_errors(raw: Iterable[Mapping[str, Any]] | None, *, array: str) -> list[UserError]:
    """``userErrors`` with the index into the input array called ``array``."""
    out = []
    for e in raw or ():
        path = tuple(str(p) for p in (e.get("field") or ()))
        index = None
        if array in path:
            pos = path.index(array)
            if pos + 1 < len(path) and path[pos + 1].isdigit():
                index = int(path[pos + 1])
        out.append(UserError(index, e.get("code"), str(e.get("message") or ""), path))
    return out


def parse_inventory_set(data: Mapping[str, Any]) -> list[UserError]:
    try:
        payload = data["inventorySetQuantities"]
    except (KeyError, TypeError) as exc:
        raise MappingError("XD-MAP-010", detail=f"inventorySetQuantities: {exc}") from exc
    if payload is None:
        raise MappingError("XD-MAP-010", detail="inventorySetQuantities returned null")
    return user_errors(payload.get("userErrors"), array="quantities")


# --- prices -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PriceGroup:
    product_id: str
    variants: tuple[tuple[str, str, Decimal], ...]     # (sku, variant gid, price)


def price_text(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.01")), "f")


def prices_request(groups: Sequence[PriceGroup]) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for i, g in enumerate(groups):
        variables[f"p{i}"] = g.product_id
        variables[f"v{i}"] = [{"id": vid, "price": price_text(price)} for _, vid, price in g.variants]
    return body(q.price_update_document(len(groups)), variables)


def parse_prices(data: Mapping[str, Any], groups: Sequence[PriceGroup]) -> list[list[UserError]]:
    out = []
    for i, _ in enumerate(groups):
        payload = (data or {}).get(f"u{i}")
        if payload is None:
            raise MappingError("XD-MAP-010", detail=f"productVariantsBulkUpdate u{i} returned null")
        out.append(user_errors(payload.get("userErrors"), array="variants"))
    return out


# --- listings -----------------------------------------------------------------------------------

def product_create_request(product: Product) -> dict[str, Any]:
    spec: dict[str, Any] = {"title": product.title, "status": "ACTIVE"}
    if product.description:
        spec["descriptionHtml"] = product.description
    if product.category:
        spec["productType"] = product.category
    return body(q.PRODUCT_CREATE, {"product": spec})


def product_update_request(product_id: str, product: Product) -> dict[str, Any]:
    spec: dict[str, Any] = {"id": product_id, "title": product.title}
    if product.description:
        spec["descriptionHtml"] = product.description
    return body(q.PRODUCT_UPDATE, {"product": spec})


def variant_setup_request(product_id: str, variant_id: str, product: Product, *,
                          price: Money | None) -> dict[str, Any]:
    item: dict[str, Any] = {"sku": product.sku, "tracked": True}
    if product.hs_code:
        item["harmonizedSystemCode"] = product.hs_code
    if product.country_of_origin:
        item["countryCodeOfOrigin"] = product.country_of_origin.upper()
    variant: dict[str, Any] = {"id": variant_id, "inventoryItem": item}
    if price is not None:
        variant["price"] = price_text(price.amount)
    return body(q.VARIANTS_UPDATE_ONE, {"productId": product_id, "variants": [variant]})


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
    return all(legacy_id(line_id) in remaining and remaining[legacy_id(line_id)] == 0 for line_id, _ in wanted)


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


# --- tokens -------------------------------------------------------------------------------------

def token_refresh_form(*, client_id: str, client_secret: str, refresh_token: str) -> dict[str, str]:
    return {"client_id": client_id, "client_secret": client_secret, "grant_type": "refresh_token",
            "refresh_token": refresh_token}


def parse_token_response(payload: Mapping[str, Any], *, now: dt.datetime) -> RefreshResult:
    try:
        access = str(payload["access_token"])
        expires_in = float(payload.get("expires_in") or 3600)
        refresh = payload.get("refresh_token")
        refresh_in = payload.get("refresh_token_expires_in")
    except (KeyError, TypeError, ValueError) as exc:
        raise MappingError("XD-MAP-010", detail=f"Shopify token response: {type(exc).__name__}: {exc}") from exc
    return RefreshResult(access_token=access, access_expires_at=now + dt.timedelta(seconds=expires_in),
                         refresh_token=str(refresh) if refresh else None,
                         refresh_expires_at=(now + dt.timedelta(seconds=float(refresh_in))) if refresh_in else None)
