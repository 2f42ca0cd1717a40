"""What the sandbox saw: counters per (platform, account, operation) and the
log of the last requests, both read through the admin API."""

from __future__ import annotations

import collections
import itertools
import threading
from typing import Any

__all__ = ["RequestLog", "Stats"]


class Stats:
    """Per (platform, account, operation): calls, successes, 429s, other errors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._c: dict[tuple[str, str, str], collections.Counter] = collections.defaultdict(collections.Counter)

    def record(self, platform: str, account: str, operation: str, status: int, *, throttled: bool = False) -> None:
        with self._lock:
            c = self._c[(platform, account, operation)]
            c["calls"] += 1
            if throttled or status == 429:
                c["throttled"] += 1
            elif 200 <= status < 300:
                c["successes"] += 1
            else:
                c["errors"] += 1

    def as_dict(self) -> dict:
        out: dict[str, dict] = {}
        with self._lock:
            for (platform, account, op), c in sorted(self._c.items()):
                out.setdefault(platform, {}).setdefault(account, {})[op] = {
                    "calls": c["calls"], "successes": c["successes"],
                    "throttled": c["throttled"], "errors": c["errors"]}
        return out

    def reset(self) -> None:
        with self._lock:
            self._c.clear()


class RequestLog:
    """The last ``maxlen`` requests (method, path, status, account, operation, time)."""

    def __init__(self, maxlen: int = 20000) -> None:
        self._items: collections.deque = collections.deque(maxlen=maxlen)
        self._seq = itertools.count(1)

    def add(self, **entry: Any) -> None:
        entry["seq"] = next(self._seq)
        self._items.append(entry)

    def since(self, seq: int = 0, *, platform: str | None = None, operation: str | None = None,
              limit: int = 1000) -> list[dict]:
        out = []
        for e in list(self._items):
            if e["seq"] <= seq:
                continue
            if platform and e.get("platform") != platform:
                continue
            if operation and e.get("operation") != operation:
                continue
            out.append(e)
            if len(out) >= limit:
                break
        return out
