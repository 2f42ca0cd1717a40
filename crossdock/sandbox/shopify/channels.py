"""The crossdock channels a running Shopify simulator offers: one per shop,
as plain channel configuration (``[channels.NAME]`` keys; secrets in plain
text, for the caller to encrypt)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def channel_configs(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``block``: the simulator's part of the sandbox description."""
    out = []
    for shop in block.get("shops", []):
        options = {"api_version": block.get("api_version", "2026-10")}
        if shop.get("location_id"):
            options["location_id"] = shop["location_id"]
        out.append({
            "name": f"shopify-{shop['shop']}", "platform": "shopify", "account": shop["shop"],
            "currency": shop.get("currency", "EUR"), "client_id": shop["client_id"],
            "base_url": f"{str(block['base_url']).rstrip('/')}/shops/{shop['shop']}",
            "secrets": {"client_secret": shop["client_secret"], "refresh_token": shop["refresh_token"]},
            "options": options, "sandbox_channel": f"shopify:{shop['shop']}"})
    return out
