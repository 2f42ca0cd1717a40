"""The crossdock channels a running sandbox offers, as channel configuration.

Each simulator offers its own (``crossdock/sandbox/<platform>/channels.py``:
one per account and marketplace or shop, with the secrets and options that
work against it); :func:`sandbox_channels` gives every one of them a readable,
unique name. ``crossdock config init --from-sandbox`` writes them into a
configuration file; tests and benchmarks build connectors from them
(:mod:`crossdock.rehearsal`). The sandbox imports nothing of the engine: this
is plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crossdock.sandbox.registry import PLATFORMS, channel_configs

__all__ = ["SandboxChannel", "is_sandbox_description", "sandbox_channels"]


@dataclass(frozen=True)
class SandboxChannel:
    """One channel of a sandbox account. ``secrets`` are plain values (to be
    encrypted); ``sandbox_channel`` is the sandbox's own id of the channel
    (``platform:ACCOUNT:MARKETPLACE``, as its admin API names channels)."""

    name: str
    platform: str
    account: str
    currency: str
    client_id: str
    base_url: str
    sandbox_channel: str
    marketplace: str | None = None
    country: str | None = None
    auth_url: str | None = None
    urls: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    intervals_s: dict[str, int] | None = None     # None: the platform's default order interval
    stock: dict[str, Any] | None = None           # the channel's stock rule; None: an example in a comment


def is_sandbox_description(desc: Any) -> bool:
    return (isinstance(desc, dict) and isinstance(desc.get("clock"), dict) and "admin_url" in desc
            and any(isinstance(desc.get(p), dict) for p in PLATFORMS))


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
    return "-".join(part for part in out.split("-") if part) or "x"


def _unique(name: str, used: set[str], account: str) -> str:
    """``name``, else ``name-<account>``, else ``name-<account>-2``, … (readable and unique)."""
    candidates = [name, f"{name}-{_slug(account)}"]
    for candidate in candidates:
        if candidate not in used:
            used.add(candidate)
            return candidate
    n = 2
    while f"{candidates[1]}-{n}" in used:
        n += 1
    used.add(f"{candidates[1]}-{n}")
    return f"{candidates[1]}-{n}"


def sandbox_channels(desc: Mapping[str, Any], *, events: bool = False) -> list[SandboxChannel]:
    """A channel for every account and marketplace of the sandbox, with
    readable unique names (``amazon-us``, ``amazon-de``, ``ebay-gb``,
    ``shopify-<shop>``), platforms in the order the sandbox lists them.
    ``events``: with the options and secrets that read a platform's events
    from a queue the sandbox serves (webhook platforms need only
    ``[events] public_url`` and ``crossdock events setup``)."""
    used: set[str] = set()
    out: list[SandboxChannel] = []
    for platform in PLATFORMS:
        block = desc.get(platform)
        if not isinstance(block, Mapping):
            continue
        for conf in channel_configs(platform)(block):
            conf = dict(conf)
            extra = conf.pop("events", None)
            if events and extra:
                conf["options"] = {**conf.get("options", {}), **extra.get("options", {})}
                conf["secrets"] = {**conf.get("secrets", {}), **extra.get("secrets", {})}
            conf["name"] = _unique(_slug(conf["name"]), used, conf["account"])
            out.append(SandboxChannel(**conf))
    return out
