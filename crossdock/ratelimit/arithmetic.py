"""Token-bucket and fixed-window arithmetic, as pure functions on plain state.

The in-memory and SQLite backends (and PostgreSQL for calls charged against
long windows) call these inside their lock / row-locked transaction; Redis runs
the same rules in one Lua script (:mod:`crossdock.ratelimit.backends.redis`)
and PostgreSQL in one SQL statement per bucket decision
(:mod:`crossdock.ratelimit.backends.sql`). The shared test suite holds every
backend to the same numbers; a differential test holds the SQL to these
functions.

Rules
-----
* A bucket holds ``tokens`` as of ``updated_at_s`` (seconds, the backend's
  clock) and refills at ``rate`` up to ``burst``. ``updated_at_s`` may lie in
  the future: the bucket is blocked (after a 429) and refills only from then.
* A request of ``cost`` with reserve fraction ``f`` is granted when
  ``tokens - cost >= floor`` with ``floor = min(f * burst + rate * jitter_s,
  burst - cost)``; the clamp lets a request that fits in the bucket run at
  least when it is full.
* ``jitter_s`` (:attr:`BucketParams.arrival_jitter_s`): a grant is decided here
  but counted by the platform when the request *arrives*, a variable delay
  later. Arrivals in any window of length ``L`` come from grants in a window of
  ``L + jitter_s``, so a bucket that never gives its last ``rate * jitter_s``
  tokens keeps every arrival pattern within the platform's bucket (for delays
  that vary by less than ``jitter_s``). A lower *rate* cannot do this: its
  slack only builds up over time, so the moment a full bucket starts to drain
  stays unprotected.
* Refusal returns the exact wait until the bucket will hold ``cost + floor``.
* A long window counts ``used`` units since ``window_start_s``; a request fits
  when ``used + cost <= limit - floor`` (same floor rule), else it waits for the
  next window.
* Platform-reported rates/bursts (adopted) replace the plan's unless the plan
  value is pinned by configuration, in which case they may only lower it. When
  the bucket size in force changes, the tokens move by the same amount: the
  bucket was modelled full when first used, so a platform bucket twice the
  size holds that much more (the platform's own ``available``, when it sends
  one, still caps the result).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EPS = 1e-9
SECONDS_PER_MINUTE = 60
HOUR_MINUTES = 60


@dataclass(frozen=True)
class BucketParams:
    """The plan as the budget resolved it: rate and burst in platform units;
    ``time_scale`` multiplies the rate (sandbox speed-up x rate headroom);
    ``arrival_jitter_s`` (real seconds) is how much later one granted call may
    reach the platform than another, relative to their grants."""

    rate_per_s: float
    burst: float
    pinned_rate: bool = False
    pinned_burst: bool = False
    time_scale: float = 1.0
    arrival_jitter_s: float = 0.0


@dataclass
class BucketState:
    tokens: float
    updated_at_s: float = 0.0
    adopted_rate_per_s: float | None = None
    adopted_burst: float | None = None
    throttled_total: int = 0
    last_throttled_at_s: float | None = None
    last_granted_at_s: float | None = None


@dataclass
class WindowState:
    window_start_s: float = 0.0
    used: float = 0.0
    adopted_limit: float | None = None


def fresh_bucket(params: BucketParams) -> BucketState:
    """A bucket never used before: full (``updated_at_s = 0`` is 'long ago')."""
    return BucketState(tokens=params.burst, updated_at_s=0.0)


def _pick(plan: float, adopted: float | None, pinned: bool) -> float:
    if adopted is None or adopted <= 0:
        return plan
    return min(plan, adopted) if pinned else adopted


def effective(params: BucketParams, state: BucketState) -> tuple[float, float]:
    """(rate per second after time scaling, burst) in force for this bucket."""
    rate = _pick(params.rate_per_s, state.adopted_rate_per_s, params.pinned_rate) * params.time_scale
    burst = _pick(params.burst, state.adopted_burst, params.pinned_burst)
    return rate, burst


def level(state: BucketState, rate: float, burst: float, now_s: float) -> float:
    """Tokens in the bucket at ``now_s``."""
    elapsed = now_s - state.updated_at_s
    if elapsed <= 0:
        return min(state.tokens, burst)
    return min(burst, state.tokens + elapsed * rate)


def _settle(state: BucketState, rate: float, burst: float, now_s: float) -> None:
    state.tokens = level(state, rate, burst, now_s)
    if now_s > state.updated_at_s:
        state.updated_at_s = now_s


def floor_for(capacity: float, fraction: float, cost: float, margin: float = 0.0) -> float:
    """What a request must leave behind: its priority's reserve plus ``margin``
    (the arrival-jitter tokens), never so much that a fitting request can't run."""
    return max(0.0, min(fraction * capacity + margin, capacity - cost))


