"""Webhook verification and parsing, alone and fed by the sandbox."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from crossdock.connectors.shopify import handle_webhook, parse_webhook, verify_webhook
from crossdock.errors import AuthError, MappingError
from crossdock.models import Order, OrderStatus
from tests.connectors.shopify.shopify_env import CHANNEL
from tests.sandbox.shopify.shopify_box import Receiver

BODY = (Path(__file__).resolve().parents[2] / "fixtures" / "shopify" / "webhook_orders_create.json").read_bytes()
SECRET = "shpss_test_secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_verify_webhook():
    assert verify_webhook(BODY, sign(BODY), SECRET)
    assert not verify_webhook(BODY + b" ", sign(BODY), SECRET)
    assert not verify_webhook(BODY, sign(BODY, "other"), SECRET)
    assert not verify_webhook(BODY, "not base64!", SECRET)
    assert not verify_webhook(BODY, None, SECRET)
    assert not verify_webhook(BODY, sign(BODY), "")


def test_handle_webhook_parses_an_order():
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sign(BODY),
               "x-shopify-shop-domain": "crossdock-eu.myshopify.com", "X-Shopify-Webhook-Id": "w-1",
               "X-Shopify-Triggered-At": "2026-11-20T11:05:10.123Z"}
    event = handle_webhook(headers, BODY, SECRET)
    assert (event.topic, event.shop_domain, event.webhook_id) == ("orders/create", "crossdock-eu.myshopify.com", "w-1")
    assert isinstance(event.order, Order) and event.order.platform_order_id == "6100000000004"
    assert event.payload["name"] == "#1004"


def test_bad_signature_is_xd_auth_008():
    with pytest.raises(AuthError) as e:
        handle_webhook({"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sign(b"{}")}, BODY, SECRET,
                       channel=CHANNEL)
    assert e.value.code == "XD-AUTH-008" and e.value.channel == CHANNEL


def test_other_topics_and_unreadable_bodies():
    level = parse_webhook("inventory_levels/update", b'{"inventory_item_id": 1, "location_id": 2, "available": 3}')
    assert level == {"inventory_item_id": 1, "location_id": 2, "available": 3}
    with pytest.raises(MappingError) as e:
        parse_webhook("orders/paid", b"<html>")
    assert e.value.code == "XD-MAP-010"
    with pytest.raises(MappingError):
        parse_webhook("orders/paid", b"[1, 2]")


def test_sandbox_deliveries_verify_and_parse_despite_duplicates_and_reordering(env):
    env.sim.configure(webhook_duplicate_probability=1.0, webhook_out_of_order_probability=1.0)
    receiver = Receiver()
    try:
        for topic in ("orders/create", "orders/paid", "orders/cancelled"):
            env.sim.subscribe("crossdock-eu", topic, receiver.url)
        oid = env.sim.place_order(CHANNEL, [("SKU-1", 2)], buyer_country="FR")
        shop = env.sim.shops["crossdock-eu"]
        got = receiver.wait_for(4)                          # create + paid, each twice
        env.sim.cancel_order(shop, shop.orders[int(oid)])
        got = receiver.wait_for(6)
        secret = env.settings.client_secret
        seen_ids: set[str] = set()
        topics, latest = [], None
        for headers, body in got:
            event = handle_webhook(headers, body, secret, channel=CHANNEL)
            if event.webhook_id in seen_ids:                # the receiver's dedupe
                continue
            seen_ids.add(event.webhook_id)
            topics.append(event.topic)
            if latest is None or event.order.updated_at >= latest.updated_at:
                latest = event.order
        assert topics == ["orders/paid", "orders/create", "orders/cancelled"]
        assert len(got) == 6 and len(seen_ids) == 3
        assert latest.platform_order_id == oid and latest.status is OrderStatus.CANCELLED
        with pytest.raises(AuthError):
            handle_webhook(got[0][0], got[0][1], "shpss_wrong", channel=CHANNEL)
    finally:
        receiver.close()


def test_inspect_of_a_delivered_body_round_trips(env):
    from crossdock.connectors.shopify import inspect_payload

    receiver = Receiver()
    try:
        env.sim.subscribe("crossdock-eu", "orders/create", receiver.url)
        env.sim.place_order(CHANNEL, [("SKU-2", 1)], buyer_country="NL")
        ((_, body),) = receiver.wait_for(1)
        out = inspect_payload("order", json.loads(body))
        assert out["buyer_country"] == "NL" and out["lines"][0]["sku"] == "SKU-2"
        assert out["total"]["currency"] == "EUR" and out["status"] == "unshipped"
    finally:
        receiver.close()
