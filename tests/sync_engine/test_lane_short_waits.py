"""A push or fast-lane run sleeps through a quota wait no longer than the
loop's tick instead of releasing its entry (crossdock.sync_engine.actors);
every other wait, and every wait on the common lane, releases the entry as
before. Through the actors' own entry point, the real outbox and settle."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select

from crossdock.db.models import OutboxEntry
from crossdock.demo import DemoOptions
from crossdock.ratelimit.waits import QuotaWait, wait_or_raise
from crossdock.sandbox.core import Sandbox
from crossdock.sync_engine import actors, dirty, outbox
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs import JOBS, JobSpec, register
from crossdock.sync_engine.jobs.context import configured_tick_real_s
from crossdock.ratelimit.budget import Priority
from tests.sync_engine.support import demo_env

KIND = "test.waits_once"
runs: list[float] = []


def _waits_once(ctx, entry):
    """Asks for quota it cannot have yet on its first run (as a connector does),
    then goes on; ``runs`` gets the run's start and, when it went on, its end."""
    run = [time.monotonic()]
    runs.append(run)
    if len(runs) == 1:
        wait_or_raise(QuotaWait(float(entry.payload["wait_s"]), platform="amazon", operation="patchListingsItem",
                                channel=entry.channel))
    run.append(time.monotonic())
    return {"runs": len(runs)}


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    opts = DemoOptions(skus=2, time_scale=60, seed=3, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, _channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        context = context_from_config(cfg, db)
        register(JobSpec(KIND, _waits_once, Priority.STOCK))
        actors.set_context(context)
        runs.clear()
        try:
            yield context
        finally:
            actors.set_context(None)
            JOBS.pop(KIND, None)
            context.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
            db.dispose()


def _entry(ctx, wait_s: float, key: str) -> int:
    with ctx.db.write() as s:
        outbox.enqueue(s, KIND, channel="amazon-us", payload={"wait_s": wait_s}, idempotency_key=key)
        return int(s.scalar(select(OutboxEntry.id).where(OutboxEntry.idempotency_key == key)))


def _state(ctx, entry_id: int) -> tuple[str, dt.datetime]:
    with ctx.db.read() as s:
        row = s.execute(select(OutboxEntry.status, OutboxEntry.available_at).where(OutboxEntry.id == entry_id)).one()
    return row[0], row[1]


def test_a_lane_run_sleeps_through_a_wait_shorter_than_the_tick(ctx):
    tick = configured_tick_real_s(ctx.cfg)                     # 0.5 platform s at time scale 60: 8 ms
    wait = tick / 2
    entry_id = _entry(ctx, wait, "short")
    actors._process(entry_id, short_waits=True)
    assert len(runs) == 1 and runs[0][1] - runs[0][0] >= wait * 0.9   # the run went on after the wait, in place
    assert _state(ctx, entry_id)[0] == "done"


def test_a_longer_wait_or_the_common_lane_releases_the_entry(ctx):
    tick = configured_tick_real_s(ctx.cfg)
    for short_waits, wait, key in ((True, tick * 20, "long"), (False, tick / 2, "common-lane")):
        runs.clear()
        entry_id = _entry(ctx, wait, key)
        actors._process(entry_id, short_waits=short_waits)
        status, available_at = _state(ctx, entry_id)
        assert [len(r) for r in runs] == [1], key               # released: the run ended at the wait
        assert status == "pending", key
        assert available_at.replace(tzinfo=dt.timezone.utc) > dt.datetime.now(dt.timezone.utc) - dt.timedelta(
            seconds=1), key
