"""Every eBay field mapping in one place — pure functions, no I/O.

Requests: getOrders parameters (``lastmodifieddate`` window, limit/offset),
``bulk_update_price_quantity`` bodies (≤ 25 SKUs), Trading
``ReviseInventoryStatus`` data (≤ 4 items, the dict ebaysdk turns into XML),
``createShippingFulfillment``, inventory item and offer bodies.

Responses: Fulfillment ``Order`` → :class:`~crossdock.models.Order` (money as
Decimal + currency in the seller's currency, buyer country, listing vs purchase
marketplace, ``ebayCollectAndRemitTaxes`` → :class:`~crossdock.models.TaxInfo`
with the IOSS/OSS/VOEC reference); Trading ``Order`` (GetOrders) likewise;
offers / Trading items → :class:`~crossdock.models.ListedOffer`; per-item
results of the batch calls → :class:`~crossdock.models.ItemResult`.

Trading replies are handled as the dict shape ebaysdk's ``response.dict()``
produces (attributes as ``_name``, text beside attributes as ``value``, a
repeated element as a list); :func:`xml_to_dict` builds the same shape from raw
XML for ``crossdock inspect``.

The listing map: which API revises a SKU is a :class:`ListingRef` —
``inventory`` (Inventory API; ``offer_id`` needed for prices, optional for
stock) or ``trading`` (a listing created outside the Inventory API, revisable
only by ItemID through ``ReviseInventoryStatus``). Its string form, usable as
``StockUpdate.listing_id`` / ``PriceUpdate.listing_id``, is
``inventory:<offerId>``, ``inventory`` or ``trading:<ItemID>``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Iterable, Mapping, Sequence

from crossdock.clock import parse_iso
from crossdock.connectors.ebay.errors import bulk_error, trading_item_error
from crossdock.errors import MappingError
from crossdock.models import (
    Address,
    ItemResult,
    ListedOffer,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    TaxInfo,
)

CENT = Decimal("0.01")
FACILITATOR = "MarketplaceFacilitator"


# ------------------------------------------------------------------ the listing map
@dataclass(frozen=True, slots=True)
class ListingRef:
    kind: str                        # "inventory" | "trading"
    offer_id: str | None = None
    item_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("inventory", "trading"):
            raise MappingError("XD-MAP-010", detail=f"listing kind must be inventory or trading, not {self.kind!r}")
        if self.kind == "trading" and not self.item_id:
            raise MappingError("XD-MAP-010", detail="a trading (legacy) listing needs its ItemID")

    @classmethod
    def parse(cls, value: "ListingRef | Mapping[str, Any] | str") -> "ListingRef":
        """From a map entry ``{"kind", "offer_id"?, "item_id"?}`` or ``inventory:<offerId>`` /
        ``inventory`` / ``trading:<ItemID>``."""
        if isinstance(value, ListingRef):
            return value
        if isinstance(value, Mapping):
            return cls(str(value.get("kind", "")), _opt(value.get("offer_id")), _opt(value.get("item_id")))
        kind, _, ident = str(value).partition(":")
        if kind == "inventory":
            return cls("inventory", offer_id=ident or None)
        if kind == "trading":
            return cls("trading", item_id=ident)
        raise MappingError("XD-MAP-010", detail=f"listing reference {value!r} is not inventory:<offerId> "
                                                 "or trading:<ItemID>")

    def encode(self) -> str:
        return f"trading:{self.item_id}" if self.kind == "trading" else f"inventory:{self.offer_id or ''}".rstrip(":")

    def to_dict(self) -> dict[str, str]:
        out = {"kind": self.kind}
        if self.offer_id:
            out["offer_id"] = self.offer_id
        if self.item_id:
            out["item_id"] = self.item_id
        return out


def _opt(v: Any) -> str | None:
    return str(v) if v not in (None, "") else None


# ------------------------------------------------------------------ small helpers
def iso_ms(value: dt.datetime) -> str:
    """eBay's timestamp format: ``2024-01-15T10:30:00.000Z`` (UTC)."""
    v = value.astimezone(dt.timezone.utc)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"


