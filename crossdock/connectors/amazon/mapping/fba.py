"""Amazon FBA inventory (FBA Inventory API v1, ``getInventorySummaries``,
specs/amazon/fbaInventory.json): the request parameters and a page of
``InventorySummary`` records as :class:`~crossdock.models.PlatformStock`.

A listing is FBA (Amazon-fulfilled) when its ``fulfillmentAvailability``
names a fulfilment channel other than ``DEFAULT`` (``AMAZON_NA``,
``AMAZON_EU`` …): :func:`amazon_fulfilled`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crossdock.errors import MappingError
from crossdock.models import PlatformStock

#: The model's maxItems of ``sellerSkus``.
MAX_SELLER_SKUS = 50
#: The merchant-fulfilled channel of ``fulfillment_availability``; every other code is Amazon's.
MERCHANT_CHANNEL = "DEFAULT"


def summaries_params(*, marketplace_id: str, skus: Sequence[str] | None = None,
                     next_token: str | None = None) -> dict[str, str]:
    """getInventorySummaries' query: Marketplace granularity, with details (the
    fulfillable / inbound / reserved / unfulfillable split); ``skus`` (at most
    50) as the comma-separated ``sellerSkus``; ``next_token`` for the next page."""
    if skus is not None and len(skus) > MAX_SELLER_SKUS:
        raise ValueError(f"getInventorySummaries takes at most {MAX_SELLER_SKUS} sellerSkus")
    params = {"granularityType": "Marketplace", "granularityId": marketplace_id,
              "marketplaceIds": marketplace_id, "details": "true"}
    if skus:
        params["sellerSkus"] = ",".join(skus)
    if next_token:
        params["nextToken"] = next_token
    return params


def _int(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MappingError("XD-MAP-010", detail=f"inventory quantity {value!r} is not a whole number >= 0")
    return value


def parse_summary(raw: object) -> PlatformStock:
    """One ``InventorySummary`` (with ``inventoryDetails``)."""
    if not isinstance(raw, Mapping) or not raw.get("sellerSku"):
        raise MappingError("XD-MAP-010", detail=f"not an inventory summary: {str(raw)[:200]}")
    details = raw.get("inventoryDetails") or {}
    if not isinstance(details, Mapping):
        raise MappingError("XD-MAP-010", entity=f"sku {raw['sellerSku']}", detail="inventoryDetails is not an object")
    reserved = details.get("reservedQuantity") or {}
    unfulfillable = details.get("unfulfillableQuantity") or {}
    total = raw.get("totalQuantity")
    ids = {k: str(raw[k]) for k in ("asin", "fnSku", "condition") if raw.get(k)}
    return PlatformStock(
        sku=str(raw["sellerSku"]),
        fulfillable=_int(details.get("fulfillableQuantity")),
        inbound=sum(_int(details.get(k)) for k in ("inboundWorkingQuantity", "inboundShippedQuantity",
                                                  "inboundReceivingQuantity")),
        reserved=_int(reserved.get("totalReservedQuantity") if isinstance(reserved, Mapping) else None),
        unfulfillable=_int(unfulfillable.get("totalUnfulfillableQuantity")
                           if isinstance(unfulfillable, Mapping) else None),
        total=_int(total) if total is not None else None, ids=ids or None)


def parse_summaries_page(body: object) -> tuple[list[PlatformStock], str | None]:
    """A ``GetInventorySummariesResponse``: its summaries and ``pagination.nextToken``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("payload"), Mapping):
        raise MappingError("XD-MAP-010", detail="getInventorySummaries: no payload")
    rows = body["payload"].get("inventorySummaries")
    if not isinstance(rows, list):
        raise MappingError("XD-MAP-010", detail="getInventorySummaries: inventorySummaries is not a list")
    token = (body.get("pagination") or {}).get("nextToken") if isinstance(body.get("pagination"), Mapping) \
        else None
    return [parse_summary(r) for r in rows], (str(token) if token else None)


def amazon_fulfilled(fulfillment_availability: object) -> str | None:
    """The Amazon fulfilment channel code (``AMAZON_EU`` …) of a listing's
    ``fulfillmentAvailability`` (read shape: ``fulfillmentChannelCode``) when it
    has no merchant (``DEFAULT``) entry, else None."""
    codes = [str(fa.get("fulfillmentChannelCode") or "") for fa in fulfillment_availability or []
             if isinstance(fa, Mapping)] if isinstance(fulfillment_availability, list) else []
    if not codes or MERCHANT_CHANNEL in codes:
        return None
    return next((c for c in codes if c), None)


def binding_fulfilled(platform_ids: Mapping[str, Any] | None) -> str | None:
    """The Amazon fulfilment channel a listing's stored binding names (None: merchant-fulfilled)."""
    code = (platform_ids or {}).get("fulfillment_channel")
    return str(code) if code and str(code) != MERCHANT_CHANNEL else None
