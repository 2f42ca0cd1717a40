"""The jobs: load, plan, call the connector, record — and :data:`JOBS`, the
one table of every job kind.

Each job is a plain function of an :class:`EngineContext` and one claimed
outbox entry, so it runs the same under the in-process worker, a Dramatiq
worker on another machine, or a test. Durable state is in the database
(cursors, dirty SKUs, outbox); a job repeated after a crash finds the work
done or redoes it with the same idempotency keys.

:data:`JOBS` is built here by explicit imports of the job modules: the
runner (:mod:`.runner`) runs an entry with its row, the engine schedules and
counts its rounds from it (``crossdock.sync_engine.engine``), and ``crossdock
sync run`` offers the rows that have a ``hand_run`` name. A kind not in the
table is an error (XD-SYNC-001), never a silent skip.
"""

from __future__ import annotations

from typing import Any

from crossdock.ratelimit.budget import Priority
from crossdock.sync_engine import backup_jobs, housekeeping, platform_stock, returns_pull
from crossdock.sync_engine.failures import QuotaWait
from crossdock.sync_engine.jobs.auto_ship import AUTO_SHIP, auto_ship
from crossdock.sync_engine.jobs.batches import BatchSend
from crossdock.sync_engine.jobs.context import EngineContext, EngineStats, configured_lease_s
from crossdock.sync_engine.jobs.listings import LISTINGS, listings_job, publish_listings
from crossdock.sync_engine.orders import store_orders
from crossdock.sync_engine.jobs.orders import IMPORT_ORDERS, import_orders, max_window_s, order_poll_group, \
    orders_job
from crossdock.sync_engine.jobs.prices import PRICES, expected_prices, prices_job, push_prices
from crossdock.sync_engine.jobs.reconcile import RECONCILE, reconcile, reconcile_job
from crossdock.sync_engine.jobs.runner import claim_and_process, job_spec, pause_channel, paused, process, \
    run_entry
from crossdock.sync_engine.jobs.shipments import CONFIRM_SHIPMENT, apply_platform_order, confirm_shipment
from crossdock.sync_engine.jobs.spec import JobRun, JobSpec, Schedule
from crossdock.sync_engine.jobs.stock import PUSH_STOCK, STOCK_SWEEP, expected_quantities, push_stock, \
    push_stock_job, sweep_job, sweep_stock
from crossdock.sync_engine.jobs.tracking import TRACKING, poll_tracking_job

__all__ = [
    "AUTO_SHIP", "CONFIRM_SHIPMENT", "HOUSEKEEPING", "IMPORT_ORDERS", "JOBS", "LISTINGS", "PRICES", "PUSH_STOCK",
    "RECONCILE", "STOCK_SWEEP", "STUCK", "TRACKING",
    "BatchSend", "EngineContext", "EngineStats", "JobRun", "JobSpec", "QuotaWait", "Schedule",
    "apply_platform_order", "auto_ship", "claim_and_process", "configured_lease_s", "confirm_shipment",
    "expected_prices", "expected_quantities", "import_orders", "job_spec", "max_window_s", "pause_channel",
    "paused", "poll_tracking_job", "process", "publish_listings", "push_prices", "push_stock", "reconcile", "register",
    "run_entry", "store_orders", "sweep_stock", "table_doc",
]

HOUSEKEEPING = housekeeping.HOUSEKEEPING
STUCK = housekeeping.STUCK


def _specs(*specs: JobSpec) -> dict[str, JobSpec]:
    table: dict[str, JobSpec] = {}
    for spec in specs:
        if spec.kind in table:
            raise ValueError(f"job kind {spec.kind!r} declared twice")
        table[spec.kind] = spec
    return table


