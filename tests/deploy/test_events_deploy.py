"""Events on the deployed path: ``crossdock serve --events-only`` and ``crossdock
worker`` as processes, the sandbox as a process delivering real HTTP webhooks
and notifications and filling its SQS queue.

config init --from-sandbox --events-url → db upgrade → catalog, stock, listings
pull → serve --events-only → events setup for every channel → worker(s). The
order polls are set five platform minutes apart, so an order stored within
seconds of its sale came by its event; then a forged webhook is refused with its
code and changes nothing. Run on the embedded default (SQLite, one worker) and
on scale-out (PostgreSQL + Redis, two workers: each reads the same Amazon queues,
and every order is still stored once).
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from crossdock.demo_events import free_port
from tests.deploy.harness import (
    Process,
    SandboxProcess,
    clean_env,
    crossdock,
    crossdock_json,
    go_live_setup,
    imported_orders,
    log_tails,
    start_workers,
    wait_for,
)
from tests.events.support import stored_by_events
from tests.services import REDIS_URL, TempPostgresDatabase, require_postgres, require_redis

pytestmark = pytest.mark.slow

TIME_SCALE = 20.0
POLL_EVERY_S = 300           # platform seconds between order polls: 15 real seconds here


def _failed_event_work(db_url: str) -> list[tuple[str, str | None]]:
    """(operation, code) of every events row of the sync log that did not succeed."""
    from sqlalchemy import select

    from crossdock.db.engine import Database
    from crossdock.db.models import SyncEvent

    db = Database(db_url)
    try:
        with db.read() as s:
            return [(op, code) for op, code in s.execute(
                select(SyncEvent.operation, SyncEvent.code).where(SyncEvent.operation.like("events.%"),
                                                                  SyncEvent.outcome == "failed")).all()]
    finally:
        db.dispose()


def _events_on_the_deployed_path(tmp_path: Path, *, db_url: str, broker_url: str | None, workers: int) -> None:
    sandbox = SandboxProcess(cwd=tmp_path, time_scale=TIME_SCALE, seed=17)
    procs: list[Process] = []
    env = clean_env(CROSSDOCK_BROKER_NAMESPACE=f"xd-events-{uuid.uuid4().hex[:10]}")
    port = free_port()
    try:
        # Given a seller gone live with events: the config written with where the platforms post
        stock = {f"EV-{i:03d}": 12 for i in range(1, 7)}
        shown = go_live_setup(tmp_path, sandbox, stock, database_url=db_url,
                              broker_url=broker_url, env=env,
                              init_extra=("--events-url", f"http://127.0.0.1:{port}"))
        names = sorted(shown["channels"])
        # and its order polls five platform minutes apart, as an operator edits the file
        text = (tmp_path / "crossdock.toml").read_text()
        slow, n = re.subn(r"intervals_s = \{ orders = \d+ \}", f"intervals_s = {{ orders = {POLL_EVERY_S} }}", text)
        assert n == len(shown["channels"]), text
        (tmp_path / "crossdock.toml").write_text(slow)
        # and the events endpoint serving, every channel subscribed, and a worker running
        procs.append(Process(["serve", "--events-only", "--port", str(port)], cwd=tmp_path, env=env,
                             log_path=tmp_path / "serve.log"))
        procs[-1].wait_output("crossdock events", timeout_s=60)
        for name in names:
            done = crossdock("events", "setup", name, "--json", cwd=tmp_path, env=env)
            assert done.returncode == 0, done.stdout + done.stderr
            assert json.loads(done.stdout)["subscriptions"], done.stdout
        procs.extend(start_workers(tmp_path, env, workers))

        def info() -> str:
            return log_tails(procs)

        # the worker's first poll of each channel (go-live: what came before is history)
        wait_for("every channel's first order poll", lambda: all(
            c["orders"]["last_success_at"]
            for c in crossdock_json("sync", "status", cwd=tmp_path, env=env)["channels"].values()),
            timeout_s=60, every_s=1, info=info)

        # and every channel lists its share of the stock (the pull's quantities are held until the
        # first imports show nothing was sold meanwhile: docs/overselling.md)
        wait_for("every channel lists something", lambda: all(
            sum(ch["listed"].values()) > 0 for ch in sandbox.admin("GET", "/channels").values()),
            timeout_s=90, every_s=1, info=info)

        # When, just after a poll of every channel, a buyer buys on each
        def polls() -> dict[str, str]:
            return {n: c["orders"]["last_success_at"]
                    for n, c in crossdock_json("sync", "status", cwd=tmp_path, env=env)["channels"].items()}

        last = polls()
        wait_for("a fresh poll of every channel", lambda: all(v != last[n] for n, v in polls().items()),
                 timeout_s=90, every_s=0.5, info=info)
        channels = sandbox.admin("GET", "/channels")
        bought = {}
        for sb_channel in channels:
            oid = sandbox.admin("POST", "/buy", {"channel": sb_channel})["order_id"]
            assert oid, sb_channel
            bought[oid] = sb_channel
        sold_at = time.monotonic()
        # Then every order is stored within seconds (the polls are five platform minutes apart)
        wait_for("every order stored by its event", lambda: set(bought) <= imported_orders(db_url), timeout_s=60,
                 every_s=0.5, info=lambda: f"missing {sorted(set(bought) - imported_orders(db_url))}" + info())
        took = time.monotonic() - sold_at
        assert took * TIME_SCALE < POLL_EVERY_S / 2, took
        # by the reads their events asked for, each order once (every worker reads the Amazon queues)
        by_events = stored_by_events(db_url, outcomes=("ok",))
        assert sum(by_events.values()) == len(bought), by_events
        # and no worker's intake or read failed for the others' (a shared queue, a shared database)
        assert _failed_event_work(db_url) == [], _failed_event_work(db_url)
        status = crossdock_json("events", "status", cwd=tmp_path, env=env)
        received = {c["channel"]: c for c in status["channels"]}
        assert all(received[n]["accepted"] >= 1 for n in names), status

        # When someone posts a webhook signed with the wrong secret
        body = json.dumps({"id": 1, "admin_graphql_api_id": "gid://shopify/Order/1"}).encode()
        shop = next(n for n in names if n.startswith("shopify"))
        domain = next(c for c in channels if c.startswith("shopify")).split(":")[1]
        before = received[shop]["refused"]
        r = httpx.post(f"http://127.0.0.1:{port}/hooks/shopify", content=body, timeout=10, headers={
            "X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": f"{domain}.myshopify.com",
            "X-Shopify-Webhook-Id": "forged-1", "X-Shopify-Hmac-Sha256": base64.b64encode(b"x" * 32).decode()})
        # Then it is refused with its code, recorded, and no order appears
        assert r.status_code == 401 and "XD-EVT-001" in r.text, (r.status_code, r.text)
        status = crossdock_json("events", "status", cwd=tmp_path, env=env)
        assert {c["channel"]: c for c in status["channels"]}[shop]["refused"] == before + 1
        assert "1" not in imported_orders(db_url)

        for p in procs:
            rc, took = p.terminate(timeout_s=40)
            assert rc == 0 and took < 30, p.tail()
            assert "Traceback" not in p.output(), p.tail()
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.kill()
        sandbox.stop()


def test_serve_and_worker_take_every_platforms_events_from_the_sandbox(tmp_path: Path):
    _events_on_the_deployed_path(tmp_path, db_url=f"sqlite:///{tmp_path / 'crossdock.sqlite'}", broker_url=None,
                                 workers=1)


@pytest.mark.postgres
@pytest.mark.redis
def test_events_on_postgres_and_redis_with_two_workers(tmp_path: Path):
    require_postgres()
    require_redis()
    pg = TempPostgresDatabase()
    try:
        _events_on_the_deployed_path(tmp_path, db_url=pg.url, broker_url=REDIS_URL, workers=2)
    finally:
        pg.close()
