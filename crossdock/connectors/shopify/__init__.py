"""Shopify GraphQL Admin API: the platform folder (``PLATFORM``, see :mod:`.platform`)
and its connector (:mod:`.connector`)."""

from crossdock.connectors.shopify.connector import ShopifyConnector
from crossdock.connectors.shopify.inspect import inspect_payload
from crossdock.connectors.shopify.platform import PLATFORM
from crossdock.connectors.shopify.settings import ShopifySettings
from crossdock.connectors.shopify.webhooks import WebhookEvent, handle_webhook, parse_webhook, verify_webhook

__all__ = ["PLATFORM", "ShopifyConnector", "ShopifySettings", "WebhookEvent", "handle_webhook", "inspect_payload",
           "parse_webhook", "verify_webhook"]