#: Every job kind the engine runs (see :class:`JobSpec`), in the order ``crossdock sync run`` lists them.
JOBS: dict[str, JobSpec] = _specs(
    # per channel, on the channel's intervals_s; the order import once per shared order poll
    JobSpec(IMPORT_ORDERS, orders_job, Priority.CRITICAL, round=True, hand_run="orders", continues=True,
            schedule=Schedule(per_channel=True, interval_key="orders", every_s=120, shared_by=order_poll_group)),
    # enqueued by stock changes (dirty SKUs), a channel at a time
    JobSpec(PUSH_STOCK, push_stock_job, Priority.STOCK, hand_run="stock"),
    # a no-op making no call when no price changed
    JobSpec(PRICES, prices_job, Priority.PRICE, round=True, hand_run="prices",
            schedule=Schedule(per_channel=True, interval_key="prices", every_s=900)),
    # opt-in: creates listings for every catalogue product the channel lacks
    JobSpec(LISTINGS, listings_job, Priority.CONTENT, round=True, hand_run="listings",
            schedule=Schedule(per_channel=True, interval_key="listings", every_s=3600,
                              enabled_key="auto_publish", enabled_default=False)),
    # enqueued with each shipment
    JobSpec(CONFIRM_SHIPMENT, confirm_shipment, Priority.CRITICAL, hand_run="shipments"),
    # reads every listing back; its first run waits one interval (a new worker has nothing to repair yet)
    JobSpec(RECONCILE, reconcile_job, Priority.STOCK, round=True, hand_run="reconcile",
            schedule=Schedule(per_channel=True, interval_key="reconcile", every_s=3600,
                              enabled_key="reconcile", first_after_interval=True)),
    # the stock a platform holds itself (Amazon FBA), for channels whose platform holds any
    # (run by hand: `crossdock stock platform-pull`)
    JobSpec(platform_stock.PLATFORM_STOCK, platform_stock.platform_stock_job, Priority.CONTENT, round=True,
            schedule=Schedule(per_channel=True, interval_key="platform_stock", every_s=1800,
                              for_channel=platform_stock.holds_stock)),
    # the returns buyers opened on the platforms, read into RMAs (run by hand: `crossdock returns pull`)
    JobSpec(returns_pull.RETURNS, returns_pull.returns_job, Priority.CONTENT, round=True,
            schedule=Schedule(per_channel=True, interval_key="returns", every_s=3600,
                              for_channel=returns_pull.reads_returns)),
    # once for all channels, on [sync] keys
    JobSpec(STOCK_SWEEP, sweep_job, round=True,
            schedule=Schedule(per_channel=False, name="stock-sweep", interval_key="stock_sweep_s", every_s=30)),
    JobSpec(AUTO_SHIP, auto_ship, round=True,
            schedule=Schedule(per_channel=False, name="auto-ship", interval_key="auto_ship_s", every_s=60,
                              enabled_key="auto_ship", enabled_default=False)),
    JobSpec(TRACKING, poll_tracking_job, round=True,
            schedule=Schedule(per_channel=False, name="tracking", interval_key="tracking_s", every_s=1800)),
    JobSpec(STUCK, housekeeping.stuck_job, round=True,
            schedule=Schedule(per_channel=False, name="stuck-orders", interval_key="stuck_s",
                              every_s=housekeeping.DEFAULT_STUCK_S, first_after_interval=True)),
    JobSpec(HOUSEKEEPING, housekeeping.housekeeping_job, round=True,
            schedule=Schedule(per_channel=False, name="housekeeping", interval_key="housekeeping_s",
                              every_s=housekeeping.DEFAULT_HOUSEKEEPING_S)),
    # data safety, while [backup] is configured: the first backup at once, the first verification an interval later
    JobSpec(backup_jobs.BACKUP, backup_jobs.backup_job, round=True,
            schedule=Schedule(per_channel=False, name="backup", interval_key="backup.every",
                              every_s=backup_jobs.DAY_S, interval_of=backup_jobs.backup_interval)),
    JobSpec(backup_jobs.VERIFY, backup_jobs.verify_job, round=True,
            schedule=Schedule(per_channel=False, name="backup-verify", interval_key="backup.verify_every",
                              every_s=backup_jobs.DAY_S, interval_of=backup_jobs.verify_interval,
                              first_after_interval=True)),
    JobSpec(backup_jobs.RETENTION, backup_jobs.retention_job, round=True,
            schedule=Schedule(per_channel=False, name="retention", interval_key="retention.every",
                              every_s=backup_jobs.DAY_S, interval_of=backup_jobs.retention_interval)),
)


def register(spec: JobSpec) -> None:
    """Add a job kind from outside the engine (``crossdock.alerts``: its job
    evaluates doctor's checks, which read the engine, so the engine cannot
    import it). Registering the same kind again with the same function is a
    no-op; another function under a known kind is an error."""
    known = JOBS.get(spec.kind)
    if known is not None:
        if known.run is not spec.run:
            raise ValueError(f"job kind {spec.kind!r} declared twice")
        return
    JOBS[spec.kind] = spec


def table_doc() -> dict[str, list[dict[str, Any]]]:
    """The job table as a document (``crossdock jobs kinds``)."""
    return {"jobs": [spec.to_dict() for spec in JOBS.values()]}
