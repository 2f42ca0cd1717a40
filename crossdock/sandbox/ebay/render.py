"""Wire formats of the simulated eBay: REST JSON bodies (field names from the
Sell Fulfillment / Inventory OpenAPI files) and Trading API XML documents
(namespace ``urn:ebay:apis:eBLBaseComponents``, HTTP 200 even on failure).

Pure functions of the sandbox state; no I/O.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any, Iterable, TypedDict

from crossdock.sandbox.ebay.model import (
    MARKETPLACE_INFO,
    Account,
    Listing,
    SimLine,
    SimOrder,
    iso_ms,
    money,
)
from crossdock.sandbox.http import Response, json_response

TRADING_NS = "urn:ebay:apis:eBLBaseComponents"
TRADING_VERSION = "1349"
TRADING_BUILD = "E1349_CORE_APISELLING_19187371_R1"

# ----------------------------------------------------------------------- REST errors


def rest_error(status: int, error_id: int, domain: str, message: str, *, category: str = "REQUEST",
               long_message: str | None = None, parameters: Iterable[tuple[str, str]] = (),
               headers: dict[str, str] | None = None) -> Response:
    err: dict[str, Any] = {"errorId": error_id, "domain": domain, "category": category, "message": message}
    if long_message:
        err["longMessage"] = long_message
    params = [{"name": n, "value": v} for n, v in parameters]
    if params:
        err["parameters"] = params
    return json_response({"errors": [err]}, status, headers)


def invalid_access_token() -> Response:
    """REST 401 for a missing, unknown or expired user token (errorId 1001)."""
    return rest_error(401, 1001, "OAuth", "Invalid access token",
                      long_message="Invalid access token. Check the value of the Authorization HTTP "
                                   "request header.")


def access_denied() -> Response:
    """REST 403 for an application token on a user API (errorId 1100)."""
    return rest_error(403, 1100, "ACCESS", "Access denied",
                      long_message="Insufficient permissions to fulfill the request.")


def too_many_requests() -> Response:
    """REST 429 as eBay sends it when a call limit is used up (errorId 2001)."""
    return rest_error(429, 2001, "ACCESS", "Too many requests. The request limit has been reached "
                                           "for the resource.")


def oauth_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


# ----------------------------------------------------------------------- REST bodies


class Conversion(TypedDict):
    """How the buyer paid: the rate to their currency and its code (None: the seller's)."""

    fx: Decimal | None
    buyer_currency: str | None


def conversion(o: SimOrder) -> Conversion:
    return {"fx": o.fx, "buyer_currency": o.buyer_currency}


def amount(value: Decimal, currency: str, *, fx: Decimal | None = None, buyer_currency: str | None = None) -> dict:
    """eBay Amount; when the buyer paid in another currency the original is in convertedFrom*."""
    out = {"value": str(money(value)), "currency": currency}
    if fx is not None and buyer_currency and buyer_currency != currency:
        out["convertedFromValue"] = str(money(value * fx))
        out["convertedFromCurrency"] = buyer_currency
    return out


def _contact(ship_to: dict) -> dict:
    return {
        "fullName": ship_to["name"],
        "contactAddress": {k: v for k, v in (
            ("addressLine1", ship_to["line1"]), ("city", ship_to["city"]),
            ("postalCode", ship_to["postal_code"]), ("countryCode", ship_to["country"])) if v},
        "primaryPhone": {"phoneNumber": ship_to["phone"]},
        "email": ship_to["email"],
    }


def line_total(line: SimLine) -> Decimal:
    tax = line.tax.amount if line.tax else Decimal("0")
    return money(line.unit_price * line.quantity + line.delivery + tax)


def line_json(o: SimOrder, line: SimLine, acct: Account) -> dict:
    cur = acct.currency
    conv = conversion(o)
    status = ("FULFILLED" if line.shipped >= line.quantity else
              "IN_PROGRESS" if line.shipped else "NOT_STARTED")
    ship_by = o.created_at + 2 * 86400
    out: dict[str, Any] = {
        "lineItemId": line.line_item_id,
        "legacyItemId": line.item_id,
        "sku": line.sku,
        "title": line.title,
        "lineItemCost": amount(line.unit_price * line.quantity, cur, **conv),
        "quantity": line.quantity,
        "soldFormat": "FIXED_PRICE",
        "listingMarketplaceId": acct.marketplace_id,
        "purchaseMarketplaceId": o.purchase_marketplace_id,
        "lineItemFulfillmentStatus": status,
        "total": amount(line_total(line), cur, **conv),
        "deliveryCost": {"shippingCost": amount(line.delivery, cur, **conv)},
        "appliedPromotions": [],
        "taxes": [],
        "properties": {"buyerProtection": True, "soldViaAdCampaign": False},
        "lineItemFulfillmentInstructions": {
            "minEstimatedDeliveryDate": iso_ms(o.created_at + 3 * 86400),
            "maxEstimatedDeliveryDate": iso_ms(o.created_at + 8 * 86400),
            "shipByDate": iso_ms(ship_by),
            "guaranteedDelivery": False,
        },
        "itemLocation": {"location": "London", "countryCode": acct.country, "postalCode": "EC1A 1BB"},
    }
    if line.tax is not None:
        tax: dict[str, Any] = {"taxType": line.tax.tax_type,
                               "amount": amount(line.tax.amount, cur, **conv),
                               "collectionMethod": "NET"}
        if line.tax.ref_name:
            tax["ebayReference"] = {"name": line.tax.ref_name, "value": line.tax.ref_value}
        out["ebayCollectAndRemitTaxes"] = [tax]
    return out


def order_totals(o: SimOrder) -> tuple[Decimal, Decimal, Decimal]:
    subtotal = sum((l.unit_price * l.quantity for l in o.lines), Decimal("0"))
    delivery = sum((l.delivery for l in o.lines), Decimal("0"))
    tax = sum((l.tax.amount for l in o.lines if l.tax), Decimal("0"))
    return money(subtotal), money(delivery), money(tax)


def order_json(o: SimOrder, acct: Account, base_url: str) -> dict:
    cur = acct.currency
    conv = conversion(o)
    subtotal, delivery, tax = order_totals(o)
    total = subtotal + delivery + tax
    fee = money((subtotal + delivery) * Decimal("0.128") + Decimal("0.30"))
    pricing: dict[str, Any] = {"priceSubtotal": amount(subtotal, cur, **conv),
                               "deliveryCost": amount(delivery, cur, **conv),
                               "total": amount(total, cur, **conv)}
    if tax:
        pricing["tax"] = amount(tax, cur, **conv)
    cancel: dict[str, Any] = {"cancelState": o.cancel_state, "cancelRequests": []}
    if o.cancelled_at is not None:
        cancel["cancelledDate"] = iso_ms(o.cancelled_at)
    payments = []
    if o.paid_at is not None:
        payments.append({"paymentMethod": "EBAY", "paymentReferenceId": f"P{o.order_id.replace('-', '')}",
                         "paymentDate": iso_ms(o.paid_at), "amount": amount(total, cur, **conv),
                         "paymentStatus": "PAID"})
    from crossdock.sandbox.ebay.refunds import line_refunds, order_refunds, refunded

    refunds = []
    if o.payment_status == "FULLY_REFUNDED" and o.cancelled_at is not None and total > refunded(o):
        # the cancellation refunded what the seller had not refunded already
        refunds.append({"refundId": f"R{o.order_id.replace('-', '')}", "refundStatus": "REFUNDED",
                        "refundDate": iso_ms(o.cancelled_at), "amount": amount(total - refunded(o), cur, **conv)})

    refunds.extend(order_refunds(o, cur))
    base = base_url.rstrip("/") + "/sell/fulfillment/v1/order/" + o.order_id + "/shipping_fulfillment/"
    city = o.ship_to
    out: dict[str, Any] = {
        "orderId": o.order_id,
        "creationDate": iso_ms(o.created_at),
        "lastModifiedDate": iso_ms(o.modified_at),
        "orderFulfillmentStatus": o.fulfillment_status,
        "orderPaymentStatus": o.payment_status,
        "sellerId": acct.username,
        "buyer": {
            "username": o.buyer_username,
            "taxAddress": {"city": city["city"], "postalCode": city["postal_code"],
                           "countryCode": o.buyer_country},
            "buyerRegistrationAddress": _contact(o.ship_to),
        },
        "pricingSummary": pricing,
        "cancelStatus": cancel,
        "paymentSummary": {"totalDueSeller": amount(subtotal + delivery, cur, **conv),
                           "payments": payments, "refunds": refunds},
        "fulfillmentStartInstructions": [{
            "fulfillmentInstructionsType": "SHIP_TO",
            "minEstimatedDeliveryDate": iso_ms(o.created_at + 3 * 86400),
            "maxEstimatedDeliveryDate": iso_ms(o.created_at + 8 * 86400),
            "ebaySupportedFulfillment": False,
            "shippingStep": {
                "shipTo": _contact(o.ship_to),
                "shippingServiceCode": ("UK_RoyalMailSecondClassStandard" if o.buyer_country == acct.country
                                        else "UK_InternationalStandard"),
            },
        }],
        "fulfillmentHrefs": [base + f["fulfillmentId"] for f in o.fulfillments],
        "lineItems": [line_json(o, l, acct) for l in o.lines],
        "salesRecordReference": str(o.sales_record),
        "totalFeeBasisAmount": amount(total, cur),
        "totalMarketplaceFee": amount(fee, cur),
    }
    if any(l.tax for l in o.lines):
        out["ebayCollectAndRemitTax"] = True
    for li in out["lineItems"]:
        li["refunds"] = line_refunds(o, li["lineItemId"], cur)
    return out


def fulfillment_json(f: dict) -> dict:
    out = {"fulfillmentId": f["fulfillmentId"], "lineItems": f["lineItems"], "shippedDate": f["shippedDate"]}
    if f.get("shippingCarrierCode"):
        out["shippingCarrierCode"] = f["shippingCarrierCode"]
    if f.get("trackingNumber"):
        out["shipmentTrackingNumber"] = f["trackingNumber"]
    return out


def inventory_item_json(l: Listing, locale: str) -> dict:
    product = {"title": l.title, **{k: v for k, v in l.product.items() if k != "title"}}
    out: dict[str, Any] = {
        "sku": l.sku,
        "locale": locale,
        "product": product,
        "condition": l.condition,
        "availability": {"shipToLocationAvailability": {
            "quantity": l.inventory_quantity if l.inventory_quantity is not None else l.quantity}},
    }
    if l.package:
        out["packageWeightAndSize"] = l.package
    return out


def offer_json(l: Listing, acct: Account) -> dict:
    o = l.offer
    out: dict[str, Any] = {
        "offerId": l.offer_id,
        "sku": l.sku,
        "marketplaceId": acct.marketplace_id,
        "format": "FIXED_PRICE",
        "availableQuantity": l.quantity,
        "categoryId": o.get("categoryId", "29792"),
        "listingDescription": o.get("listingDescription", l.product.get("description", l.title)),
        "listingDuration": "GTC",
        "listingPolicies": o.get("listingPolicies", {
            "fulfillmentPolicyId": "6196932000", "paymentPolicyId": "6196933000",
            "returnPolicyId": "6196934000"}),
        "merchantLocationKey": o.get("merchantLocationKey", "default"),
        "pricingSummary": {"price": {"value": str(money(l.price)), "currency": l.currency}},
        "includeCatalogProductDetails": True,
        "status": "PUBLISHED" if l.published else "UNPUBLISHED",
    }
    if l.published:
        out["listing"] = {"listingId": l.item_id, "listingStatus": "ACTIVE", "soldQuantity": l.sold,
                          "listingOnHold": False}
    return out


# ----------------------------------------------------------------------- Trading XML


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
    e = ET.SubElement(parent, tag, attrs)
    if text is not None:
        e.text = str(text)
    return e


def _money_el(parent: ET.Element, tag: str, value: Decimal, currency: str) -> ET.Element:
    return _sub(parent, tag, str(money(value)), currencyID=currency)


def trading_doc(call: str, now: float, *, ack: str = "Success",
                errors: Iterable[dict] = (), hard_expiration: float | None = None) -> ET.Element:
    """The common head of every Trading response; callers append the body."""
    root = ET.Element(f"{call}Response", {"xmlns": TRADING_NS})
    _sub(root, "Timestamp", iso_ms(now))
    _sub(root, "Ack", ack)
    for err in errors:
        e = _sub(root, "Errors")
        _sub(e, "ShortMessage", err["short"])
        _sub(e, "LongMessage", err.get("long", err["short"]))
        _sub(e, "ErrorCode", err["code"])
        _sub(e, "SeverityCode", err.get("severity", "Error"))
        for i, value in enumerate(err.get("params", ())):
            p = _sub(e, "ErrorParameters", ParamID=str(i))
            _sub(p, "Value", value)
        _sub(e, "ErrorClassification", err.get("classification", "RequestError"))
    _sub(root, "Version", TRADING_VERSION)
    _sub(root, "Build", TRADING_BUILD)
    if hard_expiration is not None:
        _sub(root, "HardExpirationWarning", dt.datetime.fromtimestamp(
            hard_expiration, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"))
    return root


def xml_response(root: ET.Element, *, throttled: bool = False) -> Response:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
    return Response(200, body, {"Content-Type": "text/xml;charset=utf-8"}, throttled=throttled)


def trading_failure(call: str, now: float, errors: list[dict], *, throttled: bool = False) -> Response:
    return xml_response(trading_doc(call, now, ack="Failure", errors=errors), throttled=throttled)


ERR_INVALID_TOKEN = {"code": 931, "short": "Auth token is invalid.",
                     "long": "Validation of the authentication token in API request failed."}
ERR_HARD_EXPIRED = {"code": 932, "short": "Auth token is hard expired.",
                    "long": "Auth token is hard expired, User needs to generate a new token for this "
                            "application."}
ERR_USAGE_LIMIT = {"code": 518, "short": "Call usage limit has been reached.",
                   "long": "Your application has exceeded usage limit on this call, please make call to "
                           "Developer Analytics API to check your call usage."}
ERR_TOO_MANY_ITEMS = {"code": 21916254, "short": "Too many inventory statuses.",
                      "long": "You can revise at most 4 listings in one ReviseInventoryStatus call."}


def trading_order(parent: ET.Element, o: SimOrder, acct: Account) -> None:
    cur = acct.currency
    subtotal, delivery, tax = order_totals(o)
    e = _sub(parent, "Order")
    _sub(e, "OrderID", o.order_id)
    status = ("Cancelled" if o.cancel_state == "CANCELED" else
              "Active" if o.payment_status == "PENDING" else "Completed")
    _sub(e, "OrderStatus", status)
    _money_el(e, "AdjustmentAmount", Decimal("0"), cur)
    _money_el(e, "AmountPaid", subtotal + delivery + tax if o.paid_at else Decimal("0"), cur)
    _money_el(e, "AmountSaved", Decimal("0"), cur)
    co = _sub(e, "CheckoutStatus")
    _sub(co, "eBayPaymentStatus", "NoPaymentFailure")
    _sub(co, "LastModifiedTime", iso_ms(o.modified_at))
    _sub(co, "PaymentMethod", "CreditCard")
    _sub(co, "Status", "Complete" if o.paid_at else "Incomplete")
    sd = _sub(e, "ShippingDetails")
    _sub(sd, "SellingManagerSalesRecordNumber", o.sales_record)
    _sub(e, "CreatedTime", iso_ms(o.created_at))
    addr = _sub(e, "ShippingAddress")
    _sub(addr, "Name", o.ship_to["name"])
    _sub(addr, "Street1", o.ship_to["line1"])
    _sub(addr, "CityName", o.ship_to["city"])
    _sub(addr, "Country", o.buyer_country)
    _sub(addr, "Phone", o.ship_to["phone"])
    _sub(addr, "PostalCode", o.ship_to["postal_code"])
    sel = _sub(e, "ShippingServiceSelected")
    _sub(sel, "ShippingService", "UK_RoyalMailSecondClassStandard" if o.buyer_country == acct.country
         else "UK_InternationalStandard")
    _money_el(sel, "ShippingServiceCost", delivery, cur)
    _money_el(e, "Subtotal", subtotal, cur)
    _money_el(e, "Total", subtotal + delivery + tax, cur)
    ta = _sub(e, "TransactionArray")
    site = MARKETPLACE_INFO.get(acct.marketplace_id, ("", "", 0, "US"))[3]
    for line in o.lines:
        t = _sub(ta, "Transaction")
        b = _sub(t, "Buyer")
        _sub(b, "Email", o.ship_to["email"])
        _sub(t, "CreatedDate", iso_ms(o.created_at))
        item = _sub(t, "Item")
        _sub(item, "ItemID", line.item_id)
        _sub(item, "Site", site)
        _sub(item, "Title", line.title)
        _sub(item, "SKU", line.sku)
        _sub(t, "QuantityPurchased", line.quantity)
        st = _sub(t, "Status")
        _sub(st, "PaymentHoldStatus", "None")
        _sub(t, "TransactionID", line.transaction_id)
        _money_el(t, "TransactionPrice", line.unit_price, cur)
        if line.tax is not None:
            ct = _sub(t, "eBayCollectAndRemitTaxes")
            _money_el(ct, "TotalTaxAmount", line.tax.amount, cur)
            td = _sub(ct, "TaxDetails")
            _sub(td, "Imposition", {"VAT": "VAT", "GST": "GST"}.get(line.tax.tax_type, "SalesTax"))
            _sub(td, "TaxDescription", {"VAT": "ImportVAT", "GST": "GST"}.get(line.tax.tax_type, "SalesTax"))
            _money_el(td, "TaxAmount", line.tax.amount, cur)
            _sub(td, "CollectionMethod", "Net")
            if line.tax.ref_name:
                _sub(ct, "eBayReference", line.tax.ref_value, name=line.tax.ref_name)
        _sub(t, "OrderLineItemID", f"{line.item_id}-{line.transaction_id}")
        if line.shipped and o.fulfillments:
            _sub(t, "ShippedTime", iso_ms(o.fulfillments[-1]["_at"]))
        _sub(t, "Platform", "eBay")
    _sub(e, "BuyerUserID", o.buyer_username)
    if o.paid_at:
        _sub(e, "PaidTime", iso_ms(o.paid_at))
    if o.fulfillments and o.fulfillment_status == "FULFILLED":
        _sub(e, "ShippedTime", iso_ms(o.fulfillments[-1]["_at"]))
    _sub(e, "IntegratedMerchantCreditCardEnabled", "false")
    _sub(e, "ExtendedOrderID", o.order_id)
    _sub(e, "ContainseBayPlusTransaction", "false")
    _sub(e, "CancelStatus", "CancelComplete" if o.cancel_state == "CANCELED" else "NotApplicable")


def _duration(seconds: float) -> str:
    """xs:duration as eBay writes TimeLeft: ``P2DT3H4M5S``."""
    s = max(0, int(seconds))
    days, s = divmod(s, 86_400)
    hours, s = divmod(s, 3_600)
    minutes, s = divmod(s, 60)
    return f"P{days}DT{hours}H{minutes}M{s}S"


GTC_CYCLE_S = 30 * 86_400


def active_list_item(parent: ET.Element, l: Listing, now: float) -> None:
    """One ``Item`` of GetMyeBaySelling's ``ActiveList/ItemArray``, with the fields
    eBay returns there by default (fixed-price, Good 'Til Cancelled: TimeLeft
    is what is left of the current 30-day cycle)."""
    item = _sub(parent, "Item")
    _money_el(item, "BuyItNowPrice", Decimal("0"), l.currency)
    _sub(item, "ItemID", l.item_id)
    ld = _sub(item, "ListingDetails")
    _money_el(ld, "ConvertedStartPrice", l.price, l.currency)
    _sub(ld, "StartTime", iso_ms(l.started_at))
    _sub(ld, "ViewItemURL", f"https://www.ebay.co.uk/itm/{l.item_id}")
    _sub(item, "ListingDuration", "GTC")
    _sub(item, "ListingType", "FixedPriceItem")
    _sub(item, "Quantity", l.quantity + l.sold)
    ss = _sub(item, "SellingStatus")
    _money_el(ss, "CurrentPrice", l.price, l.currency)
    _sub(ss, "QuantitySold", l.sold)
    _money_el(item, "StartPrice", l.price, l.currency)
    _sub(item, "TimeLeft", _duration(GTC_CYCLE_S - (now - l.started_at) % GTC_CYCLE_S))
    _sub(item, "Title", l.title)
    _sub(item, "QuantityAvailable", l.quantity)
    if l.sku:
        _sub(item, "SKU", l.sku)
    images = (l.product or {}).get("imageUrls") or []
    if images:
        _sub(_sub(item, "PictureDetails"), "GalleryURL", images[0])


def trading_item(parent: ET.Element, l: Listing, acct: Account, now: float) -> None:
    site = MARKETPLACE_INFO.get(acct.marketplace_id, ("", "", 0, "US"))[3]
    item = _sub(parent, "Item")
    _sub(item, "Country", acct.country)
    _sub(item, "Currency", l.currency)
    _sub(item, "ItemID", l.item_id)
    ld = _sub(item, "ListingDetails")
    _sub(ld, "StartTime", iso_ms(l.started_at))
    _sub(ld, "ViewItemURL", f"https://www.ebay.co.uk/itm/{l.item_id}")
    _sub(item, "ListingDuration", "GTC")
    _sub(item, "ListingType", "FixedPriceItem")
    _sub(item, "Location", "London")
    _sub(item, "Quantity", l.quantity + l.sold)
    ss = _sub(item, "SellingStatus")
    _money_el(ss, "CurrentPrice", l.price, l.currency)
    _sub(ss, "QuantitySold", l.sold)
    _sub(ss, "ListingStatus", "Active" if l.published else "Completed")
    _sub(item, "Site", site)
    _sub(item, "Title", l.title)
    _sub(item, "SKU", l.sku)
    _sub(item, "InventoryTrackingMethod", "ItemID")
