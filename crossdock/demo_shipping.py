"""``crossdock demo``: the shipping figures of a finished run (:func:`shipping_summary`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from crossdock.db.engine import Database
from crossdock.db.models import Order
from crossdock.sandbox.scenario import confirmations_per_order

__all__ = ["shipping_summary"]


def shipping_summary(db: Database, sb, cfg) -> dict[str, Any]:
    """Shipments from the database; confirmations from the platforms' own record:
    each shipped order must be confirmed on its channel exactly once — unless
    its buyer cancelled before the confirmation arrived (the order is flagged
    XD-ORD-007), or its confirmation is still queued or was refused."""
    from crossdock.db.models import Shipment
    from crossdock.sync_engine.stuck import CANCELLED_AFTER_SHIP

    with db.read() as s:
        shipments = list(s.execute(select(Shipment.id, Shipment.order_id, Shipment.confirmed_at,
                                          Shipment.label_paths, Order.platform_order_id, Order.channel,
                                          Order.flags)
                                   .join(Order, Order.id == Shipment.order_id)))
    confirms = confirmations_per_order(sb)
    from crossdock.db.models import OutboxEntry

    with db.read() as s:
        refused = dict(s.execute(select(OutboxEntry.last_code, func.count())
                                 .where(OutboxEntry.kind == "confirm_shipment", OutboxEntry.status == "failed")
                                 .group_by(OutboxEntry.last_code)).all())
        queued = s.scalar(select(func.count()).select_from(OutboxEntry)
                          .where(OutboxEntry.kind == "confirm_shipment",
                                 OutboxEntry.status.in_(("pending", "running")))) or 0
    shipped_ids = {r.platform_order_id for r in shipments}
    per_order = [confirms.get(pid, 0) for pid in shipped_ids]
    labels = Path(cfg.path).parent / cfg.labels_dir
    files = list(labels.glob("*")) if labels.exists() else []
    return {
        "shipments_created": len(shipments),
        "shipments_confirmed": sum(1 for r in shipments if r.confirmed_at is not None),
        "shipped_orders_confirmed_once_on_platform": sum(1 for n in per_order if n == 1),
        "shipped_orders_confirmed_twice_on_platform": sum(1 for n in per_order if n > 1),
        # the buyer cancelled after the parcel was booked, before the confirmation arrived: the channel
        # refused it, the entry is done and the order flagged XD-ORD-007 (`crossdock warehouse flagged`)
        "shipments_cancelled_after_ship": sum(1 for r in shipments if r.confirmed_at is None
                                              and CANCELLED_AFTER_SHIP in (r.flags or [])),
        "shipments_confirmation_queued": queued,
        # confirmations the platform refused for any other reason, by code; they stay in `crossdock jobs failed`
        "confirmations_refused": refused,
        "labels_written": len(files),
        "label_folder": str(labels),
    }
