"""eBay stock and prices: ``bulk_update_price_quantity`` bodies (≤ 25 SKUs) and
Trading ``ReviseInventoryStatus`` data (≤ 4 items), and their per-item results."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP
from typing import Any, Mapping, Sequence

from crossdock.connectors.ebay.errors import bulk_error, trading_item_error
from crossdock.connectors.ebay.mapping.common import CENT, _bad, as_list
from crossdock.connectors.ebay.mapping.listings import ListingRef
from crossdock.connectors.ebay.mapping.shapes import (
    BulkPriceQuantity,
    InventoryStatus,
    PriceQuantity,
    ReviseInventoryStatusRequest,
)
from crossdock.models import (
    ItemResult,
    Money,
)


# ------------------------------------------------------------------ stock and prices: requests
def bulk_stock_body(items: Sequence[tuple[str, ListingRef, int]]) -> BulkPriceQuantity:
    """``bulk_update_price_quantity`` for absolute quantities: the inventory item's
    ship-to-home total and, when the offer id is known, the offer's available quantity."""
    reqs: list[PriceQuantity] = []
    for sku, ref, qty in items:
        r = PriceQuantity(sku=sku, shipToLocationAvailability={"quantity": int(qty)})
        if ref.offer_id:
            r["offers"] = [{"offerId": ref.offer_id, "availableQuantity": int(qty)}]
        reqs.append(r)
    return {"requests": reqs}


def bulk_price_body(items: Sequence[tuple[str, str, Money]]) -> BulkPriceQuantity:
    """``bulk_update_price_quantity`` for prices: (sku, offerId, price)."""
    return {"requests": [{"sku": sku, "offers": [{"offerId": offer_id, "price": {
        "value": str(price.amount.quantize(CENT, ROUND_HALF_UP)), "currency": price.currency}}]}
        for sku, offer_id, price in items]}


def parse_bulk_response(payload: object, skus: Sequence[str]) -> dict[str, ItemResult]:
    """Per-SKU outcome: ok only if every response entry of the SKU says 200."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("responses"), list):
        raise _bad("not a BulkPriceQuantityResponse")
    by_sku: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in payload["responses"]:
        by_sku[str(r.get("sku") or "")].append(r)
    out: dict[str, ItemResult] = {}
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


def revise_inventory_status_data(items: Sequence[tuple[str, str, int | None, Money | None]]
                                 ) -> ReviseInventoryStatusRequest:
    """ebaysdk data for ``ReviseInventoryStatus``: (sku, ItemID, quantity, price), ≤ 4 items."""
    if len(items) > 4:
        raise ValueError("ReviseInventoryStatus takes at most 4 InventoryStatus")
    statuses: list[InventoryStatus] = []
    for _sku, item_id, qty, price in items:
        st = InventoryStatus(ItemID=item_id)
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
    out: dict[str, ItemResult] = {}
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
