"""eBay orders: Fulfillment ``getOrders`` parameters, Fulfillment and Trading
``Order`` payloads parsed into :class:`~crossdock.models.Order` (tax with the
IOSS/OSS/VOEC reference, listing vs purchase marketplace)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Mapping, Sequence

from crossdock.connectors.ebay.mapping.common import (
    CENT,
    FACILITATOR,
    _bad,
    _time,
    as_list,
    iso_ms,
    money_from,
    money_from_trading,
)
from crossdock.connectors.ebay.mapping.refunds import parse_refunds
from crossdock.errors import MappingError
from crossdock.models import (
    Address,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    TaxInfo,
)


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


def merge_tax(maybe: Iterable[TaxInfo | None]) -> TaxInfo | None:
    infos = [i for i in maybe if i is not None]
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


def converted_from(amount: Mapping[str, Any] | None) -> Money | None:
    """The buyer's side of an ``Amount``: ``convertedFromValue`` in
    ``convertedFromCurrency``, present only when eBay converted (else None:
    the buyer paid in the seller's currency)."""
    if not amount or amount.get("convertedFromValue") is None or not amount.get("convertedFromCurrency"):
        return None
    return money_from({"value": amount["convertedFromValue"], "currency": amount["convertedFromCurrency"]})


def _per_unit(total: Money | None, qty: int) -> Money | None:
    return Money((total.amount / qty).quantize(CENT, ROUND_HALF_UP), total.currency) if total and qty else total


def parse_line(li: Mapping[str, Any]) -> OrderLine:
    try:
        qty = int(li["quantity"])
        line_id = str(li["lineItemId"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(f"line item without lineItemId/quantity: {li!r}"[:300], exc) from exc
    cost = li.get("lineItemCost")
    shipping = (li.get("deliveryCost") or {}).get("shippingCost")
    return OrderLine(
        platform_line_id=line_id, sku=li.get("sku") or None, quantity=qty, unit_price=_per_unit(money_from(cost), qty),
        title=li.get("title"), listing_id=li.get("legacyItemId"),
        tax=tax_info(li.get("ebayCollectAndRemitTaxes") or []),
        quantity_shipped=qty if li.get("lineItemFulfillmentStatus") == "FULFILLED" else 0,
        shipping=money_from(shipping), presentment_unit_price=_per_unit(converted_from(cost), qty))


def _address(contact: Mapping[str, Any] | None) -> Address | None:
    if not contact:
        return None
    a = contact.get("contactAddress") or {}
    return Address(country_code=a.get("countryCode"), name=contact.get("fullName"), line1=a.get("addressLine1"),
                   line2=a.get("addressLine2"), city=a.get("city"), region=a.get("stateOrProvince"),
                   postal_code=a.get("postalCode"), phone=(contact.get("primaryPhone") or {}).get("phoneNumber"))


def parse_order(payload: object) -> Order:
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
    username = (payload.get("buyer") or {}).get("username")
    if ship_to is not None and isinstance(username, str) and username:
        ship_to.buyer_id = username
    lines_raw = payload.get("lineItems") or []
    lines = [parse_line(li) for li in lines_raw]
    ship_by = [
        _time(by, "shipByDate") for li in lines_raw
        if (by := (li.get("lineItemFulfillmentInstructions") or {}).get("shipByDate"))]
    marketplace = next((li.get("purchaseMarketplaceId") or li.get("listingMarketplaceId")
                        for li in lines_raw if li.get("purchaseMarketplaceId") or li.get("listingMarketplaceId")),
                       None)
    program = payload.get("program") or {}
    pricing = payload.get("pricingSummary") or {}
    return Order(
        platform="ebay", platform_order_id=str(payload["orderId"]), platform_status=platform_status,
        status=status, purchased_at=created, updated_at=modified,
        total=money_from(pricing.get("total")), shipping=money_from(pricing.get("deliveryCost")),
        presentment_total=converted_from(pricing.get("total")),
        presentment_tax=converted_from(pricing.get("tax")),
        presentment_shipping=converted_from(pricing.get("deliveryCost")),
        buyer_country=(ship_to.country_code if ship_to and ship_to.country_code else tax_country),
        marketplace_id=marketplace, lines=lines, tax=merge_tax(l.tax for l in lines),
        ship_by=min(ship_by) if ship_by else None, shipping_address=ship_to,
        fulfillment_channel="EBAY" if program.get("fulfillmentProgram") else "SELLER",
        raw=dict(payload), refunds=parse_refunds(payload))


def orders_page(payload: object) -> tuple[list[Any], int | None, bool]:
    """(order payloads, total, has_next) of an ``OrderSearchPagedCollection``,
    the orders as eBay sent them (each is read with :func:`parse_order`)."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("orders", []), list):
        raise _bad("not an eBay OrderSearchPagedCollection")
    total = payload.get("total")
    return list(payload.get("orders") or []), int(total) if total is not None else None, bool(payload.get("next"))


def order_id_of(payload: object) -> str | None:
    """A Fulfillment order payload's ``orderId``, whatever else it holds."""
    oid = payload.get("orderId") if isinstance(payload, Mapping) else None
    return str(oid) if oid is not None else None


def parse_orders_page(payload: object) -> tuple[list[Order], int | None, bool]:
    """(orders, total, has_next) of an ``OrderSearchPagedCollection``."""
    raw, total, has_next = orders_page(payload)
    return [parse_order(o) for o in raw], total, has_next


# ------------------------------------------------------------------ orders: Trading parsing
TRADING_STATUS = {"Active": OrderStatus.PENDING, "Completed": OrderStatus.UNSHIPPED,
                  "Cancelled": OrderStatus.CANCELLED, "CancelPending": OrderStatus.UNSHIPPED,
                  "Inactive": OrderStatus.CANCELLED, "InProcess": OrderStatus.PENDING,
                  "Shipped": OrderStatus.SHIPPED, "Authenticated": OrderStatus.UNSHIPPED}


def parse_trading_order(o: object, *, marketplace_id: str | None = None) -> Order:
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
