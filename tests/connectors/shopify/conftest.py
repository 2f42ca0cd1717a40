"""Fixtures for the Shopify connector tests against the sandbox."""

from __future__ import annotations

import pytest

from tests.connectors.shopify.shopify_env import ShopifyEnv


@pytest.fixture
def env():
    e = ShopifyEnv()
    yield e
    e.close()
