"""Token buckets in sandbox time: the platforms' published rates and bursts,
per (platform, account, operation)."""

from __future__ import annotations

import threading

from crossdock.clock import ScaledClock

__all__ = ["Bucket", "RateLimits"]


class Bucket:
    """A token bucket in sandbox time: ``rate`` tokens/s restored up to ``burst``."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        self._refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def available(self, now: float) -> float:
        self._refill(now)
        return self.tokens

    def wait_s(self, now: float, cost: float = 1.0) -> float:
        self._refill(now)
        if self.tokens >= cost:
            return 0.0
        return (cost - self.tokens) / self.rate if self.rate > 0 else float("inf")


class RateLimits:
    """Buckets per (platform, account, operation), created on first use."""

    def __init__(self, clock: ScaledClock) -> None:
        self.clock = clock
        self._buckets: dict[tuple[str, str, str], Bucket] = {}
        self._lock = threading.Lock()
        self.enabled = True

    def bucket(self, platform: str, account: str, operation: str, rate: float, burst: float) -> Bucket:
        key = (platform, account, operation)
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = Bucket(rate, burst, self.clock.timestamp())
        return b

    def take(self, platform: str, account: str, operation: str, *, rate: float, burst: float,
             cost: float = 1.0) -> bool:
        if not self.enabled:
            return True
        with self._lock:
            return self.bucket(platform, account, operation, rate, burst).take(self.clock.timestamp(), cost)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
