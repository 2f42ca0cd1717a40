"""The simulated eBay's Post-Order returns (issue 18): buyers open returns,
the seller reads and receives them.

On eBay only the buyer opens a return (``POST /post-order/v2/return`` is a
buyer's call); the sandbox does it with :func:`open_buyer_return` (a test, a
scenario). The seller's side:

- ``GET /post-order/v2/return/search``: the seller's returns, filtered by
  ``creation_date_range_from`` / ``_to`` (ISO 8601) and ``return_state``
  (``ALL_OPEN``, ``CLOSED``), paged with ``limit`` (default 25, at most 200)
  and ``offset`` (1-based page number, as Post-Order pages); each member a
  ``ReturnSummaryType`` (``returnId``, ``orderId``, ``state``, ``status``,
  ``creationInfo`` with the item, ``returnQuantity``, ``reason`` and
  ``creationDate.value``);
- ``POST /post-order/v2/return/{returnId}/decide``: the seller approves
  (``APPROVE``: the buyer may send the item) or declines (``DECLINE``: closed)
  a ``RETURN_REQUESTED`` return; another decision or state is 400 (1807);
- ``POST /post-order/v2/return/{returnId}/mark_as_received``: the seller has
  the item back; refused (400, errorId 1806) for a return not approved yet,
  closed or already received, 404 (1804) for an unknown return.

Post-Order takes the user token as ``Authorization: IAF <token>``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from crossdock.sandbox.ebay.model import Account, iso_ms
from crossdock.sandbox.ebay.render import rest_error
from crossdock.sandbox.http import Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.sim import EbaySim

PO = "/post-order/v2/return"
#: ReturnReasonEnum values a buyer gives (the ones the sandbox's buyers use).
REASONS = frozenset({"ARRIVED_DAMAGED", "DEFECTIVE_ITEM", "NOT_AS_DESCRIBED", "WRONG_SIZE", "NO_LONGER_NEED_ITEM",
                     "ORDERED_WRONG_ITEM", "DIFFERENT_FROM_LISTING", "OTHER"})
#: States a seller may mark received from (approved: the buyer could send the item).
RECEIVABLE_STATES = frozenset({"RETURN_ACCEPTED", "ITEM_SHIPPED", "ITEM_DELIVERED"})


def _returns(sim: EbaySim) -> dict[str, dict[str, dict[str, Any]]]:
    """username -> returnId -> return (kept on the sim beside its orders)."""
    got = getattr(sim, "post_order_returns", None)
    if got is None:
        got = {}
        sim.post_order_returns = got  # type: ignore[attr-defined]  # kept on the sim, made on first use
    return got


def open_buyer_return(sim: EbaySim, channel: str, order_id: str, sku: str, quantity: int,
                      reason: str = "DEFECTIVE_ITEM", comments: str = "") -> str:
    """The buyer opens a return of ``quantity`` units of the order's line of ``sku`` (shipped units only, as
    eBay allows a return once the item was sent). Returns the returnId."""
    if reason not in REASONS:
        raise ValueError(f"return reason {reason!r}")
    acct = sim.account_for_channel(channel)
    with sim.lock:
        o = sim.orders[acct.username][order_id]
        line = next(ln for ln in o.lines if ln.sku == sku)
        if quantity <= 0 or quantity > line.shipped:
            raise ValueError(f"{sku}: {quantity} asked, {line.shipped} shipped")
        rid = sim.new_unique("5099999999")
        now = sim.clock.timestamp()
        _returns(sim).setdefault(acct.username, {})[rid] = {
            "returnId": rid, "orderId": order_id, "buyerLoginName": o.buyer_username,
            "sellerLoginName": acct.username, "currentType": "MONEY_BACK", "state": "RETURN_REQUESTED",
            "status": "RETURN_REQUESTED", "created": now,
            "creationInfo": {"item": {"itemId": line.item_id, "transactionId": line.transaction_id,
                                      "returnQuantity": quantity},
                             "type": "MONEY_BACK", "reason": reason, "reasonType": "SNAD"
                             if reason in ("NOT_AS_DESCRIBED", "DEFECTIVE_ITEM", "ARRIVED_DAMAGED",
                                           "DIFFERENT_FROM_LISTING") else "REMORSE",
                             "comments": {"content": comments}, "creationDate": {"value": iso_ms(now)}}}
    return rid


def close_buyer_return(sim: EbaySim, channel: str, return_id: str) -> None:
    """The buyer (or eBay) closes the return without the item coming back."""
    acct = sim.account_for_channel(channel)
    with sim.lock:
        r = _returns(sim)[acct.username][return_id]
        r["state"] = r["status"] = "CLOSED"


def parse_iso(text: str | None) -> float:
    """``2026-12-07T04:00:00.000Z`` → epoch seconds (ValueError when unreadable)."""
    d = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return (d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)).timestamp()


def _summary(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "created"}


def register(sim: EbaySim) -> None:
    @sim.rest_op("GET", PO + "/search", "searchReturns", "sell.fulfillment", scheme="IAF")
    def search(req: Request, acct: Account) -> Response:
        try:
            limit = int(req.arg("limit") or 25)
            page = int(req.arg("offset") or 1)
            start = parse_iso(req.arg("creation_date_range_from")) if req.arg("creation_date_range_from") else None
            end = parse_iso(req.arg("creation_date_range_to")) if req.arg("creation_date_range_to") else None
        except ValueError as exc:
            return rest_error(400, 1805, "API_POSTORDER", f"Invalid input: {exc}")
        if not 1 <= limit <= 200 or page < 1:
            return rest_error(400, 1805, "API_POSTORDER", "Invalid input: limit 1..200, offset >= 1")
        state = req.arg("return_state")
        with sim.lock:
            rows = sorted(_returns(sim).get(acct.username, {}).values(), key=lambda r: (r["created"], r["returnId"]))
            rows = [r for r in rows if (start is None or r["created"] >= start) and (end is None or r["created"] <= end)
                    and (state is None or (state == "CLOSED") == (r["state"] == "CLOSED"))]
            members = [_summary(r) for r in rows[(page - 1) * limit: page * limit]]
        return json_response({"members": members, "total": len(rows), "paginationOutput": {
            "limit": limit, "offset": page, "totalEntries": len(rows),
            "totalPages": max(1, -(-len(rows) // limit))}}, 200)

    @sim.rest_op("POST", PO + "/{returnId}/decide", "decideReturn", "sell.fulfillment", scheme="IAF")
    def decide(req: Request, acct: Account) -> Response:
        rid = req.path_params["returnId"]
        try:
            body = req.json()
        except ValueError:
            body = None
        decision = body.get("decision") if isinstance(body, dict) else None
        with sim.lock:
            r = _returns(sim).get(acct.username, {}).get(rid)
            if r is None:
                return rest_error(404, 1804, "API_POSTORDER", f"Return not found: {rid}",
                                  parameters=[("returnId", rid)])
            if decision not in ("APPROVE", "DECLINE") or r["state"] != "RETURN_REQUESTED":
                return rest_error(400, 1807, "API_POSTORDER",
                                  f"Decision {decision} is not allowed for a return that is {r['state']}",
                                  parameters=[("decision", str(decision))])
            r["state"] = r["status"] = "RETURN_ACCEPTED" if decision == "APPROVE" else "CLOSED"
        return Response(status=200)

    @sim.rest_op("POST", PO + "/{returnId}/mark_as_received", "markReturnReceived", "sell.fulfillment",
                 scheme="IAF")
    def mark_as_received(req: Request, acct: Account) -> Response:
        rid = req.path_params["returnId"]
        with sim.lock:
            r = _returns(sim).get(acct.username, {}).get(rid)
            if r is None:
                return rest_error(404, 1804, "API_POSTORDER", f"Return not found: {rid}",
                                  parameters=[("returnId", rid)])
            if r["state"] not in RECEIVABLE_STATES or r["status"] == "ITEM_RECEIVED":
                return rest_error(400, 1806, "API_POSTORDER",
                                  f"The return is {r['state']}: it cannot be marked as received",
                                  parameters=[("returnId", rid)])
            r["state"], r["status"] = "ITEM_DELIVERED", "ITEM_RECEIVED"
        return Response(status=200)
