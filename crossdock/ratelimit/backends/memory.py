"""In-process quota store for unit tests and single-process tools.

Thread-safe (one lock), not shared between processes. ``clock`` is injectable
so tests can drive the bucket arithmetic exactly.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace

from crossdock.ratelimit import arithmetic as ar
from crossdock.ratelimit.backends.base import (
    AcquireRequest,
    AcquireResult,
    BucketRef,
    BucketRow,
    BucketState,
    Feedback,
    QuotaBackend,
    Snapshot,
    WindowRef,
    WindowRow,
    WindowState,
    apply_feedback,
    decide,
)


class MemoryBackend(QuotaBackend):
    name = "memory"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[BucketRef, BucketState] = {}
        self._windows: dict[WindowRef, WindowState] = {}
        # bucket -> minute -> [calls, throttled]
        self._counters: dict[BucketRef, dict[int, list[int]]] = defaultdict(dict)

    def _count(self, ref: BucketRef, now_s: float, *, calls: int = 0, throttled: int = 0) -> None:
        minute = ar.minute_of(now_s)
        per_minute = self._counters[ref]
        slot = per_minute.setdefault(minute, [0, 0])
        slot[0] += calls
        slot[1] += throttled
        for old in [m for m in per_minute if m <= minute - 2 * ar.HOUR_MINUTES]:
            del per_minute[old]

    def acquire(self, request: AcquireRequest) -> AcquireResult:
        with self._lock:
            now_s = self._clock()
            bucket = self._buckets.get(request.bucket) or ar.fresh_bucket(request.params)
            windows = {c.ref: self._windows.get(c.ref) or WindowState() for c in request.windows}
            result = decide(request, bucket, windows, now_s)
            if result.granted:
                self._buckets[request.bucket] = bucket
                self._windows.update(windows)
                self._count(request.bucket, now_s, calls=1)
            return result

    def feedback(self, feedback: Feedback) -> None:
        with self._lock:
            now_s = self._clock()
            bucket = None
            if feedback.bucket is not None and feedback.params is not None:
                bucket = self._buckets.get(feedback.bucket) or ar.fresh_bucket(feedback.params)
            windows = {a.charge.ref: self._windows.get(a.charge.ref) or WindowState()
                       for a in feedback.windows}
            apply_feedback(feedback, bucket, windows, now_s)
            if bucket is not None and feedback.bucket is not None:
                self._buckets[feedback.bucket] = bucket
                if feedback.throttled:
                    self._count(feedback.bucket, now_s, throttled=1)
            self._windows.update(windows)

    def snapshot(self) -> Snapshot:
        with self._lock:
            now_s = self._clock()
            since = ar.minute_of(now_s) - ar.HOUR_MINUTES
            rows = []
            for ref, state in sorted(self._buckets.items()):
                recent = [v for m, v in self._counters.get(ref, {}).items() if m > since]
                rows.append(BucketRow(ref, replace(state),
                                      calls_last_hour=sum(v[0] for v in recent),
                                      throttled_last_hour=sum(v[1] for v in recent)))
            windows = [WindowRow(ref, replace(state))
                       for ref, state in sorted(self._windows.items())]
            return Snapshot(now_s, rows, windows)
