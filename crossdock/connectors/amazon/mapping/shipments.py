"""Amazon shipments: the confirmShipment body and what an order says is shipped."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from crossdock.models import (
    ShipmentConfirmation,
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
