"""Read what a platform's response says about the caller's quota (pure functions).

* Amazon: ``x-amzn-RateLimit-Limit`` carries the rate actually applied
  (requests per second, best effort); a 429 has no Retry-After, so the bucket
  waits one token's refill.
* Shopify GraphQL: ``extensions.cost`` = {requestedQueryCost, actualQueryCost,
  throttleStatus {maximumAvailable, currentlyAvailable, restoreRate}}; a
  throttled query answers ``errors[].extensions.code == "THROTTLED"`` with no
  actualQueryCost.
* Shopify REST (legacy): ``X-Shopify-Shop-Api-Call-Limit: 32/40``.
* Any platform: ``Retry-After`` as delta-seconds or an HTTP date.

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


def _number(value: Any) -> float | None:
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


def amazon_rate(headers: Mapping[str, str] | None) -> float | None:
    """The applied rate from ``x-amzn-RateLimit-Limit``, None if absent or unusable."""
    rate = _number(_lower(headers).get("x-amzn-ratelimit-limit"))
    return rate if rate is not None and rate > 0 else None


def shopify_rest_call_limit(headers: Mapping[str, str] | None) -> tuple[float, float] | None:
    """(used, bucket size) from ``X-Shopify-Shop-Api-Call-Limit: 32/40``."""
    raw = _lower(headers).get("x-shopify-shop-api-call-limit")
    if not raw or "/" not in raw:
        return None
    used, size = (_number(part) for part in raw.split("/", 1))
    if used is None or size is None or size <= 0:
        return None
    return used, size


def shopify_throttled(body: Mapping[str, Any] | None) -> bool:
    """True when a GraphQL response body carries a THROTTLED error."""
    for error in (body or {}).get("errors") or ():
        if isinstance(error, Mapping):
            ext = error.get("extensions") or {}
            if ext.get("code") == "THROTTLED" or error.get("message") == "Throttled":
                return True
    return False


def shopify_cost(cost: Mapping[str, Any] | None) -> ServerQuota:
    """What ``extensions.cost`` says: bucket size, restore rate, points available
    now, points to refund (requested - actual), and whether it was throttled."""
    if not cost:
        return ServerQuota()
    status = cost.get("throttleStatus") or {}
    requested = _number(cost.get("requestedQueryCost"))
    actual = _number(cost.get("actualQueryCost"))
    available = _number(status.get("currentlyAvailable"))
    refund = max(0.0, requested - actual) if requested is not None and actual is not None else 0.0
    throttled = (actual is None and requested is not None and available is not None
                 and available < requested)
    return ServerQuota(rate_per_s=_number(status.get("restoreRate")),
                       burst=_number(status.get("maximumAvailable")),
                       available=available, refund=refund, throttled=throttled)


def read_response(platform: str, *, status: int, headers: Mapping[str, str] | None = None,
                  shopify_cost_ext: Mapping[str, Any] | None = None,
                  throttled: bool = False, now_s: float | None = None) -> ServerQuota:
    """Combine everything one response says about the quota."""
    h = _lower(headers)
    rate = burst = available = None
    refund = 0.0
    is_throttled = throttled or status == 429
    if platform == "amazon":
        rate = amazon_rate(h)
    elif platform == "shopify":
        if shopify_cost_ext:
            sc = shopify_cost(shopify_cost_ext)
            rate, burst, available, refund = sc.rate_per_s, sc.burst, sc.available, sc.refund
            is_throttled = is_throttled or sc.throttled
        rest = shopify_rest_call_limit(h)
        if rest is not None:
            used, size = rest
            burst, available = size, max(0.0, size - used)
    return ServerQuota(rate_per_s=rate, burst=burst, available=available, refund=refund,
                       throttled=is_throttled,
                       retry_after_s=parse_retry_after(h.get("retry-after"), now_s=now_s)
                       if is_throttled else None)
