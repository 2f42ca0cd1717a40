"""The simulated Shopify's returns (issue 18): ``returnCreate`` and
``returnClose``, ``Order.returns``, ``Fulfillment.fulfillmentLineItems`` and
the orders search's ``return_status``.

A return names fulfillment line items (what was shipped), each with a
quantity no greater than what shipped of it and is not on another open or
closed return, and a ``ReturnReason``; ``returnCreate`` by a staff app opens
it at once (status OPEN), a buyer's request (:func:`request_return`, the
sandbox's buyer) is REQUESTED. ``returnClose`` closes an OPEN return; any
other is refused in ``userErrors`` (INVALID_STATE). Shopify's restocking
(``reverseFulfillmentOrderDispose``) is not modelled: crossdock keeps the
quantity itself, so it never asks Shopify to restock. Each return touches its
order (its ``updated_at`` moves), as Shopify does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crossdock.sandbox.shopify.records import OrderRec, gid, parse_gid, ts_iso
from crossdock.sandbox.shopify.views.base import Ctx, RootPart, by_id, connection

if TYPE_CHECKING:
    from crossdock.sandbox.shopify.sim import ShopifySim
    from crossdock.sandbox.shopify.store import Shop

REASONS = frozenset({"COLOR", "DEFECTIVE", "NOT_AS_DESCRIBED", "OTHER", "SIZE_TOO_LARGE", "SIZE_TOO_SMALL", "STYLE",
                     "UNKNOWN", "UNWANTED", "WRONG_ITEM"})


@dataclass
class ReturnLineRec:
    id: int
    fli_id: int                 # the fulfillment line item returned
    quantity: int
    reason: str
    note: str = ""


@dataclass
class ReturnRec:
    id: int
    order_id: int
    name: str
    status: str                 # REQUESTED, OPEN, CLOSED, DECLINED, CANCELED
    created_at: float
    lines: list[ReturnLineRec] = field(default_factory=list)
    closed_at: float | None = None


@dataclass
class _Store:
    returns: dict[int, ReturnRec] = field(default_factory=dict)
    fli: dict[tuple[int, int], int] = field(default_factory=dict)      # (fulfillment, line) -> id
    fli_of: dict[int, tuple[int, int]] = field(default_factory=dict)


def store(shop: Shop) -> _Store:
    got = getattr(shop, "return_store", None)
    if got is None:
        got = _Store()
        shop.return_store = got  # type: ignore[attr-defined]  # kept on the shop, made on first use
    return got


def fli_id(shop: Shop, fulfillment_id: int, line_id: int) -> int:
    st = store(shop)
    key = (fulfillment_id, line_id)
    if key not in st.fli:
        st.fli[key] = shop.ids.next("FulfillmentLineItem")
        st.fli_of[st.fli[key]] = key
    return st.fli[key]


def returned(shop: Shop, fli: int) -> int:
    """Units of a fulfillment line item already on a return that is not declined or cancelled."""
    return sum(rl.quantity for r in store(shop).returns.values() if r.status not in ("DECLINED", "CANCELED")
               for rl in r.lines if rl.fli_id == fli)


def return_status(shop: Shop, order: OrderRec) -> str:
    """The orders search's ``return_status`` of an order."""
    mine = [r for r in store(shop).returns.values() if r.order_id == order.id]
    if not mine:
        return "no_return"
    if any(r.status == "REQUESTED" for r in mine):
        return "return_requested"
    return "in_progress" if any(r.status == "OPEN" for r in mine) else "returned"


