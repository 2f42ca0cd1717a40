"""``/hooks/shopify`` over real HTTP: the sandbox's signed webhooks (duplicated,
out of order) make crossdock read the order; forged, unknown, oversized
deliveries are refused with their code and change nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest
from sqlalchemy import select

from crossdock.db.models import Order, OutboxEntry, SyncEvent
from crossdock.events import READ
from crossdock.events.tables import EventDelivery, EventRead
from crossdock.sync_engine import dirty
from crossdock.sync_engine.jobs import claim_and_process
from tests.events.support import events_env, wait_for

SHOP = "shopify-eu"


@pytest.fixture
def env(tmp_path, monkeypatch):
    yield from events_env(tmp_path, monkeypatch)


def _shop(env):
    sim = env.sb.sims["shopify"]
    return sim, env.channels[SHOP].split(":", 1)[1]


def _post(env, body: bytes, *, secret: str | None = None, domain: str | None = None, topic="orders/create",
          webhook_id="w-forged", **kw) -> httpx.Response:
    sim, shop = _shop(env)
    sig = base64.b64encode(hmac.new((secret or sim.client_secret_for(shop)).encode(), body,
                                    hashlib.sha256).digest()).decode()
    headers = {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": sig, "X-Shopify-Webhook-Id": webhook_id,
               "X-Shopify-Shop-Domain": domain or f"{shop}.myshopify.com", "Content-Type": "application/json"}
    return httpx.post(f"{env.base}/hooks/shopify", content=kw.pop("content", body), headers=headers, timeout=10)


def _nothing_changed(env) -> None:
    assert env.count(OutboxEntry, OutboxEntry.kind == READ) == 0
    assert env.count(EventRead) == 0
    assert env.count(Order) == 0


def test_the_sandboxs_webhooks_duplicated_and_reordered_make_crossdock_read_the_order(env):
    sim, shop = _shop(env)
    # Given the shop subscribed to crossdock's endpoint, delivering every webhook twice and creates late
    for topic in ("orders/create", "orders/paid"):
        sim.subscribe(shop, topic, f"{env.base}/hooks/shopify")
    sim.webhook_duplicate_probability = 1.0
    sim.webhook_out_of_order_probability = 1.0
    sku = sorted(s for s, q in sim.listed(env.channels[SHOP]).items() if q > 0)[0]
    # When a buyer buys
    started = time.monotonic()
    oid = sim.place_order(env.channels[SHOP], [(sku, 1)], buyer_country="DE")
    wait_for("the first delivery", lambda: env.count(EventDelivery, EventDelivery.outcome == "accepted") >= 1)
    first_s = time.monotonic() - started
    wait_for("duplicates", lambda: env.count(EventDelivery, EventDelivery.outcome == "duplicate") >= 1)
    # Then each delivery was taken once, the copies recorded as duplicates, and one read is queued
    with env.ctx.db.read() as s:
        accepted = list(s.execute(select(EventDelivery.topic, EventDelivery.order_ids)
                                  .where(EventDelivery.outcome == "accepted")))
    assert {tuple(ids) for _, ids in accepted} == {(oid,)}
    assert env.count(OutboxEntry, OutboxEntry.kind == READ, OutboxEntry.status == "pending") == 1
    assert first_s < 5
    # And the read stores the order as a poll would, and the stock push follows
    while claim_and_process(env.ctx, kinds=[READ], limit=5):
        pass
    assert env.count(Order, Order.platform_order_id == oid, Order.channel == SHOP) == 1
    assert env.count(OutboxEntry, OutboxEntry.kind == dirty.PUSH_STOCK) >= 1


def test_a_forged_signature_is_refused_with_its_code_and_changes_nothing(env):
    body = json.dumps({"id": 4242, "line_items": [{"sku": "X", "quantity": 99}]}).encode()
    got = _post(env, body, secret="not-the-secret")
    assert got.status_code == 401 and got.json()["code"] == "XD-EVT-001"
    # and a genuine signature over another body does not pass for this one either
    sig_of_other = _post(env, b'{"id": 1}', content=body)
    assert sig_of_other.status_code == 401
    _nothing_changed(env)
    with env.ctx.db.read() as s:
        rows = list(s.execute(select(EventDelivery.outcome, EventDelivery.code, EventDelivery.channel)))
    assert rows == [("refused", "XD-EVT-001", SHOP)] * 2
    assert env.count(SyncEvent, SyncEvent.code == "XD-EVT-001") == 2


def test_a_replayed_delivery_is_a_duplicate_and_an_unknown_shop_or_kind_is_refused(env):
    body = json.dumps({"id": 777}).encode()
    first = _post(env, body, webhook_id="w-1")
    assert first.status_code == 200 and first.elapsed.total_seconds() < 1.0     # record + enqueue only
    assert _post(env, body, webhook_id="w-1").status_code == 200          # replayed: acknowledged, nothing more
    assert env.count(EventDelivery, EventDelivery.outcome == "duplicate") == 1
    assert env.count(EventRead) == 1
    unknown = _post(env, body, domain="someone-else.myshopify.com", webhook_id="w-2")
    assert unknown.status_code == 404 and unknown.json()["code"] == "XD-EVT-003"
    nobody = httpx.post(f"{env.base}/hooks/nope", content=body, timeout=10)
    assert nobody.status_code == 404 and nobody.json()["code"] == "XD-EVT-005"
    no_id = _post(env, b'{"no": "id"}', webhook_id="w-3")
    assert no_id.status_code == 400 and no_id.json()["code"] == "XD-EVT-004"
    assert env.count(EventRead) == 1


def test_a_10_mb_body_is_refused_unread_with_or_without_a_length(env):
    big = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    declared = _post(env, big)
    assert declared.status_code == 413 and declared.json()["code"] == "XD-EVT-002"

    def chunks():
        for _ in range(10 * 16):
            yield b" " * 65536

    streamed = _post(env, big, content=chunks())
    assert streamed.status_code == 413
    _nothing_changed(env)
    assert env.count(EventDelivery, EventDelivery.code == "XD-EVT-002") == 2


def test_the_console_app_serves_the_same_hooks(tmp_path, monkeypatch):
    for env in events_env(tmp_path, monkeypatch, console=True):
        body = json.dumps({"id": 778}).encode()
        assert _post(env, body, webhook_id="w-1").status_code == 200
        assert _post(env, body, webhook_id="w-1").status_code == 200
        assert _post(env, body, secret="wrong", webhook_id="w-2").status_code == 401
        assert env.count(EventDelivery, EventDelivery.outcome == "accepted") == 1
        assert env.count(EventDelivery, EventDelivery.outcome == "duplicate") == 1
        assert httpx.get(f"{env.base}/healthz", timeout=5).text == "ok"


def test_a_dropped_webhook_is_counted_and_no_event_reaches_crossdock(env):
    sim, shop = _shop(env)
    sim.subscribe(shop, "orders/create", f"{env.base}/hooks/shopify")
    got = httpx.post(f"{env.sb.admin_url}/events/shopify", json={"drop_probability": 1}, timeout=10)
    assert got.json()["drop_probability"] == 1.0
    sku = sorted(s for s, q in sim.listed(env.channels[SHOP]).items() if q > 0)[0]
    assert sim.place_order(env.channels[SHOP], [(sku, 1)], buyer_country="DE")
    assert sim.webhooks.stats["dropped"] >= 1 and sim.webhooks.stats["enqueued"] == 0
    assert env.count(EventDelivery) == 0
