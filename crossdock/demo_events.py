"""``crossdock demo --events``: the platforms' events on, as an operator turns them on.

The demo serves the events endpoint as ``crossdock serve --events-only``
serves it (the same ASGI app, on uvicorn, on a loopback port), writes that
address as ``[events] public_url`` with the sandbox's notification queues in
its channels (as ``crossdock config init --events-url`` writes them), runs
``crossdock events setup`` for every channel, and starts the engine with the
queue consumers ``crossdock worker`` starts. Polling stays on: the figures
compare a run with events against one without, and a run with a share of
the events dropped (the sandbox's ``event_drop`` fault).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from crossdock.db.engine import Database
from crossdock.demo_propagation import NEVER, pct

__all__ = ["EventsServer", "drop_events", "event_counts", "free_port", "order_known_figures", "subscribe_all"]


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EventsServer:
    """The events endpoint (``crossdock serve --events-only``'s app) on a
    uvicorn server in a thread of this process."""

    def __init__(self, cfg: Any, db: Database, *, port: int, host: str = "127.0.0.1") -> None:
        import uvicorn

        from crossdock import secrets
        from crossdock.console.server import Server
        from crossdock.events.http import build_events_app

        app = build_events_app(cfg, db, secret_key=secrets.keys()[0])
        self.url = f"http://{host}:{port}"
        self.server = Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                            server_header=False))
        self.thread = threading.Thread(target=self.server.run, name="demo-events", daemon=True)

    def start(self, timeout_s: float = 10.0) -> "EventsServer":
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the events endpoint did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def subscribe_all(ctx: Any, channels: Iterable[str]) -> dict[str, Any]:
    """``crossdock events setup`` for each channel, as that command runs it (a
    quota wait is waited out): channel → its setup document."""
    from crossdock import secrets
    from crossdock.events.setup import setup_doc
    from crossdock.ratelimit.waits import PERSON_WAIT_S, inline_waits

    with inline_waits(PERSON_WAIT_S):
        return {name: setup_doc(ctx, name, secret_key=secrets.keys()[0]) for name in channels}


def drop_events(sb: Any, probability: float) -> None:
    """The sandbox loses this share of every platform's events (webhooks,
    notifications, queue messages), seeded like its other faults."""
    from crossdock.sandbox.core import Fault

    if probability > 0:
        sb.faults.add(Fault(kind="event_drop", platform="*", probability=float(probability)))


def event_counts(db: Database, channels: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per channel, the deliveries crossdock received: accepted, duplicate, refused."""
    from crossdock.events.setup import channel_stats

    return {name: {k: v for k, v in channel_stats(db, name).items() if k in ("accepted", "duplicate", "refused")}
            for name in channels}


def order_known_figures(sales: Iterable[Mapping[str, Any]], imported_at: Mapping[str, float]) -> dict[str, Any]:
    """Sandbox seconds from each order's sale (the sandbox's record) until
    crossdock had stored it (``imported_at``: order id → sandbox time of the
    row's import), p50/p95 overall and by the platform it sold on. An order
    never stored counts as beyond the run (``missing``)."""
    first: dict[str, Mapping[str, Any]] = {}
    for sale in sales:
        first.setdefault(str(sale["order_id"]), sale)
    delays: list[float] = []
    by_source: dict[str, list[float]] = {}
    missing = 0
    for oid, sale in first.items():
        at = imported_at.get(oid)
        delay = NEVER if at is None else max(0.0, at - float(sale["at"]))
        missing += at is None
        delays.append(delay)
        by_source.setdefault(str(sale["channel"]).split(":")[0], []).append(delay)

    return {"p50": pct(delays, 0.5), "p95": pct(delays, 0.95), "orders": len(delays), "missing": missing,
            "by_source": {p: {"p50": pct(v, 0.5), "p95": pct(v, 0.95), "n": len(v)}
                          for p, v in sorted(by_source.items())}}
