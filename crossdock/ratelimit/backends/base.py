"""The one interface every quota store implements, and the plain data it speaks.

A backend owns three things, all on its own clock (the database's or Redis's,
never the worker's): the token buckets, the long-window counters, and the
per-minute observability counters behind ``crossdock quota``. Each
:meth:`QuotaBackend.acquire` checks the bucket and every long window of one
call atomically and charges all of them or none.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from crossdock.ratelimit import arithmetic as ar
from crossdock.ratelimit.arithmetic import BucketParams, BucketState, WindowState

__all__ = [
    "AcquireRequest",
    "AcquireResult",
    "BucketParams",
    "BucketRef",
    "BucketRow",
    "BucketState",
    "Feedback",
    "QuotaBackend",
    "Snapshot",
    "WindowAdjust",
    "WindowCharge",
    "WindowRef",
    "WindowRow",
    "WindowState",
]


def _enc(part: str) -> str:
    return part.replace("%", "%25").replace("|", "%7C")


@dataclass(frozen=True, order=True)
class BucketRef:
    platform: str
    account: str
    bucket: str

    @property
    def key(self) -> str:
        return "|".join(_enc(p) for p in (self.platform, self.account, self.bucket))


@dataclass(frozen=True, order=True)
class WindowRef:
    platform: str
    account: str  # "*" for budgets shared by every account (scope "app")
    name: str
    subject: str = ""  # listing id for per-listing budgets

    @property
    def key(self) -> str:
        return "|".join(_enc(p) for p in (self.platform, self.account, self.name, self.subject))


@dataclass(frozen=True)
class WindowCharge:
    """One long window charged by a call: ``cost`` units against ``limit`` per
    ``window_s``, windows starting at ``offset_s`` past each multiple of
    ``window_s`` since the epoch."""

    ref: WindowRef
    limit: float
    window_s: float
    offset_s: float = 0.0
    cost: float = 1.0
    floor_fraction: float = 0.0
    pinned: bool = False
    code: str = "XD-QUOTA-002"


@dataclass(frozen=True)
class AcquireRequest:
    bucket: BucketRef
    params: BucketParams
    cost: float = 1.0
    floor_fraction: float = 0.0
    windows: tuple[WindowCharge, ...] = ()


@dataclass(frozen=True)
class AcquireResult:
    granted: bool
    wait_s: float
    now_s: float
    code: str | None = None  # why refused: XD-QUOTA-001/002/003/004/005
    refused: tuple[WindowRef, ...] = ()


@dataclass(frozen=True)
class WindowAdjust:
    charge: WindowCharge
    exhaust: bool = False
    limit: float | None = None
    remaining: float | None = None


@dataclass(frozen=True)
class Feedback:
    """What a response said. ``rate_per_s``/``burst`` are adopted (platform
    units), ``available`` caps the tokens, ``refund`` gives back over-charged
    cost, ``throttled`` empties the bucket until ``retry_after_s``."""

    bucket: BucketRef | None = None
    params: BucketParams | None = None
    rate_per_s: float | None = None
    burst: float | None = None
    available: float | None = None
    refund: float = 0.0
    throttled: bool = False
    retry_after_s: float | None = None
    windows: tuple[WindowAdjust, ...] = ()


@dataclass(frozen=True)
class BucketRow:
    ref: BucketRef
    state: BucketState
    calls_last_hour: int = 0
    throttled_last_hour: int = 0


@dataclass(frozen=True)
class WindowRow:
    ref: WindowRef
    state: WindowState


@dataclass(frozen=True)
class Snapshot:
    now_s: float
    buckets: list[BucketRow] = field(default_factory=list)
    windows: list[WindowRow] = field(default_factory=list)


class QuotaBackend(abc.ABC):
    """Shared quota store. Implementations must be safe to call from many
    threads and, except the in-memory one, from many processes."""

    name: str = ""

    @abc.abstractmethod
    def acquire(self, request: AcquireRequest) -> AcquireResult:
        """Atomically check the bucket and windows; charge all or nothing.
        Never blocks beyond the store's own lock."""

    @abc.abstractmethod
    def feedback(self, feedback: Feedback) -> None:
        """Apply server feedback (adoption, refund, throttle, window reports)."""

    @abc.abstractmethod
    def snapshot(self) -> Snapshot:
        """Every known bucket and window with the store's current time."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


# ----------------------------------------------------------------- shared rules
# The memory and SQLite backends (and PostgreSQL for calls with long windows)
# load the states, call these under their lock, and store the states back. (The
# Redis Lua script and the PostgreSQL one-statement decisions mirror them.)

def decide(request: AcquireRequest, bucket: BucketState,
           windows: dict[WindowRef, WindowState], now_s: float) -> AcquireResult:
    """Grant (and charge bucket + windows) or refuse with the longest wait."""
    waits: list[tuple[float, str, WindowRef | None]] = []
    wait = ar.bucket_wait(bucket, request.params, now_s, request.cost, request.floor_fraction)
    if wait > 0:
        code = "XD-QUOTA-005" if wait == float("inf") else (
            "XD-QUOTA-001" if bucket.updated_at_s > now_s else "XD-QUOTA-003")
        waits.append((wait, code, None))
    for charge in request.windows:
        w = ar.window_wait(windows[charge.ref], limit=charge.limit, window_s=charge.window_s,
                           offset_s=charge.offset_s, cost=charge.cost,
                           floor_fraction=charge.floor_fraction, pinned=charge.pinned,
                           now_s=now_s)
        if w > 0:
            waits.append((w, "XD-QUOTA-005" if w == float("inf") else charge.code, charge.ref))
    if waits:
        longest = max(waits, key=lambda item: item[0])
        refused = tuple(ref for _, _, ref in waits if ref is not None)
        return AcquireResult(False, longest[0], now_s, longest[1], refused)
    ar.bucket_take(bucket, request.params, now_s, request.cost)
    for charge in request.windows:
        ar.window_take(windows[charge.ref], window_s=charge.window_s, offset_s=charge.offset_s,
                       cost=charge.cost, now_s=now_s)
    return AcquireResult(True, 0.0, now_s)


def apply_feedback(feedback: Feedback, bucket: BucketState | None,
                   windows: dict[WindowRef, WindowState], now_s: float) -> None:
    if bucket is not None and feedback.params is not None:
        ar.bucket_feedback(bucket, feedback.params, now_s, rate_per_s=feedback.rate_per_s,
                           burst=feedback.burst, available=feedback.available,
                           refund=feedback.refund, throttled=feedback.throttled,
                           retry_after_s=feedback.retry_after_s)
    for adj in feedback.windows:
        c = adj.charge
        ar.window_adjust(windows[c.ref], limit=c.limit, window_s=c.window_s, offset_s=c.offset_s,
                         pinned=c.pinned, now_s=now_s, exhaust=adj.exhaust,
                         adopt_limit=adj.limit, remaining=adj.remaining)