def as_list(value: Any) -> list:
    """ebaysdk gives one element as a dict and several as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _bad(detail: str, exc: Exception | None = None) -> MappingError:
    err = MappingError("XD-MAP-010", detail=detail)
    if exc is not None:
        err.__cause__ = exc
    return err


def money_from(amount: Mapping[str, Any] | None) -> Money | None:
    """REST ``Amount{value, currency}`` → Money (the seller-currency side)."""
    if not amount:
        return None
    try:
        return Money(Decimal(str(amount["value"])), str(amount["currency"]))
    except (KeyError, InvalidOperation, ValueError, TypeError) as exc:
        raise _bad(f"bad eBay amount {amount!r}", exc) from exc


def money_from_trading(node: Any, default_currency: str | None = None) -> Money | None:
    """Trading ``<X currencyID="GBP">1.00</X>`` as ebaysdk dicts it."""
    if node is None:
        return None
    if isinstance(node, Mapping):
        value, currency = node.get("value"), node.get("_currencyID") or default_currency
    else:
        value, currency = node, default_currency
    try:
        return Money(Decimal(str(value)), str(currency))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise _bad(f"bad Trading amount {node!r}", exc) from exc


def _time(text: Any, what: str) -> dt.datetime:
    try:
        return parse_iso(str(text))
    except (ValueError, TypeError) as exc:
        raise _bad(f"bad {what} {text!r}", exc) from exc


# ------------------------------------------------------------------ orders: requests
def order_filter(updated_after: dt.datetime, updated_before: dt.datetime) -> str:
    return f"lastmodifieddate:[{iso_ms(updated_after)}..{iso_ms(updated_before)}]"


def get_orders_params(updated_after: dt.datetime, updated_before: dt.datetime, *, limit: int,
                      offset: int) -> dict[str, str]:
    return {"filter": order_filter(updated_after, updated_before), "limit": str(limit), "offset": str(offset)}


# ------------------------------------------------------------------ orders: REST parsing
FULFILLMENT_STATUS = {"NOT_STARTED", "IN_PROGRESS", "FULFILLED"}
PAYMENT_STATUS = {"PAID", "PENDING", "FAILED", "FULLY_REFUNDED", "PARTIALLY_REFUNDED"}


def order_status(payload: Mapping[str, Any]) -> tuple[OrderStatus, str]:
    """(crossdock status, platform status "FULFILLMENT/PAYMENT" or "CANCELED/…")."""
    ful = payload.get("orderFulfillmentStatus")
    pay = payload.get("orderPaymentStatus")
    cancel = (payload.get("cancelStatus") or {}).get("cancelState")
    if cancel == "CANCELED":
        return OrderStatus.CANCELLED, f"CANCELED/{pay}"
    if ful not in FULFILLMENT_STATUS or pay not in PAYMENT_STATUS:
        raise MappingError("XD-MAP-011", entity=f"order {payload.get('orderId')}",
                           detail=f"unknown eBay status orderFulfillmentStatus={ful!r} orderPaymentStatus={pay!r}")
    platform_status = f"{ful}/{pay}"
    if pay == "FULLY_REFUNDED":
        return (OrderStatus.RETURNED if ful == "FULFILLED" else OrderStatus.CANCELLED), platform_status
    if ful == "FULFILLED":
        return OrderStatus.SHIPPED, platform_status
    if ful == "IN_PROGRESS":
        return OrderStatus.PARTIALLY_SHIPPED, platform_status
    if pay in ("PENDING", "FAILED"):
        return OrderStatus.PENDING, platform_status
    return OrderStatus.UNSHIPPED, platform_status


def tax_info(taxes: Sequence[Mapping[str, Any]]) -> TaxInfo | None:
    """``ebayCollectAndRemitTaxes[]`` of a line → one TaxInfo (eBay collects as facilitator)."""
    if not taxes:
        return None
    total: Money | None = None
    ref_name = ref_value = None
    for t in taxes:
        m = money_from(t.get("amount"))
        if m is not None:
            if total is not None and total.currency != m.currency:
                raise _bad("collect-and-remit taxes in different currencies")
            total = m if total is None else Money(total.amount + m.amount, m.currency)
        ref = t.get("ebayReference") or {}
        if ref and ref_name is None:
            ref_name, ref_value = ref.get("name"), ref.get("value")
    return TaxInfo(model=FACILITATOR, ioss_number=ref_value, scheme=ref_name, tax_amount=total)


def merge_tax(infos: Iterable[TaxInfo | None]) -> TaxInfo | None:
    infos = [i for i in infos if i is not None]
    if not infos:
        return None
    amounts = [i.tax_amount for i in infos if i.tax_amount is not None]
    total = None
    if amounts:
        if len({a.currency for a in amounts}) > 1:
            raise _bad("collect-and-remit taxes in different currencies")
        total = Money(sum((a.amount for a in amounts), Decimal("0")), amounts[0].currency)
    first = next((i for i in infos if i.scheme), infos[0])
    return TaxInfo(model=FACILITATOR, ioss_number=first.ioss_number, scheme=first.scheme, tax_amount=total)


def parse_line(li: Mapping[str, Any]) -> OrderLine:
    try:
        qty = int(li["quantity"])
        line_id = str(li["lineItemId"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(f"line item without lineItemId/quantity: {li!r}"[:300], exc) from exc
    cost = money_from(li.get("lineItemCost"))
    unit = Money((cost.amount / qty).quantize(CENT, ROUND_HALF_UP), cost.currency) if cost and qty else cost
    return OrderLine(
        platform_line_id=line_id, sku=li.get("sku") or None, quantity=qty, unit_price=unit,
        title=li.get("title"), listing_id=li.get("legacyItemId"),
        tax=tax_info(li.get("ebayCollectAndRemitTaxes") or []),
        quantity_shipped=qty if li.get("lineItemFulfillmentStatus") == "FULFILLED" else 0)


def _address(contact: Mapping[str, Any] | None) -> Address | None:
    if not contact:
        return None
    a = contact.get("contactAddress") or {}
    return Address(country_code=a.get("countryCode"), name=contact.get("fullName"), line1=a.get("addressLine1"),
                   line2=a.get("addressLine2"), city=a.get("city"), region=a.get("stateOrProvince"),
                   postal_code=a.get("postalCode"), phone=(contact.get("primaryPhone") or {}).get("phoneNumber"))


def parse_order(payload: Mapping[str, Any]) -> Order:
    """One Fulfillment API ``Order``."""
    if not isinstance(payload, Mapping) or "orderId" not in payload or "creationDate" not in payload:
        raise _bad("not an eBay Fulfillment order (no orderId/creationDate)")
    status, platform_status = order_status(payload)
    created = _time(payload["creationDate"], "creationDate")
    modified = _time(payload.get("lastModifiedDate") or payload["creationDate"], "lastModifiedDate")
    ship_to = None
    for instr in payload.get("fulfillmentStartInstructions") or []:
        ship_to = _address(((instr or {}).get("shippingStep") or {}).get("shipTo"))
        if ship_to:
            break
    tax_country = ((payload.get("buyer") or {}).get("taxAddress") or {}).get("countryCode")
    lines_raw = payload.get("lineItems") or []
    lines = [parse_line(li) for li in lines_raw]
    ship_by = [
        _time(by, "shipByDate") for li in lines_raw
        if (by := (li.get("lineItemFulfillmentInstructions") or {}).get("shipByDate"))]
    marketplace = next((li.get("purchaseMarketplaceId") or li.get("listingMarketplaceId")
                        for li in lines_raw if li.get("purchaseMarketplaceId") or li.get("listingMarketplaceId")),
                       None)
    program = payload.get("program") or {}
    return Order(
        platform="ebay", platform_order_id=str(payload["orderId"]), platform_status=platform_status,
        status=status, purchased_at=created, updated_at=modified,
        total=money_from((payload.get("pricingSummary") or {}).get("total")),
        buyer_country=(ship_to.country_code if ship_to and ship_to.country_code else tax_country),
        marketplace_id=marketplace, lines=lines, tax=merge_tax(l.tax for l in lines),
        ship_by=min(ship_by) if ship_by else None, shipping_address=ship_to,
        fulfillment_channel="EBAY" if program.get("fulfillmentProgram") else "SELLER",
        raw=dict(payload))


def parse_orders_page(payload: Mapping[str, Any]) -> tuple[list[Order], int | None, bool]:
    """(orders, total, has_next) of an ``OrderSearchPagedCollection``."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("orders", []), list):
        raise _bad("not an eBay OrderSearchPagedCollection")
    total = payload.get("total")
    return ([parse_order(o) for o in payload.get("orders") or []],
            int(total) if total is not None else None, bool(payload.get("next")))


