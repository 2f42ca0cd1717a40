"""Currency minor units, quantisation and price rounding styles.

Everything is :class:`~decimal.Decimal`; a float is refused wherever an amount
comes in. Rounding "to the nearest" is ``ROUND_HALF_UP`` (2.345 EUR → 2.35),
the way shop prices are rounded, not the banker's rounding Python uses by
default.

Rounding styles (written as strings in configuration)::

    nearest          to the currency's minor unit, half up (JPY 1, EUR 0.01, KWD 0.001)
    charm            up to the next price with the currency's charm ending:
                     .99 for two-decimal currencies (23.40 → 23.99); currencies
                     without a default ending (JPY, KRW, KWD …) round to nearest
    charm:0.95       up to the next price ending in .95
    charm:80         up to the next price ending in 80 (JPY 1,234 → 1,280)
    charm:0          up to the next multiple of 10 (JPY 1,234 → 1,240)
    up_to:0.05       up to the next multiple of the step (CHF 12.31 → 12.35)
    up_to(10)        same, call-style spelling (JPY 1,234 → 1,240)

An ending with a fractional part repeats every whole unit (``0.99``); an
integer ending with *k* digits repeats every 10**k units (``80`` → every 100).
Charm and step rounding first quantise to the minor unit (half up) and then
round *up*, so a rule never quietly gives away margin.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from crossdock.errors import ConfigError
from crossdock.models import Money

__all__ = [
    "CHARM_ENDINGS",
    "MINOR_UNITS",
    "RoundingStyle",
    "apply_rounding",
    "is_known_currency",
    "minor_unit",
    "minor_units",
    "normalise_currency",
    "parse_rounding",
    "quantize",
    "quantize_money",
    "to_decimal",
]

# ISO 4217 (active codes) → number of minor-unit digits. Codes without a minor
# unit (precious metals, testing codes, XDR …) are left out on purpose.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN "
    "ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES "
    "KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK "
    "MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR "
    "SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD "
    "TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL"
)

MINOR_UNITS: Mapping[str, int] = {
    **{c: 2 for c in _TWO.split()},
    **{c: 0 for c in _ZERO.split()},
    **{c: 3 for c in _THREE.split()},
    **{c: 4 for c in _FOUR.split()},
}

# Default endings for the ``charm`` style. Two-decimal currencies end in .99;
# others have no default (JPY sellers choose 0 or 80 endings in configuration).
CHARM_ENDINGS: Mapping[str, Decimal] = {
    c: Decimal("0.99") for c, units in MINOR_UNITS.items() if units == 2
}

_CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")


def is_known_currency(currency: object) -> bool:
    return isinstance(currency, str) and currency.upper() in MINOR_UNITS


def normalise_currency(currency: Any, *, where: str = "currency") -> str:
    """Upper-case ISO 4217 code, or ConfigError XD-CFG-003 naming ``where``."""
    if not isinstance(currency, str) or not _CURRENCY_RE.match(currency.strip()):
        raise ConfigError("XD-CFG-003", detail=f"{where}: {currency!r} is not a currency code")
    code = currency.strip().upper()
    if code not in MINOR_UNITS:
        raise ConfigError("XD-CFG-003", detail=f"{where}: {code} is not an ISO 4217 currency "
                                               "with a minor unit")
    return code


def minor_units(currency: str) -> int:
    """Number of decimal places of ``currency`` (JPY 0, EUR 2, KWD 3)."""
    return MINOR_UNITS[normalise_currency(currency)]


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency`` as a Decimal exponent (EUR → 0.01, JPY → 1)."""
    return Decimal(1).scaleb(-minor_units(currency))


