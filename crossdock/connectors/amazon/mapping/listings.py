"""Amazon listings: putListingsItem / patchListingsItem bodies for a product,
its stock and its price, their submission results, and a listings item read
back as a :class:`~crossdock.models.ListedOffer`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from crossdock.connectors.amazon.mapping.fba import amazon_fulfilled
from crossdock.errors import MappingError
from crossdock.mapping.money import quantize
from crossdock.models import (
    ItemResult,
    ListedOffer,
    Money,
    PriceUpdate,
    Product,
    StockUpdate,
)

LISTING_INCLUDED = ("summaries", "offers", "fulfillmentAvailability")
#: A pull of every listing also reads the attributes: the product data customs needs (country of origin)
PULL_INCLUDED = (*LISTING_INCLUDED, "attributes")


def included_for(skus: object) -> tuple[str, ...]:
    """What a read asks for: a pull of every listing (``skus`` None) the attributes too."""
    return PULL_INCLUDED if skus is None else LISTING_INCLUDED


# ------------------------------------------------------------------ listings: requests


def _fulfillment(quantity: int) -> list[dict[str, Any]]:
    return [{"fulfillment_channel_code": "DEFAULT", "quantity": int(quantity)}]


def _offer(price: Money, marketplace_id: str) -> list[dict[str, Any]]:
    amount = quantize(price.amount, price.currency)
    return [{"marketplace_id": marketplace_id, "currency": price.currency,
             "our_price": [{"schedule": [{"value_with_tax": amount}]}]}]


def stock_patches(update: StockUpdate) -> list[dict[str, Any]]:
    return [{"op": "replace", "path": "/attributes/fulfillment_availability", "value": _fulfillment(update.quantity)}]


def price_patches(update: PriceUpdate, *, marketplace_id: str) -> list[dict[str, Any]]:
    return [{"op": "replace", "path": "/attributes/purchasable_offer", "value": _offer(update.price, marketplace_id)}]


def patch_body(patches: list[dict[str, Any]], *, product_type: str) -> dict[str, Any]:
    """patchListingsItem body (ListingsItemPatchRequest)."""
    return {"productType": product_type, "patches": patches}


def listing_params(*, marketplace_id: str, included: Sequence[str] = ("issues",)) -> dict[str, str]:
    return {"marketplaceIds": marketplace_id, "includedData": ",".join(included)}


SEARCH_PAGE = 20             # searchListingsItems: pageSize 1..20, and at most 20 ``identifiers``


def searchable_sku(sku: str) -> bool:
    """Can ``sku`` be one of searchListingsItems' ``identifiers``? The list is
    comma-delimited, so a SKU holding a comma (or blank) cannot: it is read alone."""
    return bool(sku.strip()) and "," not in sku


def search_params(*, marketplace_id: str, included: Sequence[str], skus: Sequence[str] | None = None,
                  page_token: str | None = None) -> dict[str, str]:
    """searchListingsItems query: up to :data:`SEARCH_PAGE` ``skus`` (identifiersType SKU; one page
    holds them all), or with ``skus=None`` every listing, :data:`SEARCH_PAGE` a page from ``page_token``."""
    params = {**listing_params(marketplace_id=marketplace_id, included=included), "pageSize": str(SEARCH_PAGE)}
    if skus is not None:
        if not 1 <= len(skus) <= SEARCH_PAGE or not all(searchable_sku(s) for s in skus):
            raise ValueError(f"searchListingsItems takes 1..{SEARCH_PAGE} SKUs without commas")
        params.update(identifiers=",".join(skus), identifiersType="SKU")
    if page_token:
        params["pageToken"] = page_token
    return params


def listing_product_type(product: Product, *, default: str) -> str:
    """Amazon product type: attribute ``product_type``, else the (already
    mapped) category, else the channel's default."""
    value = product.attributes.get("product_type")
    return str(value) if isinstance(value, str) and value.strip() else (product.category or default)


def listing_condition(product: Product) -> str:
    """``condition_type`` (or ``condition``) as given, else new."""
    for key in ("condition_type", "condition"):
        value = product.attributes.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return "new_new"


_NOT_ATTRIBUTES = frozenset({"product_type", "condition"})