# ------------------------------------------------------------------ orders: Trading parsing
TRADING_STATUS = {"Active": OrderStatus.PENDING, "Completed": OrderStatus.UNSHIPPED,
                  "Cancelled": OrderStatus.CANCELLED, "CancelPending": OrderStatus.UNSHIPPED,
                  "Inactive": OrderStatus.CANCELLED, "InProcess": OrderStatus.PENDING,
                  "Shipped": OrderStatus.SHIPPED, "Authenticated": OrderStatus.UNSHIPPED}


def parse_trading_order(o: Mapping[str, Any], *, marketplace_id: str | None = None) -> Order:
    """One Trading ``GetOrders`` ``Order`` (ebaysdk dict shape)."""
    if not isinstance(o, Mapping) or "OrderID" not in o or "CreatedTime" not in o:
        raise _bad("not a Trading Order (no OrderID/CreatedTime)")
    raw_status = str(o.get("OrderStatus"))
    if raw_status not in TRADING_STATUS:
        raise MappingError("XD-MAP-011", entity=f"order {o.get('OrderID')}",
                           detail=f"unknown Trading OrderStatus {raw_status!r}")
    status = TRADING_STATUS[raw_status]
    if status is OrderStatus.UNSHIPPED and o.get("ShippedTime"):
        status = OrderStatus.SHIPPED
    total = money_from_trading(o.get("Total"))
    lines = []
    for t in as_list((o.get("TransactionArray") or {}).get("Transaction")):
        item = t.get("Item") or {}
        qty = int(t.get("QuantityPurchased") or 0)
        tax = None
        ct = t.get("eBayCollectAndRemitTaxes")
        if ct:
            ref = ct.get("eBayReference") or {}
            tax = TaxInfo(model=FACILITATOR, ioss_number=ref.get("value") if isinstance(ref, Mapping) else None,
                          scheme=ref.get("_name") if isinstance(ref, Mapping) else None,
                          tax_amount=money_from_trading(ct.get("TotalTaxAmount")))
        lines.append(OrderLine(
            platform_line_id=str(t.get("OrderLineItemID") or f"{item.get('ItemID')}-{t.get('TransactionID')}"),
            sku=item.get("SKU") or None, quantity=qty,
            unit_price=money_from_trading(t.get("TransactionPrice")), title=item.get("Title"),
            listing_id=item.get("ItemID"), tax=tax, quantity_shipped=qty if t.get("ShippedTime") else 0))
    addr = o.get("ShippingAddress") or {}
    ship_to = Address(country_code=addr.get("Country"), name=addr.get("Name"), line1=addr.get("Street1"),
                      line2=addr.get("Street2"), city=addr.get("CityName"), region=addr.get("StateOrProvince"),
                      postal_code=addr.get("PostalCode"), phone=addr.get("Phone"))
    modified = (o.get("CheckoutStatus") or {}).get("LastModifiedTime") or o["CreatedTime"]
    return Order(
        platform="ebay", platform_order_id=str(o["OrderID"]), platform_status=raw_status, status=status,
        purchased_at=_time(o["CreatedTime"], "CreatedTime"), updated_at=_time(modified, "LastModifiedTime"),
        total=total, buyer_country=addr.get("Country"), marketplace_id=marketplace_id, lines=lines,
        tax=merge_tax(l.tax for l in lines), shipping_address=ship_to, fulfillment_channel="SELLER",
        raw=dict(o))


