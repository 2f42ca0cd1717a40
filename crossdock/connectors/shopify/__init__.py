"""Shopify GraphQL Admin API connector (see :mod:`.connector`)."""

from crossdock.connectors.shopify.connector import ShopifyConnector
from crossdock.connectors.shopify.inspect import inspect_payload
from crossdock.connectors.shopify.settings import ShopifySettings, sandbox_token_state
from crossdock.connectors.shopify.webhooks import WebhookEvent, handle_webhook, parse_webhook, verify_webhook

__all__ = ["ShopifyConnector", "ShopifySettings", "WebhookEvent", "handle_webhook", "inspect_payload",
           "parse_webhook", "sandbox_token_state", "verify_webhook"]
