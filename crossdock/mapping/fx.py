"""Exchange rates from a dated table the seller controls, never from the internet.

A rate ``FxRate("EUR", "USD", Decimal("1.0934"), date(2025, 1, 6))`` means
1 EUR = 1.0934 USD, valid from 6 January 2025 until a newer rate for the pair.
:meth:`FxTable.rate` answers with the newest rate on or before the day asked,
from the pair itself, its inverse, or a cross through a pivot currency (EUR,
then USD by default), whichever is freshest. No rate → MappingError
XD-MAP-005; a rate older than ``max_age_days`` → XD-MAP-006.

Rate files (:func:`load_rates`) are CSV (``date,base,quote,rate[,source]``,
``#`` comment lines allowed), TOML (``[[rates]]`` tables) or JSON (a list of
objects, or ``{"rates": [...]}``). A bad row makes the whole file fail with
ConfigError XD-CFG-009 naming the file and line; nothing is half loaded. Every
bad row is listed (the error's ``problems``: line, message and, where one
applies, a more precise code). A rate must fit what is stored (more than 0 at
:data:`RATE_SCALE` decimals, below :data:`RATE_LIMIT`); with ``latest`` (``fx
load`` passes today, UTC) a rate dated after it is refused (XD-MAP-014).
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import json
import logging
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from importlib import resources
from pathlib import Path
from typing import Any

from crossdock.errors import ConfigError, MappingError
from crossdock.mapping.money import MINOR_UNITS
from crossdock.models import Money

__all__ = [
    "DEFAULT_PIVOTS",
    "RATE_LIMIT",
    "RATE_SCALE",
    "FxQuote",
    "FxRate",
    "FxTable",
    "load_rates",
    "load_table",
    "parse_rates_csv",
    "parse_rates_json",
    "parse_rates_toml",
    "sample_rates_path",
]

log = logging.getLogger(__name__)

DEFAULT_PIVOTS: tuple[str, ...] = ("EUR", "USD")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PRECISION = 28
# What the database stores (fx_rates.rate, Numeric(18, 8)): 8 decimals, below 10^10.
RATE_SCALE = 8
RATE_LIMIT = Decimal(10) ** (18 - RATE_SCALE)
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_SCALE)
FUTURE_RATE = "XD-MAP-014"


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
        if isinstance(self.rate, float) or not isinstance(self.rate, Decimal):
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


# -------------------------------------------------------------------- rate files
class _Problems:
    """Collects every bad row of one file; raises once, naming the first."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[tuple[int | None, str, str | None]] = []

    def add(self, line: int | None, message: str, code: str | None = None) -> None:
        self.items.append((line, message, code))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        line, message, code = self.items[0]
        where = f"{self.path}, line {line}" if line is not None else self.path
        more = f" (and {len(self.items) - 1} more)" if len(self.items) > 1 else ""
        raise ConfigError(
            "XD-CFG-009", entity=self.path,
            detail=f"{where}: {f'[{code}] ' if code else ''}{message}{more}; nothing was loaded",
            file=self.path, line=line,
            problems=[{"line": ln, "message": msg, **({"code": c} if c else {})} for ln, msg, c in self.items])


