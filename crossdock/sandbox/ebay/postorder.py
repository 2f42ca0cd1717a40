"""The simulated eBay's Post-Order API: a seller's order cancellation
(``POST /post-order/v2/cancellation``).

Post-Order takes the OAuth user token as ``Authorization: IAF <token>`` (not
Bearer). A seller's cancellation of an eligible order is approved at once:
the order is cancelled, refunded and its listed quantity restored (the sim's
own cancel) and the answer carries the ``cancelId``. An order that is not
eligible (shipped or partly shipped, already cancelled) gets no ``cancelId``:
``orderEligibilityResult.eligible`` is false with the ``failureReason``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossdock.sandbox.ebay.model import Account
from crossdock.sandbox.ebay.render import rest_error
from crossdock.sandbox.http import Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.sim import EbaySim

#: CancelReasonEnum values a seller may give.
SELLER_REASONS = frozenset({"OUT_OF_STOCK_OR_CANNOT_FULFILL", "BUYER_ASKED_CANCEL", "ADDRESS_ISSUES"})
PO = "/post-order/v2"


def register(sim: EbaySim) -> None:
    @sim.rest_op("POST", PO + "/cancellation", "createCancellation", "sell.fulfillment", scheme="IAF")
    def create_cancellation(req: Request, acct: Account) -> Response:
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("legacyOrderId"):
            return rest_error(400, 1700, "API_POSTORDER", "Invalid input: legacyOrderId is required")
        oid, reason = str(body["legacyOrderId"]), body.get("cancelReason")
        if reason not in SELLER_REASONS:
            return rest_error(400, 1701, "API_POSTORDER", f"Invalid cancel reason: {reason}",
                              parameters=[("cancelReason", str(reason))])
        with sim.lock:
            o = sim.orders[acct.username].get(oid)
            if o is None:
                return rest_error(404, 1702, "API_POSTORDER", f"Order not found: {oid}",
                                  parameters=[("legacyOrderId", oid)])
            failures = []
            if o.cancel_state != "NONE_REQUESTED":
                failures.append("CANCELLATION_EXIST")
            if any(line.shipped for line in o.lines):
                failures.append("ITEM_SHIPPED")
            if failures:
                return json_response({"orderEligibilityResult": {
                    "legacyOrderId": oid, "eligible": False, "failureReason": failures}}, 200)
            sim.cancel_order(acct.channel, oid)
            cancel_id = sim.new_unique("5999999999")     # "9": a random digit (new_id)
        return json_response({"cancelId": cancel_id, "orderEligibilityResult": {
            "legacyOrderId": oid, "eligible": True, "eligibleCancelReason": sorted(SELLER_REASONS)}}, 201)
