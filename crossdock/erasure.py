"""``crossdock erase buyer --channel C --buyer ID``: a buyer's personal data
removed from crossdock, the business record kept.

Which orders: those of channel ``C`` whose platform order id is ``ID``, or
whose ship-to name, e-mail or buyer id (as the platform gave them) is ``ID``
(case-insensitive) — platforms name a buyer to erase by an order (Shopify's
``customers/redact`` lists them) or by the buyer. For each:

- ``orders.shipping_address`` keeps only the country (needed for tax and
  customs records); name, street, city, postal code, phone, e-mail go;
- the shipments' label files (PDF, ZPL: they print the address) are deleted
  and their paths cleared; carrier scan locations are cleared;
- a quarantined payload of that order (or naming the buyer) is replaced by a
  marker: it was the platform's raw order, address included.

Amounts, SKUs, quantities, dates and statuses stay. One ``audit_log`` record
names the orders and fields masked — never the values. Backups taken before
the erasure still hold the data until the keep policy prunes them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from crossdock import audit, synclog
from crossdock.db.models import Order, QuarantinedOrder, Shipment, TrackingEvent
from crossdock.errors import OrderError

log = logging.getLogger(__name__)

__all__ = ["ERASE_ACTION", "erase_buyer"]

ERASE_ACTION = "erase.buyer"
KEEP = ("country_code",)
_IDENTITY = ("name", "email", "buyer_id", "buyer_email")
ORDERS, SHIPMENTS, TRACKING, QUARANTINE = (Order.__table__, Shipment.__table__, TrackingEvent.__table__,
                                           QuarantinedOrder.__table__)


def _matches(row: Any, buyer: str) -> bool:
    if row.platform_order_id == buyer:
        return True
    address = row.shipping_address or {}
    wanted = buyer.casefold()
    return any(isinstance(address.get(k), str) and address[k].casefold() == wanted for k in _IDENTITY)


def erase_buyer(db: Any, *, channel: str, buyer: str, who: str | None = None) -> dict[str, Any]:
    """Erase ``buyer``'s personal data on ``channel`` (see module doc).
    XD-ORD-005 when no order or quarantined payload of that buyer exists."""
    buyer = buyer.strip()
    if not buyer:
        raise OrderError("XD-ORD-005", channel=channel, detail="--buyer is empty")
    with db.write() as s:
        candidates = s.execute(select(ORDERS.c.id, ORDERS.c.platform_order_id, ORDERS.c.shipping_address)
                               .where(ORDERS.c.channel == channel)).all()
        orders = [r for r in candidates if _matches(r, buyer)]
        order_ids = [r.id for r in orders]
        platform_ids = sorted(r.platform_order_id for r in orders)
        fields: set[str] = set()
        for r in orders:
            address = dict(r.shipping_address or {})
            fields |= {k for k, v in address.items() if k not in KEEP and v not in (None, "")}
            s.execute(update(ORDERS).where(ORDERS.c.id == r.id).values(
                shipping_address={k: address[k] for k in KEEP if k in address} or None))
        shipments = s.execute(select(SHIPMENTS.c.id, SHIPMENTS.c.label_paths)
                              .where(SHIPMENTS.c.order_id.in_(order_ids or [-1]))).all()
        labels = [p for sh in shipments for p in (sh.label_paths or [])]
        if shipments:
            ids = [sh.id for sh in shipments]
            s.execute(update(SHIPMENTS).where(SHIPMENTS.c.id.in_(ids)).values(label_paths=[]))
            s.execute(update(TRACKING).where(TRACKING.c.shipment_id.in_(ids)).values(location=None))
        quarantined = [q.id for q in s.execute(select(QUARANTINE.c.id, QUARANTINE.c.platform_order_id,
                                                      QUARANTINE.c.payload).where(QUARANTINE.c.channel == channel))
                       if q.platform_order_id in platform_ids or q.platform_order_id == buyer
                       or buyer.casefold() in (q.payload or "").casefold()]
        if quarantined:
            s.execute(update(QUARANTINE).where(QUARANTINE.c.id.in_(quarantined)).values(
                payload=json.dumps({"erased": True, "reason": "buyer data erased (crossdock erase buyer)"})))
        if not orders and not quarantined:
            raise OrderError("XD-ORD-005", channel=channel, entity=f"buyer {buyer}",
                             detail="no order or quarantined order of this buyer on the channel")
        after = {"orders": platform_ids, "fields_masked": sorted(fields), "shipments": len(shipments),
                 "label_files_deleted": len(labels), "quarantined_payloads": len(quarantined)}
        audit_id = audit.record(s, action=ERASE_ACTION, subject=f"{channel}: {len(platform_ids)} order(s)",
                                before={"channel": channel, "orders": platform_ids}, after=after, who=who)
        synclog.record(s, operation=ERASE_ACTION, outcome="ok", channel=channel, entity_type="channel",
                       entity=channel, message=f"buyer data erased from {len(platform_ids)} order(s)",
                       details={"audit_id": audit_id, **after})
    # the files go once the database no longer points at them (a failure above leaves both as they were)
    missing = 0
    for path in labels:
        try:
            Path(path).unlink()
        except FileNotFoundError:
            missing += 1
    log.info("%s: buyer data erased from %d order(s), %d label file(s)", channel, len(platform_ids), len(labels))
    return {"channel": channel, "audit_id": audit_id, **after, "label_files_missing": missing}