def _row_to_rate(row: Mapping[str, Any], line: int | None, problems: _Problems,
                 seen: dict[tuple[str, str, dt.date], tuple[Decimal, int | None]],
                 latest: dt.date | None = None) -> FxRate | None:
    missing = [k for k in ("date", "base", "quote", "rate")
               if row.get(k) is None or (isinstance(row.get(k), str) and not row[k].strip())]
    if missing:
        problems.add(line, f"missing {', '.join(missing)}")
        return None
    unknown = sorted(set(row) - {"date", "base", "quote", "rate", "source"})
    if unknown:
        problems.add(line, f"unknown field(s) {', '.join(unknown)}")
        return None
    raw_date = row["date"]
    if isinstance(raw_date, dt.datetime):
        problems.add(line, f"date {raw_date!r} has a time; write YYYY-MM-DD")
        return None
    if isinstance(raw_date, dt.date):
        day = raw_date
    else:
        text = str(raw_date).strip()
        try:
            if not _DATE_RE.match(text):
                raise ValueError
            day = dt.date.fromisoformat(text)
        except ValueError:
            problems.add(line, f"date {text!r} is not YYYY-MM-DD")
            return None
    if latest is not None and day > latest:
        problems.add(line, f"dated {day.isoformat()}, after today ({latest.isoformat()}, UTC): a rate is loaded "
                           "on or after the day it becomes valid", FUTURE_RATE)
        return None
    codes = []
    for key in ("base", "quote"):
        value = row[key]
        if not isinstance(value, str) or value.strip().upper() not in MINOR_UNITS:
            problems.add(line, f"{key} {value!r} is not an ISO 4217 currency code")
            return None
        codes.append(value.strip().upper())
    base, quote = codes
    if base == quote:
        problems.add(line, f"base and quote are both {base}")
        return None
    raw_rate = row["rate"]
    if isinstance(raw_rate, float) or isinstance(raw_rate, bool):
        problems.add(line, f"rate {raw_rate!r} must be written as a decimal number")
        return None
    try:
        rate = Decimal(str(raw_rate).strip())
    except InvalidOperation:
        problems.add(line, f"rate {raw_rate!r} is not a number")
        return None
    if not rate.is_finite() or rate <= 0:
        problems.add(line, f"rate {raw_rate!r} must be a positive number")
        return None
    if rate >= RATE_LIMIT:
        problems.add(line, f"rate {raw_rate!r} is too large (rates are stored below {RATE_LIMIT:,.0f}); "
                           "write the inverse pair instead")
        return None
    if rate.quantize(_RATE_QUANTUM, rounding=ROUND_HALF_UP) == 0:
        problems.add(line, f"rate {raw_rate!r} is 0 at the {RATE_SCALE} decimals stored; "
                           "write the inverse pair instead")
        return None
    source = row.get("source")
    if source is not None and not isinstance(source, str):
        problems.add(line, f"source {source!r} must be text")
        return None
    key = (base, quote, day)
    if key in seen and seen[key][0] != rate:
        first_line = seen[key][1]
        problems.add(line, f"{base}/{quote} on {day.isoformat()} is given twice with different "
                           f"rates (first at line {first_line})")
        return None
    seen[key] = (rate, line)
    return FxRate(base, quote, rate, day, (source or "").strip() or None)


def parse_rates_csv(text: str, *, path: str = "<csv>", latest: dt.date | None = None) -> list[FxRate]:
    """Rates from CSV text with a ``date,base,quote,rate[,source]`` header."""
    problems = _Problems(path)
    header: list[str] | None = None
    rates: list[FxRate] = []
    seen: dict[tuple[str, str, dt.date], tuple[Decimal, int | None]] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            cells = [c.strip() for c in next(csv.reader([raw], strict=True))]
        except csv.Error as exc:
            problems.add(lineno, f"cannot read the row ({exc})")
            continue
        if header is None:
            header = [c.lower() for c in cells]
            missing = [k for k in ("date", "base", "quote", "rate") if k not in header]
            extra = [c for c in header if c not in ("date", "base", "quote", "rate", "source")]
            if missing or extra or len(set(header)) != len(header):
                problems.add(lineno, "the header must be date,base,quote,rate (optionally "
                                     f"source), got {','.join(cells)}")
                break
            continue
        if len(cells) != len(header):
            problems.add(lineno, f"expected {len(header)} fields, got {len(cells)}")
            continue
        rate = _row_to_rate(dict(zip(header, cells, strict=True)), lineno, problems, seen, latest)
        if rate is not None:
            rates.append(rate)
    if header is None:
        problems.add(None, "no header line date,base,quote,rate")
    elif not rates and not problems.items:
        problems.add(None, "the file holds no rates")
    problems.raise_if_any()
    return rates


_TOML_RATES_RE = re.compile(r"^\s*\[\[\s*rates\s*\]\]")


def parse_rates_toml(text: str, *, path: str = "<toml>", latest: dt.date | None = None) -> list[FxRate]:
    """Rates from TOML text: one ``[[rates]]`` table per rate."""
    problems = _Problems(path)
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        problems.add(_line_of_toml_error(exc), f"not valid TOML ({exc})")
        problems.raise_if_any()
        raise AssertionError("unreachable") from exc
    entries = doc.get("rates")
    extra = sorted(set(doc) - {"rates"})
    if extra:
        problems.add(None, f"unknown top-level key(s) {', '.join(extra)}; write rates as [[rates]]")
    if not isinstance(entries, list) or not entries:
        problems.add(None, "no [[rates]] tables found")
        problems.raise_if_any()
    lines = [i for i, raw in enumerate(text.splitlines(), start=1) if _TOML_RATES_RE.match(raw)]
    return _rates_from_entries(entries, lines, problems, latest)


