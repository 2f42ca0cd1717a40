"""``crossdock sync status``: where each channel stands.

:func:`sync_status_doc` builds the document the command prints (and the web
console shows): per channel the last order import and its lag on the
platforms' clock, queued stock pushes, the outbox backlog by kind, failures by
code in the last 24 h, paused state and stuck orders; the live workers and the
scheduler's last tick.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["FAILURE_WINDOW_S", "FLAGGED_ORDER_CODES", "OVERSOLD_ORDER_CODES", "STUCK_ORDER_CODES",
           "oversold_units", "platform_now_of", "sync_status_doc"]

FAILURE_WINDOW_S = 24 * 3600.0          # failures counted over this window
# XD-ORD-007: cancelled after it shipped (parcel to intercept; `crossdock warehouse flagged`)
STUCK_ORDER_CODES = ("XD-ORD-002", "XD-ORD-003", "XD-ORD-007")
# Orders with lines no stock was reserved for: a SKU not in the catalogue (XD-INV-004) or none at all (XD-ORD-004)
FLAGGED_ORDER_CODES = ("XD-INV-004", "XD-ORD-004")
# Orders with catalogue lines stock could not cover: not reserved on import (XD-INV-001), or shipped
# before crossdock saw them and never taken from stock (XD-INV-012)
OVERSOLD_ORDER_CODES = ("XD-INV-001", "XD-INV-012")


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def platform_now_of(cfg: Any, now: dt.datetime) -> dt.datetime:
    """``now`` on the platforms' clock: cursor positions are platform time,
    which runs K times faster against a scaled sandbox."""
    desc = (cfg.sandbox or {}).get("clock") or {}
    if not desc or desc.get("origin_real") is None:
        return now
    ts = float(desc["origin_platform"]) + (now.timestamp() - float(desc["origin_real"])) * float(desc["time_scale"])
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def oversold_units(s: Any) -> dict[str, int]:
    """Per channel, the units sold that no stock stands behind: the catalogue
    lines holding no reservation on orders flagged XD-INV-001 / XD-INV-012
    and not cancelled (a line is reserved whole or not at all)."""
    from sqlalchemy import String, cast, exists, func, or_, select

    from crossdock.db.models import FLAGGED_ORDERS, Order, OrderLine, Product, Reservation

    rows = s.execute(
        select(Order.channel, func.sum(OrderLine.quantity)).join(OrderLine, OrderLine.order_id == Order.id)
        .where(FLAGGED_ORDERS,
               or_(*(cast(Order.flags, String).like(f"%{code}%") for code in OVERSOLD_ORDER_CODES)),
               Order.local_status != "cancelled",
               OrderLine.sku.in_(select(Product.sku)),
               ~exists().where(Reservation.order_line_id == OrderLine.id))
        .group_by(Order.channel)).all()
    return {channel: int(units or 0) for channel, units in rows}


def sync_status_doc(cfg: Any, db: Any, now: dt.datetime) -> dict[str, Any]:
    """Where each channel stands: last order import and its lag, queued stock
    pushes, outbox backlog by kind, failures by code in the last 24 h, paused
    state and stuck orders (XD-ORD-002/003/007 from ``orders.flags``), orders
    with unreserved lines (XD-INV-004 / XD-ORD-004), quarantined orders
    (XD-ORD-008), oversold units (:func:`oversold_units`) and the drift the
    last reconcile found (:func:`crossdock.sync_engine.drift.last_drift`)."""
    from sqlalchemy import String, cast, func, or_, select

    from crossdock.db.models import FLAGGED_ORDERS, Channel, Order, SyncCursor, SyncEvent
    from crossdock.sync_engine import outbox
    from crossdock.sync_engine.dirty import dirty_backlog
    from crossdock.sync_engine.drift import last_drift
    from crossdock.sync_engine.quarantine import quarantine_counts

    platform_now = platform_now_of(cfg, now)
    since = now - dt.timedelta(seconds=FAILURE_WINDOW_S)
    with db.read() as s:
        rows = {c.name: c for c in s.scalars(select(Channel))}
        # "orders": windows of changed orders; "orders_created": windows of new orders, for a
        # channel that polls new orders by creation time (Amazon) — the newer one is how far
        # new orders are read, the "orders" one how far changes are
        changes: dict[str, Any] = {}
        cursors: dict[str, Any] = {}
        for c in s.scalars(select(SyncCursor).where(SyncCursor.stream.in_(("orders", "orders_created")))):
            if c.stream == "orders":
                changes[c.channel] = c
            if c.channel not in cursors or c.position > cursors[c.channel].position:
                cursors[c.channel] = c
        dirty = dirty_backlog(s, now=now)
        backlog = outbox.backlog(s, now=now)
        failures = s.execute(select(SyncEvent.channel, SyncEvent.code, func.count())
                             .where(SyncEvent.at >= since, SyncEvent.outcome.in_(("failed", "retry")),
                                    SyncEvent.code.is_not(None))
                             .group_by(SyncEvent.channel, SyncEvent.code)).all()
        codes = STUCK_ORDER_CODES + FLAGGED_ORDER_CODES
        flagged = s.execute(select(Order.channel, Order.flags).where(
            FLAGGED_ORDERS, or_(*(cast(Order.flags, String).like(f"%{code}%") for code in codes)))).all()
        quarantined = quarantine_counts(s)
        oversold = oversold_units(s)
        drift = {name: last_drift(s, name) for name in sorted(set(cfg.channels) | set(rows))}

        from crossdock.sync_engine import liveness

        known_workers = liveness.workers(s, include_stopped_since=now - dt.timedelta(hours=1))
    dead_after_s = float(cfg.sync.get("worker_dead_after_s", liveness.DEFAULT_DEAD_AFTER_S))
    alive = [w for w in known_workers if w.alive(now, dead_after_s)]
    last_tick = max((w.last_tick_at for w in known_workers if w.last_tick_at is not None), default=None)
    names = sorted(set(cfg.channels) | set(rows))

    def blank(name: str) -> dict[str, Any]:
        ch, row, cur, last = cfg.channels.get(name), rows.get(name), cursors.get(name), drift.get(name)
        lag = (platform_now - cur.position).total_seconds() if cur else None
        return {
            "channel": name, "platform": ch.platform if ch else (row.platform if row else None),
            "configured": ch is not None,
            # "running" only while a worker is alive to run it
            "state": "paused" if row and row.paused_code else ("running" if alive else "stopped"),
            "paused": bool(row and row.paused_code), "paused_code": row.paused_code if row else None,
            "paused_reason": row.paused_reason if row else None, "paused_at": _iso(row.paused_at if row else None),
            "orders": {"last_success_at": _iso(cur.last_success_at if cur else None),
                       "position": _iso(cur.position if cur else None),
                       "lag_s": round(max(0.0, lag), 1) if lag is not None else None,
                       "changes_position": _iso(changes[name].position if name in changes else None)},
            "stock_queue": {"dirty_skus": 0, "oldest_age_s": None},
            "outbox": {}, "failures_24h": {},
            "stuck_orders": {code: 0 for code in STUCK_ORDER_CODES},
            "flagged_orders": {code: 0 for code in FLAGGED_ORDER_CODES},
            "quarantined_orders": 0,
            "oversold_units": oversold.get(name, 0),
            "drift": last.to_dict() if last is not None else None,
        }

    channels = {name: blank(name) for name in names}
    unassigned: dict[str, dict[str, Any]] = {}
    for name, (count, age) in dirty.items():
        channels.setdefault(name, blank(name))["stock_queue"] = {"dirty_skus": count, "oldest_age_s": round(age, 1)}
    for b in backlog:
        if b.channel is None:
            target = unassigned
        else:
            target = channels.setdefault(b.channel, blank(b.channel))["outbox"]
        kind = target.setdefault(b.kind, {"pending": 0, "running": 0, "failed": 0, "oldest_age_s": None})
        kind[b.status] = kind.get(b.status, 0) + b.count
        if b.status in ("pending", "running") and b.oldest_age_s is not None:
            kind["oldest_age_s"] = round(max(kind["oldest_age_s"] or 0.0, b.oldest_age_s), 1)
    unassigned_failures: dict[str, int] = {}
    for channel, code, count in failures:
        bucket = channels.setdefault(channel, blank(channel))["failures_24h"] if channel else unassigned_failures
        bucket[code] = bucket.get(code, 0) + int(count)
    for channel, flags in flagged:
        stuck_orders = channels.setdefault(channel, blank(channel))["stuck_orders"]
        for code in STUCK_ORDER_CODES:
            if code in (flags or []):
                stuck_orders[code] += 1
        unreserved = channels[channel]["flagged_orders"]
        for code in FLAGGED_ORDER_CODES:
            if code in (flags or []):
                unreserved[code] += 1
    for channel, count in quarantined.items():
        channels.setdefault(channel, blank(channel))["quarantined_orders"] = count

    totals = {
        "paused_channels": sorted(n for n, c in channels.items() if c["paused"]),
        "stuck_orders": {code: sum(c["stuck_orders"][code] for c in channels.values()) for code in STUCK_ORDER_CODES},
        "dirty_skus": sum(c["stock_queue"]["dirty_skus"] for c in channels.values()),
        "outbox_pending": sum(k["pending"] for c in [*channels.values(), {"outbox": unassigned}]
                              for k in c["outbox"].values()),
        "outbox_failed": sum(k["failed"] for c in [*channels.values(), {"outbox": unassigned}]
                             for k in c["outbox"].values()),
        "failures_24h": sum(sum(c["failures_24h"].values()) for c in channels.values())
        + sum(unassigned_failures.values()),
        "oversold_units": sum(c["oversold_units"] for c in channels.values()),
    }
    doc: dict[str, Any] = {"now": _iso(now), "channels": {n: channels[n] for n in sorted(channels)},
                           "workers": [w.to_dict(now, dead_after_s) for w in known_workers],
                           "scheduler": {"running": bool(alive), "workers_alive": len(alive),
                                         "last_tick_at": _iso(last_tick),
                                         "last_tick_age_s": round((now - last_tick).total_seconds(), 1)
                                         if last_tick else None},
                           "unassigned": {"outbox": unassigned, "failures_24h": unassigned_failures},
                           "totals": totals,
                           "quarantined_orders": sum(quarantined.values()),
                           "flagged_orders": {code: sum(c["flagged_orders"][code] for c in channels.values())
                                              for code in FLAGGED_ORDER_CODES}}
    if platform_now != now:
        doc["platform_now"] = _iso(platform_now)
    return doc
