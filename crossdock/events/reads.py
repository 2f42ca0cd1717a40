"""The jobs events cause: a targeted read of the orders they named
(``events.read``), and the erasure of a buyer's data (``events.erase``).

The read takes the channel's wanted orders (``event_reads``), asks the
platform for each through the connector contract
(:meth:`~crossdock.connectors.contract.Connector.fetch_orders_by_id`), and
stores what the platform says through the polling path
(:func:`~crossdock.sync_engine.quarantine.store_window`: status,
reservations, the platform's own listing quantities, the dirty marks the
stock push follows). What an event's payload said is never used: a forged,
stale or replayed event ends as a read of what is true. An id the platform
does not know is dropped with XD-EVT-010.

Quota is the polling's: the connector asks the same budget, at the job's
priority (critical, as the order import). A quota wait keeps the orders read
before it (stored, their reads done) and releases the entry until the wait
is over; the rest is read then. A run reads at most :data:`BATCH` orders;
when reads remain (more orders, or events that came during the run) it adds
the channel's next read job with its completion.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, delete, select

from crossdock import synclog
from crossdock.db.base import utcnow
from crossdock.events.intake import ERASE, READ, READS, enqueue_read
from crossdock.models import Order
from crossdock.ratelimit.budget import Priority
from crossdock.sync_engine import outbox
from crossdock.sync_engine.failures import QuotaWait
from crossdock.sync_engine.jobs import JobSpec, register
from crossdock.sync_engine.jobs.context import EngineContext, entry_channel
from crossdock.sync_engine.quarantine import store_window

log = logging.getLogger(__name__)

__all__ = ["BATCH", "erase_job", "read_job"]

#: Orders one run reads at most (the rest goes on in the next run, queued at once).
BATCH = 50
NOT_READABLE = "XD-EVT-010"


def read_job(ctx: EngineContext, entry: outbox.ClaimedEntry) -> dict[str, Any]:
    """Outbox entry ``events.read``: read and store the orders events named on the entry's channel."""
    channel = entry_channel(entry)
    with ctx.db.read() as s:
        wanted: dict[str, dt.datetime] = dict(s.execute(
            select(READS.c.order_id, READS.c.wanted_at).where(READS.c.channel == channel)
            .order_by(READS.c.wanted_at, READS.c.order_id).limit(BATCH)).all())
    if not wanted:
        return {"read": 0}
    conn = ctx.connectors.get(channel)
    orders: list[Order] = []
    missing: list[tuple[str, str, str]] = []
    try:
        for order in conn.fetch_orders_by_id(sorted(wanted),
                                             missing=lambda oid, code, msg: missing.append((oid, code, msg))):
            orders.append(order)
    except QuotaWait:
        if orders or missing:
            _store(ctx, channel, orders, missing, wanted=wanted, partial=True)
        raise
    return _store(ctx, channel, orders, missing, wanted=wanted, partial=False)


def _store(ctx: EngineContext, channel: str, orders: Sequence[Order], missing: Sequence[tuple[str, str, str]], *,
           wanted: Mapping[str, dt.datetime], partial: bool) -> dict[str, Any]:
    conn = ctx.connectors.get(channel)
    done = sorted(({o.platform_order_id for o in orders} | {m[0] for m in missing}) & set(wanted))
    with ctx.db.write() as s:
        stored = store_window(s, channel, orders, conn.clock)
        # a read is done unless an event asked again since it was taken (its wanted_at moved):
        # compared with the row as read, so no clock of another process decides it
        for oid in done:
            s.execute(delete(READS).where(and_(READS.c.channel == channel, READS.c.order_id == oid,
                                               READS.c.wanted_at == wanted[oid])))
        for oid, code, msg in missing:
            synclog.record(s, operation="events.read", outcome="skipped", channel=channel, entity_type="order",
                           entity=oid, code=NOT_READABLE, message=f"order named by an event not read: {msg}"[:500],
                           details={"cause": code})
        result = stored.result
        synclog.record(s, operation="events.read", outcome="partial" if partial else "ok", channel=channel,
                       entity_type="channel", entity=channel,
                       message=f"{len(orders)} order(s) named by events read, {result.new} new, "
                               f"{result.updated} updated" + (f", {len(missing)} not readable" if missing else ""),
                       details={"read": len(orders), "new": result.new, "updated": result.updated,
                                "missing": [m[0] for m in missing], "quarantined": len(stored.quarantined)})
        left = s.execute(select(READS.c.order_id).where(READS.c.channel == channel).limit(1)).first()
        if left is not None and not partial:
            # more than one batch, or events that came while this run read: the next run, now
            enqueue_read(s, channel, [], at=utcnow(), cause=f"more-{uuid.uuid4().hex}")
    ctx.stats.add("orders_imported", channel, result.new)
    return {"read": len(orders), "new": result.new, "updated": result.updated, "missing": len(missing),
            "wanted": len(wanted)}


def erase_job(ctx: EngineContext, entry: outbox.ClaimedEntry) -> dict[str, Any]:
    """Outbox entry ``events.erase``: a platform said a buyer's account was
    deleted; erase that buyer's data on the channel (audited by
    :func:`crossdock.erasure.erase_buyer`). Each identifier the event gave
    (user name, user id) is tried; none of them matching an order is no
    error (crossdock may never have stored an order of that buyer)."""
    from crossdock.erasure import erase_buyer
    from crossdock.errors import OrderError

    channel = entry_channel(entry)
    buyer = entry.payload.get("buyer") or {}
    erased: list[dict[str, Any]] = []
    for value in sorted({str(v) for v in buyer.values() if v}):
        try:
            erased.append(erase_buyer(ctx.db, channel=channel, buyer=value,
                                      who=f"platform event {entry.payload.get('topic', '')}".strip()))
        except OrderError as exc:
            if exc.code != "XD-ORD-005":
                raise
    orders = sorted({o for e in erased for o in e.get("orders", [])})
    with ctx.db.write() as s:
        synclog.record(s, operation="events.erase", outcome="ok", channel=channel, entity_type="event",
                       entity=str(entry.payload.get("delivery", "")),
                       message=f"buyer account deleted on the platform: data erased from {len(orders)} order(s)",
                       details={"orders": orders, "audit_ids": [e.get("audit_id") for e in erased]})
    return {"erased_orders": len(orders)}


register(JobSpec(READ, read_job, Priority.CRITICAL, fast_lane=True))     # a webhook's sale, read in seconds
register(JobSpec(ERASE, erase_job, Priority.NORMAL))
