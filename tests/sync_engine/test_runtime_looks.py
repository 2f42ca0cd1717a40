"""The engine's loop looks at the database when something is due, not on every tick.

``crossdock worker``'s loop fires schedules and relays outbox entries. It used
to query twice every ``[sync] tick_s`` whatever was due: under a sandbox's
fast clock (time scale 30) that was 60 looks a real second, most of them
finding nothing. It now sleeps until the earliest schedule, entry or
heartbeat it knows of, or until this process commits work due sooner, and
never longer than its longest sleep (``runtime.IDLE_LOOK_REAL_S``, raised
here to 2 s so the difference shows).
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from crossdock import config as config_mod
from crossdock.db.base import utcnow
from crossdock.db.models import OutboxEntry
from crossdock.sync_engine import outbox
from crossdock.sync_engine import runtime as runtime_mod
from crossdock.sync_engine.runtime import EngineRuntime

T = __import__("datetime").timedelta
LONGEST_S = 2.0


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime_mod, "IDLE_LOOK_REAL_S", LONGEST_S)
    url = f"sqlite:///{tmp_path / 'crossdock.sqlite'}"
    (tmp_path / "crossdock.toml").write_text(
        f'[database]\nurl = "{url}"\n\n[broker]\nurl = "stub://"\n\n'
        "[sync]\ntick_s = 0.02\nheartbeat_s = 30\nworker_dead_after_s = 90\n", encoding="utf-8")
    cfg = config_mod.load(tmp_path / "crossdock.toml", env={})
    rt = EngineRuntime(cfg, threads=1).start()
    try:
        _settle(rt)
        yield rt
    finally:
        rt.stop()


def _settle(rt: EngineRuntime) -> None:
    """Wait out the start-up runs (every schedule is due when the worker starts)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with rt.database.read() as s:
            if not s.scalar(select(OutboxEntry.id).where(OutboxEntry.status.in_(("pending", "running")))):
                return
        time.sleep(0.05)


def _status(rt: EngineRuntime, key: str) -> str | None:
    with rt.database.read() as s:
        return s.scalar(select(OutboxEntry.status).where(OutboxEntry.idempotency_key == key))


def test_with_nothing_due_the_loop_does_not_look_every_tick(runtime):
    ticks = runtime.ticks
    time.sleep(1.0)
    # tick_s 0.02 s was 50 looks in a second; the schedules' next runs are a minute and more away
    assert runtime.ticks - ticks <= 2


def test_work_this_process_commits_for_later_is_relayed_when_due_not_at_the_longest_sleep(runtime):
    time.sleep(0.1)                           # the loop is asleep, its next look up to 2 s away
    due = utcnow() + T(seconds=0.4)
    with runtime.database.write() as s:
        assert outbox.enqueue(s, "no_such_job", channel=None, idempotency_key="later", available_at=due)
    assert _status(runtime, "later") == "pending"
    deadline = time.monotonic() + LONGEST_S
    while time.monotonic() < deadline and _status(runtime, "later") == "pending":
        time.sleep(0.02)
    woken_after_s = (utcnow() - due).total_seconds()
    assert _status(runtime, "later") != "pending", "the entry was not relayed"
    assert -0.05 < woken_after_s < 1.0, f"relayed {woken_after_s:.2f} s after it fell due"


def test_a_stop_wakes_the_sleeping_loop(runtime):
    time.sleep(0.1)
    started = time.monotonic()
    runtime.stop()
    assert time.monotonic() - started < LONGEST_S
    assert runtime._thread is not None and not runtime._thread.is_alive()
