"""Taking in one event: record it, and ask for a read of the orders it names.

This is the one entry point every receiver calls — the HTTP receivers of
``crossdock serve`` (``/hooks/KIND``) and the SQS consumer of ``crossdock
worker`` alike — once it has checked the delivery's signature and learnt
its channel, delivery id, topic and order ids::

    from crossdock.events import accept, refuse

    result = accept(db, channel="shop-eu", source="shopify", topic="orders/create",
                    delivery_id=webhook_id, order_ids=["gid://shopify/Order/1"])
    result.outcome        # "accepted" | "duplicate"
    # then acknowledge the delivery (HTTP 200, SQS DeleteMessage): the outbox has it

    refuse(db, source="shopify", code="XD-EVT-001", channel=None, ref=webhook_id, detail="…")

``db`` is a :class:`~crossdock.db.engine.Database` (one short write
transaction of its own) or a Session (the caller's transaction). Both return
after one transaction and make no platform call, so a receiver answers well
within a second. On SQLite an accepting transaction takes its turn among the
process's writers first (:data:`~crossdock.db.sqlite_writers.URGENT`).

An event is a hint, never the truth: :func:`accept` keeps only *which*
orders to read. The read (:mod:`crossdock.events.reads`, outbox kind
``events.read``) asks the platform for each order and stores it through the
polling path, so a forged, stale or replayed event at most causes a read.
Many events of one channel share one pending read job (the coalescing), and
many events for one order are one read (``event_reads``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.engine import Database
from crossdock.db.sqlite_writers import URGENT, write_rank
from crossdock.events.tables import EventDelivery, EventRead
from crossdock.sync_engine import outbox
from crossdock.sync_engine._sql import now_or, upsert_insert, write_tx

log = logging.getLogger(__name__)

__all__ = ["ACCEPTED", "DUPLICATE", "ERASE", "READ", "REFUSED", "Intake", "accept", "enqueue_read", "refuse"]

ACCEPTED, DUPLICATE, REFUSED = "accepted", "duplicate", "refused"
#: Outbox kinds: read the orders events named (one pending entry per channel); erase a buyer's data.
READ = "events.read"
ERASE = "events.erase"
DUPLICATE_CODE = "XD-EVT-006"
DELIVERIES = EventDelivery.__table__
READS = EventRead.__table__
OUTBOX = outbox.OUTBOX


@dataclass(frozen=True, slots=True)
class Intake:
    """What :func:`accept` did: ``outcome`` accepted / duplicate, the
    delivery's row, and whether a read job was added (False: one was pending
    already, or the event named no order)."""

    outcome: str
    delivery_row: int
    reads: int = 0
    enqueued: bool = False

    @property
    def duplicate(self) -> bool:
        return self.outcome == DUPLICATE


def accept(db: Database | Session, *, channel: str, source: str, topic: str, delivery_id: str,
           order_ids: Sequence[str] = (), erase: Mapping[str, Any] | None = None,
           now: dt.datetime | None = None) -> Intake:
    """Record one verified delivery of ``channel`` and ask for a read of
    ``order_ids`` (see module doc). A ``delivery_id`` already accepted for
    the channel is a duplicate: recorded as such, nothing more. ``erase``
    (a buyer's identifiers, from an account-deletion event) adds an erasure
    job for the channel. Raises ValueError on an empty channel or delivery id
    (the receiver refuses such deliveries with XD-EVT-004 first)."""
    if not channel or not delivery_id:
        raise ValueError("an accepted event needs a channel and a delivery id")
    at = now_or(now)
    ids = sorted({str(i) for i in order_ids if str(i).strip()})
    with write_rank(URGENT), write_tx(db) as s:     # a sale on its way: its writes go before background ones
        row = s.execute(upsert_insert(s, DELIVERIES).values(
            channel=channel, source=source, topic=topic[:128], delivery_id=delivery_id[:200],
            ref=delivery_id[:200], received_at=at, outcome=ACCEPTED, order_ids=ids)
            .on_conflict_do_nothing(index_elements=["channel", "delivery_id"])
            .returning(DELIVERIES.c.id)).first()
        if row is None:
            dup = s.execute(DELIVERIES.insert().values(
                channel=channel, source=source, topic=topic[:128], delivery_id=None, ref=delivery_id[:200],
                received_at=at, outcome=DUPLICATE, code=DUPLICATE_CODE, order_ids=ids)
                .returning(DELIVERIES.c.id)).scalar_one()
            log.info("event %s %s on %s: duplicate delivery %s", source, topic, channel, delivery_id)
            return Intake(DUPLICATE, dup)
        enqueued = enqueue_read(s, channel, ids, at=at, cause=row.id) if ids else False
        if erase:
            enqueued = outbox.enqueue(s, ERASE, channel=channel, entity=f"event {row.id}",
                                      payload={"delivery": row.id, "buyer": dict(erase), "topic": topic},
                                      idempotency_key=f"{ERASE}:{channel}:{delivery_id}"[:200],
                                      priority=outbox.PRIORITY_NORMAL, now=at) or enqueued
            synclog.record(s, operation="events.receive", outcome="ok", channel=channel, entity_type="event",
                           entity=str(row.id), message=f"{source} {topic}: buyer data erasure queued",
                           details={"delivery_id": delivery_id})
    log.info("event %s %s on %s accepted (%d order(s) to read)", source, topic, channel, len(ids))
    return Intake(ACCEPTED, row.id, reads=len(ids), enqueued=enqueued)


def enqueue_read(session: Session, channel: str, order_ids: Sequence[str], *, at: dt.datetime,
                 cause: int | str) -> bool:
    """Ask for a read of ``order_ids`` on ``channel`` in the caller's
    transaction; add a read job unless one is pending for the channel. The
    pending job is locked (``FOR UPDATE``; SQLite's write lock serialises)
    so a worker cannot claim it between this check and the commit and miss
    these orders. True when a job was added."""
    for oid in sorted(set(order_ids)):
        session.execute(upsert_insert(session, READS).values(
            channel=channel, order_id=oid[:128], wanted_at=at, first_wanted_at=at)
            .on_conflict_do_update(index_elements=["channel", "order_id"], set_={"wanted_at": at}))
    pending = session.execute(
        select(OUTBOX.c.id).where(OUTBOX.c.kind == READ, OUTBOX.c.channel == channel,
                                  OUTBOX.c.status == outbox.PENDING)
        .limit(1).with_for_update()).first()
    if pending is not None:
        return False
    return outbox.enqueue(session, READ, channel=channel, entity=f"orders of {channel}",
                          payload={"cause": cause}, idempotency_key=f"{READ}:{channel}:{cause}"[:200],
                          priority=outbox.PRIORITY_URGENT, now=at)


def refuse(db: Database | Session, *, source: str, code: str, channel: str | None = None, topic: str = "",
           ref: str | None = None, detail: str = "", now: dt.datetime | None = None) -> int:
    """Record a refused delivery with its stable code (XD-EVT-…) and write
    it to the sync log; nothing else happens. ``detail`` must hold no secret
    and no body (it is stored and shown). Returns the delivery's row."""
    at = now_or(now)
    with write_tx(db) as s:
        row_id: int = s.execute(DELIVERIES.insert().values(
            channel=channel, source=source[:32], topic=topic[:128], delivery_id=None,
            ref=(ref or None) and ref[:200], received_at=at, outcome=REFUSED, code=code, order_ids=[],
            detail=detail[:1000]).returning(DELIVERIES.c.id)).scalar_one()
        synclog.record(s, operation="events.receive", outcome="failed", channel=channel, entity_type="event",
                       entity=str(row_id), code=code, message=f"{source} {topic or '?'}: {detail}"[:500],
                       details={"ref": ref, "source": source})
    log.warning("event refused: %s %s channel=%s ref=%s %s: %s", source, topic or "?", channel, ref, code, detail)
    return row_id
