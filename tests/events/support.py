"""An events environment for the tests: the demo's channels on a real
sandbox, a migrated database, and ``/hooks/…`` served by uvicorn in a thread
(the events-only app, as ``crossdock serve --events-only`` runs it)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from crossdock.demo import DemoOptions
from crossdock.sandbox.core import Sandbox
from crossdock.sync_engine import dirty
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs import EngineContext
from tests.sync_engine.support import demo_env


def stored_by_events(db_url: str, *, outcomes: tuple[str, ...] = ("ok", "partial")) -> dict[str, int]:
    """Channel → new orders the events' reads stored (the sync log's ``events.read`` rows with
    ``outcomes``; a partial read stored what it read), channels with none left out."""
    from crossdock.db.engine import Database
    from crossdock.db.models import SyncEvent

    db = Database(db_url)
    try:
        with db.read() as s:
            rows = s.execute(select(SyncEvent.channel, SyncEvent.details)
                             .where(SyncEvent.operation == "events.read", SyncEvent.outcome.in_(outcomes))).all()
    finally:
        db.dispose()
    out: dict[str, int] = {}
    for channel, details in rows:
        out[channel] = out.get(channel, 0) + int((details or {}).get("new", 0))
    return {c: n for c, n in out.items() if n}


@dataclass
class EventsEnv:
    sb: Sandbox
    ctx: EngineContext
    channels: dict[str, str]
    base: str                       # http://127.0.0.1:PORT
    secret_key: str

    def count(self, model: Any, *where: Any) -> int:
        with self.ctx.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def events_env(tmp_path, monkeypatch, *, seed: int = 7, console: bool = False) -> Iterator[EventsEnv]:
    """``console``: the console's app (hooks beside the pages), not the events-only one."""
    import uvicorn

    from crossdock import secrets
    from crossdock.events.http import build_events_app

    opts = DemoOptions(skus=4, time_scale=60, seed=seed, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        cfg.events.update(public_url=base, max_body_bytes=1_048_576)
        key = secrets.keys()[0]
        if console:
            from crossdock.console.app import build_app

            app = build_app(cfg, db, secret_key=key)
        else:
            app = build_events_app(cfg, db, secret_key=key)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the events app did not start"
            time.sleep(0.02)
        ctx = context_from_config(cfg, db)
        try:
            yield EventsEnv(sb, ctx, channels, base, key)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            app.state.event_receivers.close()
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
            db.dispose()


def wait_for(what: str, cond, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
