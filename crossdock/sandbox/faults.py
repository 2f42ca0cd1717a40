"""Injected faults: rules the admin API or ``--fault`` adds (HTML error pages,
slow or dropped answers, malformed JSON, throttle storms), taken per call."""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import dataclass

__all__ = ["Fault", "Faults"]


@dataclass
class Fault:
    """One fault rule. ``kind``: html_500, html_503, slow, timeout, malformed_json,
    throttle (a 429 storm), drop (connection closed). Applies to ``platform`` (or
    "*") and ``operation`` (or "*"); fires ``count`` times (None = unlimited) with
    ``probability``; ``delay_s`` (real seconds) for slow/timeout."""

    kind: str
    platform: str = "*"
    operation: str = "*"
    probability: float = 1.0
    count: int | None = None
    delay_s: float = 0.0
    id: int = 0

    KINDS = ("html_500", "html_503", "slow", "timeout", "malformed_json", "throttle", "drop")

    def matches(self, platform: str, operation: str) -> bool:
        return self.platform in ("*", platform) and self.operation in ("*", operation)

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "platform": self.platform, "operation": self.operation,
                "probability": self.probability, "count": self.count, "delay_s": self.delay_s}


class Faults:
    def __init__(self, seed: int) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed ^ 0xFA17)
        self._ids = itertools.count(1)

    def add(self, fault: Fault) -> Fault:
        if fault.kind not in Fault.KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; one of {', '.join(Fault.KINDS)}")
        with self._lock:
            fault.id = next(self._ids)
            self._rules.append(fault)
        return fault

    def clear(self, fault_id: int | None = None) -> None:
        with self._lock:
            self._rules = [] if fault_id is None else [f for f in self._rules if f.id != fault_id]

    def list(self) -> list[dict]:
        with self._lock:
            return [f.to_dict() for f in self._rules]

    def take(self, platform: str, operation: str) -> Fault | None:
        """The fault to apply to this call, if any (consumes one of its count)."""
        if not self._rules:
            return None
        with self._lock:
            for f in self._rules:
                if not f.matches(platform, operation):
                    continue
                if f.count is not None and f.count <= 0:
                    continue
                if f.probability < 1.0 and self._rng.random() >= f.probability:
                    continue
                if f.count is not None:
                    f.count -= 1
                return f
        return None
