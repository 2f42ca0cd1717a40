"""The crossdock channels a running eBay simulator offers: one per account,
as plain channel configuration (``[channels.NAME]`` keys; secrets in plain
text, for the caller to encrypt), with the business policies and location
the simulator accepts for new offers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossdock.sandbox.ebay.model import MARKETPLACE_INFO

#: What new offers are published with: any non-empty ids pass the simulator's checks.
POLICIES = {"merchant_location_key": "default", "fulfillment_policy_id": "6196932000",
            "payment_policy_id": "6196933000", "return_policy_id": "6196934000"}


def channel_configs(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``block``: the simulator's part of the sandbox description."""
    out = []
    for acct in block.get("accounts", []):
        info = MARKETPLACE_INFO.get(acct["marketplace_id"])
        country = info[0] if info else None
        secrets = {"client_secret": acct["client_secret"], "refresh_token": acct["refresh_token"]}
        if acct.get("trading_token"):
            secrets["trading_token"] = acct["trading_token"]
        out.append({
            "name": f"ebay-{(country or acct['marketplace_id']).lower()}", "platform": "ebay",
            "account": acct["username"], "marketplace": acct["marketplace_id"],
            "currency": acct.get("currency") or (info[1] if info else "USD"), "country": country,
            "client_id": acct["client_id"], "base_url": block["base_url"],
            "urls": {"trading_url": block["trading_url"], "token_url": block["token_url"],
                     **({"consent_url": block["consent_url"]} if block.get("consent_url") else {})},
            "secrets": secrets, "options": {"dev_id": acct.get("dev_id", ""), **POLICIES},
            "sandbox_channel": acct.get("channel") or f"ebay:{acct['username']}:{acct['marketplace_id']}"})
    return out
