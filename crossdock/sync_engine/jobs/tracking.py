"""Tracking (outbox kind ``tracking``, scheduled for all channels): poll the
carriers for the events of shipments on their way."""

from __future__ import annotations

from crossdock.sync_engine import outbox
from crossdock.sync_engine.jobs.auto_ship import carrier_for
from crossdock.sync_engine.jobs.context import EngineContext

__all__ = ["TRACKING", "poll_tracking_job"]

TRACKING = "tracking"


def poll_tracking_job(ctx: EngineContext, entry: outbox.ClaimedEntry | None = None) -> dict[str, str]:
    from crossdock.warehouse.shipping import poll_tracking

    days = float(ctx.cfg.sync.get("tracking_silence_days", 7))
    result = poll_tracking(ctx.db, lambda name: carrier_for(ctx, name), ctx.clock.now(), max_silence_days=days)
    return {"result": str(result)}
