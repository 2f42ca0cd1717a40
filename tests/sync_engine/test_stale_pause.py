"""A pause is a decision about one version of a channel's credentials (issue 19).

The incident: a worker stalled with a refused token refresh in hand came back
and paused amazon-de 30 s after its credentials had been restored and another
worker had refreshed successfully; amazon-de leads the order poll it shares
with amazon-us, so all Amazon import stopped until someone ran `auth resume`.

Against the sandbox (Amazon US and DE of one seller share one getOrders
poll; amazon-de leads it), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from crossdock.db.models import Channel, Credential, Order, OutboxEntry
from crossdock.errors import AuthError
from crossdock.sync_engine import jobs, outbox
from crossdock.sync_engine.auth_refresh import refresh_channel_token
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.failures import classify, settle
from crossdock.sync_engine.jobs import runner
from tests.sync_engine.catalog_env import catalog_env

pytestmark = pytest.mark.usefixtures("quota_waits_slept")

LEADER, SIBLING = "amazon-de", "amazon-us"


def _enqueue(db, channel: str, key: str) -> int:
    with db.write() as s:
        outbox.enqueue(s, jobs.IMPORT_ORDERS, channel=channel, idempotency_key=key)
        return s.scalar(select(OutboxEntry.id).where(OutboxEntry.idempotency_key == key))


def _paused(db, channel: str) -> str | None:
    with db.read() as s:
        return s.scalar(select(Channel.paused_code).where(Channel.name == channel))


def _version(db, channel: str) -> int:
    with db.read() as s:
        return s.scalar(select(Credential.version).where(Credential.channel == channel)) or 0


def _pause_events(env, channel: str) -> list[tuple[str, str | None]]:
    return [(e.outcome, e.code) for e in env.events("channel.pause", channel=channel)]


def test_a_refusal_that_comes_back_after_a_successful_refresh_pauses_nothing(tmp_path, monkeypatch, db):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        amazon = env.sb.sims["amazon"]
        # Given the seller's refresh token revoked, and worker A's import of amazon-de that will
        # refresh, be refused (invalid_grant), and stall before it acts on the refusal
        amazon.auth_scenario("revoke_refresh_token", None)
        entry_id = _enqueue(env.db, LEADER, "orders:amazon-de:stall")
        stalled, go = threading.Event(), threading.Event()
        real_settle = runner.settle

        def stalling_settle(*args, **kw):          # A holds the refusal and stalls before acting on it
            stalled.set()
            assert go.wait(30)
            return real_settle(*args, **kw)

        monkeypatch.setattr(runner, "settle", stalling_settle)
        outcome: list[str] = []
        worker_a = threading.Thread(target=lambda: outcome.extend(jobs.claim_and_process(env.ctx, ids=[entry_id])))
        worker_a.start()
        try:
            assert stalled.wait(30), "worker A never got the refusal"
            refused_on = _version(env.db, LEADER)
            # When, meanwhile, the credentials are restored and worker B refreshes successfully
            amazon.auth_scenario("restore", None)
            ctx_b = context_from_config(env.cfg, env.db)
            try:
                ctx_b.connectors.get(LEADER).refresh_access_token()
            finally:
                ctx_b.connectors.close()
            assert _version(env.db, LEADER) == refused_on + 1
        finally:
            go.set()
            worker_a.join(30)
        # Then A's stale refusal pauses nothing: it is logged as skipped and the entry is tried again at once
        assert _paused(env.db, LEADER) is None
        assert outcome == ["retry"]
        assert _pause_events(env, LEADER) == [("skipped", "XD-AUTH-002")]
        with env.db.read() as s:
            entry = s.get(OutboxEntry, entry_id)
            assert (entry.status, entry.attempts) == ("pending", 0)
        # and the retried import runs on the refreshed credentials
        assert jobs.claim_and_process(env.ctx, ids=[entry_id]) == ["done"]


def test_a_paused_leader_does_not_stop_its_siblings_import(tmp_path, monkeypatch, db):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        # Given amazon-de paused for its credentials, and an order on amazon-us (same seller, one shared poll)
        assert jobs.order_poll_group(env.cfg, SIBLING) == (LEADER, SIBLING)
        jobs.pause_channel(env.db, LEADER, AuthError("XD-AUTH-002", channel=LEADER, detail="revoked"))
        sims = env.sb.all_channels()
        placed = env.sb.buy_once(env.sb_channels[SIBLING], sims[env.sb_channels[SIBLING]])
        assert placed is not None
        time.sleep(2.5)                                  # past Amazon's 2-minute visibility (time scale 60)
        # When the shared import's scheduled entry (the leader's: only it has the schedule) runs
        entry_id = _enqueue(env.db, LEADER, "orders:amazon-de:scheduled")
        outcome = jobs.claim_and_process(env.ctx, ids=[entry_id])
        # Then amazon-us's order is imported, and amazon-de stays paused
        assert outcome == ["done"]
        with env.db.read() as s:
            assert s.scalar(select(Order.channel).where(Order.platform_order_id == placed)) == SIBLING
        assert _paused(env.db, LEADER) == "XD-AUTH-002"


def test_a_paused_channel_is_tried_again_once_its_credentials_change(tmp_path, monkeypatch, db):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        amazon = env.sb.sims["amazon"]
        # Given amazon-de paused by a refused refresh
        amazon.auth_scenario("revoke_refresh_token", None)
        entry_id = _enqueue(env.db, LEADER, "orders:amazon-de:refused")
        assert jobs.claim_and_process(env.ctx, ids=[entry_id]) == ["paused"]
        assert _paused(env.db, LEADER) == "XD-AUTH-002"
        # When the seller's authorisation is back and a person refreshes the token (no `auth resume`)
        amazon.auth_scenario("restore", None)
        doc = refresh_channel_token(env.cfg, env.db, LEADER)
        # Then the channel runs again by itself: its credentials moved past the ones that paused it
        assert doc["paused_code"] is None
        assert _paused(env.db, LEADER) is None
        [resumed] = env.events("channel.resume", channel=LEADER)
        assert "credentials changed since the pause" in resumed.message


def test_a_channel_already_paused_is_not_paused_again(tmp_path, monkeypatch, db):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        # Given three of amazon-de's jobs running when its refresh token is refused
        ids = [_enqueue(env.db, LEADER, f"orders:amazon-de:{n}") for n in range(3)]
        claimed = outbox.claim(env.db, worker_id=env.ctx.worker_id, ids=ids, limit=3, lease_s=60)
        assert len(claimed) == 3
        # When each of them fails with the refusal
        outcomes = [settle(env.ctx, classify(AuthError("XD-AUTH-002", channel=LEADER, detail="invalid_grant"),
                                             channel=LEADER), kind=e.kind, channel=LEADER, entry=e)
                    for e in claimed]
        # Then the channel is paused once, with one pause event
        assert outcomes == ["paused"] * 3
        assert _pause_events(env, LEADER) == [("failed", "XD-AUTH-002")]
