"""One path for a failed job (crossdock.sync_engine.failures): what the engine
does with each error is the catalogue's ``action`` column; the engine's runs
log throttles and network failures with their codes; an import still behind
continues at once."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select, update

from crossdock.db.models import ChannelListing, OutboxEntry, SyncEvent
from crossdock.errors import CATALOGUE, AuthError, NetError, PlatformError, QuotaError
from crossdock.errors.catalogue import ACTION_FAIL, ACTION_PAUSE, ACTION_RETRY, ACTION_WAIT
from crossdock.sandbox.core import Fault
from crossdock.sync_engine import cursors, dirty, jobs, outbox
from crossdock.sync_engine.failures import CRASH, QuotaWait, classify
from tests.sync_engine.catalog_env import catalog_env


# ------------------------------------------------------------------ the table
def test_every_code_has_an_action_and_quota_and_auth_are_not_ordinary_failures():
    assert {spec.action for spec in CATALOGUE.values()} <= {ACTION_WAIT, ACTION_PAUSE, ACTION_RETRY, ACTION_FAIL}
    by_code = {code: spec.action for code, spec in CATALOGUE.items()}
    assert by_code["XD-QUOTA-001"] == by_code["XD-QUOTA-003"] == ACTION_WAIT
    assert by_code["XD-QUOTA-005"] == ACTION_FAIL                  # too expensive: waiting does not help
    assert by_code["XD-AUTH-002"] == by_code["XD-AUTH-001"] == ACTION_PAUSE
    assert by_code["XD-AUTH-005"] == ACTION_FAIL and by_code["XD-AUTH-007"] == ACTION_RETRY
    assert by_code["XD-NET-003"] == ACTION_RETRY and by_code["XD-PLATFORM-001"] == ACTION_FAIL


@pytest.mark.parametrize("exc, attempts, channel, action, delay_s, code", [
    (QuotaError("XD-QUOTA-001", retry_after_s=2.5), 0, "ebay-uk", ACTION_WAIT, 2.5, "XD-QUOTA-001"),
    (QuotaError("XD-QUOTA-001"), 0, "ebay-uk", ACTION_WAIT, 1.0, "XD-QUOTA-001"),
    (QuotaWait(4.0), 3, "ebay-uk", ACTION_WAIT, 4.0, "XD-QUOTA-003"),
    (AuthError("XD-AUTH-002"), 0, "ebay-uk", ACTION_PAUSE, 60.0, "XD-AUTH-002"),
    (AuthError("XD-AUTH-002"), 0, None, ACTION_FAIL, None, "XD-AUTH-002"),     # nothing to pause
    (NetError("XD-NET-003"), 2, "ebay-uk", ACTION_RETRY, 8.0, "XD-NET-003"),    # back-off 2 ** (attempts + 1)
    (NetError("XD-NET-002", retry_after_s=3.0), 9, "ebay-uk", ACTION_RETRY, 3.0, "XD-NET-002"),
    (PlatformError("XD-PLATFORM-001"), 0, "ebay-uk", ACTION_FAIL, None, "XD-PLATFORM-001"),
    (KeyError("sku"), 0, "ebay-uk", CRASH, 5.0, "XD-SYNC-001"),                  # a bug: kept, retried soon
])
def test_classify_reads_the_action_from_the_catalogue(exc, attempts, channel, action, delay_s, code):
    failure = classify(exc, attempts=attempts, channel=channel)
    assert (failure.action, failure.delay_s, failure.code) == (action, delay_s, code)
    doc = failure.to_dict()
    assert doc["code"] == code and doc["exit"] == failure.error.spec.exit_code and doc["action"] == action


# ------------------------------------------------------------------ the engine's runs
def _enqueue_import(env, channel: str, key: str) -> None:
    with env.db.write() as s:
        outbox.enqueue(s, jobs.IMPORT_ORDERS, channel=channel, idempotency_key=key)


def _events(env, **where) -> list[SyncEvent]:
    with env.db.read() as s:
        stmt = select(SyncEvent).order_by(SyncEvent.id)
        for column, value in where.items():
            stmt = stmt.where(getattr(SyncEvent, column) == value)
        return list(s.scalars(stmt))


def test_the_engine_logs_a_throttle_and_a_network_failure_with_their_codes(sqlite_db, tmp_path, monkeypatch,
                                                                       quota_waits_slept):
    # (quota_waits_slept: the rerun forced due at once waits for the budget, which heard the 429)
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        # Given eBay's getOrders answers one 429, then HTML 503 pages
        env.sb.faults.add(Fault("throttle", platform="ebay", operation="getOrders", count=1))
        _enqueue_import(env, "ebay-uk", "orders:ebay-uk:test")

        # When the engine runs the scheduled import
        [first] = jobs.claim_and_process(env.ctx)

        # Then the entry waits for quota without using an attempt, and the log has the throttle's code
        assert first == "quota_wait"
        with env.db.read() as s:
            entry = s.scalar(select(OutboxEntry).where(OutboxEntry.idempotency_key == "orders:ebay-uk:test"))
        assert (entry.status, entry.attempts) == ("pending", 0)
        [throttled] = _events(env, operation="job.orders", channel="ebay-uk")
        assert (throttled.outcome, throttled.code) == ("retry", "XD-QUOTA-001")
        assert throttled.details["outbox_id"] == entry.id

        # When the platform then answers 503 (to each of the call's 3 attempts) and the entry runs again
        env.sb.faults.add(Fault("html_503", platform="ebay", operation="getOrders", count=3))
        with env.db.write() as s:
            s.execute(update(OutboxEntry).where(OutboxEntry.id == entry.id)
                      .values(available_at=dt.datetime.now(dt.timezone.utc)))
        assert jobs.claim_and_process(env.ctx) == ["retry"]

        # Then it is retried with back-off, logged with the network code; nothing was paused
        codes = [(e.outcome, e.code) for e in _events(env, operation="job.orders", channel="ebay-uk")]
        assert codes == [("retry", "XD-QUOTA-001"), ("retry", "XD-NET-003")]
        assert jobs.paused(env.db, "ebay-uk") is None


def test_a_stock_push_stopped_by_the_network_is_logged_with_its_code(sqlite_db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        # Given eBay shows other quantities than crossdock wants, and eBay's server fails
        with env.db.write() as s:
            s.execute(update(ChannelListing).where(ChannelListing.channel == "ebay-uk")
                      .values(last_pushed_qty=999, exposure_qty=999))
            dirty.mark_dirty(s, ["XD-0001", "XD-0002"])
        env.sb.faults.add(Fault("html_503", platform="ebay"))

        # When the quantities are pushed (the eBay connector answers each SKU of a failed batch as not applied)
        result = jobs.push_stock(env.ctx, "ebay-uk")

        # Then nothing was pushed, and the push's log row says why, with the code
        assert result["pushed"] == 0 and result["skus"] == 2
        [row] = _events(env, operation="stock.push", channel="ebay-uk")
        assert (row.outcome, row.code) == ("partial", "XD-NET-003")
        assert "2 left for the next run (XD-NET-003 Platform server error)" in row.message

        # And when the call is throttled instead (which stops the run: the quota is the channel's)
        env.sb.faults.clear()
        env.sb.faults.add(Fault("throttle", platform="ebay", operation="bulkUpdatePriceQuantity", count=1))
        with pytest.raises(QuotaError):
            jobs.push_stock(env.ctx, "ebay-uk")
        assert [(e.outcome, e.code) for e in _events(env, operation="stock.push", channel="ebay-uk")][-1] == \
            ("partial", "XD-QUOTA-001")


def test_an_import_still_behind_continues_at_once_until_caught_up(sqlite_db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        # Given eBay's cursor two days behind (a worker was stopped), and one order placed since
        start = env.ctx.clock.now()
        with env.db.write() as s:
            cursors.advance_cursor(s, "ebay-uk", "orders", start - dt.timedelta(days=2))
        env.sb.sims["ebay"].place_order(env.sb_channels["ebay-uk"], [("XD-0002", 1)], buyer_country="GB")
        _enqueue_import(env, "ebay-uk", "orders:ebay-uk:scheduled")
        # (and the platform's clock past eBay's 5 s safety lag after that order: a window reads up to
        # now − 5 s, so before that no window may read it; 0.1 real seconds at 60x)
        while env.ctx.clock.now() < start + dt.timedelta(seconds=6):
            time.sleep(0.01)

        # When the engine runs what is due, without any scheduler firing again
        outcomes = []
        while ran := jobs.claim_and_process(env.ctx, kinds=[jobs.IMPORT_ORDERS]):
            outcomes += ran

        # Then each window enqueued the next one, due at once, until the cursor reached the horizon
        with env.db.read() as s:
            entries = list(s.scalars(select(OutboxEntry).where(OutboxEntry.kind == "orders")
                                     .order_by(OutboxEntry.id)))
            position = cursors.get_cursor(s, "ebay-uk", "orders").position
        # 48 h in windows of 6 h: 8 windows (each starts an overlap before the last one's end and ends
        # 6 h after it), a 9th when the platform clock passed eBay's safety lag meanwhile
        assert outcomes == ["done"] * len(entries) and len(entries) >= 8
        assert all(e.status == "done" for e in entries)
        more = entries[1:]
        assert all(":more:" in e.idempotency_key and e.available_at <= e.created_at for e in more)
        assert len({e.idempotency_key for e in more}) == len(more)
        assert position >= start - dt.timedelta(seconds=5)                        # eBay's safety lag
        assert sum(e.details["new"] for e in _events(env, operation="orders.import", channel="ebay-uk")) == 1
        # ... inside eBay's quota: every call asked the budget, none was refused
        ops = env.sb.stats.as_dict()["ebay"]
        assert sum(c["throttled"] for acct in ops.values() for c in acct.values()) == 0
