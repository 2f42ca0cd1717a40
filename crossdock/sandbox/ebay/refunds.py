"""The simulated eBay's ``POST /sell/fulfillment/v1/order/{orderId}/issue_refund``.

A seller refunds a paid order in full or in part, at order level
(``orderLevelRefundAmount``) or per line (``refundItems[].refundAmount`` with
``lineItemId``), for one ``reasonForRefund``. The answer is the ``Refund``
(``refundId``, ``refundStatus`` PENDING, as eBay processes refunds
asynchronously); the order then shows it in ``paymentSummary.refunds`` (order
level) or in its lines' ``refunds`` (line level) as REFUNDED, and its
``orderPaymentStatus`` turns PARTIALLY_REFUNDED or FULLY_REFUNDED.

Refused (400, errorId 32600 family): no body, an unknown reason, a currency
other than the seller's, an amount not above zero or more than the order has
left to refund, an unknown line; an unknown order is 404 errorId 32100; an
unpaid order 409.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from crossdock.sandbox.ebay.model import Account, SimOrder, iso_ms, money
from crossdock.sandbox.ebay.render import order_totals, rest_error
from crossdock.sandbox.ebay.rest import FUL
from crossdock.sandbox.http import Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.sim import EbaySim

REASONS = frozenset({"BUYER_CANCEL", "BUYER_RETURN", "ITEM_NOT_RECEIVED", "SELLER_WRONG_ITEM", "SELLER_MISSING_ITEM",
                     "SELLER_CANCEL", "OTHER_ADJUSTMENT"})


def refunded(o: SimOrder) -> Decimal:
    return sum((r["amount"] for r in o.refunds), Decimal("0"))


def order_refunds(o: SimOrder, currency: str) -> list[dict[str, Any]]:
    """paymentSummary.refunds[] of the order-level refunds."""
    return [{"refundId": r["refundId"], "refundStatus": "REFUNDED", "refundDate": iso_ms(r["date"]),
             "refundReferenceId": r["refundId"], "amount": {"value": str(money(r["amount"])), "currency": currency}}
            for r in o.refunds if not r["lines"]]


def line_refunds(o: SimOrder, line_item_id: str, currency: str) -> list[dict[str, Any]]:
    """lineItems[].refunds[] of one line (line-level refunds)."""
    return [{"refundId": r["refundId"], "refundDate": iso_ms(r["date"]), "refundReferenceId": r["refundId"],
             "amount": {"value": str(money(r["lines"][line_item_id])), "currency": currency}}
            for r in o.refunds if r["lines"] and line_item_id in r["lines"]]


def _amount(node: Any, currency: str) -> Decimal | str:
    """The SimpleAmount's value, or the error text."""
    if not isinstance(node, dict) or "value" not in node:
        return "an amount needs value and currency"
    if node.get("currency") != currency:
        return f"currency {node.get('currency')!r}: the order is in {currency}"
    try:
        value = Decimal(str(node["value"]))
    except InvalidOperation:
        return f"value {node['value']!r} is not a number"
    return value if value > 0 else "a refund amount must be greater than zero"


def register(sim: EbaySim) -> None:
    @sim.rest_op("POST", FUL + "/order/{orderId}/issue_refund", "issueRefund", "sell.fulfillment")
    def issue_refund(req: Request, acct: Account) -> Response:
        oid = req.path_params["orderId"]
        invalid = lambda detail: rest_error(400, 32600, "API_FULFILLMENT", "Invalid input data",  # noqa: E731
                                            long_message=detail)
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return invalid("The request body must be a JSON object.")
        if body.get("reasonForRefund") not in REASONS:
            return invalid(f"reasonForRefund {body.get('reasonForRefund')!r} is not a ReasonForRefundEnum value.")
        cur = acct.currency
        with sim.lock:
            o = sim.orders[acct.username].get(oid)
            if o is None:
                return rest_error(404, 32100, "API_FULFILLMENT", f"Invalid order ID: {oid}",
                                  parameters=[("orderId", oid)])
            if o.paid_at is None or o.cancel_state == "CANCELED":
                return rest_error(409, 32610, "API_FULFILLMENT", "The order is not paid or is cancelled: "
                                  "there is nothing to refund.", parameters=[("orderId", oid)])
            lines: dict[str, Decimal] = {}
            if body.get("refundItems"):
                known = {ln.line_item_id for ln in o.lines}
                for item in body["refundItems"]:
                    got = _amount((item or {}).get("refundAmount"), cur)
                    if isinstance(got, str):
                        return invalid(got)
                    if item.get("lineItemId") not in known:
                        return invalid(f"lineItemId {item.get('lineItemId')!r} is not a line of order {oid}.")
                    lines[item["lineItemId"]] = lines.get(item["lineItemId"], Decimal(0)) + got
                total_asked = sum(lines.values(), Decimal(0))
            else:
                got = _amount(body.get("orderLevelRefundAmount"), cur)
                if isinstance(got, str):
                    return invalid(got)
                total_asked = got
            subtotal, delivery, tax = order_totals(o)
            left = subtotal + delivery + tax - refunded(o)
            if money(total_asked) > left:
                return rest_error(400, 32611, "API_FULFILLMENT", "The refund amount exceeds the amount that can be "
                                  f"refunded ({left} {cur}).", parameters=[("orderId", oid)])
            now = sim.clock.timestamp()
            rid = sim.new_unique("5999999999999")
            o.refunds.append({"refundId": rid, "date": now, "amount": money(total_asked), "lines": lines,
                              "reason": body["reasonForRefund"]})
            o.payment_status = "FULLY_REFUNDED" if refunded(o) >= subtotal + delivery + tax else "PARTIALLY_REFUNDED"
            o.modified_at = now
        return json_response({"refundId": rid, "refundStatus": "PENDING"}, 200)
