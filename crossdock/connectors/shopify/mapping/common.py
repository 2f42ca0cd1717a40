"""Shopify ids (gid ⇄ legacy id) and the GraphQL request body every operation sends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_FIRST = 250        # Shopify's cap on page sizes and input arrays

# --- ids -------------------------------------------------------------------------------

def gid(kind: str, legacy_id: str | int) -> str:
    return f"gid://shopify/{kind}/{legacy_id}"


def legacy_id(value: str | int | None) -> str | None:
    """``gid://shopify/Order/123`` (or 123) -> "123"."""
    if value is None:
        return None
    text = str(value)
    if text.startswith("gid://"):
        text = text.rsplit("/", 1)[-1].split("?", 1)[0]
    return text


def order_gid(platform_order_id: str) -> str:
    return platform_order_id if platform_order_id.startswith("gid://") else gid("Order", platform_order_id)


def body(query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    return {"query": query, "variables": dict(variables)}