def create(shop: Shop, order: OrderRec, items: list[tuple[int, int, str, str]], now: float, *,
           status: str) -> ReturnRec | str:
    """A return of (fulfillment line item, quantity, reason, note); the refusal's text instead when invalid."""
    if not items:
        return "returnLineItems: at least one"
    for fli, qty, reason, _ in items:
        key = store(shop).fli_of.get(fli)
        if key is None or shop.fulfillments.get(key[0]) is None or shop.fulfillments[key[0]].order_id != order.id:
            return f"fulfillmentLineItemId {gid('FulfillmentLineItem', fli)} does not belong to the order"
        shipped = shop.fulfillments[key[0]].quantities.get(key[1], 0)
        if qty <= 0 or qty + returned(shop, fli) > shipped:
            return f"quantity {qty}: {shipped - returned(shop, fli)} of the fulfillment line item can be returned"
        if reason not in REASONS:
            return f"returnReason {reason}"
    rid = shop.ids.next("Return")
    n = 1 + sum(1 for r in store(shop).returns.values() if r.order_id == order.id)
    rec = ReturnRec(id=rid, order_id=order.id, name=f"{order.name}-R{n}", status=status, created_at=now,
                    lines=[ReturnLineRec(id=shop.ids.next("ReturnLineItem"), fli_id=f, quantity=q, reason=r, note=t)
                           for f, q, r, t in items])
    store(shop).returns[rid] = rec
    order.touch(now)
    return rec


def request_return(sim: ShopifySim, channel: str, order_id: str | int, sku: str, quantity: int,
                   reason: str = "DEFECTIVE", note: str = "") -> str:
    """The buyer asks to return ``quantity`` shipped units of ``sku`` (a REQUESTED return). Returns its id."""
    shop = sim._shop_of(channel)
    with sim.lock:
        order = shop.orders[int(order_id)]
        line = next(ln for ln in order.lines if ln.sku == sku)
        items, left = [], quantity
        for fid in order.fulfillment_ids:
            got = min(left, shop.fulfillments[fid].quantities.get(line.id, 0))
            if got:
                items.append((fli_id(shop, fid, line.id), got, reason, note))
                left -= got
        rec = create(shop, order, items, sim.clock.timestamp(), status="REQUESTED")
    if isinstance(rec, str):
        raise ValueError(rec)
    return str(rec.id)


def decline(sim: ShopifySim, channel: str, return_id: str | int) -> None:
    """The merchant declines (or the buyer cancels) a return in the admin."""
    shop = sim._shop_of(channel)
    with sim.lock:
        rec = store(shop).returns[int(return_id)]
        rec.status = "DECLINED"
        now = sim.clock.timestamp()
        rec.closed_at = now
        shop.orders[rec.order_id].touch(now)


# ------------------------------------------------------------------ views
class FulfillmentLineItemView:
    __typename = "FulfillmentLineItem"

    def __init__(self, ctx: Ctx, fid: int, line_id: int) -> None:
        from crossdock.sandbox.shopify.views.orders import LineItemView

        f = ctx.shop.fulfillments[fid]
        order = ctx.shop.orders[f.order_id]
        self.id = gid("FulfillmentLineItem", fli_id(ctx.shop, fid, line_id))
        self.quantity = f.quantities.get(line_id, 0)
        self.lineItem = LineItemView(ctx, order, next(ln for ln in order.lines if ln.id == line_id))


def fulfillment_line_items(ctx: Ctx, fid: int, page: dict[str, Any]) -> dict:
    f = ctx.shop.fulfillments[fid]
    rows = [(fli_id(ctx.shop, fid, line_id), line_id) for line_id in sorted(f.quantities)]
    return connection(rows, key=lambda r: (r[0], r[0]), node=lambda r: FulfillmentLineItemView(ctx, fid, r[1]),
                      **page)


class ReturnLineItemView:
    __typename = "ReturnLineItem"

    def __init__(self, ctx: Ctx, rl: ReturnLineRec) -> None:
        fid, line_id = store(ctx.shop).fli_of[rl.fli_id]
        self.id = gid("ReturnLineItem", rl.id)
        self.quantity = rl.quantity
        self.returnReason = rl.reason
        self.returnReasonNote = rl.note
        self.customerNote = None
        self.fulfillmentLineItem = FulfillmentLineItemView(ctx, fid, line_id)


