"""Sending planned batches (stock or prices), one platform call each."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic

from crossdock.models import ItemResult
from crossdock.sync_engine.planner import Batch, Item

__all__ = ["BatchSend"]


@dataclass
class BatchSend(Generic[Item]):
    """The outcome of sending planned batches (stock or prices) one call each:
    what the platform accepted, what it refused (its per-item results), and
    the calls made. Filled as it goes, so a call failing half-way (quota,
    network, auth — raised by :meth:`run`) leaves what was done before it."""

    accepted: list[Item] = field(default_factory=list)
    refused: list[ItemResult] = field(default_factory=list)
    calls: int = 0

    def run(self, batches: Iterable[Batch[Item]], send: Callable[[list[Item]], Sequence[ItemResult]]) -> None:
        for batch in batches:
            results = send(list(batch.items))
            self.calls += 1
            by_sku = {r.sku: r for r in results}
            for u in batch.items:
                r = by_sku.get(u.sku)
                if r is None or r.ok:
                    self.accepted.append(u)
                else:
                    self.refused.append(r)
