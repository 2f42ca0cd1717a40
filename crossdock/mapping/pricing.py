"""Channel prices from a base price: FX, markup, surcharge, rounding, floor and ceiling.

    price = round(base × fx(base → target) × markup + add, style for target)
    price = clamp(price, floor, ceiling)

``add``, ``floor`` and ``ceiling`` may be given in any currency; they are
converted to the target currency with the same table and day (and rounded to
its minor unit, half up). The clamp comes after rounding, so a ceiling wins
over a charm ending. A base price of zero or less, or a result of zero or
less, is MappingError XD-MAP-003: nothing is ever listed for free by accident.

Configuration (a plain dict, e.g. one TOML table per channel)::

    [channels.amazon-de.pricing]
    markup = "1.18"
    add = "1.50 EUR"                 # or {amount = "1.50", currency = "EUR"}
    rounding = "charm"               # or a table: {default = "charm", JPY = "up_to:10"}
    floor = "9.99 EUR"
    ceiling = "499 EUR"
    fx_max_age_days = 7
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from crossdock.errors import ConfigError, MappingError
from crossdock.mapping.checks import is_count
from crossdock.mapping.fx import FxQuote, FxTable
from crossdock.mapping.money import (
    RoundingStyle,
    normalise_currency,
    parse_rounding,
    quantize,
    to_decimal,
)
from crossdock.models import Money

__all__ = [
    "DEFAULT_FX_MAX_AGE_DAYS",
    "PriceBreakdown",
    "PriceRule",
    "compute_price",
    "money_from_config",
    "price_breakdown",
    "price_rule_from_config",
]

log = logging.getLogger(__name__)

DEFAULT_FX_MAX_AGE_DAYS = 7


@dataclass(frozen=True, slots=True)
class PriceRule:
    """A seller's pricing rule for one channel (or a shared default).

    ``rounding`` is a style spelling (``nearest``, ``charm``, ``charm:80``,
    ``up_to:0.05`` …, see :mod:`crossdock.mapping.money`);
    ``rounding_by_currency`` overrides it for given target currencies, e.g.
    ``{"JPY": "up_to:10"}`` so one rule serves channels in several currencies.
    ``fx_max_age_days=None`` accepts a rate of any age.
    """

    markup: Decimal = Decimal(1)
    add: Money | None = None
    rounding: str = "nearest"
    floor: Money | None = None
    ceiling: Money | None = None
    fx_max_age_days: int | None = DEFAULT_FX_MAX_AGE_DAYS
    rounding_by_currency: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        markup = self.markup
        if isinstance(markup, float):
            raise TypeError("PriceRule.markup must be a Decimal, never a float")
        markup = to_decimal(markup, where="markup")
        if markup <= 0:
            raise ConfigError("XD-CFG-003", detail=f"markup: must be greater than 0, got {markup}")
        object.__setattr__(self, "markup", markup)
        for name in ("add", "floor", "ceiling"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Money):
                raise TypeError(f"PriceRule.{name} must be Money or None")
        if self.floor is not None and self.floor.amount < 0:
            raise ConfigError("XD-CFG-003", detail=f"floor: cannot be negative ({self.floor.amount})")
        if (self.floor is not None and self.ceiling is not None
                and self.floor.currency == self.ceiling.currency
                and self.floor.amount > self.ceiling.amount):
            raise ConfigError("XD-CFG-003", detail=f"floor {self.floor.amount} is above ceiling "
                                                   f"{self.ceiling.amount} {self.ceiling.currency}")
        if self.fx_max_age_days is not None and not is_count(self.fx_max_age_days):
            raise ConfigError("XD-CFG-003", detail="fx_max_age_days: must be a whole number of "
                                                   f"days, 0 or more (got {self.fx_max_age_days!r})")
        parse_rounding(self.rounding, where="rounding")
        overrides = self.rounding_by_currency
        if isinstance(overrides, Mapping):
            overrides = tuple(overrides.items())
        cleaned = []
        for currency, style in overrides:
            code = normalise_currency(currency, where=f"rounding.{currency}")
            parse_rounding(style, where=f"rounding.{code}").check(code, where=f"rounding.{code}")
            cleaned.append((code, str(style)))
        object.__setattr__(self, "rounding_by_currency", tuple(cleaned))

    def rounding_for(self, currency: str) -> RoundingStyle:
        code = currency.upper()
        for cur, style in self.rounding_by_currency:
            if cur == code:
                return parse_rounding(style)
        return parse_rounding(self.rounding)


@dataclass(frozen=True, slots=True)
class PriceBreakdown:
    """Every step of one price computation (for `inspect`, logs and support)."""

    base: Money
    fx: FxQuote
    converted: Decimal        # base × rate, unrounded
    marked_up: Decimal        # × markup (+ add), unrounded
    rounded: Decimal          # after the rounding style
    price: Money              # after floor / ceiling
    clamped_by: str | None    # "floor", "ceiling" or None
    rounding: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base.to_dict(),
            "fx": {"rate": str(self.fx.rate), "valid_on": self.fx.valid_on.isoformat(),
                   "path": list(self.fx.path), "how": self.fx.how},
            "converted": str(self.converted),
            "marked_up": str(self.marked_up),
            "rounded": str(self.rounded),
            "rounding": self.rounding,
            "clamped_by": self.clamped_by,
            "price": self.price.to_dict(),
        }


def _in_target(money: Money, target: str, fx: FxTable, on: dt.date, rule: PriceRule) -> Decimal:
    if money.currency == target:
        return money.amount
    return fx.convert(money, target, on, max_age_days=rule.fx_max_age_days).amount


def price_breakdown(base: Money, target_currency: str, rule: PriceRule, fx: FxTable,
                    on: dt.date, *, sku: str | None = None) -> PriceBreakdown:
    """:func:`compute_price` with every intermediate value kept."""
    target = normalise_currency(target_currency, where="target currency")
    entity = f"sku {sku}" if sku else None
    if base.amount <= 0:
        raise MappingError("XD-MAP-003", entity=entity,
                           detail=f"base price {base.amount} {base.currency} is not above zero",
                           base=base.to_dict())
    quote = fx.resolve(base.currency, target, on, max_age_days=rule.fx_max_age_days)
    converted = base.amount * quote.rate
    amount = converted * rule.markup
    if rule.add is not None:
        amount += _in_target(rule.add, target, fx, on, rule)
    style = rule.rounding_for(target)
    rounded = style.apply(amount, target)
    price = rounded
    clamped_by = None
    if rule.floor is not None:
        floor = quantize(_in_target(rule.floor, target, fx, on, rule), target)
        if price < floor:
            price, clamped_by = floor, "floor"
    if rule.ceiling is not None:
        ceiling = quantize(_in_target(rule.ceiling, target, fx, on, rule), target)
        if price > ceiling:
            price, clamped_by = ceiling, "ceiling"
    if price <= 0:
        raise MappingError(
            "XD-MAP-003", entity=entity,
            detail=f"price rule gives {price} {target} for base {base.amount} {base.currency} "
                   f"(rate {quote.rate}, markup {rule.markup}, rounding {style})",
            base=base.to_dict(), target=target, price=str(price))
    result = PriceBreakdown(base=base, fx=quote, converted=converted, marked_up=amount,
                            rounded=rounded, price=Money(price, target), clamped_by=clamped_by,
                            rounding=str(style))
    log.debug("price %s: %s %s → %s %s (rate %s, %s%s)", sku or "-", base.amount, base.currency,
              price, target, quote.rate, style, f", {clamped_by}" if clamped_by else "")
    return result


def compute_price(base: Money, target_currency: str, rule: PriceRule, fx: FxTable,
                  on: dt.date, *, sku: str | None = None) -> Money:
    """``base`` turned into the channel's price in ``target_currency`` on day ``on``.

    Raises MappingError XD-MAP-005/006 (no or stale FX rate) and XD-MAP-003
    (base or result not above zero).
    """
    return price_breakdown(base, target_currency, rule, fx, on, sku=sku).price


# -------------------------------------------------------------------- configuration
_RULE_KEYS = ("markup", "add", "rounding", "floor", "ceiling", "fx_max_age_days")


def money_from_config(value: Any, *, where: str) -> Money:
    """Money from ``"1.50 EUR"``, ``"EUR 1.50"`` or ``{amount = "1.50", currency = "EUR"}``."""
    if isinstance(value, Money):
        return value
    if isinstance(value, str):
        parts = value.split()
        if len(parts) != 2:
            raise ConfigError("XD-CFG-003", detail=f"{where}: write money as \"1.50 EUR\", "
                                                   f"got {value!r}")
        a, b = parts
        amount_text, currency = (a, b) if b.isalpha() else (b, a)
        return Money(to_decimal(amount_text, where=where),
                     normalise_currency(currency, where=where))
    if isinstance(value, Mapping):
        extra = sorted(set(value) - {"amount", "currency"})
        if extra or "amount" not in value or "currency" not in value:
            raise ConfigError("XD-CFG-003", detail=f"{where}: money needs exactly amount and "
                                                   f"currency, got {sorted(value)}")
        return Money(to_decimal(value["amount"], where=f"{where}.amount"),
                     normalise_currency(value["currency"], where=f"{where}.currency"))
    raise ConfigError("XD-CFG-003", detail=f"{where}: expected money such as \"1.50 EUR\", "
                                           f"got {value!r}")


def price_rule_from_config(d: Mapping[str, Any] | None, *, where: str) -> PriceRule:
    """A :class:`PriceRule` from a plain dict; ConfigError XD-CFG-003 names the bad key.

    ``where`` is the dotted path of the dict in the configuration, e.g.
    ``"channels.amazon-de.pricing"``.
    """
    if d is None:
        return PriceRule()
    if not isinstance(d, Mapping):
        raise ConfigError("XD-CFG-003", detail=f"{where}: expected a table of pricing keys")
    unknown = sorted(set(d) - set(_RULE_KEYS))
    if unknown:
        raise ConfigError("XD-CFG-003", detail=f"{where}.{unknown[0]}: unknown key (allowed: "
                                               f"{', '.join(_RULE_KEYS)})", key=f"{where}.{unknown[0]}")
    kwargs: dict[str, Any] = {}
    if "markup" in d:
        markup = to_decimal(d["markup"], where=f"{where}.markup")
        if markup <= 0:
            raise ConfigError("XD-CFG-003", detail=f"{where}.markup: must be greater than 0, "
                                                   f"got {markup}", key=f"{where}.markup")
        kwargs["markup"] = markup
    for name in ("add", "floor", "ceiling"):
        if d.get(name) is not None:
            kwargs[name] = money_from_config(d[name], where=f"{where}.{name}")
    if "rounding" in d:
        rounding = d["rounding"]
        if isinstance(rounding, Mapping):
            rounding = dict(rounding)
            default = rounding.pop("default", "nearest")
            parse_rounding(default, where=f"{where}.rounding.default")
            by_currency = []
            for cur, style in rounding.items():
                code = normalise_currency(cur, where=f"{where}.rounding.{cur}")
                loc = f"{where}.rounding.{cur}"
                parse_rounding(style, where=loc).check(code, where=loc)
                by_currency.append((code, style))
            kwargs["rounding"] = default
            kwargs["rounding_by_currency"] = tuple(by_currency)
        else:
            parse_rounding(rounding, where=f"{where}.rounding")
            kwargs["rounding"] = rounding
    if "fx_max_age_days" in d:
        age = d["fx_max_age_days"]
        if age is not None and not is_count(age):
            raise ConfigError("XD-CFG-003", detail=f"{where}.fx_max_age_days: must be a whole "
                                                   f"number of days, 0 or more (got {age!r})",
                              key=f"{where}.fx_max_age_days")
        kwargs["fx_max_age_days"] = age
    try:
        return PriceRule(**kwargs)
    except ConfigError as exc:
        raise ConfigError("XD-CFG-003", detail=f"{where}: {exc.detail}", key=where) from exc
