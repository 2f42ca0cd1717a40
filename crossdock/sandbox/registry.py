"""Which class simulates which platform, and the channels each offers."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

PLATFORMS = {
    "amazon": "crossdock.sandbox.amazon:AmazonSim",
    "ebay": "crossdock.sandbox.ebay:EbaySim",
    "shopify": "crossdock.sandbox.shopify:ShopifySim",
}
#: platform → the function giving the channels its simulator offers (from its description block).
CHANNEL_CONFIGS = {
    "amazon": "crossdock.sandbox.amazon.channels:channel_configs",
    "ebay": "crossdock.sandbox.ebay.channels:channel_configs",
    "shopify": "crossdock.sandbox.shopify.channels:channel_configs",
}


def _load(table: Mapping[str, str], name: str) -> Any:
    try:
        target = table[name]
    except KeyError:
        raise ValueError(f"unknown sandbox platform {name!r}; one of {', '.join(table)}") from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def load_platform(name: str):
    return _load(PLATFORMS, name)


def channel_configs(name: str) -> Callable[[Mapping[str, Any]], list[dict[str, Any]]]:
    return _load(CHANNEL_CONFIGS, name)