def to_decimal(value: Any, *, where: str) -> Decimal:
    """A Decimal from configuration input, or ConfigError XD-CFG-003 naming ``where``.

    Strings, ints and Decimals are taken as they are. A float is accepted only
    because TOML writes ``markup = 1.15`` as one: it is read back through its
    shortest repr (``"1.15"``), so the value is exactly what the person typed.
    Booleans, NaN and infinities are refused.
    """
    if isinstance(value, bool):
        raise ConfigError("XD-CFG-003", detail=f"{where}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace("_", ""))
        except InvalidOperation:
            raise ConfigError("XD-CFG-003", detail=f"{where}: {value!r} is not a number") from None
    else:
        raise ConfigError("XD-CFG-003", detail=f"{where}: expected a number, got {value!r}")
    if not result.is_finite():
        raise ConfigError("XD-CFG-003", detail=f"{where}: {value!r} is not a finite number")
    return result


def _amount(value: Any) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money amounts must be Decimal, int or str, never float")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"cannot use {value!r} as an amount")


def quantize(amount: Decimal | int | str, currency: str, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round ``amount`` to the minor unit of ``currency`` (half up by default)."""
    return _amount(amount).quantize(minor_unit(currency), rounding=rounding)


def quantize_money(money: Money) -> Money:
    """``money`` rounded to its currency's minor unit, half up."""
    return Money(quantize(money.amount, money.currency), money.currency)


@dataclass(frozen=True, slots=True)
class RoundingStyle:
    """How a computed price is turned into a shelf price.

    ``kind`` is ``nearest``, ``charm`` or ``up_to``. ``ending`` (charm) is None
    for "the currency's default ending"; ``step`` (up_to) is required.
    """

    kind: str = "nearest"
    ending: Decimal | None = None
    step: Decimal | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("nearest", "charm", "up_to"):
            raise ConfigError("XD-CFG-003", detail=f"rounding: unknown style {self.kind!r} "
                                                   "(use nearest, charm or up_to)")
        if self.kind == "up_to" and (self.step is None or self.step <= 0):
            raise ConfigError("XD-CFG-003", detail="rounding: up_to needs a step greater than 0")
        if self.kind == "charm" and self.ending is not None and self.ending < 0:
            raise ConfigError("XD-CFG-003", detail="rounding: a charm ending cannot be negative")

    @classmethod
    def nearest(cls) -> RoundingStyle:
        return cls("nearest")

    @classmethod
    def charm(cls, ending: Decimal | str | None = None) -> RoundingStyle:
        return cls("charm", ending=None if ending is None else _amount(ending))

    @classmethod
    def up_to(cls, step: Decimal | str | int) -> RoundingStyle:
        return cls("up_to", step=_amount(step))

    def __str__(self) -> str:
        if self.kind == "charm" and self.ending is not None:
            return f"charm:{self.ending}"
        if self.kind == "up_to":
            return f"up_to:{self.step}"
        return self.kind

    def check(self, currency: str, *, where: str = "rounding") -> None:
        """ConfigError XD-CFG-003 if this style cannot be applied to ``currency``."""
        unit = minor_unit(currency)
        if self.kind == "up_to":
            assert self.step is not None
            if self.step % unit:
                raise ConfigError("XD-CFG-003", detail=f"{where}: step {self.step} is finer than "
                                                       f"the minor unit of {currency} ({unit})")
        elif self.kind == "charm":
            ending = self._ending_for(currency)
            if ending is not None and ending % unit:
                raise ConfigError("XD-CFG-003", detail=f"{where}: charm ending {ending} is finer "
                                                       f"than the minor unit of {currency} ({unit})")

    def _ending_for(self, currency: str) -> Decimal | None:
        if self.ending is not None:
            return self.ending
        return CHARM_ENDINGS.get(currency.upper())

    def apply(self, amount: Decimal | int | str, currency: str) -> Decimal:
        """Round ``amount`` (in ``currency``) with this style."""
        self.check(currency)
        value = quantize(amount, currency)
        if self.kind == "nearest":
            return value
        if self.kind == "up_to":
            assert self.step is not None
            steps = (value / self.step).to_integral_value(rounding=ROUND_CEILING)
            return quantize(steps * self.step, currency)
        ending = self._ending_for(currency)
        if ending is None:
            return value
        period = _charm_period(ending)
        candidate = (value / period).to_integral_value(rounding=ROUND_FLOOR) * period + ending
        if candidate < value:
            candidate += period
        return quantize(candidate, currency)


def _charm_period(ending: Decimal) -> Decimal:
    """Distance between two prices with the same ending: 1 for ``0.99``, 100 for ``80``."""
    if ending != ending.to_integral_value():
        if ending >= 1:
            raise ConfigError("XD-CFG-003", detail=f"rounding: charm ending {ending} must be "
                                                   "below 1 when it has decimals (e.g. 0.99)")
        return Decimal(1)
    digits = len(str(int(ending)))
    return Decimal(10) ** digits


_STYLE_RE = re.compile(
    r"^\s*(?P<kind>[a-z_]+)\s*(?:[:=]\s*(?P<arg>[^()\s]+)|\(\s*(?P<arg2>[^()\s]+)\s*\))?\s*$"
)


def parse_rounding(spec: str | RoundingStyle, *, where: str = "rounding") -> RoundingStyle:
    """A :class:`RoundingStyle` from its configuration spelling (see module doc)."""
    if isinstance(spec, RoundingStyle):
        return spec
    if not isinstance(spec, str):
        raise ConfigError("XD-CFG-003", detail=f"{where}: expected a rounding style string, "
                                               f"got {spec!r}")
    m = _STYLE_RE.match(spec.lower())
    if not m:
        raise ConfigError("XD-CFG-003", detail=f"{where}: cannot read rounding style {spec!r} "
                                               "(use nearest, charm, charm:0.99, up_to:0.05)")
    kind = m.group("kind").replace("-", "_")
    arg = m.group("arg") or m.group("arg2")
    if kind == "nearest":
        if arg is not None:
            raise ConfigError("XD-CFG-003", detail=f"{where}: 'nearest' takes no argument")
        return RoundingStyle.nearest()
    if kind == "charm":
        ending = None if arg is None else to_decimal(arg, where=where)
        style = RoundingStyle("charm", ending=ending)
        if ending is not None:
            _charm_period(ending)
        return style
    if kind in ("up_to", "upto", "up"):
        if arg is None:
            raise ConfigError("XD-CFG-003", detail=f"{where}: up_to needs a step, e.g. up_to:0.05")
        return RoundingStyle("up_to", step=to_decimal(arg, where=where))
    raise ConfigError("XD-CFG-003", detail=f"{where}: unknown rounding style {kind!r} "
                                           "(use nearest, charm or up_to)")


def apply_rounding(amount: Decimal | int | str, currency: str,
                   style: RoundingStyle | str = "nearest") -> Decimal:
    """Round ``amount`` in ``currency`` with ``style`` (a RoundingStyle or its spelling)."""
    return parse_rounding(style).apply(amount, currency)
