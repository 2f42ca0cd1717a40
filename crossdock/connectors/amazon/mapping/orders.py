"""Amazon orders: getOrders parameters, Order / OrderItem / address payloads
parsed into :class:`~crossdock.models.Order`, and the Restricted Data Token
request that reading an address needs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from crossdock.clock import iso, parse_iso
from crossdock.errors import MappingError
from crossdock.mapping.money import quantize
from crossdock.mapping.status import StatusMap
from crossdock.models import (
    Address,
    Money,
    Order,
    OrderLine,
    TaxInfo,
)

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
        # the buyer pays in the marketplace's currency: no presentment amounts; the Orders API
        # gives no HS code or country of origin (customs uses the catalogue's)
        shipping=parse_money(raw.get("ShippingPrice"), where=where),
        shipping_tax=parse_money(raw.get("ShippingTax"), where=where),
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


def _summed(amounts: Iterable[Money | None]) -> Money | None:
    """The sum of the lines' amounts (None when no line has one)."""
    total: Money | None = None
    for m in amounts:
        if m is not None:
            total = m if total is None else Money(total.amount + m.amount, total.currency)
    return total


def parse_address(raw: Mapping[str, Any] | None) -> Address | None:
    if not raw:
        return None
    return Address(country_code=raw.get("CountryCode") or None, name=raw.get("Name"),
                   line1=raw.get("AddressLine1"),
                   line2=" ".join(x for x in (raw.get("AddressLine2"), raw.get("AddressLine3")) if x) or None,
                   city=raw.get("City"), region=raw.get("StateOrRegion"), postal_code=raw.get("PostalCode"),
                   phone=raw.get("Phone"))


def parse_order(raw: object, items: Sequence[Mapping[str, Any]] | None = None, *,
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
        shipping=_summed(ln.shipping for ln in lines), shipping_tax=_summed(ln.shipping_tax for ln in lines),
        raw={"order": dict(raw), "items": [dict(i) for i in items or []]} if keep_raw else None,
    )


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
