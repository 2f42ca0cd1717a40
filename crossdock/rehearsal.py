"""Connectors on a running sandbox, without a configuration file.

The sandbox offers each of its channels as channel configuration
(:func:`crossdock.sandbox.channels.sandbox_channels`); this module turns one
into a :class:`~crossdock.config.ChannelConfig` and builds that channel's
settings and connector through its platform's spec — the same path a
configured channel takes (:mod:`crossdock.sync_engine.channels`), with a
token store in memory unless one is given. Connectors know nothing of the
sandbox and the sandbox nothing of connectors: this is where they meet, for
tests, benchmarks and rehearsals.

    conn = sandbox_connector(sb.describe(), "ebay", account="seller_uk")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crossdock.clock import Clock, ScaledClock
from crossdock.config import ChannelConfig
from crossdock.connectors.base import Connector, ConnectorDeps, MemoryTokenStore, TokenState, TokenStore
from crossdock.connectors.http import Budget
from crossdock.errors import ConfigError
from crossdock.platforms import platform as platform_spec
from crossdock.sandbox.channels import SandboxChannel, sandbox_channels
from crossdock.secrets import SecretRef, remember

__all__ = ["channel_config", "sandbox_channel", "sandbox_clock", "sandbox_connector", "sandbox_settings",
           "sandbox_token_state"]


@dataclass(frozen=True, repr=False)
class _Given(SecretRef):
    """A secret handed over as it is (the sandbox's own test credentials)."""

    value: str = ""

    def reveal(self) -> str:
        remember(self.value)
        return self.value


def sandbox_channel(desc: Mapping[str, Any], platform: str, *, account: int | str | None = None,
                    marketplace: str | None = None) -> SandboxChannel:
    """One channel the sandbox offers on ``platform``: of ``account`` (its
    position among the platform's accounts, its name, or a sandbox channel id;
    None: the first) in ``marketplace`` (None: the account's first)."""
    offered = [c for c in sandbox_channels(desc) if c.platform == platform]
    accounts = list(dict.fromkeys(c.account for c in offered))
    if isinstance(account, int):
        if not 0 <= account < len(accounts):
            raise ConfigError("XD-CFG-007", detail=f"the sandbox has {len(accounts)} {platform} account(s)")
        offered = [c for c in offered if c.account == accounts[account]]
    elif account is not None:
        offered = [c for c in offered if account in (c.account, c.sandbox_channel)]
    if marketplace is not None:
        offered = [c for c in offered if c.marketplace == marketplace]
    if not offered:
        raise ConfigError("XD-CFG-007", detail=f"no {platform} sandbox channel for account {account!r}"
                                               + (f" in {marketplace}" if marketplace else ""))
    return offered[0]


def channel_config(sc: SandboxChannel, *, name: str | None = None, **options: Any) -> ChannelConfig:
    """``sc`` as a configured channel named ``name`` (default: the sandbox's
    own channel id), ``options`` over the simulator's."""
    secrets = {k: _Given(value=v) for k, v in sc.secrets.items()}
    return ChannelConfig(
        name=name or sc.sandbox_channel, platform=sc.platform, account=sc.account, currency=sc.currency,
        marketplace=sc.marketplace, country=sc.country, base_url=sc.base_url, auth_url=sc.auth_url,
        urls=dict(sc.urls), client_id=sc.client_id, client_secret=secrets.pop("client_secret", None),
        refresh_token=secrets.pop("refresh_token", None), secrets=dict(secrets), options={**sc.options, **options})


def sandbox_settings(desc: Mapping[str, Any], platform: str, *, account: int | str | None = None,
                     marketplace: str | None = None, channel: str | None = None, **options: Any) -> Any:
    """The platform settings of a sandbox channel (see :func:`sandbox_channel`)."""
    sc = sandbox_channel(desc, platform, account=account, marketplace=marketplace)
    return platform_spec(platform).settings(channel_config(sc, name=channel, **options))


def sandbox_token_state(desc: Mapping[str, Any], platform: str, *, account: int | str | None = None,
                        marketplace: str | None = None, channel: str | None = None) -> TokenState:
    """What a token store holds for a sandbox channel before its first call: its refresh token."""
    sc = sandbox_channel(desc, platform, account=account, marketplace=marketplace)
    return TokenState(channel=channel or sc.sandbox_channel, refresh_token=sc.secrets.get("refresh_token"))


def sandbox_clock(desc: Mapping[str, Any]) -> Clock:
    """The sandbox's scaled clock (real time when the description has none)."""
    return ScaledClock.from_description(desc["clock"]) if "clock" in desc else Clock()


def sandbox_connector(desc: Mapping[str, Any], platform: str, *, account: int | str | None = None,
                      marketplace: str | None = None, channel: str | None = None, store: TokenStore | None = None,
                      budget: Budget | None = None, clock: Clock | None = None,
                      bindings: Mapping[str, Mapping[str, Any]] | None = None, **options: Any) -> Connector:
    """A connector on a sandbox channel: its settings, the sandbox's clock, a
    token store holding the channel's refresh token (``store``, or one in
    memory), and ``bindings`` of listings it should know."""
    sc = sandbox_channel(desc, platform, account=account, marketplace=marketplace)
    cc = channel_config(sc, name=channel, **options)
    spec = platform_spec(platform)
    settings = spec.settings(cc)
    store = store if store is not None else MemoryTokenStore()
    if sc.secrets.get("refresh_token") and not store.load(cc.name).refresh_token:
        store.save(TokenState(channel=cc.name, refresh_token=sc.secrets["refresh_token"]))
    conn = spec.connector(settings, ConnectorDeps(store=store, clock=clock or sandbox_clock(desc), budget=budget))
    if bindings:
        conn.bind_listings(bindings)
    return conn