def parse_trading_orders(reply: Mapping[str, Any]) -> list[Order]:
    body = reply.get("GetOrdersResponse", reply)
    return [parse_trading_order(o) for o in as_list((body.get("OrderArray") or {}).get("Order"))]


# ------------------------------------------------------------------ stock and prices: requests
def bulk_stock_body(items: Sequence[tuple[str, ListingRef, int]]) -> dict:
    """``bulk_update_price_quantity`` for absolute quantities: the inventory item's
    ship-to-home total and, when the offer id is known, the offer's available quantity."""
    reqs = []
    for sku, ref, qty in items:
        r: dict[str, Any] = {"sku": sku, "shipToLocationAvailability": {"quantity": int(qty)}}
        if ref.offer_id:
            r["offers"] = [{"offerId": ref.offer_id, "availableQuantity": int(qty)}]
        reqs.append(r)
    return {"requests": reqs}


def bulk_price_body(items: Sequence[tuple[str, str, Money]]) -> dict:
    """``bulk_update_price_quantity`` for prices: (sku, offerId, price)."""
    return {"requests": [{"sku": sku, "offers": [{"offerId": offer_id, "price": {
        "value": str(price.amount.quantize(CENT, ROUND_HALF_UP)), "currency": price.currency}}]}
        for sku, offer_id, price in items]}


