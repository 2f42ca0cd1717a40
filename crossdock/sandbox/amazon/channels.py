"""The crossdock channels a running Amazon simulator offers: one per seller
and marketplace, as plain channel configuration (``[channels.NAME]`` keys;
secrets in plain text, for the caller to encrypt)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossdock.sandbox.amazon.constants import MARKETPLACES


def channel_configs(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``block``: the simulator's part of the sandbox description."""
    out = []
    for acct in block.get("accounts", []):
        for mp_id in acct.get("marketplace_ids", []):
            mp = MARKETPLACES.get(mp_id)
            country = mp.country if mp else None
            out.append({
                "name": f"amazon-{(country or mp_id).lower()}", "platform": "amazon", "account": acct["seller_id"],
                "marketplace": mp_id, "currency": mp.currency if mp else "USD", "country": country,
                "client_id": acct["client_id"], "base_url": block["base_url"], "auth_url": block["lwa_url"],
                "urls": {"consent_url": f"{str(block['base_url']).rstrip('/')}/apps/authorize/consent"},
                "secrets": {"client_secret": acct["client_secret"], "refresh_token": acct["refresh_token"]},
                "sandbox_channel": f"amazon:{acct['seller_id']}:{mp_id}",
                "events": _events(acct.get("notifications_queue"))})
    return out


def _events(queue: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The options and secrets that read the seller's SP-API notifications from the
    sandbox's SQS queue (None: the sandbox has no queue for the seller)."""
    if not queue or not queue.get("url") or not queue.get("endpoint_url"):
        return None
    return {"options": {"events_queue_url": queue["url"], "events_region": queue["region"],
                        "events_endpoint_url": queue["endpoint_url"]},
            "secrets": {"aws_access_key_id": queue["access_key_id"],
                        "aws_secret_access_key": queue["secret_access_key"]}}
