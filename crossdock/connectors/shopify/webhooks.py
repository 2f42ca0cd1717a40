"""Receiving Shopify webhooks: verify the signature, parse the payload.

``X-Shopify-Hmac-Sha256`` is base64(HMAC-SHA256(client secret, raw body)). It
must be computed on the raw bytes as received, before any JSON parsing.

ShopifyAPI 12.7 has no helper for this: its ``shopify.Session.validate_hmac`` /
``calculate_hmac`` check the *OAuth redirect* query parameters (a hex digest of
the sorted ``key=value`` pairs), not a webhook body. The check here is the
standard-library equivalent of what Shopify documents, with a constant-time
comparison.

Deliveries can repeat (same ``X-Shopify-Webhook-Id``) and arrive out of order
(orders/paid before orders/create): the receiver deduplicates by webhook id
and keeps the order with the newest ``updated_at`` (what
:class:`WebhookEvent` carries), as the sync engine does for polled orders.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crossdock.connectors.shopify.mapping import parse_rest_order
from crossdock.errors import AuthError, MappingError
from crossdock.models import Order

ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
                          "orders/partially_fulfilled"})


def verify_webhook(raw_body: bytes, hmac_header: str | None, secret: str) -> bool:
    """True when ``hmac_header`` is Shopify's signature of ``raw_body`` with ``secret``."""
    if not hmac_header or not secret:
        return False
    try:
        given = base64.b64decode(hmac_header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)


@dataclass(frozen=True)
class WebhookEvent:
    topic: str
    shop_domain: str | None
    webhook_id: str | None
    triggered_at: str | None
    payload: dict[str, Any]
    order: Order | None = None          # for orders/* topics


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lower = name.lower()
    for k, v in headers.items():
        if k.lower() == lower:
            return v
    return None


def parse_webhook(topic: str, raw_body: bytes | str | Mapping[str, Any]) -> dict[str, Any] | Order:
    """An orders/* payload as a normalised Order; other topics as the parsed dict."""
    if isinstance(raw_body, Mapping):
        payload = dict(raw_body)
    else:
        try:
            payload = json.loads(raw_body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MappingError("XD-MAP-010", detail=f"webhook {topic}: body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise MappingError("XD-MAP-010", detail=f"webhook {topic}: body is not a JSON object")
    if topic in ORDER_TOPICS:
        return parse_rest_order(payload)
    return payload


def handle_webhook(headers: Mapping[str, str], raw_body: bytes, secret: str, *,
                   channel: str | None = None) -> WebhookEvent:
    """Verify and parse one delivery; a bad signature is AuthError XD-AUTH-008 (answer 401)."""
    topic = _header(headers, "X-Shopify-Topic") or ""
    if not verify_webhook(raw_body, _header(headers, "X-Shopify-Hmac-Sha256"), secret):
        raise AuthError("XD-AUTH-008", channel=channel,
                        detail=f"webhook {topic or '?'} from {_header(headers, 'X-Shopify-Shop-Domain') or '?'}: "
                               "X-Shopify-Hmac-Sha256 does not match the body")
    parsed = parse_webhook(topic, raw_body)
    order = parsed if isinstance(parsed, Order) else None
    payload = order.raw if order is not None and order.raw is not None else parsed
    return WebhookEvent(topic=topic, shop_domain=_header(headers, "X-Shopify-Shop-Domain"),
                        webhook_id=_header(headers, "X-Shopify-Webhook-Id"),
                        triggered_at=_header(headers, "X-Shopify-Triggered-At"),
                        payload=dict(payload) if isinstance(payload, Mapping) else {}, order=order)