def parse_bulk_response(payload: Mapping[str, Any], skus: Sequence[str]) -> dict[str, ItemResult]:
    """Per-SKU outcome: ok only if every response entry of the SKU says 200."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("responses"), list):
        raise _bad("not a BulkPriceQuantityResponse")
    by_sku: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in payload["responses"]:
        by_sku[str(r.get("sku") or "")].append(r)
    out = {}
    for sku in skus:
        entries = by_sku.get(sku)
        if not entries:
            out[sku] = ItemResult(sku, False, "XD-NET-004", "eBay returned no result for this SKU")
            continue
        failed = [e for e in entries if e.get("statusCode") != 200]
        if not failed:
            out[sku] = ItemResult(sku, True)
            continue
        code, message = bulk_error([err for e in failed for err in e.get("errors") or []],
                                   status=failed[0].get("statusCode"))
        out[sku] = ItemResult(sku, False, code, message)
    return out


def revise_inventory_status_data(items: Sequence[tuple[str, str, int | None, Money | None]]) -> dict:
    """ebaysdk data for ``ReviseInventoryStatus``: (sku, ItemID, quantity, price), ≤ 4 items."""
    if len(items) > 4:
        raise ValueError("ReviseInventoryStatus takes at most 4 InventoryStatus")
    statuses = []
    for _sku, item_id, qty, price in items:
        st: dict[str, Any] = {"ItemID": item_id}
        if price is not None:
            st["StartPrice"] = str(price.amount.quantize(CENT, ROUND_HALF_UP))
        if qty is not None:
            st["Quantity"] = int(qty)
        statuses.append(st)
    return {"InventoryStatus": statuses}


def parse_revise_inventory_status(reply: Mapping[str, Any],
                                  items: Sequence[tuple[str, str]]) -> dict[str, ItemResult]:
    """(sku, ItemID) pairs → outcome. Errors name their item in ``ErrorParameters``."""
    done = {str(s.get("ItemID")) for s in as_list(reply.get("InventoryStatus"))}
    errors: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    unnamed: list[Mapping[str, Any]] = []
    for e in as_list(reply.get("Errors")):
        if e.get("SeverityCode") == "Warning":
            continue
        params = [p.get("Value") for p in as_list(e.get("ErrorParameters")) if isinstance(p, Mapping)]
        (errors[str(params[0])] if params else unnamed).append(e)
    out = {}
    for sku, item_id in items:
        if item_id in errors:
            code, message = trading_item_error(errors[item_id][0])
            out[sku] = ItemResult(sku, False, code, message)
        elif item_id in done:
            out[sku] = ItemResult(sku, True)
        else:
            code, message = trading_item_error(unnamed[0]) if unnamed else (
                "XD-NET-004", "eBay returned no status for this item")
            out[sku] = ItemResult(sku, False, code, message)
    return out


# ------------------------------------------------------------------ shipments
def shipping_fulfillment_body(lines: Sequence[tuple[str, int]], *, carrier_code: str, tracking_number: str,
                              shipped_at: dt.datetime) -> dict:
    return {"lineItems": [{"lineItemId": lid, "quantity": int(q)} for lid, q in lines],
            "shippedDate": iso_ms(shipped_at), "shippingCarrierCode": carrier_code,
            "trackingNumber": tracking_number}


def unshipped_lines(order_payload: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Lines of a Fulfillment order not yet marked shipped (for "ship everything")."""
    return [(str(li["lineItemId"]), int(li["quantity"])) for li in order_payload.get("lineItems") or []
            if li.get("lineItemFulfillmentStatus") != "FULFILLED"]


