"""``crossdock demo``: a few returns and their refunds while buyers buy (issue 18).

Spread over the buying time, once orders have shipped, the seller does what a
person does with the commands:

1. ``crossdock returns open ORDER --lines SKU:1 --reason R`` for one unit of
   a shipped order (on Shopify the return is made on the platform too), a
   different channel each time;
2. the parcel comes back: the unit is on the shelf again (the sandbox's
   market records it as stock coming back, so oversold and the floors count
   it), then ``crossdock returns receive RMA --restock`` — every third one is
   damaged and ``--write-off`` instead (no unit back anywhere);
3. ``crossdock refunds issue ORDER --amount PRICE --lines SKU:1 --reason
   buyer_return``: the unit's price back to the buyer, on the channel first.

Each step goes through the engine's own functions with an engine context as
the commands build it; a refusal is counted by its code, never hidden.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from crossdock.db.engine import Database

__all__ = ["SellerReturns"]

REASONS = ("damaged", "unwanted", "size_fit")


class SellerReturns:
    """``count`` returns, due evenly from 40 % to 90 % of the buying time."""

    def __init__(self, cfg: Any, db: Database, *, count: int, sb: Any = None,
                 sb_channels: Mapping[str, str] | None = None) -> None:
        self.cfg, self.db, self.count = cfg, db, count
        self.sb, self.sb_channels = sb, dict(sb_channels or {})
        self.received: list[dict[str, Any]] = []
        self.refunds: list[dict[str, Any]] = []
        self.refused: Counter[str] = Counter()
        self._tried: set[int] = set()
        self._channels: list[str] = []

    def due(self, share: float) -> int:
        if self.count <= 0 or share < 0.4:
            return 0
        return min(self.count, 1 + int((min(share, 0.9) - 0.4) / 0.5 * (self.count - 1) + 1e-9))

    def step(self, share: float) -> None:
        while len(self.received) < self.due(share) and len(self._tried) < 3 * self.count:
            if not self.one():
                break

    def _candidate(self) -> dict[str, Any] | None:
        from crossdock.db.models import Order, OrderLine
        from crossdock.platforms import fulfilled_by_platform

        with self.db.read() as s:
            rows = s.execute(
                select(Order.id, Order.channel, Order.platform_order_id, Order.fulfillment_channel,
                       OrderLine.sku, OrderLine.unit_price)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .where(Order.local_status.in_(("shipped", "delivered")), OrderLine.sku.is_not(None),
                       OrderLine.quantity_shipped > 0)
                .order_by(Order.id.desc()).limit(300)).all()
        rows = [r for r in rows if r.id not in self._tried and not fulfilled_by_platform(r.fulfillment_channel)
                and (self.sb is None or r.channel in self.sb_channels)]
        if not rows:
            return None
        # a channel not yet returned to first, so every platform's way of returning is shown
        seen = Counter(self._channels)
        best = min(rows, key=lambda r: (seen[r.channel], -r.id))
        return {"id": best.id, "channel": best.channel, "ref": f"{best.channel}/{best.platform_order_id}",
                "platform_order_id": best.platform_order_id, "sku": best.sku, "price": best.unit_price}

    def one(self) -> bool:
        """Open, receive and refund one return; False when no shipped order is left to return."""
        from crossdock.errors import CrossdockError
        from crossdock.ratelimit.waits import PERSON_WAIT_S, inline_waits
        from crossdock.sync_engine.engine import context_from_config
        from crossdock.sync_engine.refunds import issue_refund
        from crossdock.sync_engine.returns import open_return, receive_return

        found = self._candidate()
        if found is None:
            return False
        self._tried.add(found["id"])
        n = len(self._tried)
        restock = n % 3 != 0
        ctx = context_from_config(self.cfg, self.db)
        try:
            with inline_waits(PERSON_WAIT_S):
                opened = open_return(ctx, found["ref"], [(found["sku"], 1)], REASONS[n % len(REASONS)])
                if restock and self.sb is not None:   # the unit is on the shelf before anyone books it
                    self.sb.market.record_return(self.sb_channels[found["channel"]], found["sku"], 1,
                                                 found["platform_order_id"])
                self.received.append(receive_return(ctx, opened["rma"], restock=restock))
                self._channels.append(found["channel"])
                price = found["price"]
                if price is not None and Decimal(price) > 0:
                    self.refunds.append(issue_refund(ctx, found["ref"], Decimal(price), "buyer_return",
                                                     [(found["sku"], 1)]))
        except CrossdockError as exc:
            self.refused[exc.code] += 1
        finally:
            ctx.connectors.close()
        return True

    def figures(self) -> dict[str, Any]:
        """The returns crossdock received and refunded, as its own records say."""
        restocked = sum(sum(d["restocked"].values()) for d in self.received)
        written = sum(sum(d["written_off"].values()) for d in self.received)
        return {
            "received": len(self.received),
            "restocked_units": restocked,
            "written_off_units": written,
            "on_platform": sum(1 for d in self.received if d.get("platform_return_id")),
            "refunds": len(self.refunds),
            "refused": dict(sorted(self.refused.items())),
            "rmas": [f"{d['rma']} {d['channel']}/{d['platform_order_id']} {d['order_status']}"
                     for d in self.received],
        }
