"""What the last reconcile of a channel found: the SKUs whose listed quantity
(XD-INV-002) or price (XD-MAP-013) differed from crossdock's.

A reconcile writes one ``channel`` event when it ends and one ``sku`` event
per drift before it; the drift of the last run is the ``sku`` events between
the run before and the last one. ``crossdock doctor``, ``sync status`` and the
Prometheus collector read it here, so they agree."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

__all__ = ["PRICE_DRIFT_CODE", "QUANTITY_DRIFT_CODE", "LastDrift", "last_drift", "last_runs"]

QUANTITY_DRIFT_CODE = "XD-INV-002"
PRICE_DRIFT_CODE = "XD-MAP-013"


@dataclass(frozen=True, slots=True)
class LastDrift:
    """The last reconcile of one channel: when it ended and the SKUs it found drifted."""

    at: dt.datetime
    quantities: tuple[str, ...]
    prices: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"reconciled_at": self.at.isoformat(), "quantities": len(self.quantities), "prices": len(self.prices)}


@functools.cache
def _runs_statement(reconcile: bool) -> Any:
    """The query of :func:`last_runs`, built once (channel and operation are bound when it runs):
    the doctor asks it of every channel each alerts round, and building it cost more than running it."""
    from crossdock.db.models import RECONCILE_EVENTS, SyncEvent

    kind = (RECONCILE_EVENTS,) if reconcile else ()   # its partial index, not the whole log
    return (select(SyncEvent.id, SyncEvent.at, SyncEvent.details)
            .where(*kind, SyncEvent.channel == bindparam("channel"), SyncEvent.operation == bindparam("operation"),
                   SyncEvent.entity_type == "channel")
            .order_by(SyncEvent.id.desc()).limit(2))


@functools.cache
def _drift_statement() -> Any:
    """The ``sku`` events of a reconcile between two of its ``channel`` events, built once."""
    from crossdock.db.models import RECONCILE_EVENTS, SyncEvent

    return select(SyncEvent.code, SyncEvent.entity).where(
        RECONCILE_EVENTS, SyncEvent.channel == bindparam("channel"), SyncEvent.entity_type == "sku",
        SyncEvent.id > bindparam("after"), SyncEvent.id < bindparam("last"))


def last_runs(s: Any, channel: str, operation: str) -> list[Any]:
    """The last two ``channel`` events of ``operation`` on ``channel`` (id, at, details), newest first."""
    return list(s.execute(_runs_statement(operation == "reconcile"), {"channel": channel, "operation": operation}))


def last_drift(s: Any, channel: str) -> LastDrift | None:
    """The drift the last reconcile of ``channel`` found (None: no reconcile has run)."""
    runs = last_runs(s, channel, "reconcile")
    if not runs:
        return None
    after = runs[1].id if len(runs) > 1 else 0
    rows = s.execute(_drift_statement(), {"channel": channel, "after": after, "last": runs[0].id}).all()
    return LastDrift(at=runs[0].at,
                     quantities=tuple(sorted({e for c, e in rows if c == QUANTITY_DRIFT_CODE})),
                     prices=tuple(sorted({e for c, e in rows if c == PRICE_DRIFT_CODE})))
