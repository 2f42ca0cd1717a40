"""Amazon payloads <-> crossdock's normalised models. Pure functions only:
every field mapping of Amazon lives here, and nothing here touches the network.

Notes on Amazon's semantics that the mapping encodes:

- ``OrderItem.ItemPrice`` is the price of the whole line (unit price x
  quantity), so ``OrderLine.unit_price`` is ItemPrice / QuantityOrdered,
  rounded to the currency's minor unit.
- ``Pending`` orders carry no prices (Amazon hides them until payment is
  authorised): lines then have ``unit_price=None`` and the order may have no
  ``OrderTotal``.
- Cross-border tax data is kept: ``TaxCollection.Model`` (marketplace
  facilitator), ``IossNumber`` and ``DeemedResellerCategory`` (IOSS / UOSS),
  and the ``ItemTax`` amounts.
- Buyer country is ``ShippingAddress.CountryCode`` when Amazon shows it; it is
  never guessed from the marketplace.
- Request bodies carry prices as exact JSON numbers written from Decimal
  (:func:`to_json_bytes`), never through float.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from crossdock.clock import iso, parse_iso
from crossdock.errors import MappingError
from crossdock.mapping.money import quantize
from crossdock.mapping.status import StatusMap
from crossdock.models import (
    Address,
    ItemResult,
    ListedOffer,
    Money,
    Order,
    OrderLine,
    PriceUpdate,
    Product,
    ShipmentConfirmation,
    StockUpdate,
    TaxInfo,
)

FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
LISTING_INCLUDED = ("summaries", "offers", "fulfillmentAvailability")


# ------------------------------------------------------------------ JSON


def to_json_bytes(obj: Any) -> bytes:
    """Compact JSON; Decimals become exact JSON numbers (19.99, not "19.99",
    and never a float's 19.989999…)."""
    marks: dict[str, str] = {}

    def conv(o: Any) -> Any:
        if isinstance(o, Decimal):
            key = json.dumps(f"\x00{len(marks)}\x00")
            marks[key] = format(o, "f")
            return json.loads(key)
        if isinstance(o, float):
            raise TypeError("floats are not sent to Amazon; use Decimal")
        if isinstance(o, Mapping):
            return {str(k): conv(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [conv(v) for v in o]
        return o

    text = json.dumps(conv(obj), separators=(",", ":"), ensure_ascii=False)
    for key, number in marks.items():
        text = text.replace(key, number, 1)
    return text.encode("utf-8")


def loads_exact(data: bytes | str) -> Any:
    """JSON with numbers read as Decimal where they have a fraction."""
    return json.loads(data, parse_float=Decimal)


# ------------------------------------------------------------------ orders: requests


MAX_MARKETPLACES = 50      # getOrders: at most 50 MarketplaceIds per call


ORDER_FILTERS = ("LastUpdated", "Created")


def orders_params(*, marketplace_id: str, updated_after: dt.datetime, updated_before: dt.datetime,
                  page_size: int = 100, family: str = "LastUpdated") -> dict[str, str]:
    """getOrders query for one window (both ends inclusive on Amazon):
    ``family`` "LastUpdated" (orders changed in it) or "Created" (placed in it)."""
    if family not in ORDER_FILTERS:
        raise ValueError(f"getOrders filter must be one of {ORDER_FILTERS}, got {family!r}")
    return {"MarketplaceIds": marketplace_id, f"{family}After": iso(updated_after),
            f"{family}Before": iso(updated_before), "MaxResultsPerPage": str(page_size)}


def next_page_params(*, marketplace_id: str, next_token: str) -> dict[str, str]:
    """getOrders query for the next page: the token carries the filters."""
    return {"MarketplaceIds": marketplace_id, "NextToken": next_token}


# ------------------------------------------------------------------ orders: responses


def _payload(body: Any, *, what: str) -> Any:
    if isinstance(body, Mapping) and "payload" in body:
        return body["payload"]
    if isinstance(body, Mapping) and body.get("errors"):
        raise MappingError("XD-MAP-010", detail=f"{what}: the payload is an error response: {body['errors']!r}")
    return body


def parse_orders_page(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    """(raw orders, NextToken) of a getOrders response (or its payload)."""
    payload = _payload(body, what="getOrders")
    if not isinstance(payload, Mapping) or not isinstance(payload.get("Orders"), list):
        raise MappingError("XD-MAP-010", detail="getOrders: no Orders list in the response")
    return list(payload["Orders"]), payload.get("NextToken") or None


def parse_items_page(body: Any) -> tuple[str | None, list[dict[str, Any]], str | None]:
    """(AmazonOrderId, raw order items, NextToken) of a getOrderItems response."""
    payload = _payload(body, what="getOrderItems")
    if not isinstance(payload, Mapping) or not isinstance(payload.get("OrderItems"), list):
        raise MappingError("XD-MAP-010", detail="getOrderItems: no OrderItems list in the response")
    return payload.get("AmazonOrderId"), list(payload["OrderItems"]), payload.get("NextToken") or None


def parse_money(raw: Any, *, where: str) -> Money | None:
    if raw is None:
        return None
    try:
        amount, currency = raw["Amount"], raw["CurrencyCode"]
        if isinstance(amount, float):
            amount = repr(amount)
        return Money(Decimal(str(amount)), str(currency))
    except (KeyError, TypeError, InvalidOperation, ValueError) as exc:
        raise MappingError("XD-MAP-010", detail=f"{where}: not a Money object: {raw!r}") from exc


def _time(raw: Any, *, where: str) -> dt.datetime:
    try:
        return parse_iso(str(raw))
    except ValueError as exc:
        raise MappingError("XD-MAP-010", detail=f"{where}: not an ISO 8601 date: {raw!r}") from exc


def _opt_time(raw: Any, *, where: str) -> dt.datetime | None:
    return None if raw in (None, "") else _time(raw, where=where)


def parse_line(raw: Mapping[str, Any], *, order_id: str | None = None) -> OrderLine:
    where = f"order {order_id} item {raw.get('OrderItemId')}"
    try:
        qty = int(raw["QuantityOrdered"])
        line_id = str(raw["OrderItemId"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MappingError("XD-MAP-010", entity=f"order {order_id}",
                           detail=f"order item without OrderItemId/QuantityOrdered: {raw!r}") from exc
    price = parse_money(raw.get("ItemPrice"), where=where)
    unit = None
    if price is not None and qty > 0:
        unit = Money(quantize(price.amount / qty, price.currency), price.currency)
    return OrderLine(
        platform_line_id=line_id,
        sku=raw.get("SellerSKU") or None,
        quantity=qty,
        unit_price=unit,
        title=raw.get("Title"),
        listing_id=raw.get("ASIN"),
        tax=_line_tax(raw, where=where),
        quantity_shipped=int(raw.get("QuantityShipped") or 0),
    )


def _line_tax(raw: Mapping[str, Any], *, where: str) -> TaxInfo | None:
    collection = raw.get("TaxCollection") or {}
    ioss = raw.get("IossNumber") or None
    deemed = raw.get("DeemedResellerCategory") or None
    amount = parse_money(raw.get("ItemTax"), where=where)
    if not (collection or ioss or deemed or (amount is not None and amount.amount)):
        return None
    return TaxInfo(model=collection.get("Model"), ioss_number=ioss, scheme=deemed,
                   deemed_reseller_category=deemed, tax_amount=amount)


def order_tax(lines: Sequence[OrderLine]) -> TaxInfo | None:
    """Order-level tax data from its lines: the collection model and IOSS
    reference (the same for every line of one order) and the summed tax."""
    taxes = [ln.tax for ln in lines if ln.tax is not None]
    if not taxes:
        return None
    total = None
    for t in taxes:
        if t.tax_amount is not None:
            total = t.tax_amount if total is None else Money(total.amount + t.tax_amount.amount, total.currency)
    first = next((t for t in taxes if t.model or t.ioss_number or t.scheme), taxes[0])
    return TaxInfo(model=first.model, ioss_number=first.ioss_number, scheme=first.scheme,
                   deemed_reseller_category=first.deemed_reseller_category, tax_amount=total)


def parse_address(raw: Mapping[str, Any] | None) -> Address | None:
    if not raw:
        return None
    return Address(country_code=raw.get("CountryCode") or None, name=raw.get("Name"),
                   line1=raw.get("AddressLine1"),
                   line2=" ".join(x for x in (raw.get("AddressLine2"), raw.get("AddressLine3")) if x) or None,
                   city=raw.get("City"), region=raw.get("StateOrRegion"), postal_code=raw.get("PostalCode"),
                   phone=raw.get("Phone"))


def parse_order(raw: Mapping[str, Any], items: Sequence[Mapping[str, Any]] | None = None, *,
                channel: str | None = None, status_map: StatusMap | None = None,
                keep_raw: bool = True) -> Order:
    """One ordersV0 ``Order`` (plus its ``OrderItems`` when fetched) as an Order."""
    if not isinstance(raw, Mapping) or not raw.get("AmazonOrderId"):
        raise MappingError("XD-MAP-010", channel=channel, detail=f"not an Amazon order: {str(raw)[:200]}")
    oid = str(raw["AmazonOrderId"])
    from crossdock.connectors.amazon.statuses import STATUSES

    smap = status_map or STATUSES
    status = smap.map(raw, channel=channel, order_id=oid)
    lines = [parse_line(i, order_id=oid) for i in (items or [])]
    address = parse_address(raw.get("ShippingAddress"))
    return Order(
        platform="amazon",
        platform_order_id=oid,
        platform_status=str(raw["OrderStatus"]),
        status=status,
        purchased_at=_time(raw.get("PurchaseDate"), where=f"order {oid} PurchaseDate"),
        updated_at=_time(raw.get("LastUpdateDate"), where=f"order {oid} LastUpdateDate"),
        total=parse_money(raw.get("OrderTotal"), where=f"order {oid} OrderTotal"),
        buyer_country=address.country_code if address else None,
        marketplace_id=raw.get("MarketplaceId"),
        lines=lines,
        tax=order_tax(lines),
        ship_by=_opt_time(raw.get("LatestShipDate"), where=f"order {oid} LatestShipDate"),
        shipping_address=address,
        fulfillment_channel=raw.get("FulfillmentChannel"),
        raw={"order": dict(raw), "items": [dict(i) for i in items or []]} if keep_raw else None,
    )


# ------------------------------------------------------------------ shipments


def package_reference_id(tracking_number: str) -> str:
    """A positive numeric packageReferenceId derived from the tracking number,
    so a retried confirmation names the same package."""
    digest = hashlib.sha256(tracking_number.strip().encode("utf-8")).hexdigest()
    return str(int(digest[:12], 16) % 999_999_999 + 1)


def shipment_items(confirmation: ShipmentConfirmation,
                   order_items: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, int]]:
    """The (orderItemId, quantity) pairs to confirm: the confirmation's own
    lines, or every unshipped unit of the order when it names none."""
    if confirmation.lines:
        return [(str(i), int(q)) for i, q in confirmation.lines if int(q) > 0]
    out = []
    for raw in order_items or []:
        remaining = int(raw.get("QuantityOrdered") or 0) - int(raw.get("QuantityShipped") or 0)
        if remaining > 0:
            out.append((str(raw["OrderItemId"]), remaining))
    return out


def confirm_shipment_body(confirmation: ShipmentConfirmation, *, marketplace_id: str, carrier_code: str,
                          carrier_name: str | None, items: Sequence[tuple[str, int]]) -> dict[str, Any]:
    pkg: dict[str, Any] = {
        "packageReferenceId": package_reference_id(confirmation.tracking_number),
        "carrierCode": carrier_code,
    }
    if carrier_name:
        pkg["carrierName"] = carrier_name
    if confirmation.service:
        pkg["shippingMethod"] = confirmation.service
    pkg.update({
        "trackingNumber": confirmation.tracking_number,
        "shipDate": confirmation.shipped_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "orderItems": [{"orderItemId": i, "quantity": q} for i, q in items],
    })
    return {"marketplaceId": marketplace_id, "packageDetail": pkg}


def units_shipped(raw_order: Mapping[str, Any] | None) -> int | None:
    """``NumberOfItemsShipped`` of a getOrder ``Order``: the units of the order Amazon
    counts as shipped, over every package. None when absent or unreadable."""
    if not isinstance(raw_order, Mapping):
        return None
    try:
        return int(raw_order["NumberOfItemsShipped"])
    except (KeyError, TypeError, ValueError):
        return None


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


# ------------------------------------------------------------------ listings: feeds


def feed_messages(updates: Sequence[StockUpdate | PriceUpdate], *, marketplace_id: str, product_type: str,
                  first_id: int = 1) -> list[dict[str, Any]]:
    """JSON_LISTINGS_FEED PATCH messages, one per update, numbered from ``first_id``."""
    out = []
    for n, u in enumerate(updates, start=first_id):
        patches = stock_patches(u) if isinstance(u, StockUpdate) else price_patches(u, marketplace_id=marketplace_id)
        out.append({"messageId": n, "sku": u.sku, "operationType": "PATCH", "productType": product_type,
                    "patches": patches})
    return out


def listings_feed(*, seller_id: str, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A JSON_LISTINGS_FEED document (listings-feed-schema-v2)."""
    return {"header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
            "messages": list(messages)}


def feed_chunks(messages: Sequence[Mapping[str, Any]], *, seller_id: str, max_messages: int = 25_000,
                max_bytes: int = 10 * 1024 * 1024) -> Iterator[tuple[bytes, list[Mapping[str, Any]]]]:
    """Split messages into feed documents within Amazon's limits: at most
    ``max_messages`` messages and ``max_bytes`` bytes each."""
    overhead = len(to_json_bytes(listings_feed(seller_id=seller_id, messages=[]))) + 2
    batch: list[Mapping[str, Any]] = []
    size = overhead
    for msg in messages:
        msg_size = len(to_json_bytes(msg)) + 1
        if overhead + msg_size > max_bytes:
            raise MappingError("XD-MAP-010", entity=f"sku {msg.get('sku')}",
                               detail=f"one feed message is {msg_size} bytes, over the {max_bytes}-byte limit")
        if batch and (len(batch) >= max_messages or size + msg_size > max_bytes):
            yield to_json_bytes(listings_feed(seller_id=seller_id, messages=batch)), batch
            batch, size = [], overhead
        batch.append(msg)
        size += msg_size
    if batch:
        yield to_json_bytes(listings_feed(seller_id=seller_id, messages=batch)), batch


def feeds_needed(n_messages: int, *, max_messages: int = 25_000) -> int:
    return math.ceil(n_messages / max_messages) if n_messages > 0 else 0


def create_feed_body(*, document_id: str, marketplace_id: str) -> dict[str, Any]:
    return {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [marketplace_id], "inputFeedDocumentId": document_id}


def decode_document(content: bytes, compression: str | None) -> Any:
    """A downloaded feed document (processing report), GZIP or plain JSON."""
    data = gzip.decompress(content) if (compression or "").upper() == "GZIP" else content
    try:
        return loads_exact(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MappingError("XD-MAP-010", detail=f"processing report is not JSON: {exc}") from exc


def report_results(report: Mapping[str, Any], messages: Sequence[Mapping[str, Any]]) -> list[ItemResult]:
    """Per-SKU outcome of a DONE feed from its processing report: a message
    with an ERROR issue failed (XD-PLATFORM-003); WARNING/INFO do not fail it.
    Feed-level ERROR issues (no messageId) fail every message when the summary
    accepted none."""
    if not isinstance(report, Mapping) or not isinstance(report.get("issues"), list):
        raise MappingError("XD-MAP-010", detail="processing report without issues[]")
    by_id: dict[int, list[Mapping[str, Any]]] = {}
    general = []
    for i in report["issues"]:
        if i.get("severity") != "ERROR":
            continue
        if i.get("messageId") is None:
            general.append(i)
        else:
            by_id.setdefault(int(i["messageId"]), []).append(i)
    accepted = (report.get("summary") or {}).get("messagesAccepted")
    out = []
    for msg in messages:
        errs = by_id.get(int(msg["messageId"]), [])
        if not errs and general and accepted == 0:
            errs = general
        if errs:
            text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errs)
            out.append(ItemResult(sku=str(msg["sku"]), ok=False, code="XD-PLATFORM-003", message=text))
        else:
            out.append(ItemResult(sku=str(msg["sku"]), ok=True))
    return out


# ------------------------------------------------------------------ listings: read back


def parse_listing(body: Mapping[str, Any], *, marketplace_id: str) -> ListedOffer:
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
    return ListedOffer(sku=str(body["sku"]), quantity=qty, price=price, listing_id=asin, status=status,
                       title=title, ids={"asin": str(asin)} if asin else None)


# ------------------------------------------------------------------ auth and RDT


def lwa_form(*, client_id: str, client_secret: str, refresh_token: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id,
            "client_secret": client_secret}


def rdt_body(paths: Iterable[tuple[str, str, Sequence[str]]]) -> dict[str, Any]:
    """createRestrictedDataToken body for (method, path, dataElements)."""
    resources = []
    for method, path, elements in paths:
        res: dict[str, Any] = {"method": method, "path": path}
        if elements:
            res["dataElements"] = list(elements)
        resources.append(res)
    return {"restrictedResources": resources}


def parse_order_address(body: Any) -> Address | None:
    payload = _payload(body, what="getOrderAddress")
    if not isinstance(payload, Mapping) or "AmazonOrderId" not in payload:
        raise MappingError("XD-MAP-010", detail="getOrderAddress: no AmazonOrderId in the response")
    return parse_address(payload.get("ShippingAddress"))
