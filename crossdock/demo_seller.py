"""``crossdock demo``: the seller's own actions while buyers buy (issue 18).

At a few moments of the buying time the seller does what a person does
with ``crossdock orders cancel ORDER --reason R``: cancels an open order
(no parcel booked yet) on its channel, through the same function and an
engine context of its own (as the command builds it, quota waits slept
through), preferring an order with a bundle line or one sold under an alias.
The channel takes it or refuses it (auto-ship may have booked a parcel or
shipped it in the meantime, or the buyer cancelled it first: XD-ORD-012);
both are counted, and a refused one is replaced by another order (at most
twice as many attempts as cancellations).

:class:`SellerActions` is the demo's one place for the seller's actions:
returns (``crossdock returns open`` / ``returns receive``, then ``refunds
issue``: :class:`crossdock.demo_returns.SellerReturns`) run in
:meth:`SellerActions.returns_step`, at the same moments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import exists, select

from crossdock.db.engine import Database

__all__ = ["SellerActions", "cancels_not_imported"]

REASONS = ("out_of_stock", "buyer_asked", "address_issue")


class SellerActions:
    """``cancels`` seller cancellations spread over the buying time (``due``:
    how many are due by a share of it)."""

    def __init__(self, cfg: Any, db: Database, *, cancels: int, prefer: Collection[str] = (),
                 alias_skus: Mapping[str, Collection[str]] | None = None, returns: Any = None) -> None:
        self.cfg, self.db = cfg, db
        self.returns = returns                    # a crossdock.demo_returns.SellerReturns, or None
        self.cancels = cancels
        self.prefer = set(prefer)                 # catalogue SKUs whose orders are cancelled first (bundles)
        self.alias_skus = {ch: set(v) for ch, v in (alias_skus or {}).items()}
        self.done: list[dict[str, Any]] = []
        self.refused: Counter[str] = Counter()
        self._tried: set[int] = set()

    def due(self, share: float) -> int:
        """Cancellations due once ``share`` (0-1) of the buying time has passed: evenly from 20 % to 80 %."""
        if self.cancels <= 0 or share < 0.2:
            return 0
        return min(self.cancels, 1 + int((min(share, 0.8) - 0.2) / 0.6 * (self.cancels - 1) + 1e-9))

    def step(self, share: float) -> None:
        """The seller's actions due by ``share`` of the buying time."""
        # a refused cancel (a parcel booked, shipped or cancelled on the channel meanwhile: XD-ORD-012) is
        # counted, and another order tried in its place, at most twice as many attempts as cancellations
        while len(self.done) < self.due(share) and len(self.done) + sum(self.refused.values()) < 2 * self.cancels:
            if not self.cancel_one():
                break
        self.returns_step(share)

    def returns_step(self, share: float) -> None:
        """The returns (and their refunds) due by ``share`` of the buying time."""
        if self.returns is not None:
            self.returns.step(share)

    def _candidate(self) -> tuple[int, str] | None:
        from crossdock.db.models import Order, OrderLine, Shipment
        from crossdock.sync_engine.seller_cancel import CANCELLABLE

        with self.db.read() as s:
            rows = s.execute(
                select(Order.id, Order.channel, Order.platform_order_id, OrderLine.sku)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .where(Order.local_status.in_(CANCELLABLE),
                       ~exists().where(Shipment.order_id == Order.id))
                .order_by(Order.imported_at.desc(), Order.id.desc()).limit(200)).all()
        rows = [r for r in rows if r.id not in self._tried]
        if not rows:
            return None
        n = len(self.done) + sum(self.refused.values())

        def score(r: Any) -> int:   # a bundle first, then an order sold under an alias, then any
            kit = r.sku in self.prefer
            alias = r.sku in self.alias_skus.get(r.channel, ())
            return (0 if kit else 2) if n % 2 == 0 else (0 if alias else 1 if kit else 2)

        best = min(rows, key=score)
        return best.id, f"{best.channel}/{best.platform_order_id}"

    def cancel_one(self) -> bool:
        """Cancel one open order as the seller; False when there is none to cancel."""
        from crossdock.errors import CrossdockError
        from crossdock.ratelimit.waits import PERSON_WAIT_S, inline_waits
        from crossdock.sync_engine.engine import context_from_config
        from crossdock.sync_engine.seller_cancel import cancel_order

        found = self._candidate()
        if found is None:
            return False
        oid, ref = found
        self._tried.add(oid)
        reason = REASONS[len(self._tried) % len(REASONS)]
        ctx = context_from_config(self.cfg, self.db)
        try:
            with inline_waits(PERSON_WAIT_S):
                self.done.append(cancel_order(ctx, ref, reason))
        except CrossdockError as exc:
            self.refused[exc.code] += 1
        finally:
            ctx.connectors.close()
        return True

    def figures(self, sb: Any, sb_channels: Mapping[str, str]) -> dict[str, Any]:
        """The seller's cancellations: crossdock's record, and the platforms' (the
        sandbox counts each order it cancelled)."""
        with sb.market.lock:
            cancelled_there = {(e["channel"], e["order_id"]) for e in sb.market.cancels if not e.get("returned")}
        released = sum(sum(d["released"].values()) for d in self.done)
        return {
            "cancelled": len(self.done),
            "released_units": released,
            "cancelled_on_platform": sum(1 for d in self.done
                                         if (sb_channels[d["channel"]], d["platform_order_id"]) in cancelled_there),
            "refused": dict(sorted(self.refused.items())),
            "orders": [f"{d['channel']}/{d['platform_order_id']}" for d in self.done],
        }


def cancels_not_imported(db: Database, sb: Any) -> list[str]:
    """Orders the sandbox records as cancelled that crossdock does not hold as cancelled (yet)."""
    from crossdock.db.models import Order

    with sb.market.lock:
        cancelled = {e["order_id"] for e in sb.market.cancels if e.get("order_id") and not e.get("returned")}
    with db.read() as s:
        known = set(s.scalars(select(Order.platform_order_id).where(Order.local_status == "cancelled")))
    return sorted(cancelled - known)
