"""Read what a platform's response says about the caller's quota (pure functions).

What a platform writes about its quota in a response (Amazon's
``x-amzn-RateLimit-Limit``, Shopify's GraphQL cost extension and REST call-limit
header …) is read by the platform's own ``PlatformSpec.read_quota`` (in its
folder); :func:`read_response` adds what any platform says: a 429 and
``Retry-After`` as delta-seconds or an HTTP date.

Units: rates and sizes are the platform's own (a sandbox running K times
faster reports the published figures; the budget scales them); Retry-After is
taken as real seconds.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class ServerQuota:
    """Everything a response said about the bucket, in platform units."""

    rate_per_s: float | None = None
    burst: float | None = None
    available: float | None = None
    refund: float = 0.0
    throttled: bool = False
    retry_after_s: float | None = None


def _lower(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def number(value: Any) -> float | None:
    """A number from a header or JSON value ("2.0", 40, "32/40" → its first number); None if none."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    m = _NUMBER.search(str(value))
    return float(m.group()) if m else None


def parse_retry_after(value: str | None, *, now_s: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP date)."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now_s is None else now_s))


def read_response(platform: str, *, status: int, headers: Mapping[str, str] | None = None,
                  cost_report: Mapping[str, Any] | None = None,
                  throttled: bool = False, now_s: float | None = None) -> ServerQuota:
    """Combine everything one response says about the quota: the platform's
    own reading (its ``PlatformSpec.read_quota``) and the status and
    ``Retry-After`` any platform may send."""
    from crossdock.platforms.registry import find

    h = _lower(headers)
    spec = find(platform)
    reading = spec.quota_reading(h, cost_report) if spec is not None else None
    is_throttled = throttled or status == 429 or bool(reading and reading.throttled)
    return ServerQuota(rate_per_s=reading.rate_per_s if reading else None,
                       burst=reading.burst if reading else None,
                       available=reading.available if reading else None,
                       refund=reading.refund if reading else 0.0, throttled=is_throttled,
                       retry_after_s=parse_retry_after(h.get("retry-after"), now_s=now_s)
                       if is_throttled else None)