def listing_put_body(product: Product, *, marketplace_id: str, language_tag: str, product_type: str,
                     requirements: str = "LISTING") -> dict[str, Any]:
    """putListingsItem body (ListingsItemPutRequest) from a catalogue Product.
    ``product.attributes`` may carry Amazon attributes as they are (a list of
    value objects) or plain values (wrapped here); ``product_type`` and
    ``condition`` are read, not sent as attributes."""
    mp = {"marketplace_id": marketplace_id}
    text = {"language_tag": language_tag, "marketplace_id": marketplace_id}
    attrs: dict[str, Any] = {
        "item_name": [{"value": product.title, **text}],
        "condition_type": [{"value": listing_condition(product), **mp}],
    }
    if product.description:
        attrs["product_description"] = [{"value": product.description, **text}]
    if product.price is not None:
        attrs["purchasable_offer"] = _offer(product.price, marketplace_id)
    if product.quantity is not None:
        attrs["fulfillment_availability"] = _fulfillment(product.quantity)
    if product.country_of_origin:
        attrs["country_of_origin"] = [{"value": product.country_of_origin, **mp}]
    if product.weight_g is not None:
        attrs["item_weight"] = [{"value": Decimal(product.weight_g), "unit": "grams", **mp}]
    if product.images:
        attrs["main_product_image_locator"] = [{"media_location": product.images[0], **mp}]
        for n, url in enumerate(product.images[1:9], start=1):
            attrs[f"other_product_image_locator_{n}"] = [{"media_location": url, **mp}]
    for name, value in product.attributes.items():
        if name in _NOT_ATTRIBUTES or (name == "condition_type" and isinstance(value, str)):
            continue
        if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
            attrs[name] = value
        elif isinstance(value, str):
            attrs[name] = [{"value": value, **text}]
        else:
            attrs[name] = [{"value": value, **mp}]
    return {"productType": listing_product_type(product, default=product_type), "requirements": requirements,
            "attributes": attrs}


def submission_result(body: Mapping[str, Any], *, sku: str) -> ItemResult:
    """A ListingsItemSubmissionResponse as an ItemResult: ACCEPTED/VALID is ok;
    INVALID carries the ERROR issues as XD-PLATFORM-003."""
    status = body.get("status")
    if status in ("ACCEPTED", "VALID"):
        return ItemResult(sku=sku, ok=True)
    errors = [i for i in body.get("issues") or [] if i.get("severity", "ERROR") == "ERROR"] \
        or list(body.get("issues") or [])
    message = "; ".join(f"{i.get('code')}: {i.get('message')}" for i in errors) or f"status {status}"
    return ItemResult(sku=sku, ok=False, code="XD-PLATFORM-003", message=message)


# ------------------------------------------------------------------ listings: read back


def parse_listing(body: object, *, marketplace_id: str) -> ListedOffer:
    """A getListingsItem ``Item`` as the offer shown in ``marketplace_id``."""
    if not isinstance(body, Mapping) or not body.get("sku"):
        raise MappingError("XD-MAP-010", detail=f"not a listings item: {str(body)[:200]}")
    qty = None
    for fa in body.get("fulfillmentAvailability") or []:
        if fa.get("fulfillmentChannelCode") == "DEFAULT" and fa.get("quantity") is not None:
            qty = int(fa["quantity"])
    price = None
    for offer in body.get("offers") or []:
        if offer.get("marketplaceId") == marketplace_id and offer.get("offerType", "B2C") == "B2C":
            p = offer.get("price") or {}
            try:
                price = Money(Decimal(str(p["amount"])), str(p["currencyCode"]))
            except (KeyError, InvalidOperation, ValueError) as exc:
                raise MappingError("XD-MAP-010", entity=f"sku {body['sku']}", detail=f"bad offer price {p!r}") from exc
    asin = status = title = None
    for s in body.get("summaries") or []:
        if s.get("marketplaceId") == marketplace_id:
            asin = s.get("asin")
            status = ",".join(s.get("status") or []) or "INACTIVE"
            title = s.get("itemName") or None
    ids = {"asin": str(asin)} if asin else {}
    afn = amazon_fulfilled(body.get("fulfillmentAvailability"))
    if afn:
        ids["fulfillment_channel"] = afn        # FBA: the binding says so, and the push never writes it
    return ListedOffer(sku=str(body["sku"]), quantity=qty, price=price, listing_id=asin, status=status,
                       title=title, ids=ids or None, fulfilled_by_platform=afn is not None,
                       country_of_origin=_origin(body.get("attributes"), marketplace_id))


def _origin(attributes: object, marketplace_id: str) -> str | None:
    """The listing's ``country_of_origin`` attribute for the marketplace (ISO alpha-2), if it has one."""
    if not isinstance(attributes, Mapping):
        return None
    for entry in attributes.get("country_of_origin") or []:
        if isinstance(entry, Mapping) and entry.get("marketplace_id") in (None, marketplace_id):
            value = str(entry.get("value") or "").strip().upper()
            if len(value) == 2 and value.isalpha():
                return value
    return None
