"""Sending planned batches (stock or prices), one platform call each."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic

from crossdock.models import ItemResult
from crossdock.sync_engine.planner import Batch, Item

__all__ = ["BatchSend", "checked_by"]


def checked_by(check: Callable[[], None]) -> Callable[[Sequence[Item]], list[Item]]:
    """A :meth:`BatchSend.run` fence that only asks ``check`` (which raises
    to stop the calls) and sends the batch as planned."""
    def fence(items: Sequence[Item]) -> list[Item]:
        check()
        return list(items)
    return fence


@dataclass
class BatchSend(Generic[Item]):
    """The outcome of sending planned batches (stock or prices) one call each:
    what the platform accepted, what it refused (its per-item results), and
    the calls made. Filled as it goes, so a call failing half-way (quota,
    network, auth — raised by :meth:`run`) leaves what was done before it."""

    accepted: list[Item] = field(default_factory=list)
    refused: list[ItemResult] = field(default_factory=list)
    calls: int = 0
    attempted: set[str] = field(default_factory=set)     # SKUs of every call made (or that failed)

    def run(self, batches: Iterable[Batch[Item]], send: Callable[[list[Item]], Sequence[ItemResult]], *,
            fence: Callable[[Sequence[Item]], list[Item]] | None = None) -> None:
        """Send each batch; ``fence`` (if given) is asked just before each
        call which items may still be sent and with what values (a claim
        lost to another run sends nothing)."""
        for batch in batches:
            items = fence(batch.items) if fence is not None else list(batch.items)
            if not items:
                continue
            self.attempted.update(u.sku for u in items)
            results = send(items)
            self.calls += 1
            by_sku = {r.sku: r for r in results}
            for u in items:
                r = by_sku.get(u.sku)
                if r is None or r.ok:
                    self.accepted.append(u)
                else:
                    self.refused.append(r)
