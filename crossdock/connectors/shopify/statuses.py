"""Shopify's order statuses → crossdock's, as data: ``displayFulfillmentStatus``,
``displayFinancialStatus`` and ``cancelled`` (``"true"`` when ``cancelledAt`` is set)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossdock.mapping.status import StatusMap, rule
from crossdock.models import OrderStatus as S

_OPEN = ("UNFULFILLED", "OPEN", "SCHEDULED", "ON_HOLD", "IN_PROGRESS",
         "PENDING_FULFILLMENT", "REQUEST_DECLINED", "RESTOCKED")


def _cancelled(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``cancelledAt`` is read as the signal ``cancelled`` (``"true"`` when set)."""
    return {"cancelled": "true" if raw.get("cancelledAt") else "false"} if "cancelledAt" in raw else {}


STATUSES = StatusMap(
    platform="shopify",
    primary_field="displayFulfillmentStatus",
    rules=(
        rule(S.CANCELLED, cancelled="true"),
        rule(S.CANCELLED, displayFinancialStatus=("VOIDED", "REFUNDED"),
             displayFulfillmentStatus=_OPEN),
        rule(S.SHIPPED, displayFulfillmentStatus=("FULFILLED", "FULFILLMENT_NOT_REQUIRED")),
        rule(S.PARTIALLY_SHIPPED, displayFulfillmentStatus="PARTIALLY_FULFILLED"),
        rule(S.PENDING, displayFinancialStatus=("PENDING", "PARTIALLY_PAID", "EXPIRED"),
             displayFulfillmentStatus=_OPEN),
        rule(S.UNSHIPPED, displayFulfillmentStatus=_OPEN),
    ),
    known={
        "displayFulfillmentStatus": frozenset(v.casefold() for v in (
            *_OPEN, "FULFILLED", "FULFILLMENT_NOT_REQUIRED", "PARTIALLY_FULFILLED")),
        "displayFinancialStatus": frozenset(v.casefold() for v in (
            "AUTHORIZED", "EXPIRED", "PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED", "PENDING",
            "REFUNDED", "VOIDED")),
        "cancelled": frozenset({"true", "false"}),
    },
    extra_signals=_cancelled,
)
