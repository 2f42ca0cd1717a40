"""Exchange rates from a dated table the seller controls, never from the internet.

A rate ``FxRate("EUR", "USD", Decimal("1.0934"), date(2025, 1, 6))`` means
1 EUR = 1.0934 USD, valid from 6 January 2025 until a newer rate for the pair.
:meth:`FxTable.rate` answers with the newest rate on or before the day asked,
from the pair itself, its inverse, or a cross through a pivot currency (EUR,
then USD by default), whichever is freshest. No rate → MappingError
XD-MAP-005; a rate older than ``max_age_days`` → XD-MAP-006.

Rate files are read by :mod:`crossdock.mapping.fx_files`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from crossdock.errors import MappingError
from crossdock.mapping.money import MINOR_UNITS
from crossdock.models import Money

__all__ = [
    "DEFAULT_PIVOTS",
    "RATE_LIMIT",
    "RATE_SCALE",
    "FxQuote",
    "FxRate",
    "FxTable",
]

log = logging.getLogger(__name__)

DEFAULT_PIVOTS: tuple[str, ...] = ("EUR", "USD")
_PRECISION = 28
# What the database stores (fx_rates.rate, Numeric(18, 8)): 8 decimals, below 10^10.
RATE_SCALE = 8
RATE_LIMIT = Decimal(10) ** (18 - RATE_SCALE)


@dataclass(frozen=True, slots=True)
class FxRate:
    """1 ``base`` = ``rate`` ``quote``, valid from ``valid_on``."""

    base: str
    quote: str
    rate: Decimal
    valid_on: dt.date
    source: str | None = None

    def __post_init__(self) -> None:
        base, quote = _code(self.base), _code(self.quote)
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "quote", quote)
        if base == quote:
            raise ValueError(f"FX rate from {base} to itself")
        if not isinstance(self.rate, Decimal):        # a float is refused here too
            raise TypeError("FxRate.rate must be a Decimal, never a float")
        if not self.rate.is_finite() or self.rate <= 0:
            raise ValueError(f"FX rate {base}/{quote} must be a positive number, got {self.rate}")
        if isinstance(self.valid_on, dt.datetime) or not isinstance(self.valid_on, dt.date):
            raise TypeError("FxRate.valid_on must be a date")


def _code(value: Any) -> str:
    if not isinstance(value, str) or value.strip().upper() not in MINOR_UNITS:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value.strip().upper()


@dataclass(frozen=True, slots=True)
class FxQuote:
    """The answer to a rate question, with where it came from (for logs and traces).

    ``valid_on`` is the date of the oldest rate used; ``path`` lists the
    currencies walked, e.g. ``("GBP", "EUR", "JPY")`` for a cross through EUR.
    """

    base: str
    quote: str
    rate: Decimal
    valid_on: dt.date
    path: tuple[str, ...]
    how: str  # identity, direct, inverse, cross

    def age_days(self, on: dt.date) -> int:
        return (on - self.valid_on).days


class FxTable:
    """Dated rates in memory. Adding a rate for an existing (base, quote, day) replaces it.

    ``pivots`` are the currencies tried, in order, for cross rates.
    """

    __slots__ = ("pivots", "_series")

    def __init__(self, rates: Iterable[FxRate] = (), *,
                 pivots: Sequence[str] = DEFAULT_PIVOTS) -> None:
        self.pivots: tuple[str, ...] = tuple(_code(p) for p in pivots)
        self._series: dict[tuple[str, str], tuple[list[dt.date], list[FxRate]]] = {}
        self.extend(rates)

    def __repr__(self) -> str:
        return f"FxTable({len(self)} rates, {len(self._series)} pairs, pivots={self.pivots})"

    # ---------------------------------------------------------------- filling
    def add(self, rate: FxRate) -> None:
        dates, rates = self._series.setdefault((rate.base, rate.quote), ([], []))
        i = bisect.bisect_left(dates, rate.valid_on)
        if i < len(dates) and dates[i] == rate.valid_on:
            rates[i] = rate
        else:
            dates.insert(i, rate.valid_on)
            rates.insert(i, rate)

    def extend(self, rates: Iterable[FxRate]) -> None:
        for rate in rates:
            self.add(rate)

    def __len__(self) -> int:
        return sum(len(dates) for dates, _ in self._series.values())

    def __iter__(self) -> Iterator[FxRate]:
        for key in sorted(self._series):
            yield from self._series[key][1]

    def pairs(self) -> list[tuple[str, str]]:
        return sorted(self._series)

    # ---------------------------------------------------------------- asking
    def rate(self, base: str, quote: str, on: dt.date, *,
             max_age_days: int | None = None) -> Decimal:
        """How many ``quote`` one ``base`` buys on ``on`` (see :meth:`resolve`)."""
        return self.resolve(base, quote, on, max_age_days=max_age_days).rate

    def convert(self, money: Money, quote: str, on: dt.date, *,
                max_age_days: int | None = None) -> Money:
        """``money`` in ``quote``, NOT rounded (rounding is the price rule's job)."""
        q = self.resolve(money.currency, quote, on, max_age_days=max_age_days)
        return Money(money.amount * q.rate, q.quote)

    def resolve(self, base: str, quote: str, on: dt.date, *,
                max_age_days: int | None = None) -> FxQuote:
        """The freshest way to turn ``base`` into ``quote`` using rates on or before ``on``.

        Tries the pair, its inverse and a cross through each pivot; keeps the
        candidate whose oldest rate is newest (ties: direct, inverse, cross).
        MappingError XD-MAP-005 when there is none, XD-MAP-006 when the one
        found is older than ``max_age_days``.
        """
        base_c, quote_c = _code(base), _code(quote)
        if isinstance(on, dt.datetime):
            on = on.date()
        if base_c == quote_c:
            return FxQuote(base_c, quote_c, Decimal(1), on, (base_c,), "identity")
        candidates: list[FxQuote] = []
        leg = self._leg(base_c, quote_c, on)
        if leg is not None:
            candidates.append(leg)
        for pivot in self.pivots:
            if pivot in (base_c, quote_c):
                continue
            first, second = self._leg(base_c, pivot, on), self._leg(pivot, quote_c, on)
            if first is None or second is None:
                continue
            with localcontext() as ctx:
                ctx.prec = _PRECISION
                rate = first.rate * second.rate
            candidates.append(FxQuote(base_c, quote_c, rate, min(first.valid_on, second.valid_on),
                                      (base_c, pivot, quote_c), "cross"))
        if not candidates:
            raise MappingError(
                "XD-MAP-005", entity=f"{base_c}/{quote_c}",
                detail=f"no {base_c}→{quote_c} rate on or before {on.isoformat()} (direct, inverse "
                       f"or through {', '.join(self.pivots) or 'no pivot'}){self._hint(base_c, quote_c)}",
                base=base_c, quote=quote_c, on=on.isoformat())
        best = candidates[0]
        for cand in candidates[1:]:
            if cand.valid_on > best.valid_on:
                best = cand
        if max_age_days is not None and best.age_days(on) > max_age_days:
            raise MappingError(
                "XD-MAP-006", entity=f"{base_c}/{quote_c}",
                detail=f"newest {base_c}→{quote_c} rate is from {best.valid_on.isoformat()}, "
                       f"{best.age_days(on)} days before {on.isoformat()} (allowed: {max_age_days})",
                base=base_c, quote=quote_c, on=on.isoformat(),
                valid_on=best.valid_on.isoformat(), max_age_days=max_age_days)
        log.debug("fx %s→%s on %s: %s via %s (%s)", base_c, quote_c, on, best.rate,
                  "/".join(best.path), best.valid_on)
        return best

    def _latest(self, base: str, quote: str, on: dt.date) -> FxRate | None:
        series = self._series.get((base, quote))
        if not series:
            return None
        dates, rates = series
        i = bisect.bisect_right(dates, on)
        return rates[i - 1] if i else None

    def _leg(self, base: str, quote: str, on: dt.date) -> FxQuote | None:
        direct = self._latest(base, quote, on)
        inverse = self._latest(quote, base, on)
        if direct is not None and (inverse is None or direct.valid_on >= inverse.valid_on):
            return FxQuote(base, quote, direct.rate, direct.valid_on, (base, quote), "direct")
        if inverse is not None:
            with localcontext() as ctx:
                ctx.prec = _PRECISION
                rate = Decimal(1) / inverse.rate
            return FxQuote(base, quote, rate, inverse.valid_on, (base, quote), "inverse")
        return None

    def _hint(self, base: str, quote: str) -> str:
        dates = [d for key in ((base, quote), (quote, base)) if key in self._series
                 for d in self._series[key][0]]
        if dates:
            return f"; the earliest rate for the pair is from {min(dates).isoformat()}"
        return ""
