"""``/hooks/ebay/CHANNEL`` over real HTTP against the sandbox's Notification
API: the setup passes eBay's challenge, signed ORDER_CONFIRMATIONs make
crossdock read the order, forged ones are refused, an account deletion
erases the buyer."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from crossdock.audit import AuditRow
from crossdock.connectors.ebay.hooks import challenge_response
from crossdock.db.models import Order, OutboxEntry
from crossdock.events import ERASE, READ
from crossdock.events.http import derive_secret
from crossdock.events.tables import EventDelivery, EventRead
from crossdock.ratelimit.waits import inline_waits
from crossdock.sync_engine.jobs import claim_and_process
from tests.events.support import events_env, wait_for

CH = "ebay-uk"


@pytest.fixture
def env(tmp_path, monkeypatch):
    yield from events_env(tmp_path, monkeypatch)


def _endpoint(env) -> str:
    return f"{env.base}/hooks/ebay/{CH}"


def _setup(env) -> list[dict]:
    conn = env.ctx.connectors.get(CH)
    with inline_waits(30):       # a person's command waits for quota, as the CLI does
        return conn.setup_events(endpoint=_endpoint(env),
                                 secret=derive_secret(env.secret_key, f"ebay-verification:{CH}"))


def _sell(env, n_lines=1) -> str:
    sim = env.sb.sims["ebay"]
    skus = sorted(s for s, q in sim.listed(env.channels[CH]).items() if q > 0)[:n_lines]
    oid = sim.place_order(env.channels[CH], [(s, 1) for s in skus], buyer_country="GB")
    assert oid
    return oid


def _run_jobs(env) -> None:
    while claim_and_process(env.ctx, kinds=[READ, ERASE], limit=5):
        pass


def test_setup_passes_the_challenge_and_an_order_confirmation_reads_the_order(env):
    notes = env.sb.sims["ebay"].notifications
    # Given the channel set up: eBay challenged the endpoint and both topics are subscribed, enabled
    subs = _setup(env)
    assert notes.challenges == 1
    assert {(s["topic"], s["status"]) for s in subs} == {("ORDER_CONFIRMATION", "ENABLED"),
                                                        ("MARKETPLACE_ACCOUNT_DELETION", "ENABLED")}
    assert _setup(env) == subs                       # again: nothing new
    # When a buyer buys two items (eBay sends one notification per line item, each delivered twice)
    env.sb.sims["ebay"].configure(notification_duplicate_probability=1.0)
    oid = _sell(env, n_lines=2)
    wait_for("two notifications and their copies",
             lambda: env.count(EventDelivery, EventDelivery.outcome == "accepted") == 2
             and env.count(EventDelivery, EventDelivery.outcome == "duplicate") == 2)
    # Then one read of the order is queued, and it stores the order through the polling path
    assert env.count(EventRead) == 1
    assert env.count(OutboxEntry, OutboxEntry.kind == READ) == 1
    _run_jobs(env)
    with env.ctx.db.read() as s:
        stored = s.execute(select(Order.channel, Order.shipping_address).where(Order.platform_order_id == oid)).one()
    assert stored.channel == CH and stored.shipping_address["buyer_id"]


def test_a_challenge_is_answered_as_ebay_computes_it(env):
    got = httpx.get(_endpoint(env), params={"challenge_code": "a8628072-3d33-45ee-9004-bee86830a22d"}, timeout=10)
    token = derive_secret(env.secret_key, f"ebay-verification:{CH}")
    assert got.status_code == 200
    assert got.json() == {"challengeResponse": challenge_response("a8628072-3d33-45ee-9004-bee86830a22d", token,
                                                                  _endpoint(env))}
    assert httpx.get(f"{env.base}/hooks/ebay/nobody", params={"challenge_code": "x"}, timeout=10).status_code == 404


def _post(env, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-EBAY-SIGNATURE"] = signature
    return httpx.post(_endpoint(env), content=body, headers=headers, timeout=10)


def _sign(key: ec.EllipticCurvePrivateKey, kid: str, body: bytes) -> str:
    sig = base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA1()))).decode()
    return base64.b64encode(json.dumps({"alg": "ecdsa", "kid": kid, "signature": sig,
                                        "digest": "SHA1"}).encode()).decode()


def test_forged_and_unsigned_notifications_are_refused_and_change_nothing(env):
    notes = env.sb.sims["ebay"].notifications
    body = json.dumps({"metadata": {"topic": "ORDER_CONFIRMATION"},
                       "notification": {"notificationId": "n-1", "data": {"orderId": "12-34567-89012"}}}).encode()
    mallory = ec.generate_private_key(ec.SECP256R1())
    answers = [_post(env, body, None),                                  # no signature
               _post(env, body, "bm90IGpzb24="),                        # not eBay's shape
               _post(env, body, _sign(mallory, notes.signer.kid, body)),  # eBay's kid, another key
               _post(env, body, _sign(mallory, "made-up-kid", body))]   # a kid eBay does not know
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(401, "XD-EVT-001")] * 4
    # and eBay's own signature over another body does not pass for this one
    assert _post(env, body, notes.signer.header(body.replace(b"n-1", b"n-2"))).status_code == 401
    assert env.count(EventRead) == 0 and env.count(OutboxEntry, OutboxEntry.kind == READ) == 0
    assert env.count(EventDelivery, EventDelivery.outcome == "refused", EventDelivery.code == "XD-EVT-001") == 5
    # while eBay's signature over this body is taken, once
    assert _post(env, body, notes.signer.header(body)).status_code == 204
    assert _post(env, body, notes.signer.header(body)).status_code == 204
    assert env.count(EventDelivery, EventDelivery.outcome == "accepted") == 1
    assert env.count(EventDelivery, EventDelivery.outcome == "duplicate") == 1


def test_a_marketplace_account_deletion_erases_the_buyer(env):
    sim = env.sb.sims["ebay"]
    _setup(env)
    oid = _sell(env)
    wait_for("the order confirmation", lambda: env.count(EventRead) == 1)
    _run_jobs(env)
    username = sim.orders[sim.account_for_channel(env.channels[CH]).username][oid].buyer_username
    with env.ctx.db.read() as s:
        before = s.scalar(select(Order.shipping_address).where(Order.platform_order_id == oid))
    assert before["name"] and before["buyer_id"] == username
    # When eBay says the buyer's account was deleted
    got = httpx.post(f"{sim.server.url}/sandbox/notifications/account_deletion", json={"username": username},
                     timeout=10)
    assert got.json()["notifications"] == 1
    wait_for("the deletion notification", lambda: env.count(OutboxEntry, OutboxEntry.kind == ERASE) == 1)
    _run_jobs(env)
    # Then the order keeps only the buyer's country, and the erasure is audited
    with env.ctx.db.read() as s:
        after = s.scalar(select(Order.shipping_address).where(Order.platform_order_id == oid))
        audited = s.scalar(select(AuditRow.id).where(AuditRow.action == "erase.buyer"))
    assert after == {"country_code": before["country_code"]}
    assert audited is not None


def test_dropped_notifications_are_counted_and_none_reaches_crossdock(env):
    _setup(env)
    got = httpx.post(f"{env.sb.admin_url}/events/ebay", json={"drop_probability": 1}, timeout=10)
    assert got.json()["drop_probability"] == 1.0
    assert httpx.post(f"{env.sb.admin_url}/events/nope", json={}, timeout=10).status_code == 400
    _sell(env)
    notes = env.sb.sims["ebay"].notifications
    assert notes.dispatcher.stats["dropped"] == 1 and notes.dispatcher.stats["enqueued"] == 0
    assert env.count(EventDelivery) == 0


def test_the_orders_of_many_notifications_are_read_in_one_call(env):
    from crossdock.db.models import SyncEvent
    from crossdock.events import accept

    _setup(env)
    first, second = _sell(env), _sell(env)
    wait_for("both confirmations", lambda: env.count(EventRead) == 2)
    accept(env.ctx.db, channel=CH, source="ebay", topic="ORDER_CONFIRMATION", delivery_id="forged-1",
           order_ids=["11-11111-11111"])
    seq = max((e["seq"] for e in env.sb.requests.since(0)), default=0)
    _run_jobs(env)
    calls = [e["operation"] for e in env.sb.requests.since(seq, platform="ebay")
             if e["operation"] in ("getOrders", "getOrder")]
    assert calls == ["getOrders"]
    assert env.count(Order, Order.platform_order_id.in_([first, second])) == 2
    assert env.count(SyncEvent, SyncEvent.code == "XD-EVT-010", SyncEvent.entity == "11-11111-11111") == 1
    assert env.count(EventRead) == 0