def fulfillment_ids(order_payload: Mapping[str, Any]) -> set[str]:
    """Ids of the order's shipping fulfillments (eBay uses the tracking number when there is one)."""
    return {i for i in (fulfillment_id_from_location(h) for h in order_payload.get("fulfillmentHrefs") or []) if i}


def fulfillment_id_from_location(location: str | None) -> str | None:
    if not location:
        return None
    return location.rstrip("/").rsplit("/", 1)[-1] or None


# ------------------------------------------------------------------ listings
def image_urls(images: Sequence[Any]) -> list[str]:
    out = []
    for img in images:
        url = img if isinstance(img, str) else (img.get("url") or img.get("src")) if isinstance(img, Mapping) else None
        if url:
            out.append(str(url))
    return out


def aspects(attributes: Mapping[str, Any]) -> dict[str, list[str]]:
    raw = attributes.get("aspects") or {}
    out = {}
    if isinstance(raw, Mapping):
        for name, value in raw.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            out[str(name)[:40]] = [str(v)[:50] for v in values if v not in (None, "")]
    if attributes.get("brand") and "Brand" not in out:
        out["Brand"] = [str(attributes["brand"])[:50]]
    return out


def inventory_item_body(product: Product, *, quantity: int) -> dict:
    """createOrReplaceInventoryItem body."""
    prod: dict[str, Any] = {"title": product.title, "description": product.description or product.title,
                            "imageUrls": image_urls(product.images)}
    asp = aspects(product.attributes)
    if asp:
        prod["aspects"] = asp
    body: dict[str, Any] = {"product": prod, "condition": str(product.attributes.get("condition", "NEW")),
                            "availability": {"shipToLocationAvailability": {"quantity": int(quantity)}}}
    if product.weight_g:
        body["packageWeightAndSize"] = {"weight": {"value": product.weight_g, "unit": "GRAM"}}
    return body


def offer_body(product: Product, *, marketplace_id: str, quantity: int, price: Money, category_id: str,
               merchant_location_key: str, policies: Mapping[str, str]) -> dict:
    """createOffer / updateOffer body for a fixed-price GTC listing."""
    return {"sku": product.sku, "marketplaceId": marketplace_id, "format": "FIXED_PRICE",
            "availableQuantity": int(quantity), "categoryId": str(category_id),
            "listingDescription": product.description or product.title, "listingDuration": "GTC",
            "listingPolicies": dict(policies), "merchantLocationKey": merchant_location_key,
            "pricingSummary": {"price": {"value": str(price.amount.quantize(CENT, ROUND_HALF_UP)),
                                         "currency": price.currency}}}


def parse_offer(offer: Mapping[str, Any]) -> ListedOffer:
    """An Inventory API offer → what the channel shows (quantity, price, listing id)."""
    if not isinstance(offer, Mapping) or "sku" not in offer:
        raise _bad("not an eBay offer (no sku)")
    listing = offer.get("listing") or {}
    qty = offer.get("availableQuantity")
    ref = ListingRef("inventory", offer_id=_opt(offer.get("offerId")), item_id=_opt(listing.get("listingId")))
    return ListedOffer(sku=str(offer["sku"]), quantity=int(qty) if qty is not None else None,
                       price=money_from((offer.get("pricingSummary") or {}).get("price")),
                       listing_id=listing.get("listingId"),
                       status=listing.get("listingStatus") or offer.get("status"), ids=ref.to_dict())


def parse_inventory_item(item: Mapping[str, Any], currency: str | None = None) -> ListedOffer:
    """An inventory item (no price on it: the price lives on the offer)."""
    if not isinstance(item, Mapping) or "sku" not in item:
        raise _bad("not an eBay inventory item (no sku)")
    qty = (((item.get("availability") or {}).get("shipToLocationAvailability")) or {}).get("quantity")
    return ListedOffer(sku=str(item["sku"]), quantity=int(qty) if qty is not None else None, price=None,
                       status="INVENTORY_ITEM")


