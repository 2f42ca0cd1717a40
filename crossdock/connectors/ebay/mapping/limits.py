"""eBay call limits (Developer Analytics): when a used-up limit resets."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from crossdock.clock import parse_iso
from crossdock.connectors.ebay.mapping.common import as_list


# ------------------------------------------------------------------ call limits (Developer Analytics)
def rate_limit_params(api_context: str, api_name: str) -> dict[str, str]:
    """Query of getRateLimits / getUserRateLimits for one API."""
    return {"api_context": api_context, "api_name": api_name}


def rate_limit_reset(payload: object, *, api_context: str, api_name: str,
                     resource: str | None = None) -> tuple[dt.datetime | None, int | None]:
    """``(reset, remaining)`` of an API's call limit from a Developer Analytics
    answer: the used-up rate's reset when one is used up (the latest, if
    several), otherwise the rate with the fewest calls left. ``resource``
    narrows to that resource when the answer lists it. ``(None, None)`` when
    the answer does not mention the API."""
    rates: list[tuple[str, Mapping[str, Any]]] = []
    for row in as_list(payload.get("rateLimits") if isinstance(payload, Mapping) else None):
        if not isinstance(row, Mapping):
            continue
        if str(row.get("apiContext", "")).lower() != api_context.lower() or \
                str(row.get("apiName", "")).lower() != api_name.lower():
            continue
        for res in as_list(row.get("resources")):
            if isinstance(res, Mapping):
                rates += [(str(res.get("name", "")), r) for r in as_list(res.get("rates")) if isinstance(r, Mapping)]
    if resource is not None and any(name.lower() == resource.lower() for name, _ in rates):
        rates = [(n, r) for n, r in rates if n.lower() == resource.lower()]
    parsed: list[tuple[int | None, dt.datetime | None]] = []
    for _, r in rates:
        try:
            remaining = int(r["remaining"]) if r.get("remaining") is not None else None
            reset = parse_iso(str(r["reset"])) if r.get("reset") else None
        except (TypeError, ValueError):
            continue
        parsed.append((remaining, reset))
    if not parsed:
        return None, None
    used_up = [reset for remaining, reset in parsed if remaining is not None and remaining <= 0 and reset]
    if used_up:
        return max(used_up), 0
    remaining, reset = min(parsed, key=lambda p: (p[0] if p[0] is not None else 1 << 62))
    return reset, remaining


def next_local_midnight(now: dt.datetime, timezone: str) -> dt.datetime:
    """The next 00:00 in ``timezone`` after ``now``, in UTC (eBay's daily limits reset then)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    day = now.astimezone(tz).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.timezone.utc)
