"""``--since`` and ``?since=``: a time given as "how long ago" or an ISO
time, read alike by the CLI and the console."""

from __future__ import annotations

import datetime as dt
import re

from crossdock.errors import ConfigError

__all__ = ["parse_since"]


def parse_since(text: str | None, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """``--since``: ``2h``, ``30m``, ``1d``, ``45s``, ``1w`` before ``now``
    (default: the wall clock), or an ISO date/time (UTC if no zone). Anything
    else is XD-CFG-009."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        return (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(**{unit: float(m.group(1))})
    from crossdock.clock import parse_iso

    try:
        return parse_iso(text)
    except ValueError:
        raise ConfigError("XD-CFG-009", detail=f"--since {text!r}: use e.g. 2h, 30m, 1d or 2026-11-23T10:00") from None