def bucket_wait(state: BucketState, params: BucketParams, now_s: float, cost: float,
                floor_fraction: float) -> float:
    """0.0 when the request may take its tokens now, else seconds to wait
    (``math.inf`` when the cost can never fit in the bucket)."""
    rate, burst = effective(params, state)
    if cost > burst + EPS:
        return math.inf
    need = cost + floor_for(burst, floor_fraction, cost, rate * params.arrival_jitter_s)
    have = level(state, rate, burst, now_s)
    blocked_s = max(0.0, state.updated_at_s - now_s)
    if blocked_s == 0.0 and have + EPS >= need:
        return 0.0
    if rate <= 0:
        return math.inf
    return blocked_s + max(0.0, need - have) / rate


def bucket_take(state: BucketState, params: BucketParams, now_s: float, cost: float) -> None:
    rate, burst = effective(params, state)
    _settle(state, rate, burst, now_s)
    state.tokens = max(0.0, state.tokens - cost)
    state.last_granted_at_s = now_s


def bucket_feedback(state: BucketState, params: BucketParams, now_s: float, *,
                    rate_per_s: float | None = None, burst: float | None = None,
                    available: float | None = None, refund: float = 0.0,
                    throttled: bool = False, retry_after_s: float | None = None) -> None:
    """Apply what the platform said about this bucket.

    Order: settle at the old rate, adopt rate/burst (a resized bucket moves its
    tokens by the size difference), refund over-charged cost, never believe
    more than ``available``; a throttle empties the bucket and
    keeps it shut so that the first token is back exactly ``retry_after_s``
    from now (or after one token's refill time without a Retry-After).
    """
    old_rate, old_burst = effective(params, state)
    _settle(state, old_rate, old_burst, now_s)
    if rate_per_s is not None and rate_per_s > 0:
        state.adopted_rate_per_s = rate_per_s
    if burst is not None and burst > 0:
        state.adopted_burst = burst
    rate, new_burst = effective(params, state)
    state.tokens += new_burst - old_burst
    if refund > 0:
        state.tokens += refund
    state.tokens = min(state.tokens, new_burst)
    if available is not None:
        state.tokens = min(state.tokens, max(0.0, available))
    state.tokens = max(0.0, state.tokens)
    if throttled:
        state.tokens = 0.0
        state.throttled_total += 1
        state.last_throttled_at_s = now_s
        if retry_after_s is not None and retry_after_s > 0 and rate > 0:
            reopen = now_s + max(0.0, retry_after_s - 1.0 / rate)
            state.updated_at_s = max(state.updated_at_s, reopen)


def next_token_at(state: BucketState, params: BucketParams, now_s: float) -> float | None:
    """When the bucket next holds one more whole token; None when full."""
    rate, burst = effective(params, state)
    have = level(state, rate, burst, now_s)
    if have + EPS >= burst or rate <= 0:
        return None
    start = max(now_s, state.updated_at_s)
    target = min(burst, math.floor(have + EPS) + 1.0)
    return start + (target - have) / rate


# ------------------------------------------------------------------ windows

def window_start(now_s: float, window_s: float, offset_s: float) -> float:
    return math.floor((now_s - offset_s) / window_s) * window_s + offset_s


def window_limit(state: WindowState, limit: float, pinned: bool) -> float:
    return _pick(limit, state.adopted_limit, pinned)


def window_used(state: WindowState, start_s: float) -> float:
    return state.used if abs(state.window_start_s - start_s) < 1e-6 else 0.0


def window_wait(state: WindowState, *, limit: float, window_s: float, offset_s: float,
                cost: float, floor_fraction: float, pinned: bool, now_s: float) -> float:
    cap = window_limit(state, limit, pinned)
    if cost > cap + EPS:
        return math.inf
    start = window_start(now_s, window_s, offset_s)
    used = window_used(state, start)
    if used + cost <= cap - floor_for(cap, floor_fraction, cost) + EPS:
        return 0.0
    return max(start + window_s - now_s, 0.001)


def window_take(state: WindowState, *, window_s: float, offset_s: float, cost: float,
                now_s: float) -> None:
    start = window_start(now_s, window_s, offset_s)
    state.used = window_used(state, start) + cost
    state.window_start_s = start


def window_adjust(state: WindowState, *, limit: float, window_s: float, offset_s: float,
                  pinned: bool, now_s: float, exhaust: bool = False,
                  adopt_limit: float | None = None, remaining: float | None = None) -> None:
    """Platform feedback on a long window: an exhausted limit (eBay 518) or a
    quota report (Developer Analytics: limit and remaining calls)."""
    start = window_start(now_s, window_s, offset_s)
    used = window_used(state, start)
    if adopt_limit is not None and adopt_limit > 0:
        state.adopted_limit = adopt_limit
    cap = window_limit(state, limit, pinned)
    if remaining is not None:
        used = max(used, cap - max(0.0, remaining))
    if exhaust:
        used = max(used, cap)
    state.used = used
    state.window_start_s = start


def minute_of(now_s: float) -> int:
    return int(now_s // SECONDS_PER_MINUTE)
