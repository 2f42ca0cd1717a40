"""What the rest of crossdock needs to know about one platform, declared once.

Each platform folder (``crossdock/connectors/<platform>/__init__.py``)
exports one ``PLATFORM = PlatformSpec(...)``, as each karrio carrier plugin
exports its ``PluginMetadata``; :mod:`crossdock.platforms.registry` finds
them. The engine, the configuration, the quota budget, the seller's rules and
the warehouse ask the registry; none of them names a platform.

This module declares the shape only and imports nothing it describes: the
values (status maps, usage plans, a connector class …) are built in the
platform folders from the types of :mod:`crossdock.mapping`,
:mod:`crossdock.ratelimit` and :mod:`crossdock.connectors.base`, which are
named here for type checkers alone. So :mod:`crossdock.mapping` and
:mod:`crossdock.ratelimit` can read the registry, and the platform folders
can use them, without an import cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:   # types only: importing them at run time would make the cycle this module avoids
    from crossdock.config import ChannelConfig, Config
    from crossdock.config_schema import Key
    from crossdock.connectors.base import Connector, ConnectorDeps
    from crossdock.connectors.event_queue import QueueBinding
    from crossdock.connectors.events import EventReceiver, EventSetup
    from crossdock.mapping.status import StatusMap
    from crossdock.platforms.connect import AccountConnect
    from crossdock.mapping.validation import PlatformRules
    from crossdock.ratelimit.plans import LongWindow, UsagePlan

__all__ = [
    "BatchPolicy",
    "ConfigTemplate",
    "CredentialLifetimes",
    "GrantDates",
    "ImportWindows",
    "Marketplace",
    "PlatformSpec",
    "QuotaReading",
]


def _frozen(mapping: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """How many updates one platform call carries (the planner cuts pushes by it)."""

    max_items: int                          # items per call on the normal path
    bulk_threshold: int | None = None       # more changes than this → bulk path (Amazon feed)
    bulk_max_items: int | None = None       # items per bulk call
    zeros_first_fast: bool = True           # with a bulk path, zeros still go by the normal path first

    def __post_init__(self) -> None:
        if self.max_items < 1:
            raise ValueError("max_items must be at least 1")
        if (self.bulk_threshold is None) != (self.bulk_max_items is None):
            raise ValueError("bulk_threshold and bulk_max_items go together")
        if self.bulk_threshold is not None and (self.bulk_threshold < 0 or (self.bulk_max_items or 0) < 1):
            raise ValueError("bulk_threshold must be >= 0 and bulk_max_items >= 1")

    @property
    def bulk(self) -> tuple[int, int] | None:
        """(``bulk_threshold``, ``bulk_max_items``), or None without a bulk path."""
        if self.bulk_threshold is None or self.bulk_max_items is None:
            return None
        return self.bulk_threshold, self.bulk_max_items


@dataclass(frozen=True, slots=True)
class ImportWindows:
    """How the order import reads this platform (platform seconds).

    ``safety_lag_s``: a window ends this far behind the platform's now (its
    search index or its own rule shows orders that late); ``overlap_s``: the
    next window starts this far before the cursor, so an order indexed late is
    still read (deduplicated by id); ``max_window_s``: the widest window (None:
    the engine's default). A channel's ``safety_lag_s`` / ``overlap_s`` win."""

    safety_lag_s: float
    overlap_s: float
    max_window_s: float | None = None


@dataclass(frozen=True, slots=True)
class GrantDates:
    """End dates recorded when a seller grants new credentials (None: unknown / never)."""

    refresh_expires_at: dt.datetime | None = None
    authorisation_expires_at: dt.datetime | None = None
    client_secret_expires_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class CredentialLifetimes:
    """What expires when (docs/platform-facts.md#amazon-credentials,
    docs/platform-facts.md#ebay-credentials, docs/platform-facts.md#shopify-credentials),
    for ``crossdock auth`` and the expiry warnings.

    ``refresh_token_s``: a refresh token's life from the seller's consent (eBay,
    about 18 months); ``seller_authorisation_days``: the seller's authorisation of
    the application (Amazon, 365 days); ``client_secret_days``: the application's
    client secret from its rotation (Amazon LWA, 180 days); ``extra_token``: a
    second token the channel names in its secrets, with its own life
    (``extra_token_s``; eBay's Trading API token); ``authorisation_dated``: False
    when refresh tokens rotate on every use and no consent date applies (Shopify)."""

    refresh_token_s: float | None = None
    seller_authorisation_days: float | None = None
    client_secret_days: float | None = None
    extra_token: str | None = None
    extra_token_s: float | None = None
    authorisation_dated: bool = True

    def on_grant(self, granted_at: dt.datetime, *, client_secret_rotated_at: dt.datetime | None = None,
                 kept_authorisation: dt.datetime | None = None,
                 kept_client_secret: dt.datetime | None = None) -> GrantDates:
        """The dates to store with a refresh token granted at ``granted_at``
        (dates this platform does not have keep what was stored)."""
        refresh = (granted_at + dt.timedelta(seconds=self.refresh_token_s)
                   if self.refresh_token_s is not None else None)
        authorisation = (granted_at + dt.timedelta(days=self.seller_authorisation_days)
                         if self.seller_authorisation_days is not None else kept_authorisation)
        secret = kept_client_secret
        if self.client_secret_days is not None and client_secret_rotated_at is not None:
            secret = client_secret_rotated_at + dt.timedelta(days=self.client_secret_days)
        return GrantDates(refresh, authorisation, secret)

    def extra_token_expires_at(self, granted_at: dt.datetime) -> dt.datetime | None:
        return (granted_at + dt.timedelta(seconds=self.extra_token_s)
                if self.extra_token and self.extra_token_s is not None else None)


class Marketplace(Protocol):
    """One marketplace of a platform: id, country (ISO 3166-1 alpha-2), currency."""

    @property
    def marketplace_id(self) -> str: ...

    @property
    def country(self) -> str: ...

    @property
    def currency(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ConfigTemplate:
    """How ``crossdock config init`` writes a channel of this platform: the
    comment above it (``{mp}`` and ``{account}`` filled in), the comment above
    its options, the order poll interval it writes (platform seconds) and the
    commented example channel of the template without a sandbox."""

    about: str
    options_about: str = ""
    orders_every_s: int = 120
    example: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QuotaReading:
    """What one response says about the caller's quota, as a platform writes it."""

    rate_per_s: float | None = None
    burst: float | None = None
    available: float | None = None
    refund: float = 0.0
    throttled: bool = False


@dataclass(frozen=True)
class PlatformSpec:
    """Everything crossdock needs to know about one platform (see module doc).

    Required: ``name`` (what ``platform =`` says in a channel), ``title`` (for
    people), ``settings`` (the platform settings of a channel, secrets
    revealed), ``connector`` (a :class:`~crossdock.connectors.base.Connector`
    from settings and :class:`~crossdock.connectors.base.ConnectorDeps`),
    ``statuses`` (its order status vocabulary) and ``windows``. Every other
    field has a neutral default, so a platform declares only what it has."""

    name: str
    title: str
    settings: Callable[[ChannelConfig], Any]
    connector: Callable[[Any, ConnectorDeps], Connector]
    statuses: StatusMap
    windows: ImportWindows
    #: Calls per push: the platform's policy, and per listing kind (eBay "trading") where they differ.
    batch_policy: BatchPolicy = field(default_factory=lambda: BatchPolicy(max_items=1))
    kind_policies: Mapping[str, BatchPolicy] = field(default_factory=dict)
    #: Quota: one token bucket per operation, long windows (daily budgets) by name, the plan an
    #: operation without its own draws from (``fallback_plan(op)``), and what a response says.
    usage_plans: Mapping[str, UsagePlan] = field(default_factory=dict)
    long_windows: Mapping[str, LongWindow] = field(default_factory=dict)
    fallback_plan: Callable[[str], str | None] | None = None
    read_quota: Callable[[Mapping[str, str], Mapping[str, Any] | None], QuotaReading] | None = None
    #: crossdock carrier name → the platform's carrier code; codes in ``generic_carrier_codes``
    #: ("Other") go out with the carrier's name beside them.
    carrier_codes: Mapping[str, str] = field(default_factory=dict)
    generic_carrier_codes: frozenset[str] = frozenset({"Other"})
    listing_rules: PlatformRules | None = None
    marketplaces: Mapping[str, Marketplace] = field(default_factory=dict)
    credentials: CredentialLifetimes = field(default_factory=CredentialLifetimes)
    #: ``[channels.NAME.options]`` and ``[channels.NAME.urls]`` keys of this platform (config schema),
    #: the settings fields the channel table itself fills, and settings deliberately not options.
    options: tuple[Key, ...] = ()
    urls: tuple[Key, ...] = ()
    channel_provided: frozenset[str] = frozenset()
    not_options: Mapping[str, str] = field(default_factory=dict)
    #: Channels whose ``order_group`` keys are equal share one order read (Amazon marketplaces of
    #: one seller and region share getOrders); None, or a key of None: every channel reads alone.
    order_group: Callable[[Config, ChannelConfig], Hashable | None] | None = None
    #: ``crossdock inspect``: (kind, payload) → the normalised form.
    inspect: Callable[[str, Any], Any] | None = None
    #: ``crossdock config init``: how a channel of this platform is written.
    config_template: ConfigTemplate | None = None
    #: ``Order.fulfillment_channel`` values meaning the platform ships the order itself (Amazon AFN).
    fulfilled_by_platform: frozenset[str] = frozenset()
    #: The platform keeps the seller's stock in its own fulfilment network (Amazon FBA): the
    #: engine reads it on a schedule (``Connector.read_platform_stock``); False: no such read.
    holds_stock: bool = False
    #: The platform gives the returns its buyers open (``Connector.read_returns``): the engine reads them
    #: on a schedule into RMAs; False: no such read.
    reads_returns: bool = False
    #: Events over HTTP (``/hooks/NAME``): the receiver for the platform's configured channels (None: none).
    events: Callable[[EventSetup], EventReceiver] | None = None
    #: Events that arrive on a message queue (crossdock/connectors/event_queue.py): the queues to read for
    #: the platform's configured channels (channel name → settings), read by ``crossdock worker``.
    event_queues: Callable[[Mapping[str, Any]], list[QueueBinding]] | None = None
    #: ``crossdock auth connect``: the platform's side of the authorisation-code flow for a channel
    #: (crossdock/platforms/connect.py); None: the platform's accounts are connected by ``auth set`` only.
    connect: Callable[[ChannelConfig], AccountConnect] | None = None

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip().lower() or not self.name.replace("_", "").isalnum():
            raise ValueError(f"a platform name is lower-case letters, digits and _: {self.name!r}")
        for name in ("kind_policies", "usage_plans", "long_windows", "carrier_codes", "marketplaces",
                     "not_options"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def find_marketplace(self, marketplace_id: str) -> Marketplace | None:
        """The marketplace ``marketplace_id`` (ids are matched as written, then upper case)."""
        if not isinstance(marketplace_id, str):
            return None
        key = marketplace_id.strip()
        return self.marketplaces.get(key) or self.marketplaces.get(key.upper())

    def policy_for_kind(self, kind: str | None) -> BatchPolicy:
        return self.kind_policies.get(kind or "", self.batch_policy)

    def quota_reading(self, headers: Mapping[str, str], cost_report: Mapping[str, Any] | None) -> QuotaReading:
        return self.read_quota(headers, cost_report) if self.read_quota is not None else QuotaReading()

    def fulfils(self, fulfillment_channel: str | None) -> bool:
        """True when ``fulfillment_channel`` says the platform ships the order itself."""
        value = (fulfillment_channel or "").strip().lower()
        return bool(value) and value in {v.lower() for v in self.fulfilled_by_platform}

