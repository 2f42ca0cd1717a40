"""Platform order status → :class:`crossdock.models.OrderStatus`, as data.

A platform's status is read as *signals* (field → value) from either the raw
status string or the order payload itself. Each platform declares its map (its
fields, the values each may take and the rules) in its own folder
(``crossdock/connectors/<platform>/statuses.py``), with an ``extra_signals``
hook for signals nested in the payload; :func:`default_status_map` finds it
through the platform registry.

A :class:`StatusMap` is an ordered list of rules (conditions → status); the
first rule whose conditions all hold wins. Every value a map knows is listed;
a value it has never heard of is MappingError XD-MAP-011, so a new platform
status stops the import instead of being guessed. A missing main field is
XD-MAP-010 (the payload is not an order).

Per-channel overrides, e.g. from ``[channels.ebay-us.order_status]``::

    "FULFILLED" = "delivered"                          # main field value
    "orderPaymentStatus=FULLY_REFUNDED" = "cancelled"  # another field
    "displayFulfillmentStatus=ON_HOLD&displayFinancialStatus=PAID" = "pending"
    "OrderStatus=Pending|PendingAvailability" = "unshipped"   # any of

An override with the same conditions as a default rule replaces its status in
place; any other override is checked before the defaults. Values are matched
without regard to case.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from crossdock.errors import ConfigError, MappingError
from crossdock.models import OrderStatus

__all__ = [
    "StatusMap",
    "StatusRule",
    "rule",
    "default_status_map",
    "map_order_status",
    "parse_order_status",
    "status_map_from_config",
]

log = logging.getLogger(__name__)

Condition = tuple[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class StatusRule:
    when: tuple[Condition, ...]      # (field, accepted values casefolded), all must hold
    status: OrderStatus

    def matches(self, signals: Mapping[str, str]) -> bool:
        return all(signals.get(f) in values for f, values in self.when)

    def key(self) -> frozenset[Condition]:
        return frozenset(self.when)


def rule(status: OrderStatus, /, **when: str | Iterable[str]) -> StatusRule:
    """``rule(SHIPPED, OrderStatus="Shipped")``: this status when every field has one of the values."""
    conds = []
    for f, values in when.items():
        vals = [values] if isinstance(values, str) else list(values)
        conds.append((f, frozenset(v.casefold() for v in vals)))
    return StatusRule(tuple(conds), status)


@dataclass(frozen=True, slots=True)
class StatusMap:
    platform: str
    primary_field: str
    rules: tuple[StatusRule, ...]
    known: Mapping[str, frozenset[str]]          # field → every value it may take (casefolded)
    #: Signals nested in an order payload (eBay ``cancelStatus.cancelState``): payload → {field: value}.
    extra_signals: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None

    # ------------------------------------------------------------ reading raw input
    def signals(self, raw: str | Mapping[str, Any]) -> dict[str, str]:
        """The (casefolded) signal values found in ``raw``."""
        found: dict[str, Any] = {}
        if isinstance(raw, str):
            found[self.primary_field] = raw
        elif isinstance(raw, Mapping):
            for f in self.known:
                if raw.get(f) is not None:
                    found[f] = raw[f]
            if self.extra_signals is not None:
                for f, value in self.extra_signals(raw).items():
                    if f not in found and value is not None:
                        found[f] = value
        else:
            raise MappingError("XD-MAP-010", detail=f"order status must be text or an order "
                                                    f"object, got {type(raw).__name__}")
        out: dict[str, str] = {}
        for f, value in found.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            if not isinstance(value, str):
                raise MappingError("XD-MAP-010", detail=f"{self.platform} {f} is "
                                                        f"{value!r}, expected text")
            out[f] = value.strip().casefold()
        return out

    # ------------------------------------------------------------ mapping
    def map(self, raw: str | Mapping[str, Any], *, channel: str | None = None,
            order_id: str | None = None) -> OrderStatus:
        """crossdock's status for ``raw``; XD-MAP-011 on a value this map does not know."""
        entity = f"order {order_id}" if order_id else None
        signals = self.signals(raw)
        if not signals.get(self.primary_field):
            raise MappingError("XD-MAP-010", channel=channel, entity=entity,
                               detail=f"no {self.primary_field} in the {self.platform} order")
        for f, value in signals.items():
            if f in self.known and value not in self.known[f]:
                raise MappingError(
                    "XD-MAP-011", channel=channel, entity=entity,
                    detail=f"{self.platform} {f} {_original(raw, f, self)!r} has no mapping",
                    platform=self.platform, field=f, value=_original(raw, f, self))
        for rule in self.rules:
            if rule.matches(signals):
                return rule.status
        raise MappingError(
            "XD-MAP-011", channel=channel, entity=entity,
            detail=f"no {self.platform} status rule matches "
                   + ", ".join(f"{f}={v}" for f, v in sorted(signals.items())),
            platform=self.platform, signals=signals)

    # ------------------------------------------------------------ overrides
    def with_overrides(self, overrides: Mapping[str, Any] | None, *,
                       where: str = "order_status") -> StatusMap:
        """A new map with per-channel overrides applied (see module doc)."""
        if not overrides:
            return self
        if not isinstance(overrides, Mapping):
            raise ConfigError("XD-CFG-003", detail=f"{where}: expected a table of "
                                                   "platform status = crossdock status")
        rules = list(self.rules)
        known = {f: set(v) for f, v in self.known.items()}
        front: list[StatusRule] = []
        for key, target in overrides.items():
            loc = f"{where}.{key}"
            status = parse_order_status(target, where=loc)
            when = self._parse_key(key, where=loc)
            rule = StatusRule(when, status)
            for f, values in when:
                known[f].update(values)
            for i, existing in enumerate(rules):
                if existing.key() == rule.key():
                    rules[i] = rule
                    break
            else:
                front.append(rule)
        return replace(self, rules=tuple(front + rules),
                       known={f: frozenset(v) for f, v in known.items()})

    def _parse_key(self, key: Any, *, where: str) -> tuple[Condition, ...]:
        if not isinstance(key, str) or not key.strip():
            raise ConfigError("XD-CFG-003", detail=f"{where}: empty platform status")
        fields = {f.casefold(): f for f in self.known}
        conds: dict[str, frozenset[str]] = {}
        for part in key.split("&"):
            if "=" in part:
                name, _, values = part.partition("=")
                field_name = fields.get(name.strip().casefold())
                if field_name is None:
                    raise ConfigError("XD-CFG-003", detail=f"{where}: {name.strip()!r} is not a "
                                                           f"{self.platform} status field "
                                                           f"(use {', '.join(self.known)})")
            else:
                field_name, values = self.primary_field, part
            vals = frozenset(v.strip().casefold() for v in values.split("|") if v.strip())
            if not vals or field_name in conds:
                raise ConfigError("XD-CFG-003", detail=f"{where}: cannot read status condition "
                                                       f"{part.strip()!r}")
            conds[field_name] = vals
        return tuple(conds.items())


