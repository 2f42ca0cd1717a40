"""Refunds on Shopify (issue 18): ``refundCreate`` with a REFUND transaction
for the amount, and the order's ``refunds`` read into
:class:`~crossdock.models.PlatformRefund`.

A refund moves money back through the order's payment: crossdock first reads
the order's transactions (the successful SALE or CAPTURE is the parent, its
gateway the one refunded through) and its refunds so far, then sends
``refundCreate(input: {orderId, note, notify, currency, refundLineItems,
transactions: [{orderId, parentId, gateway, kind: REFUND, amount}]})``. Lines
named by the seller go as ``refundLineItems`` with ``restockType: NO_RESTOCK``:
a refund never restocks (goods coming back are a return's business).

Shopify refunds in the buyer's (presentment) currency. When the buyer paid in
another currency than the shop's, the shop-currency amount is converted at the
order's own rate (its presentment total over its shop total), and a full
refund sends exactly what is left in the buyer's currency; what Shopify took,
in the shop's currency (``totalRefundedSet.shopMoney``), is what crossdock
records. ``userErrors`` are a refusal (XD-REF-004).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from crossdock.connectors.shopify.mapping.common import body, gid, order_gid
from crossdock.connectors.shopify.mapping.refunds import money as _money
from crossdock.connectors.shopify.mapping.refunds import parse_refund, parse_refunds
from crossdock.errors import PlatformError, RefundError
from crossdock.models import PlatformRefund
from crossdock.ratelimit.budget import Priority

if TYPE_CHECKING:
    from crossdock.connectors.refunds import RefundRequest
    from crossdock.connectors.shopify.client import ShopifyClient
    from crossdock.connectors.shopify.settings import ShopifySettings

__all__ = ["REFUND_CREATE", "RefundsOrders", "parse_refunds", "refund_create_request"]

CENT = Decimal("0.01")

ORDER_PAYMENTS = """
query CrossdockOrderPayments($id: ID!) {
  order(id: $id) {
    id currencyCode presentmentCurrencyCode
    totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
    totalRefundedSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
    transactions(first: 50) { id kind status gateway }
  }
}
"""

REFUND_CREATE = """
mutation CrossdockRefund($input: RefundInput!) {
  refundCreate(input: $input) {
    refund {
      id createdAt note totalRefundedSet { shopMoney { amount currencyCode } }
      refundLineItems(first: 20) { nodes { lineItem { id } quantity subtotalSet { shopMoney { amount currencyCode } } } }
    }
    userErrors { field message }
  }
}
"""


def _payment_parent(transactions: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    for t in transactions:
        if t.get("kind") in ("SALE", "CAPTURE") and t.get("status") == "SUCCESS":
            return t
    return None


def buyer_amount(request: RefundRequest, order: Mapping[str, Any]) -> tuple[Decimal, str]:
    """(amount, currency) to send: the request's, or converted at the order's rate to the buyer's currency."""
    shop_cur = str(order.get("currencyCode") or "")
    buyer_cur = str(order.get("presentmentCurrencyCode") or shop_cur)
    if request.amount.currency != shop_cur:
        raise RefundError("XD-REF-003", entity=f"order {request.platform_order_id}",
                          detail=f"{request.amount.currency}: the order's currency is {shop_cur}")
    if buyer_cur == shop_cur:
        return request.amount.amount, shop_cur
    total, total_p = _money(order.get("totalPriceSet")), _money(order.get("totalPriceSet"), "presentmentMoney")
    done_p = _money(order.get("totalRefundedSet"), "presentmentMoney")
    if total is None or total_p is None or not total.amount:
        raise RefundError("XD-REF-003", entity=f"order {request.platform_order_id}",
                          detail=f"the buyer paid in {buyer_cur} and Shopify gives no rate for the order")
    if request.full:
        return total_p.amount - (done_p.amount if done_p else Decimal(0)), buyer_cur
    return (request.amount.amount * total_p.amount / total.amount).quantize(CENT, ROUND_HALF_UP), buyer_cur


def refund_create_request(request: RefundRequest, *, parent: Mapping[str, Any], amount: Decimal, currency: str,
                          notify: bool) -> dict[str, Any]:
    oid = order_gid(request.platform_order_id)
    note = f"{request.reason}: {request.note}" if request.note else request.reason
    data: dict[str, Any] = {
        "orderId": oid, "note": note, "notify": notify, "currency": currency,
        "transactions": [{"orderId": oid, "parentId": parent["id"], "gateway": parent["gateway"], "kind": "REFUND",
                          "amount": format(amount, "f")}]}
    if request.lines:
        data["refundLineItems"] = [{"lineItemId": gid("LineItem", ln.platform_line_id), "quantity": ln.quantity,
                                    "restockType": "NO_RESTOCK"} for ln in request.lines]
    return body(REFUND_CREATE, {"input": data})


class RefundsOrders:
    """The Shopify connector's ``issue_refund`` (a mixin: the connector module is full)."""

    channel: str
    client: ShopifyClient
    settings: ShopifySettings

    def issue_refund(self, request: RefundRequest) -> PlatformRefund:
        entity = f"order {request.platform_order_id}"
        order = self.client.graphql(body(ORDER_PAYMENTS, {"id": order_gid(request.platform_order_id)}),
                                    priority=Priority.CRITICAL, entity=entity).get("order")
        if order is None:
            raise RefundError("XD-REF-004", channel=self.channel, entity=entity, detail="Shopify does not know the order")
        parent = _payment_parent(order.get("transactions") or [])
        if parent is None:
            raise RefundError("XD-REF-004", channel=self.channel, entity=entity,
                              detail="the order has no successful sale or capture to refund")
        amount, currency = buyer_amount(request, order)
        payload = self.client.graphql(
            refund_create_request(request, parent=parent, amount=amount, currency=currency,
                                  notify=self.settings.notify_customer),
            priority=Priority.CRITICAL, entity=entity).get("refundCreate")
        if payload is None:
            raise PlatformError("XD-PLATFORM-001", channel=self.channel, entity=entity,
                                detail="refundCreate returned nothing")
        errs = payload.get("userErrors") or []
        if errs or not payload.get("refund"):
            text = "; ".join(f"{'.'.join(e.get('field') or [])}: {e.get('message')}" for e in errs) or "no refund"
            raise RefundError("XD-REF-004", channel=self.channel, entity=entity, detail=f"Shopify refundCreate: {text}")
        return parse_refund(payload["refund"])
