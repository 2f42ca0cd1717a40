"""Doctor's events check (XD-EVT-008): a channel whose platform events went
quiet while its order poll still finds new orders. Events are the fast path,
polling the safety net: when the net catches orders the events should have
announced, sales reach the other channels at polling speed and someone
should look at the subscription."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from crossdock.config_keys_events import DEFAULT_QUIET_AFTER_S
from crossdock.db.models import Order
from crossdock.doctor.model import OK, WARN, DoctorContext, Result
from crossdock.events.tables import EventDelivery

__all__ = ["EVENT_CHECKS", "GRACE_S", "check_events_quiet"]

#: Orders stored this long after the last event may still be that event's read.
GRACE_S = 60.0


def check_events_quiet(ctx: DoctorContext, channel: str) -> Result | None:
    """No result for a channel that never received an event (events not set up)."""
    quiet_after_s = float((ctx.cfg.events or {}).get("quiet_after_s") or DEFAULT_QUIET_AFTER_S)
    with ctx.db.read() as s:
        last = s.scalar(select(func.max(EventDelivery.received_at))
                        .where(EventDelivery.channel == channel, EventDelivery.outcome != "refused"))
        if last is None:
            return None
        quiet_s = (ctx.now - last).total_seconds()
        if quiet_s < quiet_after_s:
            return Result("events", OK, f"last event {quiet_s:.0f} s ago", channel=channel,
                          details={"last_event_at": last.isoformat()})
        polled = int(s.scalar(select(func.count()).select_from(Order).where(
            Order.channel == channel, Order.imported_at > last + dt.timedelta(seconds=GRACE_S))) or 0)
    details = {"last_event_at": last.isoformat(), "quiet_s": round(quiet_s), "orders_polled_since": polled}
    if not polled:
        return Result("events", OK, f"no event for {quiet_s:.0f} s, and polling found no new order either",
                      channel=channel, details=details)
    return Result("events", WARN, f"no event for {quiet_s:.0f} s while polling imported {polled} new order(s)",
                  code="XD-EVT-008", channel=channel, details=details,
                  remedy=f"crossdock events status; crossdock events setup {channel}")


EVENT_CHECKS = (check_events_quiet,)