def parse_trading_item(reply: Mapping[str, Any], *, sku: str | None = None) -> ListedOffer:
    """Trading ``GetItem`` reply → ListedOffer (available = Quantity − QuantitySold)."""
    item = reply.get("GetItemResponse", reply).get("Item") if isinstance(reply, Mapping) else None
    if not isinstance(item, Mapping) or "ItemID" not in item:
        raise _bad("not a Trading GetItem reply (no Item/ItemID)")
    selling = item.get("SellingStatus") or {}
    try:
        total = int(item.get("Quantity") or 0)
        sold = int(selling.get("QuantitySold") or 0)
    except (TypeError, ValueError) as exc:
        raise _bad("bad Trading Quantity/QuantitySold", exc) from exc
    return ListedOffer(sku=str(sku or item.get("SKU") or ""), quantity=max(0, total - sold),
                       price=money_from_trading(selling.get("CurrentPrice"), item.get("Currency")),
                       listing_id=str(item["ItemID"]),
                       status=str(selling["ListingStatus"]).upper() if selling.get("ListingStatus") else None,
                       title=_opt(item.get("Title")), ids={"kind": "trading", "item_id": str(item["ItemID"])})


# ------------------------------------------------------------------ every active listing (GetMyeBaySelling)
ACTIVE_LIST_PAGE = 200          # GetMyeBaySelling ActiveList: EntriesPerPage 1..200
ACTIVE_LIST_MAX_PAGES = 125     # eBay returns at most 25,000 items (125 pages of 200)


def active_list_request(page: int, *, per_page: int = ACTIVE_LIST_PAGE) -> dict:
    """ebaysdk data for ``GetMyeBaySelling``: one page of the Active list only."""
    if not 1 <= per_page <= ACTIVE_LIST_PAGE or page < 1:
        raise ValueError("ActiveList pages are 1.. with 1..200 entries each")
    return {"ActiveList": {"Include": "true", "Pagination": {"EntriesPerPage": str(per_page),
                                                             "PageNumber": str(page)}}}


