"""An order poll on the worker path (:func:`crossdock.sync_engine.jobs.process`)
completes its outbox entry in the transaction that stores its window: the
cursor's move and the entry's outcome commit together, one write transaction
fewer per poll, and every guarantee of the completion stays (only the worker
holding the entry completes it; a failed store completes nothing). Its
channel's pause is read in the claim's transaction."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import event, select

from crossdock.db.models import OutboxEntry, SyncCursor
from crossdock.sync_engine import jobs, outbox
from crossdock.sync_engine.jobs import orders as orders_job
from tests.sync_engine.catalog_env import catalog_env

pytestmark = pytest.mark.usefixtures("quota_waits_slept")

CHANNEL = "ebay-uk"


def _enqueue(db, key: str) -> int:
    with db.write() as s:
        outbox.enqueue(s, jobs.IMPORT_ORDERS, channel=CHANNEL, idempotency_key=key)
        return s.scalar(select(OutboxEntry.id).where(OutboxEntry.idempotency_key == key))


def _entry(db, entry_id: int) -> OutboxEntry:
    with db.read() as s:
        return s.get(OutboxEntry, entry_id)


def _cursor(db):
    with db.read() as s:
        return s.scalar(select(SyncCursor.position).where(SyncCursor.channel == CHANNEL,
                                                          SyncCursor.stream == "orders"))


def _committed_writes(db) -> list[list[str]]:
    """The statements of each committed transaction that wrote something (filled as they commit)."""
    current: list[str] = []
    groups: list[list[str]] = []

    def statement(conn, cursor, text, *a):
        current.append(" ".join(text.split()[:3]).upper())

    def commit(conn):
        if any(s.split()[0] in ("INSERT", "UPDATE", "DELETE") for s in current):
            groups.append(list(current))
        current.clear()

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    event.listen(db.engine, "rollback", lambda conn: current.clear())
    return groups


def test_an_order_poll_completes_its_entry_in_the_transaction_that_moves_its_cursor(tmp_path, monkeypatch, db):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        # Given a channel whose orders were imported once (its first import also records its go-live
        # and fetches a token), and its next scheduled order import
        assert jobs.claim_and_process(env.ctx, ids=[_enqueue(env.db, "orders:ebay-uk:first")]) == ["done"]
        time.sleep(0.2)                                    # 12 platform seconds: a new window
        entry_id = _enqueue(env.db, "orders:ebay-uk:poll")
        writes = _committed_writes(env.db)
        # When a worker claims and runs it
        assert jobs.claim_and_process(env.ctx, ids=[entry_id]) == ["done"]
        # Then the entry is done and the cursor moved, in one transaction after the claim's
        assert _entry(env.db, entry_id).status == "done"
        assert _cursor(env.db) is not None
        touching_outbox = [w for w in writes if "UPDATE OUTBOX SET" in w]     # (not the quota's own writes)
        assert len(touching_outbox) == 2, writes
        claim, store = touching_outbox
        assert "UPDATE OUTBOX SET" in claim
        # and the channel's pause was read in the claim's transaction, not in one of its own
        assert any(s.startswith("SELECT CHANNELS.PAUSED_CODE") for s in claim)
        assert any(s.startswith("INSERT INTO SYNC_CURSORS") for s in store)
        assert store[-1] == "UPDATE OUTBOX SET"      # the completion, last


def test_a_poll_whose_entry_was_taken_over_stores_its_window_but_completes_nothing(tmp_path, monkeypatch, db):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        # Given an order import whose worker stalls after its read, and another worker takes the entry over
        entry_id = _enqueue(env.db, "orders:ebay-uk:stalled")
        real = orders_job._by_member

        def taken_over(*args, **kw):
            with env.db.write() as s:
                s.execute(outbox.OUTBOX.update().where(outbox.OUTBOX.c.id == entry_id)
                          .values(claimed_by="other-worker"))
            return real(*args, **kw)

        monkeypatch.setattr(orders_job, "_by_member", taken_over)
        # When the stalled worker goes on
        assert jobs.claim_and_process(env.ctx, ids=[entry_id]) == ["done"]
        # Then the window it read is stored (the cursor moves) but the entry stays the other worker's
        assert _cursor(env.db) is not None
        entry = _entry(env.db, entry_id)
        assert (entry.status, entry.claimed_by, entry.done_at) == ("running", "other-worker", None)


def test_a_poll_whose_store_fails_completes_nothing_and_moves_no_cursor(tmp_path, monkeypatch, db):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        # Given an order import whose window cannot be stored (the event insert fails)
        entry_id = _enqueue(env.db, "orders:ebay-uk:broken")

        def broken(*args, **kw):
            raise RuntimeError("disk full")

        monkeypatch.setattr(orders_job.synclog, "insert", broken)
        # When a worker runs it
        outcome = jobs.claim_and_process(env.ctx, ids=[entry_id])
        monkeypatch.undo()
        # Then the entry is not done (settled as a failure to look at) and the cursor did not move
        assert outcome != ["done"]
        assert _entry(env.db, entry_id).status in ("pending", "failed")
        assert _cursor(env.db) is None


def test_the_stock_sweep_reads_every_channels_import_point_in_one_query(tmp_path, monkeypatch, db):
    from crossdock.sync_engine import cursors
    from crossdock.sync_engine.jobs import stock

    with catalog_env(tmp_path, monkeypatch, db) as env:
        # Given one channel imported by update time and by creation time, one by update time only, and
        # the others never imported
        t0 = env.ctx.clock.now()
        with env.db.write() as s:
            cursors.advance_cursor(s, "amazon-de", "orders", t0 - dt.timedelta(minutes=10))
            cursors.advance_cursor(s, "amazon-de", orders_job.CREATED_STREAM, t0 - dt.timedelta(minutes=2))
            cursors.advance_cursor(s, "ebay-uk", "orders", t0 - dt.timedelta(minutes=5))
        reads: list[str] = []
        event.listen(env.db.engine, "before_cursor_execute",
                     lambda conn, cursor, text, *a: reads.append(text) if "sync_cursors" in text else None)
        # When the sweep asks how far each channel's orders are imported
        until = stock.imported_until_all(env.ctx, ["amazon-de", "amazon-us", "ebay-uk", "shopify-eu"])
        # Then each channel's answer is its furthest cursor less its unseen-sales time, none without one
        def expected(channel, position):
            conn = env.ctx.connectors.get(channel)
            return conn.clock.to_real(position - dt.timedelta(seconds=float(conn.unseen_sales_s or 0)))

        assert until == {"amazon-de": expected("amazon-de", t0 - dt.timedelta(minutes=2)), "amazon-us": None,
                         "ebay-uk": expected("ebay-uk", t0 - dt.timedelta(minutes=5)), "shopify-eu": None}
        assert stock.imported_until(env.ctx, "ebay-uk") == until["ebay-uk"]
        # and one query read them all
        assert len(reads) == 2        # imported_until_all's, then imported_until's
