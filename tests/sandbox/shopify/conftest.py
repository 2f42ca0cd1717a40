"""Fixtures for the Shopify sandbox tests."""

from __future__ import annotations

import pytest

from tests.sandbox.shopify.shopify_box import Receiver, ShopifyBox


@pytest.fixture
def box():
    b = ShopifyBox()
    yield b
    b.close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
