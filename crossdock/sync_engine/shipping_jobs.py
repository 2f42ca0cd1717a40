"""Warehouse jobs the engine runs on a schedule: ship ready orders with the
configured carrier (auto-ship), and poll carriers for tracking events.

Auto-ship is opt-in (``[sync] auto_ship = true`` — the demo turns it on): a
seller normally ships from the pick list with ``crossdock warehouse ship``.
The confirmation to the channel is not sent here: shipping enqueues a
``confirm_shipment`` outbox entry in the same transaction as the shipment, and
the engine sends it once.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from crossdock.errors import CrossdockError
from crossdock.sync_engine.jobs import EXTRA_JOBS, EngineContext

log = logging.getLogger(__name__)

_carriers: dict[tuple[int, str], object] = {}
_lock = threading.Lock()


def carrier_for(ctx: EngineContext, name: str = "sandbox"):
    """One carrier instance per engine (the sandbox carrier keeps its seeded
    failure sequence and can track what it booked)."""
    from crossdock.warehouse.carriers import get_carrier

    key = (id(ctx), name)
    with _lock:
        carrier = _carriers.get(key)
        if carrier is None:
            opts = dict(ctx.cfg.sandbox.get("carrier") or {}) if name == "sandbox" else {}
            if name == "sandbox":
                opts.setdefault("clock", ctx.clock.now)
                opts.setdefault("time_scale", 1.0)   # the clock is already the platform's
            carrier = get_carrier(name, **opts)
            _carriers[key] = carrier
        return carrier


def labels_dir(ctx: EngineContext) -> Path:
    base = Path(ctx.cfg.path).parent if ctx.cfg.path else Path.cwd()
    return base / ctx.cfg.labels_dir


def auto_ship(ctx: EngineContext, entry=None, *, limit: int = 50) -> dict:
    from crossdock.warehouse.picking import ready_orders
    from crossdock.warehouse.shipping import ship_order

    if not ctx.cfg.sync.get("auto_ship", False):
        return {"skipped": "auto_ship is off"}
    with ctx.db.read() as s:
        ready = ready_orders(s, limit=limit)
    carrier = carrier_for(ctx, str(ctx.cfg.sync.get("auto_ship_carrier", "sandbox")))
    shipped, failed = 0, 0
    for order in ready:
        try:
            ship_order(ctx.db, order.order_id, carrier=carrier, labels_dir=labels_dir(ctx), clock=ctx.clock.now,
                       cfg=ctx.cfg)
            shipped += 1
        except CrossdockError as exc:   # the order stays ready, its reservation intact; next run retries
            failed += 1
            log.info("auto-ship %s: %s", order.ref, exc.message)
    return {"ready": len(ready), "shipped": shipped, "failed": failed}


def poll_tracking_job(ctx: EngineContext, entry=None) -> dict:
    from crossdock.warehouse.shipping import poll_tracking

    days = float(ctx.cfg.sync.get("tracking_silence_days", 7))
    result = poll_tracking(ctx.db, lambda name: carrier_for(ctx, name), ctx.clock.now(), max_silence_days=days)
    return {"result": str(result)}


EXTRA_JOBS["shipments"] = auto_ship
EXTRA_JOBS["tracking"] = poll_tracking_job
