"""A push run stalled past its lease sends nothing it decided before the stall.

A stock push run holds its SKUs under a lease. When one of its platform calls
takes longer than the lease (the sandbox answers it slowly: a stalled
platform, or a worker stopped mid-run), the next run takes the SKUs over and
pushes what is available then — here a SKU that sold out meanwhile goes to 0.
When the first run comes back, its remaining batches were planned before the
stall: sending them would list the sold-out units again (issue 19: 404 units
on 35 SKUs relisted, 158 oversold). Its claim is fenced: it sends nothing the
new run owns, and what it did send late is marked in doubt and pushed again.
Judged from the sandbox's own listings.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from sqlalchemy import select

from crossdock.db.models import OutboxEntry, StockLevel
from crossdock.sandbox.core import Fault
from crossdock.sync_engine import inventory, outbox
from crossdock.sync_engine.jobs import claim_and_process, expected_quantities, push_stock, reconcile
from crossdock.sync_engine.jobs.runner import process
from crossdock.sync_engine.jobs.stock import PushResult
from tests.sync_engine.catalog_env import catalog_env

pytestmark = pytest.mark.usefixtures("quota_waits_slept")

CHANNEL = "ebay-uk"
OPERATION = "bulkUpdatePriceQuantity"
LEASE_S = 0.5              # [sync] lease_s: shorter than the slow call below
SLOW_S = 2.0               # the first batch call of the stalled run is answered this late


def _calls_since(env, seq: int) -> list[dict]:
    """eBay's writes since ``seq`` (stock goes out by the Inventory API or, for Trading listings, ReviseInventoryStatus)."""
    return [c for c in env.sb.requests.since(seq, platform="ebay", limit=10**9)
            if c["operation"] in (OPERATION, "ReviseInventoryStatus")]


def _last_seq(env) -> int:
    last = env.sb.requests.since(0, limit=10**9)
    return last[-1]["seq"] if last else 0


def _wait_until_taken(slow: Fault) -> None:
    """Until the slow-answer fault has taken its call (the request is inside the sandbox)."""
    deadline = time.monotonic() + 10
    while slow.count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slow.count == 0, "the stalled run never called eBay"


def _drain(env) -> None:
    """Push runs until nothing is dirty on the channel (what the scheduler's next wake-ups do)."""
    for _ in range(5):
        if not push_stock(env.ctx, CHANNEL).get("skus"):
            return
    raise AssertionError("the channel's dirty SKUs never drained")


def _sell_out(db, sku: str, *, keep: int = 0) -> None:
    """Every unit of ``sku`` still free to sell but ``keep`` is gone (counted damaged)."""
    with db.read() as s:
        levels = s.execute(select(StockLevel.warehouse, StockLevel.on_hand, StockLevel.reserved)
                           .where(StockLevel.sku == sku)).all()
    with db.write() as s:
        for wh, on_hand, reserved in levels:
            free = on_hand - reserved
            gone = max(0, free - keep)
            keep -= free - gone
            if gone:
                inventory.adjust_stock(s, sku, wh, -gone, "counted: damaged")


