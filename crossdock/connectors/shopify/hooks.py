"""Shopify's events receiver (``/hooks/shopify``): the channel from
``X-Shopify-Shop-Domain``, the signature checked with that channel's client
secret over the raw body (:func:`~crossdock.connectors.shopify.webhooks.verify_webhook`),
the dedupe key ``X-Shopify-Webhook-Id``, and for ``orders/*`` topics the
order's id to read. Nothing else of the payload is used: the read that
follows is the truth, so deliveries out of order do not matter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from crossdock.connectors.events import Delivery, EventReceiver, EventSetup, HookRequest, header
from crossdock.connectors.shopify.settings import ShopifySettings
from crossdock.connectors.shopify.webhooks import ORDER_TOPICS, verify_webhook
from crossdock.errors import EventError

__all__ = ["SUBSCRIBED_TOPICS", "ShopifyReceiver", "receiver", "shop_domain"]

#: What ``crossdock events setup`` subscribes a shop to (GraphQL enum names).
SUBSCRIBED_TOPICS = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_PAID", "ORDERS_CANCELLED")


def shop_domain(shop: str) -> str:
    """The domain Shopify names a shop by in ``X-Shopify-Shop-Domain``."""
    name = shop.strip().lower()
    return name if "." in name else f"{name}.myshopify.com"


class ShopifyReceiver(EventReceiver):
    def __init__(self, channels: Mapping[str, ShopifySettings], *, public_url: str = "") -> None:
        self.channels = dict(channels)
        self.by_domain = {shop_domain(s.shop): name for name, s in self.channels.items()}
        self.public_url = public_url

    def endpoint(self, channel: str) -> str:
        return f"{self.public_url}/hooks/shopify" if self.public_url else ""

    def receive(self, request: HookRequest) -> list[Delivery]:
        domain = (header(request.headers, "X-Shopify-Shop-Domain") or "").strip().lower()
        topic = (header(request.headers, "X-Shopify-Topic") or "").strip()
        channel = self.by_domain.get(domain)
        if channel is None:
            raise EventError("XD-EVT-003", detail=f"shop {domain or '(no X-Shopify-Shop-Domain)'} is no channel's")
        if not verify_webhook(request.body, header(request.headers, "X-Shopify-Hmac-Sha256"),
                              self.channels[channel].client_secret):
            raise EventError("XD-EVT-001", channel=channel,
                             detail=f"{topic or '?'}: X-Shopify-Hmac-Sha256 does not match the body")
        webhook_id = (header(request.headers, "X-Shopify-Webhook-Id") or "").strip()
        if not webhook_id or not topic:
            raise EventError("XD-EVT-004", channel=channel, detail="no X-Shopify-Webhook-Id or X-Shopify-Topic")
        order_ids: tuple[str, ...] = ()
        if topic in ORDER_TOPICS:
            order_ids = (_order_id(request.body, channel=channel, topic=topic),)
        return [Delivery(channel=channel, topic=topic, delivery_id=webhook_id, order_ids=order_ids)]


def _order_id(body: bytes, *, channel: str, topic: str) -> str:
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventError("XD-EVT-004", channel=channel, detail=f"{topic}: the body is not JSON") from exc
    value = payload.get("id") if isinstance(payload, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise EventError("XD-EVT-004", channel=channel, detail=f"{topic}: no order id in the body")
    return str(value).strip()


def receiver(setup: EventSetup) -> ShopifyReceiver:
    """``PlatformSpec.events``: the receiver for the configured shops."""
    return ShopifyReceiver(setup.channels, public_url=setup.public_url)


# --- subscriptions (crossdock events setup / status) -----------------------------------------

SUBSCRIPTIONS = """query Subscriptions($uri: String) {
  webhookSubscriptions(first: 100, uri: $uri) { nodes { id topic uri } }
}"""
CREATE = """mutation Subscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"""


def subscriptions_request(uri: str | None = None) -> dict[str, Any]:
    return {"query": SUBSCRIPTIONS, "variables": {"uri": uri}}


def create_request(topic: str, uri: str) -> dict[str, Any]:
    return {"query": CREATE, "variables": {"topic": topic, "sub": {"uri": uri, "format": "JSON"}}}


def parse_subscriptions(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    nodes = ((data.get("webhookSubscriptions") or {}).get("nodes")) or []
    return [{"topic": n.get("topic"), "status": "ENABLED", "endpoint": n.get("uri"), "id": n.get("id")}
            for n in nodes if isinstance(n, Mapping)]


def subscribe(graphql: Any, *, channel: str, uri: str) -> list[dict[str, Any]]:
    """Every :data:`SUBSCRIBED_TOPICS` subscribed to ``uri`` (those already there kept);
    ``graphql`` is the connector client's ``graphql``. A refusal is XD-PLATFORM-001."""
    from crossdock.errors import PlatformError

    have = {s["topic"] for s in parse_subscriptions(graphql(subscriptions_request(uri)))}
    for topic in SUBSCRIBED_TOPICS:
        if topic in have:
            continue
        payload = graphql(create_request(topic, uri)).get("webhookSubscriptionCreate") or {}
        if payload.get("userErrors"):
            raise PlatformError("XD-PLATFORM-001", channel=channel, entity=f"webhook {topic}",
                                detail="; ".join(str(e.get("message")) for e in payload["userErrors"]))
    return parse_subscriptions(graphql(subscriptions_request(uri)))
