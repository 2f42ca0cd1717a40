"""Webhook delivery from the Shopify sandbox: subscriptions, signatures,
duplicates, reordering, retries, the bounded queue."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from tests.sandbox.shopify.shopify_box import CHANNEL, Receiver

SUBSCRIBE = """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri } userErrors { field message } } }"""


def subscribe(box, receiver, *topics):
    for t in topics:
        body = box.data(SUBSCRIBE, {"topic": t, "uri": receiver.url})["webhookSubscriptionCreate"]
        assert body["userErrors"] == [] and body["webhookSubscription"]["topic"] == t


def signature_ok(headers, body, secret):
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers["X-Shopify-Hmac-Sha256"])


def test_nothing_is_sent_without_subscriptions(box, receiver):
    box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    assert receiver.wait_for(1, timeout_s=0.3) == []
    assert box.sim.webhooks.stats["enqueued"] == 0 and box.sim.webhooks._thread is None


def test_subscriptions_and_signed_deliveries(box, receiver):
    subscribe(box, receiver, "ORDERS_CREATE", "ORDERS_PAID", "INVENTORY_LEVELS_UPDATE")
    listed = box.data("{ webhookSubscriptions(first: 10) { nodes { topic uri } } }")["webhookSubscriptions"]["nodes"]
    assert {n["topic"] for n in listed} == {"ORDERS_CREATE", "ORDERS_PAID", "INVENTORY_LEVELS_UPDATE"}
    dup = box.data(SUBSCRIBE, {"topic": "ORDERS_PAID", "uri": receiver.url})["webhookSubscriptionCreate"]
    assert dup["userErrors"][0]["message"] == "Address for this topic has already been taken"
    oid = box.sim.place_order(CHANNEL, [("MUG-BLUE", 2)], buyer_country="SE")
    got = receiver.wait_for(3)
    assert [h["X-Shopify-Topic"] for h, _ in got] == ["orders/create", "orders/paid", "inventory_levels/update"]
    secret = box.shop["client_secret"]
    for headers, body in got:
        assert signature_ok(headers, body, secret)
        assert headers["X-Shopify-Shop-Domain"] == "crossdock-eu.myshopify.com"
        assert headers["X-Shopify-API-Version"] == "2026-10"
        assert headers["X-Shopify-Webhook-Id"] and headers["X-Shopify-Triggered-At"].endswith("Z")
    order = json.loads(got[0][1])
    assert order["id"] == int(oid) and order["admin_graphql_api_id"] == f"gid://shopify/Order/{oid}"
    assert order["financial_status"] == "paid" and order["fulfillment_status"] is None
    assert order["presentment_currency"] == "SEK" and order["currency"] == "EUR"
    assert order["created_at"].endswith(("+01:00", "+02:00"))       # shop time zone, Europe/Berlin
    assert order["line_items"][0]["sku"] == "MUG-BLUE" and order["line_items"][0]["price"] == "12.50"
    level = json.loads(got[2][1])
    assert level["available"] == 18 and set(level) >= {"inventory_item_id", "location_id", "updated_at"}


def test_webhook_subscription_delete_and_bad_uri(box, receiver):
    body = box.data(SUBSCRIBE, {"topic": "ORDERS_CREATE", "uri": "ftp://nope"})["webhookSubscriptionCreate"]
    assert body["userErrors"] == [{"field": ["webhookSubscription", "uri"], "message": "Address is invalid"}]
    sid = box.sim.subscribe("crossdock-eu", "orders/create", receiver.url)
    d = box.data('mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }',
                 {"id": sid})["webhookSubscriptionDelete"]
    assert d == {"deletedWebhookSubscriptionId": sid, "userErrors": []}
    box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    assert receiver.wait_for(1, timeout_s=0.3) == []


def test_duplicates_keep_the_webhook_id(box, receiver):
    box.sim.configure(webhook_duplicate_probability=1.0)
    box.sim.subscribe("crossdock-eu", "orders/create", receiver.url)
    box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    got = receiver.wait_for(2)
    assert len(got) == 2 and got[0][0]["X-Shopify-Webhook-Id"] == got[1][0]["X-Shopify-Webhook-Id"]
    assert got[0][1] == got[1][1]
    assert box.sim.webhooks.stats["duplicates"] == 1


def test_paid_can_arrive_before_create(box, receiver):
    box.sim.configure(webhook_out_of_order_probability=1.0)
    box.sim.subscribe("crossdock-eu", "orders/create", receiver.url)
    box.sim.subscribe("crossdock-eu", "orders/paid", receiver.url)
    box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    got = receiver.wait_for(2)
    assert [h["X-Shopify-Topic"] for h, _ in got] == ["orders/paid", "orders/create"]


def test_failed_deliveries_are_retried_with_the_same_id(box):
    failing = Receiver(status=500)
    try:
        box.sim.subscribe("crossdock-eu", "orders/create", failing.url)
        box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
        got = failing.wait_for(2, timeout_s=3.0)          # first retry after 10 sandbox s (0.17 s here)
        assert len(got) >= 2 and got[0][0]["X-Shopify-Webhook-Id"] == got[1][0]["X-Shopify-Webhook-Id"]
        assert box.sim.webhooks.stats["failed_attempts"] >= 1
    finally:
        failing.close()


def test_the_queue_is_bounded(box):
    d = box.sim.webhooks
    d.max_queue = 3
    far = box.sim.clock.timestamp() + 10**6
    for i in range(5):
        d.enqueue(shop="crossdock-eu", uri="http://127.0.0.1:9/", topic="orders/updated", payload={"i": i},
                  triggered_at="2026-01-01T00:00:00.000000Z", now=far)
    assert d.pending() == 3 and d.stats["dropped"] == 2