def _line_of_toml_error(exc: tomllib.TOMLDecodeError) -> int | None:
    m = re.search(r"line (\d+)", str(exc))
    return int(m.group(1)) if m else None


def parse_rates_json(text: str, *, path: str = "<json>", latest: dt.date | None = None) -> list[FxRate]:
    """Rates from JSON text: a list of objects or ``{"rates": [...]}``."""
    problems = _Problems(path)
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        problems.add(exc.lineno, f"not valid JSON ({exc.msg})")
        problems.raise_if_any()
        raise AssertionError("unreachable") from exc
    if isinstance(doc, dict):
        extra = sorted(set(doc) - {"rates"})
        if extra:
            problems.add(None, f"unknown top-level key(s) {', '.join(extra)}")
        entries = doc.get("rates")
    else:
        entries = doc
    if not isinstance(entries, list) or not entries:
        problems.add(None, "no rates found (expected a list or {\"rates\": [...]})")
        problems.raise_if_any()
    return _rates_from_entries(entries, _json_item_lines(text), problems, latest)


def _rates_from_entries(entries: list[Any], lines: list[int], problems: _Problems,
                        latest: dt.date | None = None) -> list[FxRate]:
    rates: list[FxRate] = []
    seen: dict[tuple[str, str, dt.date], tuple[Decimal, int | None]] = {}
    for i, entry in enumerate(entries):
        line = lines[i] if i < len(lines) else None
        if not isinstance(entry, dict):
            problems.add(line, f"entry {i + 1} is not a table/object")
            continue
        rate = _row_to_rate(entry, line, problems, seen, latest)
        if rate is not None:
            rates.append(rate)
    problems.raise_if_any()
    return rates


def _json_item_lines(text: str) -> list[int]:
    """Line numbers where each element of the rates array starts (best effort)."""
    decoder = json.JSONDecoder()
    ws = re.compile(r"\s*")

    def skip(i: int) -> int:
        return ws.match(text, i).end()  # type: ignore[union-attr]

    def array_items(i: int) -> list[int]:
        out: list[int] = []
        i = skip(i + 1)
        while i < len(text) and text[i] != "]":
            out.append(text.count("\n", 0, i) + 1)
            _, i = decoder.raw_decode(text, i)
            i = skip(i)
            if i < len(text) and text[i] == ",":
                i = skip(i + 1)
        return out

    try:
        i = skip(0)
        if text[i] == "[":
            return array_items(i)
        if text[i] == "{":
            i = skip(i + 1)
            while i < len(text) and text[i] != "}":
                key, i = decoder.raw_decode(text, i)
                i = skip(i)
                i = skip(i + 1)  # the colon
                if key == "rates" and text[i] == "[":
                    return array_items(i)
                _, i = decoder.raw_decode(text, i)
                i = skip(i)
                if i < len(text) and text[i] == ",":
                    i = skip(i + 1)
    except (ValueError, IndexError):
        pass
    return []


_PARSERS = {".csv": parse_rates_csv, ".toml": parse_rates_toml, ".json": parse_rates_json}


def load_rates(path: str | Path, *, latest: dt.date | None = None) -> list[FxRate]:
    """Every rate of a CSV, TOML or JSON rate file (chosen by the file's suffix);
    with ``latest``, a rate dated after that day is a bad row (XD-MAP-014)."""
    p = Path(path)
    parser = _PARSERS.get(p.suffix.lower())
    if parser is None:
        raise ConfigError("XD-CFG-009", entity=str(p), file=str(p),
                          detail=f"{p}: rate files must end in .csv, .toml or .json")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("XD-CFG-009", entity=str(p), file=str(p),
                          detail=f"{p}: rate file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("XD-CFG-009", entity=str(p), file=str(p),
                          detail=f"{p}: cannot read the rate file ({exc})") from exc
    rates = parser(text, path=str(p), latest=latest)
    log.info("read %d FX rates from %s", len(rates), p)
    return rates


def load_table(path: str | Path, *, pivots: Sequence[str] = DEFAULT_PIVOTS) -> FxTable:
    """An :class:`FxTable` holding every rate of one rate file."""
    return FxTable(load_rates(path), pivots=pivots)


def sample_rates_path() -> Path:
    """The shipped SAMPLE rate file (demo and sandbox only; not market data)."""
    return Path(str(resources.files("crossdock.mapping").joinpath("data", "fx_sample.csv")))
