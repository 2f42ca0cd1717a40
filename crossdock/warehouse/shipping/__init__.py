"""Shipping an order, and following its parcel until it is delivered.

:func:`ship_order` works in four steps, so a failure at any point leaves the
order ready to ship with its reservation intact:

1. **Plan** (read transaction): find the order, check it is ready (see
   :mod:`.picking`), build the :class:`~.parcel.Parcel` from the order, its
   warehouse and the catalogue, and the CN22/CN23 declaration when the parcel
   is cross-border (XD-SHIP-004 names every missing HS code, origin, weight).
2. **Book** with the carrier, *outside* any transaction, under an idempotency
   key derived from the order and the number of shipments it already has
   (``ship:<channel>:<order>:<n>``): a retry after a crash books nothing new.
3. **Write the labels**: PDF (with the customs pages) and ZPL at 203 and
   300 dpi, atomically, named after the tracking number.
4. **Record** (one write transaction): the shipment row, the reservations
   consumed (on hand and reserved both go down), the order marked
   ``shipped``, the channel confirmation enqueued in the outbox
   (``confirm_shipment:<shipment id>``: never confirmed twice) and the sync
   events. The order row is locked and re-checked first, so two concurrent
   ``ship`` commands give one shipment and XD-SHIP-005 for the other.

When steps 1-3 fail, only a failed sync event is written. Printing to a
network printer (TCP 9100) comes after the commit: a dead printer does not
undo a booked shipment; the ZPL stays on disk for a reprint
(:func:`print_label`).

:func:`poll_tracking` asks each carrier about open parcels, stores new
tracking events, moves the shipment (and, when every parcel arrived, the
order) to ``delivered`` and flags parcels silent for too long with
XD-SHIP-002.

Every sync event names the platform order id as entity and carries the
order's correlation id (:func:`order_correlation_id`), so
``crossdock logs trace ORDER`` shows import → reservation → label →
confirmation → tracking as one chain.
"""

from __future__ import annotations

from crossdock.warehouse.shipping.options import LABEL_DPIS, ShippingOptions
from crossdock.warehouse.shipping.orders import derived_correlation_id, find_order, order_correlation_id
from crossdock.warehouse.shipping.plan import address_from_json
from crossdock.warehouse.shipping.poll import TrackingResult, poll_tracking
from crossdock.warehouse.shipping.ship import CONFIRM_SHIPMENT, ShipResult, print_label, ship_order

__all__ = [
    "CONFIRM_SHIPMENT",
    "LABEL_DPIS",
    "ShipResult",
    "ShippingOptions",
    "TrackingResult",
    "address_from_json",
    "derived_correlation_id",
    "find_order",
    "order_correlation_id",
    "poll_tracking",
    "print_label",
    "ship_order",
]