def _int(value: Any, what: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise _bad(f"bad {what} {value!r}", exc) from exc


def parse_active_list(reply: Mapping[str, Any]) -> tuple[list[ListedOffer], int]:
    """One ``GetMyeBaySelling`` page → (what each active listing shows, total pages).

    Every active listing comes back, whatever created it (Seller Hub, Trading,
    the Inventory API); its ``ids`` say ``trading`` and the ItemID — the caller
    knows which ItemIDs are Inventory-API offers. A listing with variations
    gives one offer per variation (its SKU, same ItemID). ``QuantityAvailable``
    is what buyers can buy (else Quantity − QuantitySold). A listing without a
    SKU comes back with ``sku=""``: it exists, but cannot be linked by SKU."""
    body = reply.get("GetMyeBaySellingResponse", reply) if isinstance(reply, Mapping) else None
    if not isinstance(body, Mapping):
        raise _bad("not a GetMyeBaySelling reply")
    active = body.get("ActiveList") or {}
    if not isinstance(active, Mapping):
        raise _bad("GetMyeBaySelling: ActiveList is not a container")
    pages = _int((active.get("PaginationResult") or {}).get("TotalNumberOfPages"), "TotalNumberOfPages") or 0
    out: list[ListedOffer] = []
    for item in as_list((active.get("ItemArray") or {}).get("Item")):
        if not isinstance(item, Mapping) or not item.get("ItemID"):
            raise _bad("GetMyeBaySelling: an Item without ItemID")
        item_id = str(item["ItemID"])
        selling = item.get("SellingStatus") or {}
        price = money_from_trading(selling.get("CurrentPrice") or item.get("StartPrice"))
        ids = {"kind": "trading", "item_id": item_id}
        variations = as_list((item.get("Variations") or {}).get("Variation"))
        if variations:
            for v in variations:
                total = _int(v.get("Quantity"), "Variation.Quantity") or 0
                sold = _int((v.get("SellingStatus") or {}).get("QuantitySold"), "QuantitySold") or 0
                out.append(ListedOffer(sku=str(v.get("SKU") or ""), quantity=max(0, total - sold),
                                       price=money_from_trading(v.get("StartPrice")) or price, listing_id=item_id,
                                       status="ACTIVE", title=_opt(item.get("Title")),
                                       ids={**ids, "variation": "true"}))
            continue
        available = _int(item.get("QuantityAvailable"), "QuantityAvailable")
        if available is None:
            total = _int(item.get("Quantity"), "Quantity") or 0
            available = max(0, total - (_int(selling.get("QuantitySold"), "QuantitySold") or 0))
        out.append(ListedOffer(sku=str(item.get("SKU") or ""), quantity=available, price=price, listing_id=item_id,
                               status="ACTIVE", title=_opt(item.get("Title")), ids=ids))
    return out, pages


# ------------------------------------------------------------------ raw XML (inspect)
def xml_to_dict(text: str | bytes) -> dict:
    """Trading XML → the dict shape of ebaysdk's ``response.dict()`` (root included)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise _bad(f"unreadable XML: {exc}", exc) from exc

    def tag(e: ET.Element) -> str:
        return e.tag.split("}", 1)[1] if isinstance(e.tag, str) and "}" in e.tag else str(e.tag)

    def conv(e: ET.Element) -> Any:
        children = list(e)
        if not children and not e.attrib:
            return (e.text or "").strip()
        d: dict[str, Any] = {}
        for c in children:
            v = conv(c)
            k = tag(c)
            if k in d:
                d[k] = d[k] if isinstance(d[k], list) else [d[k]]
                d[k].append(v)
            else:
                d[k] = v
        for k, v in e.attrib.items():
            d["_" + k] = v
        text = (e.text or "").strip()
        if text:
            d["value"] = text
        return d

    return {tag(root): conv(root)}


# ------------------------------------------------------------------ call limits (Developer Analytics)
def rate_limit_params(api_context: str, api_name: str) -> dict[str, str]:
    """Query of getRateLimits / getUserRateLimits for one API."""
    return {"api_context": api_context, "api_name": api_name}


def rate_limit_reset(payload: Mapping[str, Any], *, api_context: str, api_name: str,
                     resource: str | None = None) -> tuple[dt.datetime | None, int | None]:
    """``(reset, remaining)`` of an API's call limit from a Developer Analytics
    answer: the used-up rate's reset when one is used up (the latest, if
    several), otherwise the rate with the fewest calls left. ``resource``
    narrows to that resource when the answer lists it. ``(None, None)`` when
    the answer does not mention the API."""
    rates: list[tuple[str, Mapping[str, Any]]] = []
    for row in as_list(payload.get("rateLimits") if isinstance(payload, Mapping) else None):
        if not isinstance(row, Mapping):
            continue
        if str(row.get("apiContext", "")).lower() != api_context.lower() or \
                str(row.get("apiName", "")).lower() != api_name.lower():
            continue
        for res in as_list(row.get("resources")):
            if isinstance(res, Mapping):
                rates += [(str(res.get("name", "")), r) for r in as_list(res.get("rates")) if isinstance(r, Mapping)]
    if resource is not None and any(name.lower() == resource.lower() for name, _ in rates):
        rates = [(n, r) for n, r in rates if n.lower() == resource.lower()]
    parsed: list[tuple[int | None, dt.datetime | None]] = []
    for _, r in rates:
        try:
            remaining = int(r["remaining"]) if r.get("remaining") is not None else None
            reset = parse_iso(str(r["reset"])) if r.get("reset") else None
        except (TypeError, ValueError):
            continue
        parsed.append((remaining, reset))
    if not parsed:
        return None, None
    used_up = [reset for remaining, reset in parsed if remaining is not None and remaining <= 0 and reset]
    if used_up:
        return max(used_up), 0
    remaining, reset = min(parsed, key=lambda p: (p[0] if p[0] is not None else 1 << 62))
    return reset, remaining


def next_local_midnight(now: dt.datetime, timezone: str) -> dt.datetime:
    """The next 00:00 in ``timezone`` after ``now``, in UTC (eBay's daily limits reset then)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    day = now.astimezone(tz).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.timezone.utc)
