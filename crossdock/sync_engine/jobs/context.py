"""What every job runs with: the :class:`EngineContext` (configuration,
database, connectors, clock, this worker's id), the per-process
:class:`EngineStats`, and the lease a worker holds an entry for."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from crossdock.clock import Clock
from crossdock.config import Config
from crossdock.connectors.base import Connector
from crossdock.db.engine import Database
from crossdock.errors import ConfigError, SyncError
from crossdock.sync_engine import outbox
from crossdock.sync_engine.planner import FACTS_BATCH_POLICIES, BatchPolicy

__all__ = ["ClaimLost", "ConnectorSource", "EngineContext", "EngineStats", "configured_lease_s", "entry_channel",
           "hold_claim"]


class ConnectorSource(Protocol):
    """Where a job gets a channel's connector (:class:`~crossdock.sync_engine.channels.ConnectorPool`)."""

    def get(self, channel: str) -> Connector: ...

    def close(self) -> None:
        """Close every connector handed out (their HTTP clients)."""


@dataclass
class EngineStats:
    """Counters the demo and benchmarks read (per process)."""

    stock_push_calls: Counter[str] = field(default_factory=Counter)       # channel -> calls made
    stock_push_min_calls: Counter[str] = field(default_factory=Counter)   # channel -> fewest calls possible
    stock_changes: Counter[str] = field(default_factory=Counter)          # channel -> quantities pushed
    orders_imported: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, channel: str, n: int) -> None:
        counter: Counter[str] = getattr(self, name)
        with self.lock:
            counter[channel] += n


def _default_policies() -> dict[str, BatchPolicy | int]:
    return dict(FACTS_BATCH_POLICIES)


@dataclass
class EngineContext:
    cfg: Config
    db: Database
    connectors: ConnectorSource
    clock: Clock
    worker_id: str = field(default_factory=outbox.default_worker_id)
    stats: EngineStats = field(default_factory=EngineStats)
    policies: dict[str, BatchPolicy | int] = field(default_factory=_default_policies)
    initial_lookback_s: float = 86_400.0

    def platform(self, channel: str) -> str:
        return self.cfg.channel(channel).platform


#: ``[sync] tick_s`` when unset: platform seconds between the worker loop's looks at the database.
DEFAULT_TICK_S = 0.5


def configured_tick_real_s(cfg: Config) -> float:
    """``[sync] tick_s`` in real seconds (the time scale applied): the worker
    loop looks at the database at most this often; a released entry waits at
    least this long for its next run. A push or fast-lane job sleeps through a
    quota wait no longer than this instead of releasing its entry
    (:mod:`~crossdock.sync_engine.actors`)."""
    return max(0.005, float(cfg.sync.get("tick_s", DEFAULT_TICK_S)) / cfg.time_scale)


def configured_lease_s(cfg: Config) -> float:
    """``[sync] lease_s``: how long a worker holds an outbox entry (and the
    dirty SKUs of a push) before another may take it over. It must exceed the
    longest job; a killed worker's work waits this long."""
    raw = cfg.sync.get("lease_s", outbox.DEFAULT_LEASE_S)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = 0.0
    if value <= 0:
        raise ConfigError("XD-CFG-003", detail=f"sync.lease_s must be a positive number of seconds, got {raw!r}")
    return value


def entry_channel(entry: outbox.ClaimedEntry) -> str:
    """The channel of a per-channel job's entry (one without is a bug in who enqueued it)."""
    if not entry.channel:
        raise SyncError("XD-SYNC-001", detail=f"outbox entry {entry.id} ({entry.kind}) names no channel")
    return entry.channel


class ClaimLost(Exception):
    """The worker no longer holds the entry it is running: it stalled past
    its lease (or was declared dead) and the entry went to another worker.
    Raised before a side effect, so nothing decided before the stall is sent."""

    def __init__(self, entry: outbox.ClaimedEntry) -> None:
        super().__init__(f"outbox entry {entry.id} ({entry.kind}) is no longer held by {entry.claimed_by}")
        self.entry = entry


def hold_claim(ctx: EngineContext, entry: outbox.ClaimedEntry) -> None:
    """Call just before each platform call with a side effect: renews the
    entry's lease, or raises :class:`ClaimLost` when it is not ours any more."""
    if not outbox.fence(ctx.db, entry, lease_s=configured_lease_s(ctx.cfg)):
        raise ClaimLost(entry)
