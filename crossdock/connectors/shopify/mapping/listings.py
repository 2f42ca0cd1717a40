"""Shopify variants, stock, prices and products: the requests that read and
write them, and their answers parsed into listed offers and per-item errors."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from crossdock.connectors.shopify import queries as q
from crossdock.connectors.shopify.mapping.common import MAX_FIRST, body, legacy_id
from crossdock.connectors.shopify.mapping.cost import estimate_cost
from crossdock.errors import MappingError
from crossdock.models import (
    ListedOffer,
    Money,
    Product,
)

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


MAX_QUERY_COST = 1000       # docs/platform-facts.md#shopify-cost-based-throttling


@functools.lru_cache(maxsize=1)
def variants_page_size() -> int:
    """The largest page of :data:`~crossdock.connectors.shopify.queries.VARIANTS_BY_SKU` one
    query may ask for: 250 (Shopify's cap on ``first``) or fewer, so the query's cost
    (2 + ``first`` × the cost of a variant with its product and stock level: 5 → 199) stays
    within :data:`MAX_QUERY_COST`."""
    one, two = (estimate_cost(q.VARIANTS_BY_SKU, {"first": n, "query": "", "after": None, "location": ""})
                for n in (1, 2))
    per_node = two - one
    return max(1, min(MAX_FIRST, (MAX_QUERY_COST - (one - per_node)) // per_node))


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
