"""Anomaly hints: orders on a channel dropped sharply (XD-ORD-011).

Orders per window (``[alerts] drop_window_h``, platform hours) against the
same window of the same weekday over the last four weeks, or, for a shop
younger than four weeks, against its simple rate over the day before. A
count below ``drop_fraction`` of what was expected (when at least
``drop_min_expected`` orders were expected) is a hint, with its likely
causes checked in order, each shown with what it found: channel paused or
authorisation failed, import lag, platform outage, listings inactive or out
of stock, prices pushed wrong. The first cause found is named as the likely
one and its command is the remedy.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import bindparam, func, or_, select

from crossdock.doctor.model import OK, WARN, DoctorContext, Result

__all__ = ["DROP_CODE", "HINT_CHECKS", "check_orders_drop", "likely_causes"]

DROP_CODE = "XD-ORD-011"
DEFAULTS = {"drop_fraction": 0.3, "drop_min_expected": 3.0, "drop_window_h": 1.0}
WEEKS = 4
YOUNG_SPAN = dt.timedelta(hours=24)
RECENT = dt.timedelta(hours=1)           # wall-clock look-back for failures in the sync log


def _setting(ctx: DoctorContext, key: str) -> float:
    return float((ctx.cfg.alerts or {}).get(key, DEFAULTS[key]))


@functools.cache
def _statements() -> tuple[Any, Any]:
    """(orders of a channel in [start, end), its oldest order's purchase time), built once: the
    alerts round counts up to five windows per channel each round."""
    from crossdock.db.models import Order

    return (select(func.count()).select_from(Order).where(Order.channel == bindparam("channel"),
                                                          Order.purchased_at >= bindparam("start"),
                                                          Order.purchased_at < bindparam("end")),
            select(func.min(Order.purchased_at)).where(Order.channel == bindparam("channel")))


def _count(s: Any, channel: str, start: dt.datetime, end: dt.datetime) -> int:
    return int(s.scalar(_statements()[0], {"channel": channel, "start": start, "end": end}) or 0)


def expected_orders(s: Any, channel: str, now: dt.datetime, window: dt.timedelta) -> tuple[float | None, str]:
    """(orders expected in [now - window, now), how it was reckoned); None when there is no history yet."""
    oldest = s.scalar(_statements()[1], {"channel": channel})
    if oldest is None:
        return None, "no orders yet"
    if oldest <= now - dt.timedelta(weeks=WEEKS) - window:
        counts = [_count(s, channel, now - dt.timedelta(weeks=k) - window, now - dt.timedelta(weeks=k))
                  for k in range(1, WEEKS + 1)]
        return sum(counts) / WEEKS, f"same hour of the same weekday over {WEEKS} weeks: {counts}"
    span = min(now - window - oldest, YOUNG_SPAN)
    if span < window:
        return None, "not enough history yet"
    before = _count(s, channel, now - window - span, now - window)
    hours = span.total_seconds() / 3600
    return before * (window / span), f"young shop: {before} order(s) in the {hours:.1f} h before"


def _events(s: Any, channel: str, since: dt.datetime, *patterns: str) -> list[Any]:
    from crossdock.db.models import SyncEvent

    return list(s.execute(select(SyncEvent.code, SyncEvent.message).where(
        SyncEvent.channel == channel, SyncEvent.at >= since, SyncEvent.outcome.in_(("failed", "retry", "partial")),
        or_(*(SyncEvent.code.like(p) for p in patterns))).order_by(SyncEvent.id.desc()).limit(3)))


def likely_causes(ctx: DoctorContext, channel: str) -> list[dict[str, Any]]:
    """Each cause checked, in order: {cause, likely, found, remedy}."""
    from crossdock.db.models import ChannelListing
    from crossdock.doctor.channels import LAG_SLACK_S, lag_factor

    row = ctx.status["channels"].get(channel) or {}
    since = ctx.now - RECENT
    out: list[dict[str, Any]] = []
    with ctx.db.read() as s:
        auth = _events(s, channel, since, "XD-AUTH-%")
        if row.get("paused"):
            found = f"channel paused with {row['paused_code']}: {row.get('paused_reason') or ''}".strip()
            out.append({"cause": "channel paused or authorisation failed", "likely": True, "found": found,
                        "code": row["paused_code"], "remedy": "crossdock auth status"})
        else:
            out.append({"cause": "channel paused or authorisation failed", "likely": bool(auth),
                        "found": f"{auth[0].code}: {auth[0].message}" if auth else "running, no auth failure",
                        "code": auth[0].code if auth else None, "remedy": "crossdock auth status"})
        lag = (row.get("orders") or {}).get("lag_s")
        every = float(ctx.cfg.channel(channel).intervals_s.get("orders", 120))
        behind = lag is None or lag > lag_factor(ctx.cfg) * every + LAG_SLACK_S
        out.append({"cause": "import lag", "likely": behind, "code": "XD-ORD-009" if behind else None,
                    "found": "no import yet" if lag is None else f"orders imported up to {lag:.0f} s ago",
                    "remedy": f"crossdock sync run --job orders --channel {channel}"})
        net = _events(s, channel, since, "XD-NET-%")
        out.append({"cause": "platform outage", "likely": bool(net), "code": net[0].code if net else None,
                    "found": f"{len(net)} recent network failure(s): {net[0].message}" if net
                    else "no network failure in the last hour", "remedy": f"crossdock logs --channel {channel}"})
        listings = list(s.execute(select(ChannelListing.status, ChannelListing.last_pushed_qty)
                                  .where(ChannelListing.channel == channel)))
        inactive = sum(1 for st, _ in listings if st != "active")
        empty = sum(1 for st, q in listings if st == "active" and q == 0)
        weak = not listings or (inactive + empty) * 2 >= len(listings)
        out.append({"cause": "listings inactive or out of stock", "likely": weak,
                    "code": "XD-INV-001" if weak else None,
                    "found": f"{len(listings)} listing(s): {inactive} inactive, {empty} showing 0",
                    "remedy": f"crossdock listings list --channel {channel}"})
        prices = _events(s, channel, ctx.now - dt.timedelta(hours=24), "XD-MAP-013", "XD-MAP-003")
        out.append({"cause": "prices pushed wrong", "likely": bool(prices), "code": prices[0].code if prices else None,
                    "found": f"{prices[0].code}: {prices[0].message}" if prices else "no price drift or price error",
                    "remedy": f"crossdock sync reconcile {channel}"})
    return out


def check_orders_drop(ctx: DoctorContext, channel: str) -> Result:
    window = dt.timedelta(hours=_setting(ctx, "drop_window_h"))
    now = ctx.platform_now
    with ctx.db.read() as s:
        expected, basis = expected_orders(s, channel, now, window)
        actual = _count(s, channel, now - window, now)
    hours = window.total_seconds() / 3600
    if expected is None or expected < _setting(ctx, "drop_min_expected"):
        judged = basis if expected is None else f"expected {expected:.1f} ({basis}): too few to judge"
        return Result("orders drop", OK, f"{actual} order(s) in the last {hours:g} h; {judged}", channel=channel)
    found = f"{actual} order(s) in the last {hours:g} h, expected {expected:.1f} ({basis})"
    if actual >= _setting(ctx, "drop_fraction") * expected:
        return Result("orders drop", OK, found, channel=channel)
    causes = likely_causes(ctx, channel)
    first = next((c for c in causes if c["likely"]), None)
    because = f"; likely cause: {first['cause']} ({first['found']})" if first else "; no cause found in crossdock"
    return Result("orders drop", WARN, found + because, code=DROP_CODE, channel=channel,
                  remedy=first["remedy"] if first else "crossdock sync status",
                  details={"actual": actual, "expected": round(expected, 2), "causes": causes})


HINT_CHECKS = (check_orders_drop,)
