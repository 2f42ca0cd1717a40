"""Injected faults: rules the admin API or ``--fault`` adds (HTML error pages,
slow or dropped answers, malformed JSON, throttle storms), taken per call;
and faults of the events the platforms send (webhooks, notifications, queue
messages): dropped, delayed, duplicated or reordered, planned per event by
:meth:`Faults.event_plan`, which every platform's delivery asks."""

from __future__ import annotations

import builtins
import itertools
import random
import threading
from dataclasses import dataclass

__all__ = ["REORDER_HOLD_S", "Fault", "Faults"]

#: How long (sandbox seconds, at most) an ``event_reorder`` fault holds an event back so later ones overtake it.
REORDER_HOLD_S = 10.0


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

    EVENT_KINDS = ("event_drop", "event_delay", "event_duplicate", "event_reorder")
    KINDS = ("html_500", "html_503", "slow", "timeout", "malformed_json", "throttle", "drop", *EVENT_KINDS)

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
                if f.kind not in Fault.EVENT_KINDS and f.matches(platform, operation) and self._fires(f):
                    return f
        return None

    def _fires(self, f: Fault) -> bool:
        """Whether rule ``f`` applies this time (its count left, its probability drawn); consumes
        one of its count when it does. Called under the lock."""
        if f.count is not None and f.count <= 0:
            return False
        if f.probability < 1.0 and self._rng.random() >= f.probability:
            return False
        if f.count is not None:
            f.count -= 1
        return True

    def event_plan(self, platform: str, topic: str) -> builtins.list[float]:
        """When one event of ``platform`` about ``topic`` is delivered: sandbox
        seconds after it happened, one entry per delivery. ``[0.0]`` on time,
        ``[]`` dropped, two entries duplicated; a delay adds to every entry, a
        reorder holds the event back a random part of its hold so the events
        after it overtake it. Every matching event rule is drawn (seeded, so a
        run is repeatable); a drop wins. Deliveries of every platform ask this
        (Shopify's webhooks, eBay's notifications, Amazon's queue messages)."""
        plan = [0.0]
        if not self._rules:
            return plan
        with self._lock:
            for f in self._rules:
                if f.kind not in Fault.EVENT_KINDS or not f.matches(platform, topic) or not self._fires(f):
                    continue
                if f.kind == "event_drop":
                    return []
                if f.kind == "event_delay":
                    plan = [d + f.delay_s for d in plan]
                elif f.kind == "event_duplicate":
                    plan = plan + [plan[-1] + self._rng.uniform(0.0, max(f.delay_s, 1.0))]
                elif f.kind == "event_reorder":
                    plan = [d + self._rng.uniform(0.2, 1.0) * (f.delay_s or REORDER_HOLD_S) for d in plan]
        return plan
