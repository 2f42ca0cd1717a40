"""Usage plans: the published rate limits of each platform, as data.

A :class:`UsagePlan` is a token bucket (``rate_per_s`` tokens restored per second,
``burst`` = bucket size) plus the long-window budgets (:class:`LongWindow`, e.g.
eBay's daily call limits) that the same call is charged against.

Each platform declares its plans and windows in its own folder
(``PlatformSpec.usage_plans`` / ``long_windows``, from docs/platform-facts.md and
the official specs it names, docs/platform-facts.md#official-specs); :data:`DEFAULT_PLANS` and :data:`DEFAULT_WINDOWS`
read them all through the platform registry, keyed ``(platform, name)``.
Figures marked ``uncertain=True`` could not be confirmed from an official
page; they are defaults only, and every plan and window can be overridden in
configuration::

    overrides = {
        "plans": {
            "amazon": {"getOrders": {"rate_per_s": 0.0334, "burst": 40}},
            "ebay": {"GetOrders": {"windows": ["trading_daily"]}},
            "shopify.graphql": {"rate_per_s": 1000},   # flat keys work too
        },
        "windows": {
            "ebay": {"trading_daily": {"limit": 1_500_000, "scope": "app"}},
        },
    }

A rate, burst or limit set in configuration is *pinned*: what the platform
reports at run time (``x-amzn-RateLimit-Limit``, Shopify ``throttleStatus``,
eBay Developer Analytics) may lower it, never raise it. Defaults follow the
platform's report in both directions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from crossdock.errors import ConfigError
from crossdock.platforms.registry import RegistryView, find

Scope = Literal["account", "app", "listing"]


@dataclass(frozen=True)
class LongWindow:
    """A fixed-window call budget: at most ``limit`` units per ``window_s``.

    ``tz`` aligns day-long windows to that zone's midnight (eBay counts its day
    in Pacific time). ``scope`` says who shares the budget: one ``account``,
    every account of the platform (``app``: limits per application keyset), or
    one ``listing`` (eBay: 250 revisions per listing per day).
    """

    limit: float
    window_s: float = 86_400.0
    tz: str = "UTC"
    scope: Scope = "account"
    code: str = "XD-QUOTA-002"
    pinned: bool = False
    uncertain: bool = False
    source: str = ""


@dataclass(frozen=True)
class UsagePlan:
    """Token bucket for one operation. ``bucket`` names the bucket when several
    operations share one (Shopify GraphQL: every query draws from ``graphql``);
    empty means the operation's own bucket. ``max_cost`` caps a single call's
    cost (Shopify: 1,000 points, above is XD-QUOTA-005)."""

    rate_per_s: float
    burst: float
    bucket: str = ""
    max_cost: float | None = None
    windows: tuple[str, ...] = ()
    pinned_rate: bool = False
    pinned_burst: bool = False
    uncertain: bool = False
    source: str = ""

    @property
    def pinned(self) -> bool:
        """True when configuration set the rate or the burst."""
        return self.pinned_rate or self.pinned_burst


#: (platform, operation) → plan, of every known platform.
DEFAULT_PLANS: Mapping[tuple[str, str], UsagePlan] = RegistryView(
    lambda spec: {(spec.name, op): plan for op, plan in spec.usage_plans.items()})
#: (platform, window name) → long window, of every known platform.
DEFAULT_WINDOWS: Mapping[tuple[str, str], LongWindow] = RegistryView(
    lambda spec: {(spec.name, name): window for name, window in spec.long_windows.items()})

_PLAN_KEYS = {f.name for f in dataclasses.fields(UsagePlan)} - {"pinned_rate", "pinned_burst"}
_WINDOW_KEYS = {f.name for f in dataclasses.fields(LongWindow)} - {"pinned"}
_SCOPES = ("account", "app", "listing")


def _positive(value: Any, *, key: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise ConfigError("XD-CFG-003", detail=f"{key} must be a positive number, got {value!r}")
    return number


def _section(overrides: Mapping[str, Any] | None, kind: str, platform: str, name: str
             ) -> Mapping[str, Any] | None:
    if not overrides:
        return None
    table = overrides.get(kind) or {}
    entry = table.get(f"{platform}.{name}")  # flat "amazon.getOrders" keys work too
    if entry is None:
        nested = table.get(platform)
        entry = nested.get(name) if isinstance(nested, Mapping) else None
    if entry is None:
        return None
    if not isinstance(entry, Mapping):
        raise ConfigError("XD-CFG-003",
                          detail=f"ratelimit.{kind}.{platform}.{name} must be a table")
    return entry


def _default_plan(platform: str, operation: str,
                  plans: Mapping[tuple[str, str], UsagePlan]) -> UsagePlan | None:
    plan = plans.get((platform, operation))
    if plan is not None:
        return plan
    # an operation without a plan of its own may draw from another one of its platform
    # (every Shopify GraphQL query from "graphql"; eBay Trading calls from "_trading")
    spec = find(platform)
    fallback = spec.fallback_plan(operation) if spec is not None and spec.fallback_plan is not None else None
    return plans.get((platform, fallback)) if fallback else None


def plan_for(platform: str, operation: str, *, overrides: Mapping[str, Any] | None = None,
             plans: Mapping[tuple[str, str], UsagePlan] = DEFAULT_PLANS) -> UsagePlan:
    """The usage plan for ``(platform, operation)`` with config overrides applied.

    Raises ConfigError XD-CFG-004 for an operation without a plan (a connector
    calling an operation nobody has given a rate: add it to the plans or to
    ``[ratelimit.plans.<platform>.<operation>]``), XD-CFG-003 for a bad value.
    """
    base = _default_plan(platform, operation, plans)
    entry = _section(overrides, "plans", platform, operation)
    section = operation
    if entry is None and base is not None and base.bucket and base.bucket != operation:
        # An operation drawing from a shared bucket (every Shopify GraphQL query
        # from "graphql") follows the configuration of that bucket.
        section = base.bucket
        entry = _section(overrides, "plans", platform, section)
    if base is None and entry is None:
        raise ConfigError(
            "XD-CFG-004",
            detail=f"no usage plan for {platform}/{operation}; set rate_per_s and burst in "
                   f"[ratelimit.plans.{platform}.{operation}]")
    if entry is not None:
        unknown = set(entry) - _PLAN_KEYS
        if unknown:
            raise ConfigError("XD-CFG-003", detail=f"ratelimit.plans.{platform}.{section}: "
                                                   f"unknown keys {sorted(unknown)}")
        changes: dict[str, Any] = {"pinned_rate": "rate_per_s" in entry,
                                   "pinned_burst": "burst" in entry}
        if "rate_per_s" in entry or "burst" in entry:
            changes.update(uncertain=False, source="configuration")
        key = f"ratelimit.plans.{platform}.{section}"
        for name in ("rate_per_s", "burst", "max_cost"):
            if name in entry:
                changes[name] = _positive(entry[name], key=f"{key}.{name}")
        if "windows" in entry:
            changes["windows"] = tuple(str(w) for w in entry["windows"])
        if "bucket" in entry:
            changes["bucket"] = str(entry["bucket"])
        if base is None:
            if "rate_per_s" not in changes or "burst" not in changes:
                raise ConfigError("XD-CFG-004",
                                  detail=f"{key} needs both rate_per_s and burst")
            base = UsagePlan(changes.pop("rate_per_s"), changes.pop("burst"))
        base = dataclasses.replace(base, **changes)
    assert base is not None
    if not base.bucket:
        base = dataclasses.replace(base, bucket=operation)
    return base


def window_for(platform: str, name: str, *, overrides: Mapping[str, Any] | None = None,
               windows: Mapping[tuple[str, str], LongWindow] = DEFAULT_WINDOWS) -> LongWindow:
    """The long-window budget ``name`` of ``platform`` with config overrides applied."""
    base = windows.get((platform, name))
    entry = _section(overrides, "windows", platform, name)
    key = f"ratelimit.windows.{platform}.{name}"
    if base is None and entry is None:
        raise ConfigError("XD-CFG-004", detail=f"no long-window budget {platform}/{name}; "
                                               f"set limit in [{key}]")
    if entry is None:
        assert base is not None
        return base
    unknown = set(entry) - _WINDOW_KEYS
    if unknown:
        raise ConfigError("XD-CFG-003", detail=f"{key}: unknown keys {sorted(unknown)}")
    changes: dict[str, Any] = {"pinned": "limit" in entry}
    if "limit" in entry:
        changes.update(uncertain=False, source="configuration")
    for num in ("limit", "window_s"):
        if num in entry:
            changes[num] = _positive(entry[num], key=f"{key}.{num}")
    if "scope" in entry:
        if entry["scope"] not in _SCOPES:
            raise ConfigError("XD-CFG-003", detail=f"{key}.scope must be one of {_SCOPES}")
        changes["scope"] = entry["scope"]
    if "tz" in entry:
        changes["tz"] = str(entry["tz"])
    if "code" in entry:
        changes["code"] = str(entry["code"])
    if base is None:
        if "limit" not in changes:
            raise ConfigError("XD-CFG-004", detail=f"{key} needs limit")
        base = LongWindow(changes.pop("limit"))
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class ReservePolicy:
    """How far each priority may drain a bucket / a long window.

    ``bucket[p] = 0.5`` means priority ``p`` is refused once taking its cost
    would leave less than 50 % of the bucket; the rest is kept for more
    important work. Keys are :class:`~crossdock.ratelimit.priority.Priority` names.
    """

    bucket: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({
        "CRITICAL": 0.0, "STOCK": 0.10, "NORMAL": 0.20, "PRICE": 0.30, "CONTENT": 0.50}))
    window: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({
        "CRITICAL": 0.0, "STOCK": 0.05, "NORMAL": 0.10, "PRICE": 0.15, "CONTENT": 0.20}))
