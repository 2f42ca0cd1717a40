"""The SP-API wire format: response helpers and the JSON shapes of orders,
order items and listings, following the official models in specs/amazon
(field names and types as in ``ordersV0.json`` and
``listingsItems_2021-08-01.json``)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crossdock.sandbox.amazon.constants import MARKETPLACES
from crossdock.sandbox.amazon.state import Listing, Order, OrderItem
from crossdock.sandbox.http import Response

CENT = Decimal("0.01")


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(int(ts), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int((ts % 1) * 1000):03d}Z"


def dumps(obj: Any) -> bytes:
    """JSON with Decimals written as exact JSON numbers (never through float)."""
    marks: dict[str, str] = {}

    def conv(o: Any) -> Any:
        if isinstance(o, Decimal):
            key = f"\x00{len(marks)}\x00"
            marks[json.dumps(key)] = str(o)
            return key
        if isinstance(o, dict):
            return {k: conv(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [conv(v) for v in o]
        return o

    text = json.dumps(conv(obj), separators=(",", ":"))
    for key, number in marks.items():
        text = text.replace(key, number, 1)
    return text.encode("utf-8")


def headers(*, rate: float | None = None, status: int = 200) -> dict[str, str]:
    h = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
    if rate is not None and status in (200, 201, 202, 204, 400, 404):
        h["x-amzn-RateLimit-Limit"] = f"{rate:g}"
    return h


def sp_json(obj: Any, status: int = 200, *, rate: float | None = None) -> Response:
    body = b"" if obj is None else dumps(obj)
    h = headers(rate=rate, status=status)
    if obj is None:
        h.pop("Content-Type")
    return Response(status, body, h)


def sp_error(status: int, code: str, message: str, details: str = "", *,
             rate: float | None = None) -> Response:
    return sp_json({"errors": [{"code": code, "message": message, "details": details}]}, status, rate=rate)


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": str(amount.quantize(CENT, rounding=ROUND_HALF_UP))}


# ------------------------------------------------------------------ orders


def line_amounts(order: Order, item: OrderItem) -> tuple[Decimal, Decimal]:
    """(ItemPrice, ItemTax) of one order item. ItemPrice is unit price x
    quantity (Amazon's semantics); VAT is included in EU prices and added on
    top of US prices."""
    price = (item.unit_price * item.quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    rate = item.tax_rate
    if order.vat_included:
        tax = (price * rate / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        tax = (price * rate).quantize(CENT, rounding=ROUND_HALF_UP)
    return price, tax


def order_total(order: Order) -> Decimal:
    total = Decimal("0")
    for item in order.items:
        price, tax = line_amounts(order, item)
        total += price if order.vat_included else price + tax
    return total


def render_order(order: Order, *, pii: frozenset[str] = frozenset()) -> dict[str, Any]:
    mp = MARKETPLACES[order.marketplace_id]
    shipped = order.shipped_units
    ship_days = 2 * 86400
    domestic = order.buyer_country == mp.country
    out: dict[str, Any] = {
        "AmazonOrderId": order.amazon_order_id,
        "PurchaseDate": iso(order.purchase_date),
        "LastUpdateDate": iso(order.last_update),
        "OrderStatus": order.status,
        "FulfillmentChannel": "MFN",
        "SalesChannel": mp.sales_channel,
        "ShipServiceLevel": f"Std {mp.country} D2D Dom" if domestic else "Std Intl",
    }
    if order.status != "Pending":
        out["OrderTotal"] = money(order_total(order), order.currency)
    out.update({
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": 0 if order.status == "Canceled" else order.ordered_units - shipped,
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "IsReplacementOrder": False,
        "MarketplaceId": order.marketplace_id,
        "ShipmentServiceLevelCategory": "Standard" if domestic else "Expedited",
        "OrderType": "StandardOrder",
        "EarliestShipDate": iso(order.purchase_date),
        "LatestShipDate": iso(order.purchase_date + ship_days),
        "EarliestDeliveryDate": iso(order.purchase_date + ship_days + 86400),
        "LatestDeliveryDate": iso(order.purchase_date + ship_days + (4 if domestic else 10) * 86400),
        "IsBusinessOrder": False,
        "IsPrime": False,
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": not domestic,
        "IsSoldByAB": False,
        "IsIBA": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
        "AutomatedShippingSettings": {"HasAutomatedShippingSettings": False},
        "HasRegulatedItems": False,
        "ElectronicInvoiceStatus": "NotRequired",
    })
    if order.status != "Pending":
        out["ShippingAddress"] = render_address(order, full="shippingAddress" in pii)
    if "buyerInfo" in pii:
        out["BuyerInfo"] = {"BuyerEmail": order.buyer_email, "BuyerName": order.buyer_name}
    return out


def render_address(order: Order, *, full: bool) -> dict[str, str]:
    a = order.address
    if not full:   # what getOrders shows without a Restricted Data Token
        return {k: a[k] for k in ("City", "StateOrRegion", "PostalCode", "CountryCode") if a.get(k)}
    return dict(a)


def render_items(order: Order, *, pii: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    out = []
    for item in order.items:
        row: dict[str, Any] = {
            "ASIN": item.asin,
            "SellerSKU": item.sku,
            "OrderItemId": item.order_item_id,
            "Title": item.title,
            "QuantityOrdered": item.quantity,
            "QuantityShipped": item.quantity_shipped,
            "ProductInfo": {"NumberOfItems": "1"},
        }
        if order.status != "Pending":   # Amazon hides prices and taxes until payment is authorised
            price, tax = line_amounts(order, item)
            zero = Decimal("0")
            row.update({
                "ItemPrice": money(price, order.currency),
                "ShippingPrice": money(zero, order.currency),
                "ItemTax": money(tax, order.currency),
                "ShippingTax": money(zero, order.currency),
                "ShippingDiscount": money(zero, order.currency),
                "ShippingDiscountTax": money(zero, order.currency),
                "PromotionDiscount": money(zero, order.currency),
                "PromotionDiscountTax": money(zero, order.currency),
                "PromotionIds": [],
                "IsGift": "false",
            })
        row.update({
            "ConditionId": "New",
            "ConditionSubtypeId": "New",
            "IsTransparency": False,
            "SerialNumberRequired": False,
            "BuyerRequestedCancel": {"IsBuyerRequestedCancel": "false", "BuyerCancelReason": ""},
        })
        if item.tax_model:
            tc: dict[str, str] = {"Model": item.tax_model}
            if order.marketplace_id == "ATVPDKIKX0DER":
                tc["ResponsibleParty"] = "Amazon Services, Inc."
            row["TaxCollection"] = tc
        if item.deemed_reseller:
            row["DeemedResellerCategory"] = item.deemed_reseller
            row["IossNumber"] = item.ioss_number or ""
        if "buyerInfo" in pii:
            row["BuyerInfo"] = {"GiftMessageText": "", "GiftWrapLevel": ""}
        out.append(row)
    return out


# ------------------------------------------------------------------ listings


def render_listing(listing: Listing, marketplace_id: str, included: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"sku": listing.sku}
    if "summaries" in included:
        status = (["BUYABLE", "DISCOVERABLE"] if listing.buyable else ["DISCOVERABLE"]) \
            if listing.price is not None else []
        out["summaries"] = [{
            "marketplaceId": marketplace_id,
            "asin": listing.asin,
            "productType": listing.product_type,
            "conditionType": _condition(listing),
            "status": status,
            "itemName": _first_value(listing.attributes.get("item_name")) or listing.sku,
            "createdDate": iso(listing.created_at),
            "lastUpdatedDate": iso(listing.updated_at),
        }]
    if "attributes" in included:
        out["attributes"] = listing.attributes
    if "issues" in included:
        out["issues"] = []
    if "offers" in included:
        out["offers"] = [] if listing.price is None else [{
            "marketplaceId": marketplace_id, "offerType": "B2C",
            "price": {"currencyCode": listing.currency, "amount": str(listing.price)},
            "audience": {"value": "ALL", "displayName": "Sell on Amazon"}}]
    if "fulfillmentAvailability" in included:
        out["fulfillmentAvailability"] = [{"fulfillmentChannelCode": listing.fulfillment_channel,
                                            "quantity": listing.quantity}]
    if "productTypes" in included:
        out["productTypes"] = [{"marketplaceId": marketplace_id, "productType": listing.product_type}]
    if "relationships" in included:
        out["relationships"] = [{"marketplaceId": marketplace_id, "relationships": []}]
    return out


def _condition(listing: Listing) -> str:
    value = _first_value(listing.attributes.get("condition_type"))
    return value if isinstance(value, str) and value else "new_new"


def _first_value(attr: Any) -> Any:
    if isinstance(attr, list) and attr and isinstance(attr[0], dict):
        return attr[0].get("value")
    return None
