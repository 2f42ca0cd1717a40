"""A seller's cancellation on eBay: the Post-Order API's
``POST /post-order/v2/cancellation`` (issue 18).

Post-Order takes the OAuth user token as ``Authorization: IAF <token>`` and
the site as ``X-EBAY-C-MARKETPLACE-ID: EBAY-US`` style ids. A seller-initiated
cancellation of an eligible order answers with its ``cancelId``; an order eBay
no longer lets the seller cancel (shipped, partly shipped, a cancellation
already open, the window elapsed) answers without one, with
``orderEligibilityResult.failureReason`` — raised as XD-ORD-012.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crossdock.connectors.contract import platform_reason
from crossdock.errors import OrderError, PlatformError

if TYPE_CHECKING:
    from crossdock.connectors.ebay.client import EbayRestClient
    from crossdock.connectors.ebay.settings import EbaySettings

__all__ = ["CANCEL_REASONS", "CancelsOrders", "cancellation_body", "post_order_site"]

CANCELLATION = "/post-order/v2/cancellation"

#: crossdock's neutral reasons (contract.CANCEL_REASONS) -> eBay's seller CancelReasonEnum values
#: (a seller has three; "other" is the seller's own inability to fulfil).
CANCEL_REASONS: Mapping[str, str] = {
    "out_of_stock": "OUT_OF_STOCK_OR_CANNOT_FULFILL",
    "buyer_asked": "BUYER_ASKED_CANCEL",
    "address_issue": "ADDRESS_ISSUES",
    "other": "OUT_OF_STOCK_OR_CANNOT_FULFILL",
}

#: Sell API marketplace ids whose Post-Order site id is not the plain spelling with a hyphen.
_SITES = {"EBAY_GB": "EBAY-UK"}


def post_order_site(marketplace_id: str) -> str:
    """``EBAY_US`` -> ``EBAY-US``, ``EBAY_GB`` -> ``EBAY-UK`` (Post-Order's site ids)."""
    return _SITES.get(marketplace_id, marketplace_id.replace("_", "-"))


def cancellation_body(platform_order_id: str, reason: str) -> dict[str, Any]:
    return {"legacyOrderId": platform_order_id,
            "cancelReason": platform_reason(CANCEL_REASONS, reason, platform_order_id)}


class CancelsOrders:
    """The eBay connector's ``cancel_order`` (a mixin: the connector module is full)."""

    channel: str
    rest: EbayRestClient
    settings: EbaySettings

    def cancel_order(self, platform_order_id: str, reason: str) -> None:
        entity = f"order {platform_order_id}"
        body = cancellation_body(platform_order_id, reason)
        try:
            resp = self.rest.call("POST", CANCELLATION, "createCancellation", json=body, entity=entity,
                                  scheme="IAF", marketplace=post_order_site(self.settings.marketplace_id))
        except PlatformError as exc:
            if exc.context.get("status") == 404:
                raise PlatformError("XD-PLATFORM-002", channel=self.channel, entity=entity,
                                    detail=f"eBay does not know the order: {exc.message}") from exc
            raise
        answer = self.rest.json(resp, "createCancellation")
        if not answer.get("cancelId"):
            result = answer.get("orderEligibilityResult") or {}
            why = ", ".join(str(r) for r in result.get("failureReason") or ()) or "no cancelId returned"
            raise OrderError("XD-ORD-012", channel=self.channel, entity=entity,
                             detail=f"eBay refused the cancellation: {why}")