class ReturnView:
    __typename = "Return"

    def __init__(self, ctx: Ctx, rec: ReturnRec) -> None:
        self._ctx, self._r = ctx, rec
        self.id = gid("Return", rec.id)
        self.name = rec.name
        self.status = rec.status
        self.createdAt = ts_iso(rec.created_at)
        self.closedAt = ts_iso(rec.closed_at) if rec.closed_at is not None else None
        self.totalQuantity = sum(rl.quantity for rl in rec.lines)

    def order(self, info) -> Any:
        from crossdock.sandbox.shopify.views.orders import OrderView

        return OrderView(self._ctx, self._ctx.shop.orders[self._r.order_id])

    def returnLineItems(self, info, **page) -> dict:
        return connection(self._r.lines, key=by_id, node=lambda rl: ReturnLineItemView(self._ctx, rl), **page)


def order_returns(ctx: Ctx, order: OrderRec, page: dict[str, Any]) -> dict:
    rows = [r for r in store(ctx.shop).returns.values() if r.order_id == order.id]
    return connection(rows, key=by_id, node=lambda r: ReturnView(ctx, r), **page)


class ReturnMutations(RootPart):
    def returnCreate(self, info, returnInput: dict) -> dict:
        """A staff member's return: OPEN at once (Shopify's returnCreate)."""
        ctx = self._ctx
        order = ctx.shop.orders.get(parse_gid(returnInput.get("orderId") or "", "Order") or -1)
        if order is None:
            return {"return": None, "userErrors": [{"code": "NOT_FOUND", "field": ["returnInput", "orderId"],
                                                    "message": "Order does not exist"}]}
        items = [(parse_gid(i["fulfillmentLineItemId"], "FulfillmentLineItem") or -1, int(i["quantity"]),
                  i["returnReason"], i.get("returnReasonNote") or "") for i in returnInput.get("returnLineItems") or []]
        rec = create(ctx.shop, order, items, ctx.now, status="OPEN")
        if isinstance(rec, str):
            return {"return": None, "userErrors": [{"code": "INVALID", "field": ["returnInput", "returnLineItems"],
                                                    "message": rec}]}
        return {"return": ReturnView(ctx, rec), "userErrors": []}

    def returnApproveRequest(self, info, input: dict) -> dict:  # noqa: A002 - the schema's argument name
        """The merchant approves a buyer's REQUESTED return: it turns OPEN."""
        ctx = self._ctx
        rec = store(ctx.shop).returns.get(parse_gid(input.get("id") or "", "Return") or -1)
        if rec is None:
            return {"return": None, "userErrors": [{"code": "NOT_FOUND", "field": ["input", "id"],
                                                    "message": "Return does not exist"}]}
        if rec.status != "REQUESTED":
            return {"return": None, "userErrors": [{"code": "INVALID_STATE", "field": ["input", "id"],
                                                    "message": f"Return is {rec.status.lower()}, not requested"}]}
        rec.status = "OPEN"
        ctx.shop.orders[rec.order_id].touch(ctx.now)
        return {"return": ReturnView(ctx, rec), "userErrors": []}

    def returnClose(self, info, id: str) -> dict:  # noqa: A002 - the schema's argument name
        ctx = self._ctx
        rec = store(ctx.shop).returns.get(parse_gid(id, "Return") or -1)
        if rec is None:
            return {"return": None, "userErrors": [{"code": "NOT_FOUND", "field": ["id"],
                                                    "message": "Return does not exist"}]}
        if rec.status != "OPEN":
            return {"return": None, "userErrors": [{"code": "INVALID_STATE", "field": ["id"],
                                                    "message": f"Return is {rec.status.lower()}: only an open "
                                                               "return can be closed"}]}
        rec.status, rec.closed_at = "CLOSED", ctx.now
        ctx.shop.orders[rec.order_id].touch(ctx.now)
        return {"return": ReturnView(ctx, rec), "userErrors": []}
