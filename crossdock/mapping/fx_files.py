"""Rate files for :class:`~crossdock.mapping.fx.FxTable`: CSV
(``date,base,quote,rate[,source]``, ``#`` comment lines allowed), TOML
(``[[rates]]`` tables) or JSON (a list of objects, or ``{"rates": [...]}``).
A bad row makes the whole file fail with ConfigError XD-CFG-009 naming the
file and line; nothing is half loaded. Every bad row is listed (the error's
``problems``: line, message and, where one applies, a more precise code). A
rate must fit what is stored (more than 0 at
:data:`~crossdock.mapping.fx.RATE_SCALE` decimals, below
:data:`~crossdock.mapping.fx.RATE_LIMIT`); with ``latest`` (``fx load``
passes today, UTC) a rate dated after it is refused (XD-MAP-014).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import re
import tomllib
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from crossdock.errors import ConfigError
from crossdock.mapping.fx import DEFAULT_PIVOTS, RATE_LIMIT, RATE_SCALE, FxRate, FxTable
from crossdock.mapping.money import MINOR_UNITS

__all__ = [
    "FUTURE_RATE",
    "load_rates",
    "load_table",
    "parse_rates_csv",
    "parse_rates_json",
    "parse_rates_toml",
    "sample_rates_path",
]

log = logging.getLogger(__name__)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_SCALE)
FUTURE_RATE = "XD-MAP-014"


class _Problems:
    """Collects every bad row of one file; raises once, naming the first."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[tuple[int | None, str, str | None]] = []

    def add(self, line: int | None, message: str, code: str | None = None) -> None:
        self.items.append((line, message, code))

    def fail(self, line: int | None, message: str) -> NoReturn:
        """Add a problem that ends the reading, and raise."""
        self.add(line, message)
        self.raise_if_any()
        raise AssertionError("unreachable")

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
    for side in ("base", "quote"):
        value = row[side]
        if not isinstance(value, str) or value.strip().upper() not in MINOR_UNITS:
            problems.add(line, f"{side} {value!r} is not an ISO 4217 currency code")
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
        problems.fail(_line_of_toml_error(exc), f"not valid TOML ({exc})")
    entries = doc.get("rates")
    extra = sorted(set(doc) - {"rates"})
    if extra:
        problems.add(None, f"unknown top-level key(s) {', '.join(extra)}; write rates as [[rates]]")
    if not isinstance(entries, list) or not entries:
        problems.fail(None, "no [[rates]] tables found")
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
        problems.fail(exc.lineno, f"not valid JSON ({exc.msg})")
    if isinstance(doc, dict):
        extra = sorted(set(doc) - {"rates"})
        if extra:
            problems.add(None, f"unknown top-level key(s) {', '.join(extra)}")
        entries = doc.get("rates")
    else:
        entries = doc
    if not isinstance(entries, list) or not entries:
        problems.fail(None, "no rates found (expected a list or {\"rates\": [...]})")
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
        m = ws.match(text, i)           # \s* matches at any position, even the end
        return m.end() if m else i

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
