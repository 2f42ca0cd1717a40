"""Simulated Shopify: GraphQL Admin API with cost-based throttling, expiring
offline tokens with rotating refresh tokens, and signed webhooks."""

from crossdock.sandbox.shopify.sim import DEFAULT_SHOPS, ShopifySim, ShopSpec, quarterly_versions

__all__ = ["DEFAULT_SHOPS", "ShopSpec", "ShopifySim", "quarterly_versions"]
