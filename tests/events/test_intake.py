"""The intake on both databases: dedupe per (channel, delivery id), one
pending read job per channel, a new one once the pending job is taken, and
refusals that never block the genuine delivery they imitate."""

from __future__ import annotations

from sqlalchemy import func, select

from crossdock.db.models import OutboxEntry
from crossdock.events import READ, accept, refuse
from crossdock.events.tables import EventDelivery, EventRead
from crossdock.sync_engine import outbox


def _count(db, model, *where) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)))


def test_dedupe_coalescing_and_refusals_on_both_databases(db):
    # Given a forged delivery refused under the id a genuine one will carry
    refuse(db, source="shop", code="XD-EVT-001", channel="c1", ref="d-1", detail="bad signature")
    # When the genuine one, its replay, another for the same order and one for another channel come
    got = [accept(db, channel=c, source="shop", topic="orders/paid", delivery_id=d, order_ids=ids)
           for c, d, ids in (("c1", "d-1", ["7"]), ("c1", "d-1", ["7"]), ("c1", "d-2", ["7", "8"]),
                             ("c2", "d-1", ["7"]))]
    # Then the genuine one was taken, the replay is a duplicate, and each channel has one pending read job
    assert [g.outcome for g in got] == ["accepted", "duplicate", "accepted", "accepted"]
    assert [g.enqueued for g in got] == [True, False, False, True]
    assert _count(db, OutboxEntry, OutboxEntry.kind == READ, OutboxEntry.status == "pending") == 2
    assert _count(db, EventRead, EventRead.channel == "c1") == 2
    assert _count(db, EventDelivery, EventDelivery.outcome == "refused", EventDelivery.ref == "d-1") == 1
    # When a worker takes c1's job, a later event queues a job of its own
    (entry,) = outbox.claim(db, worker_id="w", kinds=[READ], channel="c1")
    later = accept(db, channel="c1", source="shop", topic="orders/updated", delivery_id="d-3", order_ids=["9"])
    assert later.enqueued
    assert _count(db, OutboxEntry, OutboxEntry.kind == READ, OutboxEntry.channel == "c1") == 2
    assert entry.channel == "c1"
