"""Returns on Shopify (issue 18): ``returnCreate``, ``returnApproveRequest``,
``returnClose`` and the orders' ``returns`` connection.

- Opening: a return names *fulfillment line items* (what shipped), so the
  order's fulfillments are read first and each order line's units spread over
  the fulfillment line items of that line, less what earlier returns took;
  ``returnCreate`` opens it (OPEN at once for a staff app). ``userErrors``
  are refusals (XD-RMA-006).
- Receiving: a buyer's REQUESTED return is approved first, then
  ``returnClose`` closes it. crossdock never asks Shopify to restock
  (``reverseFulfillmentOrderDispose`` RESTOCKED would raise Shopify's own
  quantity behind crossdock's back): the stock push sets the quantity.
- Reading: orders updated since the date with a return
  (``updated_at:>=… -return_status:no_return``), each with its returns and
  their lines (the order line id and SKU of each fulfillment line item).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crossdock.connectors.returns_contract import PlatformReturn, ReturnLine
from crossdock.connectors.shopify.cancel import CancelsOrders
from crossdock.connectors.shopify.mapping.common import body, gid, legacy_id, order_gid
from crossdock.errors import PlatformError, ReturnError
from crossdock.ratelimit.budget import Priority

if TYPE_CHECKING:
    from crossdock.connectors.shopify.client import ShopifyClient

__all__ = ["REASONS", "REASONS_IN", "ReturnsOnShopify", "SellerOrderActions", "parse_returns", "return_items"]

#: crossdock's neutral reasons → Shopify's ReturnReason.
REASONS: Mapping[str, str] = {"damaged": "DEFECTIVE", "defective": "DEFECTIVE", "not_as_described": "NOT_AS_DESCRIBED",
                              "wrong_item": "WRONG_ITEM", "unwanted": "UNWANTED", "size_fit": "SIZE_TOO_SMALL",
                              "other": "OTHER"}
#: Query cost: 5 orders x 3 returns x 10 lines (each line 3 points) costs 512 of the 1,000 one request may
#: cost; an order with more returns than that is rare, and a return with more lines is read as far as it goes.

#: Shopify's ReturnReason → crossdock's.
REASONS_IN: Mapping[str, str] = {"DEFECTIVE": "defective", "NOT_AS_DESCRIBED": "not_as_described",
                                 "WRONG_ITEM": "wrong_item", "UNWANTED": "unwanted", "SIZE_TOO_LARGE": "size_fit",
                                 "SIZE_TOO_SMALL": "size_fit", "COLOR": "unwanted", "STYLE": "unwanted"}
_STATES = {"REQUESTED": "open", "OPEN": "open", "CLOSED": "received", "DECLINED": "closed", "CANCELED": "closed"}

_RETURN_FIELDS = """id name status createdAt
  returnLineItems(first: 10) { nodes { quantity returnReason returnReasonNote
    fulfillmentLineItem { id lineItem { id sku } } } }"""

ORDER_FULFILLED = """
query CrossdockReturnable($id: ID!) {
  order(id: $id) {
    fulfillments(first: 20) { id fulfillmentLineItems(first: 30) { nodes { id quantity lineItem { id sku } } } }
    returns(first: 10) { nodes { status returnLineItems(first: 20) { nodes { quantity fulfillmentLineItem { id } } } } }
  }
}
"""

RETURN_CREATE = """
mutation CrossdockReturnCreate($returnInput: ReturnInput!) {
  returnCreate(returnInput: $returnInput) { return { %s } userErrors { field message code } }
}
""" % _RETURN_FIELDS

RETURN_APPROVE = """
mutation CrossdockReturnApprove($input: ReturnApproveRequestInput!) {
  returnApproveRequest(input: $input) { return { id status } userErrors { field message code } }
}
"""

RETURN_CLOSE = """
mutation CrossdockReturnClose($id: ID!) {
  returnClose(id: $id) { return { id status } userErrors { field message code } }
}
"""

ORDERS_WITH_RETURNS = """
query CrossdockReturns($query: String!, $after: String) {
  orders(first: 5, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id returns(first: 3) { nodes { %s } } }
  }
}
""" % _RETURN_FIELDS


def return_items(order: Mapping[str, Any], lines: Sequence[ReturnLine], reason: str,
                 note: str | None) -> list[dict[str, Any]]:
    """ReturnLineItemInput per fulfillment line item: each line's units spread over what shipped of it and is
    not on a live return yet. An order line with too few such units raises XD-RMA-006."""
    taken: dict[str, int] = {}
    for r in ((order.get("returns") or {}).get("nodes") or []):
        if r.get("status") in ("DECLINED", "CANCELED"):
            continue
        for rl in (r.get("returnLineItems") or {}).get("nodes") or []:
            fid = str((rl.get("fulfillmentLineItem") or {}).get("id"))
            taken[fid] = taken.get(fid, 0) + int(rl.get("quantity") or 0)
    items: list[dict[str, Any]] = []
    for ln in lines:
        left = ln.quantity
        for f in order.get("fulfillments") or []:
            for fli in (f.get("fulfillmentLineItems") or {}).get("nodes") or []:
                li = fli.get("lineItem") or {}
                if legacy_id(li.get("id")) != ln.platform_line_id and not (ln.platform_line_id is None
                                                                          and li.get("sku") == ln.sku):
                    continue
                free = int(fli.get("quantity") or 0) - taken.get(str(fli["id"]), 0)
                got = min(left, max(0, free))
                if got:
                    items.append({"fulfillmentLineItemId": fli["id"], "quantity": got,
                                  "returnReason": REASONS.get(reason, "OTHER"), "returnReasonNote": note or ""})
                    taken[str(fli["id"])] = taken.get(str(fli["id"]), 0) + got
                    left -= got
        if left:
            raise ReturnError("XD-RMA-006", entity=f"line {ln.platform_line_id}",
                              detail=f"Shopify shows {ln.quantity - left} of {ln.sku} x{ln.quantity} shipped and "
                                     f"not on a return")
    return items


def _when(text: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def parse_return(node: Mapping[str, Any], platform_order_id: str) -> PlatformReturn:
    lines, reasons, notes = [], [], []
    for rl in (node.get("returnLineItems") or {}).get("nodes") or []:
        li = (rl.get("fulfillmentLineItem") or {}).get("lineItem") or {}
        lines.append(ReturnLine(sku=li.get("sku") or None, quantity=int(rl.get("quantity") or 0),
                                platform_line_id=legacy_id(li.get("id"))))
        reasons.append(REASONS_IN.get(str(rl.get("returnReason")), "other"))
        if rl.get("returnReasonNote"):
            notes.append(str(rl["returnReasonNote"]))
    status = str(node.get("status"))
    return PlatformReturn(return_id=legacy_id(node["id"]) or str(node["id"]), platform_order_id=platform_order_id,
                          state=_STATES.get(status, "open"), platform_status=status,
                          reason=reasons[0] if reasons else "other", lines=tuple(ln for ln in lines if ln.quantity),
                          reason_note="; ".join(notes) or None, opened_at=_when(node.get("createdAt")),
                          extra={"name": str(node.get("name") or "")})


def parse_returns(data: Mapping[str, Any]) -> list[PlatformReturn]:
    out: list[PlatformReturn] = []
    for o in ((data.get("orders") or {}).get("nodes") or []):
        pid = legacy_id(o.get("id")) or ""
        out.extend(parse_return(r, pid) for r in ((o.get("returns") or {}).get("nodes") or []))
    return out


class ReturnsOnShopify:
    """The Shopify connector's returns (a mixin: the connector module is full)."""

    channel: str
    client: ShopifyClient
    reads_returns = True

    def _mutate(self, request: dict[str, Any], name: str, entity: str) -> Mapping[str, Any]:
        payload: Mapping[str, Any] | None = self.client.graphql(request, priority=Priority.CRITICAL, entity=entity).get(name)
        if payload is None:
            raise PlatformError("XD-PLATFORM-001", channel=self.channel, entity=entity, detail=f"{name} returned nothing")
        errs = payload.get("userErrors") or []
        if errs:
            text = "; ".join(f"{e.get('code') or '?'}: {e.get('message')}" for e in errs)
            raise ReturnError("XD-RMA-006", channel=self.channel, entity=entity, detail=f"Shopify {name}: {text}")
        return payload

    def open_return(self, platform_order_id: str, lines: Sequence[ReturnLine], reason: str, *,
                    note: str | None = None) -> PlatformReturn | None:
        entity = f"order {platform_order_id}"
        order = self.client.graphql(body(ORDER_FULFILLED, {"id": order_gid(platform_order_id)}),
                                    priority=Priority.CRITICAL, entity=entity).get("order")
        if order is None:
            raise PlatformError("XD-PLATFORM-002", channel=self.channel, entity=entity,
                                detail="Shopify does not know the order")
        try:
            items = return_items(order, lines, reason, note)
        except ReturnError as exc:
            raise ReturnError("XD-RMA-006", channel=self.channel, entity=entity, detail=exc.detail) from exc
        payload = self._mutate(body(RETURN_CREATE, {"returnInput": {
            "orderId": order_gid(platform_order_id), "returnLineItems": items, "notifyCustomer": False}}),
            "returnCreate", entity)
        return parse_return(payload["return"], platform_order_id)

    def receive_return(self, ret: PlatformReturn | str, lines: Sequence[ReturnLine], *, restock: bool) -> None:
        rid = ret if isinstance(ret, str) else ret.return_id
        entity = f"return {rid}"
        if not isinstance(ret, str) and ret.platform_status == "REQUESTED":
            try:        # a buyer's request is approved before it can close (approved in the admin meanwhile: fine)
                self._mutate(body(RETURN_APPROVE, {"input": {"id": gid("Return", rid)}}), "returnApproveRequest",
                             entity)
            except ReturnError:
                pass
        self._mutate(body(RETURN_CLOSE, {"id": gid("Return", rid)}), "returnClose", entity)

    def read_returns(self, since: dt.datetime | None) -> list[PlatformReturn]:
        query = "-return_status:no_return"
        if since is not None:
            query = f"updated_at:>='{since.astimezone(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}' " + query
        out: list[PlatformReturn] = []
        after: str | None = None
        while True:
            data = self.client.graphql(body(ORDERS_WITH_RETURNS, {"query": query, "after": after}),
                                       priority=Priority.CONTENT, entity="returns")
            out.extend(parse_returns(data))
            page = (data.get("orders") or {}).get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return out
            after = page.get("endCursor")


class SellerOrderActions(CancelsOrders, ReturnsOnShopify):
    """What a seller does to an order on Shopify from crossdock: cancel it, open and close its returns (one
    base for the connector, whose module is full)."""
