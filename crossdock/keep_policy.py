"""Pure parsing and selection for ``[backup]``: how often (``every``) and
which backups to keep (``keep = "7 daily, 4 weekly, 12 monthly"``).

The keep policy is the usual grandfather-father-son rotation (restic's
``--keep-daily`` and friends): going from the newest backup to the oldest,
each rule keeps the newest backup of each of its last N periods (hours, UTC
days, ISO weeks, months, years) that have a backup; ``N last`` keeps the N
newest whatever their time. A backup any rule keeps stays; the newest backup
is always kept. No imports of crossdock: the configuration schema and the
backup code both read it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["PERIODS", "keep_selection", "parse_duration_s", "parse_keep"]

_NAMED_S = {"hourly": 3600, "daily": 86_400, "weekly": 7 * 86_400}
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")

#: Rule name → the period a backup time falls in.
PERIODS: dict[str, Callable[[dt.datetime], Any]] = {
    "last": lambda t: t,
    "hourly": lambda t: (t.year, t.month, t.day, t.hour),
    "daily": lambda t: t.date(),
    "weekly": lambda t: t.isocalendar()[:2],
    "monthly": lambda t: (t.year, t.month),
    "yearly": lambda t: t.year,
}


def parse_duration_s(value: Any) -> int:
    """``"daily"``, ``"hourly"``, ``"weekly"``, ``"6h"``, ``"30m"``, ``"2d"``
    or a whole number of seconds → seconds. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"must be hourly, daily, weekly, a duration like \"6h\" or seconds, got {value!r}")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and value.strip().lower() in _NAMED_S:
        seconds = _NAMED_S[value.strip().lower()]
    elif isinstance(value, str) and (m := _DURATION.match(value.lower())):
        seconds = int(m.group(1)) * _UNIT_S[m.group(2)]
    else:
        raise ValueError(f"must be hourly, daily, weekly, a duration like \"6h\" or seconds, got {value!r}")
    if seconds < 1:
        raise ValueError(f"must be at least one second, got {value!r}")
    return seconds


def parse_keep(text: str) -> dict[str, int]:
    """``"7 daily, 4 weekly, 12 monthly"`` → ``{"daily": 7, "weekly": 4,
    "monthly": 12}``. Raises ValueError naming what is wrong."""
    if not text.strip():
        raise ValueError("must list what to keep, e.g. \"7 daily, 4 weekly, 12 monthly\"")
    rules: dict[str, int] = {}
    for part in text.split(","):
        words = part.split()
        if len(words) != 2 or not words[0].isdigit() or words[1].lower() not in PERIODS:
            raise ValueError(f"{part.strip()!r} is not COUNT PERIOD (PERIOD one of {', '.join(PERIODS)})")
        name = words[1].lower()
        if name in rules:
            raise ValueError(f"{name} is given twice")
        rules[name] = int(words[0])
    if not any(rules.values()):
        raise ValueError("keeps nothing: at least one count must be above 0")
    return rules


def keep_selection(times: Iterable[dt.datetime], rules: dict[str, int]) -> set[dt.datetime]:
    """The backup times ``rules`` keep (see module doc)."""
    ordered: Sequence[dt.datetime] = sorted(set(times), reverse=True)
    kept: set[dt.datetime] = set(ordered[:1])
    for name, count in rules.items():
        period = PERIODS[name]
        seen: set[Any] = set()
        for t in ordered:
            if len(seen) >= count:
                break
            key = period(t.astimezone(dt.timezone.utc))
            if key not in seen:
                seen.add(key)
                kept.add(t)
    return kept
