"""How much of the shared stock pool each channel shows.

    available_to_sell = max(0, on_hand − reserved − safety_stock)
    listed            = min(max_listed, floor(max(0, available_to_sell − buffer) × share))

Never negative; zero available always lists zero (``share`` and ``buffer``
can only lower a number, never raise it). Configuration::

    [channels.ebay-us.stock]
    buffer = 2          # keep 2 units back from this channel
    max_listed = 50     # never show more than 50
    share = "0.5"       # show half of what is left
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from crossdock.errors import ConfigError
from crossdock.mapping.checks import is_count
from crossdock.mapping.money import to_decimal

__all__ = ["ChannelStockRule", "available_to_sell", "listed_quantity", "stock_rule_from_config"]


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class ChannelStockRule:
    buffer: int = 0
    max_listed: int | None = None
    share: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if not is_count(self.buffer):
            raise ConfigError("XD-CFG-003", detail=f"buffer: must be a whole number, 0 or more "
                                                   f"(got {self.buffer!r})")
        if self.max_listed is not None and not is_count(self.max_listed):
            raise ConfigError("XD-CFG-003", detail=f"max_listed: must be a whole number, 0 or "
                                                   f"more (got {self.max_listed!r})")
        if isinstance(self.share, float):
            raise TypeError("ChannelStockRule.share must be a Decimal, never a float")
        share = to_decimal(self.share, where="share")
        if not Decimal(0) <= share <= Decimal(1):
            raise ConfigError("XD-CFG-003", detail=f"share: must be between 0 and 1 (got {share})")
        object.__setattr__(self, "share", share)


def available_to_sell(on_hand: int, reserved: int, safety_stock: int = 0) -> int:
    """Units free to promise: on hand minus reserved minus safety stock, never below 0.

    ``on_hand`` may be negative after a miscount; ``reserved`` and
    ``safety_stock`` may not.
    """
    on_hand = _count(on_hand, "on_hand")
    reserved = _count(reserved, "reserved")
    safety_stock = _count(safety_stock, "safety_stock")
    if reserved < 0 or safety_stock < 0:
        raise ValueError(f"reserved ({reserved}) and safety_stock ({safety_stock}) cannot be negative")
    return max(0, on_hand - reserved - safety_stock)


def listed_quantity(available_to_sell: int, rule: ChannelStockRule | None = None) -> int:
    """The quantity to show on one channel (see module doc)."""
    available = max(0, _count(available_to_sell, "available_to_sell"))
    rule = rule or ChannelStockRule()
    after_buffer = max(0, available - rule.buffer)
    shown = int((Decimal(after_buffer) * rule.share).to_integral_value(rounding=ROUND_FLOOR))
    if rule.max_listed is not None:
        shown = min(shown, rule.max_listed)
    return max(0, shown)


_KEYS = ("buffer", "max_listed", "share")


def stock_rule_from_config(d: Mapping[str, Any] | None, *, where: str) -> ChannelStockRule:
    """A :class:`ChannelStockRule` from a plain dict; ConfigError XD-CFG-003 names the key."""
    if d is None:
        return ChannelStockRule()
    if not isinstance(d, Mapping):
        raise ConfigError("XD-CFG-003", detail=f"{where}: expected a table of stock keys")
    unknown = sorted(set(d) - set(_KEYS))
    if unknown:
        raise ConfigError("XD-CFG-003", detail=f"{where}.{unknown[0]}: unknown key (allowed: "
                                               f"{', '.join(_KEYS)})", key=f"{where}.{unknown[0]}")
    kwargs: dict[str, Any] = {}
    for name in ("buffer", "max_listed"):
        if name in d and d[name] is not None:
            value = d[name]
            if not is_count(value):
                raise ConfigError("XD-CFG-003", detail=f"{where}.{name}: must be a whole number, "
                                                       f"0 or more (got {value!r})",
                                  key=f"{where}.{name}")
            kwargs[name] = value
    if "share" in d:
        share = to_decimal(d["share"], where=f"{where}.share")
        if not Decimal(0) <= share <= Decimal(1):
            raise ConfigError("XD-CFG-003", detail=f"{where}.share: must be between 0 and 1 "
                                                   f"(got {share})", key=f"{where}.share")
        kwargs["share"] = share
    return ChannelStockRule(**kwargs)
