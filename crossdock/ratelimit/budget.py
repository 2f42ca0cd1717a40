"""The quota budget: every platform call asks it first and reports back after.

    budget = QuotaBudget(backend_from_url("sql://", engine=engine))
    wait_ms = budget.try_acquire("amazon", "A1SELLER", "getOrderItems",
                                 priority=Priority.CRITICAL)
    if wait_ms:
        raise QuotaWait(wait_ms / 1000)     # see crossdock.ratelimit.waits
    response = client.get(...)
    budget.on_response("amazon", "A1SELLER", "getOrderItems",
                       status=response.status_code, headers=response.headers)

One token bucket per (platform, account, bucket): the bucket is the operation,
except where a platform shares one (Shopify GraphQL: one cost-weighted bucket
per shop). Each call is also charged against the operation's long windows (eBay
daily call limits, 250 revisions per listing per day) in the same atomic step.

Priorities: CRITICAL (order import, shipment confirmation) > STOCK > NORMAL >
PRICE > CONTENT. Each priority may drain a bucket only down to its reserved
fraction (:class:`~crossdock.ratelimit.plans.ReservePolicy`), so a backlog of
listing-content updates never starves order import.

Time scale: against a sandbox that runs K times faster, rates are multiplied by
K (bursts unchanged) and long windows last 1/K as long.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crossdock.errors import ConfigError, QuotaError, lookup
from crossdock.ratelimit import arithmetic as ar
from crossdock.ratelimit.backends.base import (
    AcquireRequest,
    BucketParams,
    BucketRef,
    Feedback,
    QuotaBackend,
    WindowAdjust,
    WindowCharge,
    WindowRef,
    WindowRow,
    WindowState,
)
from crossdock.ratelimit.feedback import read_response
from crossdock.ratelimit.plans import (
    DEFAULT_PLANS,
    DEFAULT_WINDOWS,
    LongWindow,
    ReservePolicy,
    UsagePlan,
    plan_for,
    window_for,
)
from crossdock.ratelimit.priority import (
    Priority,
    job_priority,
    priority_names,
    reserve_table,
    resolve_priority,
)

__all__ = [
    "DEFAULT_ARRIVAL_JITTER_S",
    "DEFAULT_RATE_HEADROOM",
    "Grant",
    "Priority",
    "QuotaBudget",
    "job_priority",
]

log = logging.getLogger(__name__)

# Safety margins of the configured budget (QuotaBudget itself is exact unless
# told otherwise, so the arithmetic stays testable to the millisecond).
#
# DEFAULT_ARRIVAL_JITTER_S: grants are decided in the quota store and counted by
# the platform when the request arrives. If an early grant reaches the platform
# later than a following one (a cold connection, a descheduled worker), the
# platform sees the two closer together than the budget granted them. Keeping
# rate x jitter tokens back absorbs any such difference up to the jitter
# (see crossdock.ratelimit.arithmetic). It costs rate x jitter tokens once per
# drained bucket, not a share of the rate: 0.05 of a token at Amazon's 0.5/s.
DEFAULT_ARRIVAL_JITTER_S = 0.1
# DEFAULT_RATE_HEADROOM: not for jitter (above), for the rate itself. Amazon
# publishes its rates rounded to four decimals, some of them up: searchOrders
# 0.0056/s is one call per 178.6 s where one per 180 s would be 0.00556 (0.8 %
# fast), getOrders 0.0167 for one per 60 s (0.2 %). A budget refilling even
# slightly faster than the platform drifts ahead by that share of the rate,
# uses up the jitter margin and then meets a 429 on every drained stretch.
# 1 % covers the rounding and any clock-rate difference, and costs 1 % of a
# saturated rate. (It was 0.97 while it also had to cover arrival jitter.)
DEFAULT_RATE_HEADROOM = 0.99
QUOTA_WAIT = "XD-QUOTA-003"
QUOTA_THROTTLED = "XD-QUOTA-001"
QUOTA_DAILY = "XD-QUOTA-002"
QUOTA_LISTING = "XD-QUOTA-004"
QUOTA_TOO_EXPENSIVE = "XD-QUOTA-005"


@dataclass(frozen=True)
class Grant:
    """The answer to one request for quota."""

    granted: bool
    wait_ms: int
    code: str | None  # why not granted: XD-QUOTA-001/002/003/004
    platform: str
    account: str
    operation: str
    bucket: str
    refused_listing_ids: tuple[str, ...] = ()

    @property
    def wait_s(self) -> float:
        return self.wait_ms / 1000.0


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).isoformat(timespec="milliseconds")


class QuotaBudget:
    """Policy object consulted before every platform call and updated from every
    response. Thread-safe; all shared state lives in the backend."""

    def __init__(
        self,
        backend: QuotaBackend,
        *,
        plans: Mapping[tuple[str, str], UsagePlan] = DEFAULT_PLANS,
        windows: Mapping[tuple[str, str], LongWindow] = DEFAULT_WINDOWS,
        time_scale: float = 1.0,
        overrides: Mapping[str, Any] | None = None,
        reserve: ReservePolicy | Mapping[str, Mapping[str, float]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rate_headroom: float | None = None,
        arrival_jitter_s: float | None = None,
    ) -> None:
        if not time_scale > 0 or math.isinf(time_scale):
            raise ConfigError("XD-CFG-003", detail=f"time scale must be positive, got {time_scale!r}")
        self.backend = backend
        self.time_scale = float(time_scale)
        self._plans = plans
        self._windows = windows
        self._overrides = overrides or {}
        # Two safety margins, both exact (off) unless given; the configured
        # budget (crossdock.ratelimit.wiring) uses the DEFAULT_* values:
        # rate_headroom grants that fraction of the plan's rate (published
        # rates are rounded, see DEFAULT_RATE_HEADROOM); arrival_jitter_s keeps
        # rate x that many seconds of tokens back, because a grant is decided
        # here and counted by the platform when the call arrives, a variable
        # delay later (see DEFAULT_ARRIVAL_JITTER_S).
        headroom = rate_headroom if rate_headroom is not None else self._overrides.get("rate_headroom", 1.0)
        if not 0 < float(headroom) <= 1:
            raise ConfigError("XD-CFG-003", detail=f"ratelimit rate_headroom must be in (0, 1], got {headroom!r}")
        self.rate_headroom = float(headroom)
        jitter = (arrival_jitter_s if arrival_jitter_s is not None
                  else self._overrides.get("arrival_jitter_s", 0.0))
        if not 0 <= float(jitter) < math.inf:
            raise ConfigError("XD-CFG-003", detail=f"ratelimit arrival_jitter_s must be a finite "
                                                   f"number of seconds >= 0, got {jitter!r}")
        self.arrival_jitter_s = float(jitter)
        if reserve is None:
            reserve = self._overrides.get("reserve")  # [ratelimit.reserve] in the config
        policy = reserve if isinstance(reserve, ReservePolicy) else ReservePolicy()
        raw = reserve if isinstance(reserve, Mapping) else {}
        self.bucket_reserve = reserve_table({**priority_names(policy.bucket), **priority_names(raw.get("bucket"))},
                                             what="bucket")
        self.window_reserve = reserve_table({**priority_names(policy.window), **priority_names(raw.get("window"))},
                                             what="window")
        self._sleep = sleep
        self._monotonic = monotonic
        self._wall_clock = wall_clock  # only to find a zone's UTC offset for day windows
        self._plan_cache: dict[tuple[str, str], UsagePlan] = {}
        self._window_cache: dict[tuple[str, str], LongWindow] = {}
        self._reported: dict[BucketRef, tuple[float | None, float | None]] = {}

    # -------------------------------------------------------------- plans

    def plan(self, platform: str, operation: str) -> UsagePlan:
        key = (platform, operation)
        plan = self._plan_cache.get(key)
        if plan is None:
            plan = plan_for(platform, operation, overrides=self._overrides, plans=self._plans)
            self._plan_cache[key] = plan
        return plan

    def window(self, platform: str, name: str) -> LongWindow:
        key = (platform, name)
        window = self._window_cache.get(key)
        if window is None:
            window = window_for(platform, name, overrides=self._overrides, windows=self._windows)
            self._window_cache[key] = window
        return window

    def _params(self, plan: UsagePlan) -> BucketParams:
        return BucketParams(plan.rate_per_s, plan.burst, plan.pinned_rate, plan.pinned_burst,
                            self.time_scale * self.rate_headroom, self.arrival_jitter_s)

    def _window_geometry(self, window: LongWindow) -> tuple[float, float]:
        """(window length, offset of window starts) in real seconds."""
        if self.time_scale != 1.0:
            return window.window_s / self.time_scale, 0.0
        if window.tz in ("UTC", "Etc/UTC", ""):
            return window.window_s, 0.0
        try:
            zone = ZoneInfo(window.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError("XD-CFG-003", detail=f"unknown time zone {window.tz!r}") from exc
        offset = dt.datetime.fromtimestamp(self._wall_clock(), zone).utcoffset() or dt.timedelta(0)
        return window.window_s, (-offset.total_seconds()) % window.window_s

    def _charges(self, platform: str, account: str, plan: UsagePlan, priority: Priority,
                 listing_ids: Iterable[str]) -> tuple[WindowCharge, ...]:
        listings = Counter(str(i) for i in listing_ids)
        charges: list[WindowCharge] = []
        for name in plan.windows:
            window = self.window(platform, name)
            window_s, offset_s = self._window_geometry(window)
            floor = self.window_reserve[priority]
            if window.scope == "listing":
                for listing_id, n in sorted(listings.items()):
                    charges.append(WindowCharge(WindowRef(platform, account, name, listing_id),
                                                window.limit, window_s, offset_s, float(n), floor,
                                                window.pinned, window.code))
            else:
                owner = "*" if window.scope == "app" else account
                charges.append(WindowCharge(WindowRef(platform, owner, name), window.limit,
                                            window_s, offset_s, 1.0, floor, window.pinned,
                                            window.code))
        return tuple(charges)

    # ------------------------------------------------------------ acquire

    def attempt(self, platform: str, account: str, operation: str, *, cost: float = 1,
                priority: Priority | None = None, listing_ids: Iterable[str] = ()) -> Grant:
        """Take quota for one call if it is there now; never blocks or sleeps.

        ``cost``: tokens the call uses (Shopify GraphQL: the requested query
        cost). ``listing_ids``: eBay listings the call revises, each charged
        against its 250-a-day budget. Raises QuotaError XD-QUOTA-005 when the
        cost can never fit (Shopify: above 1,000 points or the bucket size).
        """
        priority = resolve_priority(priority)
        if not cost > 0 or math.isinf(cost):
            raise ValueError(f"cost must be a positive number, got {cost!r}")
        plan = self.plan(platform, operation)
        if plan.max_cost is not None and cost > plan.max_cost:
            raise QuotaError(QUOTA_TOO_EXPENSIVE, channel=f"{platform}:{account}",
                             detail=f"{operation} costs {cost:g}, the maximum for one call is "
                                    f"{plan.max_cost:g}")
        ref = BucketRef(platform, account, plan.bucket)
        charges = self._charges(platform, account, plan, priority, listing_ids)
        result = self.backend.acquire(AcquireRequest(
            ref, self._params(plan), float(cost), self.bucket_reserve[priority], charges))
        if result.granted:
            return Grant(True, 0, None, platform, account, operation, plan.bucket)
        if math.isinf(result.wait_s):
            raise QuotaError(QUOTA_TOO_EXPENSIVE, channel=f"{platform}:{account}",
                             detail=f"{operation} costs {cost:g}, more than the bucket or daily "
                                    f"budget can ever hold")
        # rounded to the microsecond first: times are epoch seconds in floats (~0.2 us apart), so a wait
        # of exactly one Retry-After second may come out a hair over and would ceil to 1 ms more
        wait_ms = max(1, math.ceil(round(result.wait_s * 1000, 3)))
        refused = tuple(r.subject for r in result.refused if r.subject)
        log.debug("quota wait %d ms for %s/%s/%s (%s, priority %s)", wait_ms, platform, account,
                  operation, result.code, priority.name)
        return Grant(False, wait_ms, result.code, platform, account, operation, plan.bucket,
                     refused)

    def try_acquire(self, platform: str, account: str, operation: str, *, cost: float = 1,
                    priority: Priority | None = None, listing_ids: Iterable[str] = ()) -> int:
        """0 when granted, else the wait in ms until it could be granted.
        Never blocks, never sleeps."""
        return self.attempt(platform, account, operation, cost=cost, priority=priority,
                            listing_ids=listing_ids).wait_ms

    def acquire(self, platform: str, account: str, operation: str, *, cost: float = 1,
                priority: Priority | None = None, listing_ids: Iterable[str] = (),
                timeout_s: float = 60.0) -> None:
        """Blocking convenience for the CLI and sync code: wait (sleeping outside
        any lock) until granted. Raises QuotaError when the wait would pass
        ``timeout_s``: XD-QUOTA-003, or XD-QUOTA-002 / -004 for a long window."""
        listing_ids = tuple(listing_ids)
        deadline = self._monotonic() + timeout_s
        while True:
            grant = self.attempt(platform, account, operation, cost=cost, priority=priority,
                                 listing_ids=listing_ids)
            if grant.granted:
                return
            left = deadline - self._monotonic()
            if grant.wait_s > left:
                code = grant.code if grant.code in (QUOTA_DAILY, QUOTA_LISTING) else QUOTA_WAIT
                raise QuotaError(code, channel=f"{platform}:{account}", retry_after_s=grant.wait_s,
                                 detail=f"{operation}: next quota in {grant.wait_s:.3f} s, "
                                        f"beyond the {timeout_s:g} s timeout")
            self._sleep(grant.wait_s)

    # ----------------------------------------------------------- feedback

    def on_response(self, platform: str, account: str, operation: str, *, status: int,
                    headers: Mapping[str, str] | None = None,
                    cost_report: Mapping[str, Any] | None = None, throttled: bool = False,
                    daily_limit_reached: bool = False,
                    exhausted_listing_ids: Iterable[str] = ()) -> None:
        """Learn from a response.

        Adopts ``x-amzn-RateLimit-Limit``, Shopify ``extensions.cost`` (bucket
        size, restore rate, points available; refunds requested - actual cost)
        and ``X-Shopify-Shop-Api-Call-Limit``. On 429 or ``throttled=True``
        (Shopify THROTTLED, detected from the cost extension too) empties the
        bucket and keeps it shut for ``Retry-After``. ``daily_limit_reached``
        (eBay error 518) exhausts the operation's long windows until reset;
        ``exhausted_listing_ids`` does the same for eBay listings at their
        revision limit.
        """
        plan = self.plan(platform, operation)
        ref = BucketRef(platform, account, plan.bucket)
        quota = read_response(platform, status=status, headers=headers,
                              cost_report=cost_report, throttled=throttled)
        adjusts: list[WindowAdjust] = []
        exhausted = tuple(exhausted_listing_ids)
        if daily_limit_reached or exhausted:
            for charge in self._charges(platform, account, plan, Priority.CRITICAL, exhausted):
                is_listing = bool(charge.ref.subject)
                if (is_listing and exhausted) or (not is_listing and daily_limit_reached):
                    adjusts.append(WindowAdjust(charge, exhaust=True))
        adopted = (quota.rate_per_s, quota.burst)
        news = (quota.throttled or quota.available is not None or quota.refund > 0 or adjusts
                or (adopted != (None, None) and self._reported.get(ref) != adopted))
        if not news:
            return
        self.backend.feedback(Feedback(
            ref, self._params(plan), rate_per_s=quota.rate_per_s, burst=quota.burst,
            available=quota.available, refund=quota.refund, throttled=quota.throttled,
            retry_after_s=quota.retry_after_s, windows=tuple(adjusts)))
        if adopted != (None, None):
            self._reported[ref] = adopted
        if quota.throttled:
            log.warning("%s: %s/%s/%s throttled by the platform (status %s); bucket emptied, "
                        "next call %s", QUOTA_THROTTLED, platform, account, operation, status,
                        f"after Retry-After {quota.retry_after_s:g} s"
                        if quota.retry_after_s is not None else "after one token's refill")
        if adjusts:
            log.warning("%s: %s/%s/%s long-window limit reached (%d budgets)",
                        QUOTA_LISTING if exhausted else QUOTA_DAILY, platform, account, operation,
                        len(adjusts))

    def adopt_window(self, platform: str, account: str, window: str, *,
                     limit: float | None = None, remaining: float | None = None) -> None:
        """Adopt a quota report for a long window (eBay Developer Analytics
        ``getRateLimits``: the real limit and the calls remaining now)."""
        spec = self.window(platform, window)
        window_s, offset_s = self._window_geometry(spec)
        owner = "*" if spec.scope == "app" else account
        charge = WindowCharge(WindowRef(platform, owner, window), spec.limit, window_s, offset_s,
                              pinned=spec.pinned, code=spec.code)
        self.backend.feedback(Feedback(windows=(WindowAdjust(charge, limit=limit,
                                                             remaining=remaining),)))

    # ----------------------------------------------------------- snapshot

    def snapshot(self) -> list[dict[str, Any]]:
        """Per account and operation: rate, burst, available now, calls in the
        last hour, 429s seen, next token at; then the long windows. Each entry
        that is exhausted or waiting carries its XD-QUOTA code and remedy."""
        snap = self.backend.snapshot()
        now_s = snap.now_s
        out: list[dict[str, Any]] = []
        for row in snap.buckets:
            try:
                plan: UsagePlan | None = self.plan(row.ref.platform, row.ref.bucket)
            except ConfigError:
                plan = None
            params = self._params(plan) if plan else BucketParams(
                row.state.adopted_rate_per_s or 0.0, row.state.adopted_burst or 0.0,
                time_scale=self.time_scale)
            rate, burst = ar.effective(params, row.state)
            available = ar.level(row.state, rate, burst, now_s)
            blocked = row.state.updated_at_s > now_s
            code = QUOTA_THROTTLED if blocked else (QUOTA_WAIT if available < 1.0 - ar.EPS else None)
            source = "platform" if (row.state.adopted_rate_per_s or row.state.adopted_burst) else (
                "configuration" if plan and plan.pinned else "default")
            out.append(self._with_remedy({
                "kind": "bucket",
                "platform": row.ref.platform,
                "account": row.ref.account,
                "operation": row.ref.bucket,
                "rate_per_s": rate / self.rate_headroom,   # the plan's rate; grants use rate_headroom of it
                "rate_headroom": self.rate_headroom,
                "burst": burst,
                "available": round(available, 6),
                "calls_last_hour": row.calls_last_hour,
                "throttled_last_hour": row.throttled_last_hour,
                "throttled_total": row.state.throttled_total,
                "last_throttled_at": _iso(row.state.last_throttled_at_s),
                "next_token_at": _iso(ar.next_token_at(row.state, params, now_s)),
                "blocked_until": _iso(row.state.updated_at_s) if blocked else None,
                "source": source,
                "uncertain": bool(plan and plan.uncertain),
                "code": code,
            }))
        out.extend(self._window_entries(snap.windows, now_s))
        return out

    def _window_entries(self, rows: Iterable[WindowRow], now_s: float) -> list[dict[str, Any]]:
        grouped: dict[tuple[str, str, str], list[WindowRow]] = {}
        for row in rows:
            grouped.setdefault((row.ref.platform, row.ref.account, row.ref.name), []).append(row)
        out: list[dict[str, Any]] = []
        for (platform, account, name), members in sorted(grouped.items()):
            try:
                spec = self.window(platform, name)
            except ConfigError:
                continue
            window_s, offset_s = self._window_geometry(spec)
            start = ar.window_start(now_s, window_s, offset_s)
            resets_at = _iso(start + window_s)
            if spec.scope == "listing":
                used = {r.ref.subject: ar.window_used(r.state, start) for r in members}
                used = {k: v for k, v in used.items() if v > 0}
                if not used:
                    continue
                cap = spec.limit
                at_limit = sorted(k for k, v in used.items()
                                  if v >= ar.window_limit(_state(members, k), cap, spec.pinned))
                out.append(self._with_remedy({
                    "kind": "listing_window", "platform": platform, "account": account,
                    "window": name, "limit": cap, "listings": len(used),
                    "max_used": max(used.values()), "at_limit": at_limit,
                    "resets_at": resets_at, "code": spec.code if at_limit else None,
                }))
                continue
            for r in members:
                cap = ar.window_limit(r.state, spec.limit, spec.pinned)
                used_now = ar.window_used(r.state, start)
                out.append(self._with_remedy({
                    "kind": "window", "platform": platform, "account": account, "window": name,
                    "limit": cap, "used": used_now, "remaining": max(0.0, cap - used_now),
                    "window_s": window_s, "resets_at": resets_at,
                    "uncertain": spec.uncertain and not r.state.adopted_limit,
                    "code": spec.code if used_now >= cap - ar.EPS else None,
                }))
        return out

    @staticmethod
    def _with_remedy(entry: dict[str, Any]) -> dict[str, Any]:
        code = entry.get("code")
        entry["remedy"] = lookup(code).remedy if code else None
        return entry

    def close(self) -> None:
        self.backend.close()


def _state(rows: Iterable[WindowRow], subject: str) -> WindowState:
    return next(r.state for r in rows if r.ref.subject == subject)