def _original(raw: Any, f: str, smap: StatusMap) -> Any:
    if isinstance(raw, str):
        return raw
    if f not in raw and smap.extra_signals is not None:
        return smap.extra_signals(raw).get(f)
    return raw.get(f)


def parse_order_status(value: Any, *, where: str) -> OrderStatus:
    """An OrderStatus from ``"shipped"``, ``"SHIPPED"`` or an OrderStatus; else XD-CFG-003."""
    if isinstance(value, OrderStatus):
        return value
    if isinstance(value, str):
        text = value.strip()
        for status in OrderStatus:
            if text.casefold() in (status.value, status.name.casefold()):
                return status
    raise ConfigError("XD-CFG-003", detail=f"{where}: {value!r} is not a crossdock order status "
                                           f"(use {', '.join(s.value for s in OrderStatus)})")


# ---------------------------------------------------------------- each platform's own
def default_status_map(platform: str) -> StatusMap:
    """The platform's map (its ``PlatformSpec.statuses``); XD-CFG-003 for an unknown platform."""
    from crossdock.platforms import registry

    return registry.platform(platform).statuses


def status_map_from_config(platform: str | StatusMap, overrides: Mapping[str, Any] | None, *,
                           where: str) -> StatusMap:
    """The platform's map (or ``platform`` itself, a map) with the channel's overrides (ConfigError XD-CFG-003)."""
    base = platform if isinstance(platform, StatusMap) else default_status_map(platform)
    return base.with_overrides(overrides, where=where)


def map_order_status(platform: str | StatusMap, raw: str | Mapping[str, Any], *,
                     overrides: Mapping[str, Any] | None = None, channel: str | None = None,
                     order_id: str | None = None) -> OrderStatus:
    """One-shot mapping; build a :class:`StatusMap` once when mapping many orders."""
    smap = status_map_from_config(platform, overrides, where="order_status")
    return smap.map(raw, channel=channel, order_id=order_id)
