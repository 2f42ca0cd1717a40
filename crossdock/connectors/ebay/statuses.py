"""eBay's order statuses → crossdock's, as data: ``orderFulfillmentStatus``,
``cancelState`` (nested in ``cancelStatus``) and ``orderPaymentStatus``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossdock.mapping.status import StatusMap, rule
from crossdock.models import OrderStatus as S


def _nested(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``cancelStatus.cancelState`` is read as the signal ``cancelState``."""
    cancel = raw.get("cancelStatus")
    return {"cancelState": cancel.get("cancelState")} if isinstance(cancel, Mapping) else {}


STATUSES = StatusMap(
    platform="ebay",
    primary_field="orderFulfillmentStatus",
    rules=(
        rule(S.CANCELLED, cancelState="CANCELED"),
        rule(S.PENDING, orderFulfillmentStatus="NOT_STARTED",
             orderPaymentStatus=("PENDING", "FAILED")),
        rule(S.UNSHIPPED, orderFulfillmentStatus="NOT_STARTED"),
        rule(S.PARTIALLY_SHIPPED, orderFulfillmentStatus="IN_PROGRESS"),
        rule(S.SHIPPED, orderFulfillmentStatus="FULFILLED"),
    ),
    known={
        "orderFulfillmentStatus": frozenset({"not_started", "in_progress", "fulfilled"}),
        # IN_PROGRESS = a cancel request is open; the order stays as it is until CANCELED.
        "cancelState": frozenset({"none_requested", "in_progress", "canceled"}),
        "orderPaymentStatus": frozenset({"pending", "failed", "paid", "partially_refunded",
                                         "fully_refunded"}),
    },
    extra_signals=_nested,
)
