"""Which class simulates which platform."""

from __future__ import annotations

import importlib

PLATFORMS = {
    "amazon": "crossdock.sandbox.amazon:AmazonSim",
    "ebay": "crossdock.sandbox.ebay:EbaySim",
    "shopify": "crossdock.sandbox.shopify:ShopifySim",
}


def load_platform(name: str):
    try:
        target = PLATFORMS[name]
    except KeyError:
        raise ValueError(f"unknown sandbox platform {name!r}; one of {', '.join(PLATFORMS)}") from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
