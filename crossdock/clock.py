"""Clocks. crossdock code asks a :class:`Clock` for the time instead of calling
``datetime.now`` so the sandbox's time scale applies end to end: with
``time_scale=K`` one real second is K platform seconds, for the sandbox and for
the connectors, quota budget and engine that talk to it.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass


class Clock:
    """Real time (UTC)."""

    time_scale: float = 1.0

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    def timestamp(self) -> float:
        return time.time()

    def to_real_s(self, platform_s: float) -> float:
        """Real seconds to wait for ``platform_s`` seconds of platform time to pass."""
        return platform_s / self.time_scale

    def describe(self) -> dict:
        return {"time_scale": self.time_scale, "origin_real": None, "origin_platform": None}

    def to_real(self, platform_time: dt.datetime) -> dt.datetime:
        """The real (wall-clock) moment of a platform timestamp."""
        return platform_time


@dataclass
class ScaledClock(Clock):
    """Platform time = origin_platform + (real now - origin_real) × time_scale.

    Built from the sandbox's description (``clock`` block) so that a client in
    another process computes exactly the sandbox's notion of now.
    """

    time_scale: float = 1.0
    origin_real: float = 0.0
    origin_platform: float = 0.0

    @classmethod
    def starting_now(cls, time_scale: float) -> "ScaledClock":
        now = time.time()
        return cls(time_scale=float(time_scale), origin_real=now, origin_platform=now)

    def timestamp(self) -> float:
        return self.origin_platform + (time.time() - self.origin_real) * self.time_scale

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp(), dt.timezone.utc)

    def describe(self) -> dict:
        return {"time_scale": self.time_scale, "origin_real": self.origin_real,
                "origin_platform": self.origin_platform}

    def to_real(self, platform_time: dt.datetime) -> dt.datetime:
        real = self.origin_real + (platform_time.timestamp() - self.origin_platform) / self.time_scale
        return dt.datetime.fromtimestamp(real, dt.timezone.utc)

    @classmethod
    def from_description(cls, d: dict) -> Clock:
        if not d or d.get("origin_real") is None:
            return Clock()
        return cls(time_scale=float(d["time_scale"]), origin_real=float(d["origin_real"]),
                   origin_platform=float(d["origin_platform"]))


def iso(ts: dt.datetime) -> str:
    """ISO 8601 in UTC with a Z, second precision (the platforms' own format)."""
    return ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> dt.datetime:
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    value = dt.datetime.fromisoformat(t)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)
