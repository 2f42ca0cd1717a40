"""``crossdock sync run --job orders --since T``: read past orders again.

The scheduled import reads from its cursor, which only ever moves forward.
A back-fill reads the window [T, horizon] once — horizon being the
platform's now minus the channel's safety lag, the same end the scheduled
import may reach — in pieces of at most ``jobs.max_window_s`` (the
import's own window width), and stores
what it finds exactly like the import: new orders are inserted and reserve
stock, changed ones are updated, unchanged ones are skipped (Amazon does not
even fetch their items). It never touches the cursor, neither back nor
forward: the scheduled import carries on from where it stood, and an order
read by both is stored once (orders are unique per channel and platform id).

Each piece is committed on its own, so a back-fill that fails half-way has
kept what it read; running it again is harmless.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from crossdock import synclog
from crossdock.connectors.base import Connector, OrderQuery
from crossdock.models import UnreadableOrder
from crossdock.sync_engine.jobs import EngineContext, max_window_s
from crossdock.sync_engine.jobs.orders import known_orders
from crossdock.sync_engine.quarantine import store_window

__all__ = ["import_orders_since"]


def import_orders_since(ctx: EngineContext, channel: str, since: dt.datetime, *,
                        on_window: Callable[[dt.datetime, dt.datetime], None] | None = None) -> dict[str, Any]:
    """Import the orders of ``channel`` changed from ``since`` up to the
    safety horizon, without moving its cursor (see module doc).
    ``on_window(end, horizon)`` is told after each stored window (progress)."""
    conn: Connector = ctx.connectors.get(channel)
    horizon = conn.clock.now() - dt.timedelta(seconds=float(conn.safety_lag_s))
    out: dict[str, Any] = {"since": since.isoformat(), "until": horizon.isoformat(), "windows": 0, "read": 0,
                           "new": 0, "updated": 0, "cursor": "unchanged"}
    if since >= horizon:
        out["skipped"] = "--since is not before the latest time the platform may be read up to"
        return out
    start = since
    while start < horizon:
        end = min(horizon, start + dt.timedelta(seconds=max_window_s(conn)))
        known: dict[str, dt.datetime] = {}
        if conn.uses_known_orders:
            with ctx.db.read() as s:
                known = known_orders(s, [channel], start)
        unreadable: list[UnreadableOrder] = []
        with synclog.timed() as t:
            orders = list(conn.fetch_orders(OrderQuery(start, end, known_updates=known,
                                                       unreadable=unreadable.append)))
        with ctx.db.write() as s:
            stored = store_window(s, channel, orders, conn.clock, unreadable=unreadable)
            result = stored.result
            synclog.record(s, operation="orders.backfill", outcome="ok", channel=channel, entity_type="channel",
                           entity=channel, duration_ms=t.ms,
                           message=f"window {start.isoformat()} .. {end.isoformat()} read again: {len(orders)} "
                                   f"orders read, {result.new} new, {result.updated} updated (cursor not moved)",
                           details={"start": start.isoformat(), "end": end.isoformat(), "read": len(orders),
                                    "new": result.new, "updated": result.updated})
        ctx.stats.add("orders_imported", channel, result.new)
        out["windows"] += 1
        out["read"] += len(orders)
        out["new"] += result.new
        out["updated"] += result.updated
        if stored.quarantined:
            out["quarantined"] = out.get("quarantined", 0) + len(stored.quarantined)
        if on_window is not None:
            on_window(end, horizon)
        start = end
    return out
