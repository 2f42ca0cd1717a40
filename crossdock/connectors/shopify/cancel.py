"""A seller's cancellation on Shopify: ``orderCancel`` (issue 18).

The mutation refunds and restocks the order and runs as a job; what Shopify
refuses (an order with fulfillments, one already cancelled, an unknown one)
comes back in ``orderCancelUserErrors`` and is raised as a coded error, so
``crossdock orders cancel`` changes nothing locally.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crossdock.connectors.shopify.mapping.common import body, order_gid
from crossdock.connectors.contract import platform_reason
from crossdock.errors import OrderError, PlatformError
from crossdock.ratelimit.budget import Priority

if TYPE_CHECKING:
    from crossdock.connectors.shopify.client import ShopifyClient
    from crossdock.connectors.shopify.settings import ShopifySettings

__all__ = ["CANCEL_REASONS", "ORDER_CANCEL", "CancelsOrders", "order_cancel_request"]

#: crossdock's neutral reasons (contract.CANCEL_REASONS) -> Shopify's OrderCancelReason.
CANCEL_REASONS: Mapping[str, str] = {
    "out_of_stock": "INVENTORY",
    "buyer_asked": "CUSTOMER",
    "address_issue": "OTHER",
    "other": "OTHER",
}

ORDER_CANCEL = """
mutation CrossdockCancel($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!,
                         $notifyCustomer: Boolean!, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refund: $refund, restock: $restock,
              notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""


def order_cancel_request(platform_order_id: str, reason: str, *, notify_customer: bool) -> dict[str, Any]:
    """The orderCancel body: refunded and restocked, as the admin's "Cancel order" does."""
    value = platform_reason(CANCEL_REASONS, reason, platform_order_id)
    return body(ORDER_CANCEL, {"orderId": order_gid(platform_order_id), "reason": value,
                               "refund": True, "restock": True, "notifyCustomer": notify_customer,
                               "staffNote": f"cancelled from crossdock: {reason}"})


class CancelsOrders:
    """The Shopify connector's ``cancel_order`` (a mixin: the connector module is full)."""

    channel: str
    client: ShopifyClient
    settings: ShopifySettings

    def cancel_order(self, platform_order_id: str, reason: str) -> None:
        entity = f"order {platform_order_id}"
        request = order_cancel_request(platform_order_id, reason, notify_customer=self.settings.notify_customer)
        payload = self.client.graphql(request, priority=Priority.CRITICAL, entity=entity).get("orderCancel")
        if payload is None:
            raise PlatformError("XD-PLATFORM-001", channel=self.channel, entity=entity,
                                detail="orderCancel returned nothing")
        errs = payload.get("orderCancelUserErrors") or []
        if errs:
            text = "; ".join(f"{e.get('code') or '?'}: {e.get('message')}" for e in errs)
            if any(e.get("code") == "NOT_FOUND" for e in errs):
                raise PlatformError("XD-PLATFORM-002", channel=self.channel, entity=entity,
                                    detail=f"Shopify orderCancel: {text}")
            raise OrderError("XD-ORD-012", channel=self.channel, entity=entity, detail=f"Shopify orderCancel: {text}")
        if not payload.get("job"):
            raise PlatformError("XD-PLATFORM-001", channel=self.channel, entity=entity,
                                detail="orderCancel returned no job")
