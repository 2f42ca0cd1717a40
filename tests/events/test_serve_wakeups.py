"""``crossdock serve`` with a shared broker wakes the workers as an accepted
event's read commits, as a worker's own work does: the wake-up is on the
broker's queue while no worker (and so no relay) runs at all."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid

import httpx
import redis
from sqlalchemy import select

from crossdock.db.models import OutboxEntry
from crossdock.demo import DemoOptions
from crossdock.demo_events import free_port
from crossdock.events import READ
from crossdock.sandbox.core import Sandbox
from crossdock.sync_engine import actors
from tests.deploy.harness import Process, clean_env, wait_for
from tests.services import REDIS_URL, require_redis
from tests.sync_engine.support import demo_env

SHOP = "shopify-eu"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_an_accepted_webhook_wakes_the_fast_lane_through_redis_with_no_worker_running(tmp_path, monkeypatch):
    require_redis()
    namespace = f"xd-serve-{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(REDIS_URL)
    opts = DemoOptions(skus=4, time_scale=60, seed=7, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        # Given the events endpoint served on its own, the broker shared (Redis), and no worker
        config = tmp_path / "crossdock.toml"
        text, n = re.subn(r'(?m)^url = "stub://"$', f'url = "{REDIS_URL}"', config.read_text())
        assert n == 1, text
        config.write_text(text)
        port = free_port()
        serve = Process(["--config", str(config), "serve", "--events-only", "--port", str(port)], cwd=tmp_path,
                        env=clean_env(CROSSDOCK_BROKER_NAMESPACE=namespace), log_path=tmp_path / "serve.log")
        try:
            serve.wait_output("crossdock events", timeout_s=60)
            wait_for("the events endpoint answering", lambda: _answers(f"http://127.0.0.1:{port}/healthz"),
                     timeout_s=30, info=serve.tail)
            # When the shop posts a signed orders/create webhook
            sim = sb.sims["shopify"]
            shop = channels[SHOP].split(":", 1)[1]
            body = json.dumps({"id": 4242, "admin_graphql_api_id": "gid://shopify/Order/4242"}).encode()
            sig = base64.b64encode(hmac.new(sim.client_secret_for(shop).encode(), body, hashlib.sha256).digest())
            r = httpx.post(f"http://127.0.0.1:{port}/hooks/shopify", content=body, timeout=10, headers={
                "X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sig.decode(),
                "X-Shopify-Webhook-Id": "w-wake-1", "X-Shopify-Shop-Domain": f"{shop}.myshopify.com",
                "Content-Type": "application/json"})
            assert r.status_code == 200, r.text
            # Then its read is in the outbox, and its wake-up on the fast lane's queue at once
            with db.read() as s:
                ids = list(s.scalars(select(OutboxEntry.id).where(OutboxEntry.kind == READ)))
            assert len(ids) == 1, ids
            queue = f"{namespace}:{actors.FAST_QUEUE}"
            deadline = time.monotonic() + 10
            while client.hlen(f"{queue}.msgs") == 0:
                assert time.monotonic() < deadline, (sorted(client.keys(f"{namespace}:*")), serve.tail())
                time.sleep(0.05)
            woken = [json.loads(m) for m in client.hvals(f"{queue}.msgs")]
            assert [m["args"] for m in woken] == [[ids[0]]], woken
            assert {m["actor_name"] for m in woken} == {actors.process_fast_entry.actor_name}
            rc, _ = serve.terminate(timeout_s=30)
            assert rc == 0, serve.tail()
            assert "Traceback" not in serve.output(), serve.tail()
        finally:
            if serve.proc.poll() is None:
                serve.kill()
            for key in client.scan_iter(f"{namespace}:*"):
                client.delete(key)
            db.dispose()
