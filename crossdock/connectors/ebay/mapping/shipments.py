"""eBay shipments: ``createShippingFulfillment`` bodies and what an order says
is shipped."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

from crossdock.connectors.ebay.mapping.common import iso_ms
from crossdock.connectors.ebay.mapping.shapes import ShippingFulfillmentDetails


# ------------------------------------------------------------------ shipments
def shipping_fulfillment_body(lines: Sequence[tuple[str, int]], *, carrier_code: str, tracking_number: str,
                              shipped_at: dt.datetime) -> ShippingFulfillmentDetails:
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