def test_a_run_stalled_past_its_lease_sends_nothing_the_next_run_took_over(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        env.ctx.cfg.sync["lease_s"] = LEASE_S
        env.ctx.policies[CHANNEL] = 1            # one SKU per call: a run makes one call per SKU
        # Given a stock count that leaves 2 units of every SKU the channel lists, so the channel must be
        # told of each (a decrease: the oversell guard holds increases back while stock is handed out)
        for sku in sorted(env.listed(CHANNEL)):
            _sell_out(db, sku, keep=2)
        expected = expected_quantities(env.ctx, CHANNEL)
        planned = sorted(sku for sku, qty in expected.items() if env.listed(CHANNEL)[sku] != qty)
        assert len(planned) >= 2, (expected, env.listed(CHANNEL))
        # and eBay answering the run's first call only after SLOW_S, far beyond the run's lease
        slow = env.sb.faults.add(Fault(kind="slow", platform="ebay", operation=OPERATION, count=1, delay_s=SLOW_S))
        before = _last_seq(env)
        stale: dict[str, PushResult] = {}
        run_a = threading.Thread(target=lambda: stale.update(result=push_stock(env.ctx, CHANNEL)))
        run_a.start()
        try:
            # When the first run's first call is inside the sandbox, the SKU of its LAST call sells out
            _wait_until_taken(slow)
            sold_out = planned[-1]
            _sell_out(db, sold_out)
            assert expected_quantities(env.ctx, CHANNEL)[sold_out] == 0
            # and, once the first run's lease ran out, the next run takes the SKUs over and pushes
            time.sleep(LEASE_S + 0.2)
            taken = push_stock(env.ctx, CHANNEL)
            assert taken.get("pushed") == len(planned), taken
            assert env.listed(CHANNEL)[sold_out] == 0
            after_b = _last_seq(env)
        finally:
            run_a.join(timeout=30)
        assert not run_a.is_alive()

        # Then the stalled run, back from its slow call (logged when answered), sent none of its later
        # calls: eBay still lists the sold-out SKU at 0, and the only calls are its slow one and the next run's
        late = _calls_since(env, after_b)
        assert [c for c in late if c["ms"] < SLOW_S * 1000 * 0.9] == [], late
        assert env.listed(CHANNEL)[sold_out] == 0
        assert len(_calls_since(env, before)) == 1 + len(planned), _calls_since(env, before)
        claim_lost = [e for e in env.events("stock.push", channel=CHANNEL) if (e.details or {}).get("claim_lost")]
        assert len(claim_lost) == 1 and claim_lost[0].outcome == "partial", claim_lost
        # And the SKU its slow call set after the next run's push is pushed again (in doubt): in the
        # end eBay lists exactly what crossdock expects
        _drain(env)
        expected = expected_quantities(env.ctx, CHANNEL)
        assert expected[sold_out] == 0
        assert {sku: env.listed(CHANNEL)[sku] for sku in expected} == expected
        assert reconcile(env.ctx, CHANNEL)["drift"] == []


def test_a_job_taken_over_while_its_worker_stalled_sends_nothing_more(db, tmp_path, monkeypatch):
    """The same fence on outbox entries: a price push whose worker stalled past
    its lease stops before its next call, and says so in the sync log."""
    with catalog_env(tmp_path, monkeypatch, db) as env:
        env.ctx.cfg.sync["lease_s"] = LEASE_S
        env.ctx.policies[CHANNEL] = 1            # one SKU per call
        with db.write() as s:
            outbox.enqueue(s, "prices", channel=CHANNEL, entity=f"channel {CHANNEL}", payload={"force": True},
                           idempotency_key="prices:stale-test")
        worker_a = dataclasses.replace(env.ctx, worker_id="worker-a")
        worker_b = dataclasses.replace(env.ctx, worker_id="worker-b")
        # Given worker A runs the price push and eBay answers its first call only after SLOW_S
        slow = env.sb.faults.add(Fault(kind="slow", platform="ebay", operation=OPERATION, count=1, delay_s=SLOW_S))
        (entry,) = outbox.claim(db, worker_id="worker-a", kinds=["prices"], lease_s=LEASE_S)
        outcome: dict[str, str] = {}
        run_a = threading.Thread(target=lambda: outcome.update(a=process(worker_a, entry)))
        run_a.start()
        try:
            _wait_until_taken(slow)
            # When its lease runs out and worker B takes the entry over and runs it to the end
            time.sleep(LEASE_S + 0.2)
            assert claim_and_process(worker_b, kinds=["prices"], lease_s=LEASE_S) == ["done"]
            after_b = _last_seq(env)
        finally:
            run_a.join(timeout=30)
        # Then A, back from its slow call, made no further call and reported the takeover
        late = _calls_since(env, after_b)
        assert [c for c in late if c["ms"] < SLOW_S * 1000 * 0.9] == [], late
        assert outcome == {"a": "lost"}
        skipped = [e for e in env.events("job.prices", channel=CHANNEL) if e.outcome == "skipped"]
        assert len(skipped) == 1 and "taken over" in skipped[0].message
        with db.read() as s:
            assert s.scalar(select(OutboxEntry.status).where(OutboxEntry.id == entry.id)) == "done"
