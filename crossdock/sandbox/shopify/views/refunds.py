"""Refunds in the simulated Shopify: an order's transactions (its SALE once
paid, a REFUND per refund), its ``refunds`` and the ``refundCreate`` mutation.

``refundCreate`` takes the refund as Shopify does: ``transactions`` of kind
REFUND whose ``parentId`` is the order's successful SALE through the same
gateway, amounts in the buyer's (presentment) currency, and
``refundLineItems`` (units of lines, restocked only when asked — never with
NO_RESTOCK). Refused in ``userErrors``: an unknown order, one not paid, no
refund transaction, a wrong parent or gateway, a currency other than the
buyer's, more than is left to refund, more units than a line has left.
Otherwise the refund is recorded (its shop-currency amount at the order's
own rate; all that is left when the buyer's amount is all that is left), the
order turns PARTIALLY_REFUNDED or REFUNDED and ``orders/updated`` goes out.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from crossdock.sandbox.shopify.records import LineRec, OrderRec, RefundRec, gid, money, parse_gid, ts_iso
from crossdock.sandbox.shopify.views.base import Ctx, RootPart, by_id, connection, money_bag

GATEWAY = "bogus"        # Shopify's test payment gateway
PAID = ("PAID", "PARTIALLY_REFUNDED", "REFUNDED")


def sale_id(order: OrderRec) -> str:
    return gid("OrderTransaction", order.id * 1000)


def transactions(order: OrderRec, first: int | None = None) -> list[dict[str, Any]]:
    c, pc = order.currency, order.presentment_currency
    out: list[dict[str, Any]] = []
    if order.financial in PAID or order.refunds:
        sale = {"id": sale_id(order), "kind": "SALE", "status": "SUCCESS", "gateway": GATEWAY,
                "amountSet": money_bag(order.total(), c, order.total(True), pc), "createdAt": ts_iso(order.created_at),
                "parentTransaction": None}
        out.append(sale)
        for r in order.refunds:
            out.append({"id": gid("OrderTransaction", order.id * 1000 + len(out)), "kind": "REFUND",
                        "status": "SUCCESS", "gateway": r.gateway, "createdAt": ts_iso(r.created_at),
                        "amountSet": money_bag(r.amount, c, r.amount_presentment, pc), "parentTransaction": sale})
    return out[:first] if first is not None else out


class RefundLineView:
    __typename = "RefundLineItem"

    def __init__(self, ctx: Ctx, order: OrderRec, line: LineRec, qty: int, subtotal: Decimal, n: int) -> None:
        from crossdock.sandbox.shopify.views.orders import LineItemView

        self.id = gid("RefundLineItem", order.id * 1000 + n)
        self.lineItem = LineItemView(ctx, order, line)
        self.quantity = qty
        self.restockType = "NO_RESTOCK"
        self.restocked = False
        ratio = order.total(True) / order.total() if order.total() else Decimal(1)
        self.subtotalSet = money_bag(subtotal, order.currency, subtotal * ratio, order.presentment_currency)


class RefundView:
    __typename = "Refund"

    def __init__(self, ctx: Ctx, order: OrderRec, r: RefundRec) -> None:
        self._ctx, self._order, self._r = ctx, order, r
        self.id = gid("Refund", r.id)
        self.legacyResourceId = str(r.id)
        self.createdAt = self.updatedAt = ts_iso(r.created_at)
        self.note = r.note
        self.totalRefundedSet = money_bag(r.amount, order.currency, r.amount_presentment, order.presentment_currency)

    def order(self, info) -> Any:
        from crossdock.sandbox.shopify.views.orders import OrderView

        return OrderView(self._ctx, self._order)

    def refundLineItems(self, info, **page) -> dict:
        lines = {ln.id: ln for ln in self._order.lines}
        rows = [(n, lines[lid], qty, sub) for n, (lid, qty, sub) in enumerate(self._r.lines, 1) if lid in lines]
        return connection(rows, key=lambda x: (x[0], x[0]),
                          node=lambda x: RefundLineView(self._ctx, self._order, x[1], x[2], x[3], x[0]), **page)


def _fail(message: str, field_path: list[str]) -> dict:
    return {"order": None, "refund": None, "userErrors": [{"field": field_path, "message": message}]}


class RefundMutations(RootPart):
    """``refundCreate`` (see the module doc)."""

    def refundCreate(self, info, input: dict) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        order = shop.orders.get(parse_gid(input["orderId"], "Order") or -1)
        if order is None:
            return _fail("Order does not exist", ["input", "orderId"])
        if order.financial not in PAID:
            return _fail(f"Order is {order.financial.lower()}: there is no payment to refund", ["input", "orderId"])
        pc = order.presentment_currency
        if input.get("currency") and input["currency"] != pc:
            return _fail(f"Currency must be the order's presentment currency {pc}", ["input", "currency"])
        txs = input.get("transactions") or []
        if not txs:
            return _fail("A refund needs a transaction of kind REFUND", ["input", "transactions"])
        amount_p = Decimal(0)
        for i, t in enumerate(txs):
            if t["kind"] != "REFUND" or t.get("parentId") != sale_id(order) or t["gateway"] != GATEWAY:
                return _fail("Transaction must be a REFUND of the order's sale through its gateway",
                             ["input", "transactions", str(i)])
            try:
                amount_p += money(Decimal(str(t["amount"])))
            except InvalidOperation:
                return _fail("Amount is not a number", ["input", "transactions", str(i), "amount"])
        left_p = order.total(True) - order.refunded(True)
        if amount_p <= 0 or amount_p > left_p:
            return _fail(f"Refund amount {amount_p} {pc} is greater than the refundable amount {left_p} {pc}"
                         if amount_p > 0 else "Refund amount must be greater than zero", ["input", "transactions"])
        lines = {ln.id: ln for ln in order.lines}
        done = {lid: sum(q for r in order.refunds for (x, q, _) in r.lines if x == lid) for lid in lines}
        taken: list[tuple[int, int, Decimal]] = []
        for i, rl in enumerate(input.get("refundLineItems") or []):
            ln = lines.get(parse_gid(rl["lineItemId"], "LineItem") or -1)
            qty = int(rl["quantity"])
            if ln is None or qty <= 0 or qty > ln.quantity - done[ln.id]:
                return _fail("Line item quantity is more than the refundable quantity",
                             ["input", "refundLineItems", str(i), "quantity"])
            taken.append((ln.id, qty, money(ln.unit_price * qty)))
        if amount_p == left_p or pc == order.currency:
            amount = order.total() - order.refunded() if amount_p == left_p else amount_p
        else:
            amount = money(amount_p * order.total() / order.total(True))
        now = ctx.sim.clock.timestamp()
        rec = RefundRec(shop.ids.next("Refund"), now, input.get("note"), amount, amount_p, GATEWAY, taken)
        order.refunds.append(rec)
        order.financial = "REFUNDED" if order.refunded() >= order.total() else "PARTIALLY_REFUNDED"
        order.touch(now)
        ctx.events.append(("orders/updated", order))
        from crossdock.sandbox.shopify.views.orders import OrderView

        return {"order": OrderView(ctx, order), "refund": RefundView(ctx, order, rec), "userErrors": []}


def refunds_of(ctx: Ctx, order: OrderRec, first: int | None = None) -> list[RefundView]:
    rows = [RefundView(ctx, order, r) for r in sorted(order.refunds, key=by_id)]
    return rows[:first] if first is not None else rows
