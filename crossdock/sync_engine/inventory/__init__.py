"""Stock reservations: reserve on import, release on cancel, consume on ship.

    available to sell = Σ on hand − Σ reserved − safety stock   (never below 0;
                        read by :mod:`crossdock.sync_engine.availability`)

Reserving never over-reserves, on SQLite and PostgreSQL alike, with several
threads, processes or hosts importing at once:

- :func:`reserve_order` reserves each line with ONE conditional statement,
  ``UPDATE stock_levels SET reserved = reserved + :q WHERE sku = :s AND
  warehouse = :w AND on_hand - reserved >= :q``, and checks the row count.
  PostgreSQL (READ COMMITTED) re-evaluates the condition on the newest row
  version after waiting for a concurrent writer; SQLite runs writers one at a
  time (``BEGIN IMMEDIATE``). No lost update, no read-then-write gap.
- :func:`reserve_orders` (the bulk path used by the order import) locks the
  stock rows it needs with ``SELECT … FOR UPDATE`` in (SKU, warehouse) order,
  allocates first come first served, and still applies each total with the
  conditional UPDATE.
- The database's ``CHECK (reserved <= on_hand)`` is the last line of defence.

Locks are always taken in the same order — the order row, then stock rows by
(SKU, warehouse), then reservation rows, then dirty marks and outbox rows — so
concurrent imports do not deadlock.

Idempotent: ``reservations.order_line_id`` is unique; a line that has a
reservation (in any state) is skipped, and a reservation inserted by a
concurrent transaction first wins (ours is undone in the same transaction).
A line that cannot be reserved reserves nothing; the order is flagged
XD-INV-001 (in ``orders.flags``) and a sync event records the shortfall.
Calling :func:`reserve_order` again later (after a restock) reserves what it
can and clears the flag once every line is held.

Every change to availability calls :func:`crossdock.sync_engine.dirty.mark_dirty`
in the same transaction, so channels get the new quantity; a caller that
changes more in its transaction passes a :class:`~crossdock.sync_engine.dirty.PendingMarks`
(``marks=``) and marks everything once at the end. Consuming a reservation
(shipping) does not change availability (on hand and reserved both drop), so
it marks nothing.

The package's modules: ``_reserve`` (one order, and many in one pass),
``_settle`` (release, consume), ``_adjust`` (stock adjustments) and
``_shared`` (results, warehouse choosers, order lock and flags). Callers use
the names below.
"""

from __future__ import annotations

from crossdock.sync_engine.availability import availability_snapshot, available
from crossdock.sync_engine.inventory._adjust import adjust_stock, adjust_stock_many
from crossdock.sync_engine.inventory._reserve import (
    active_reservation_skus,
    load_order_inputs,
    lock_stock,
    reserve_loaded,
    reserve_order,
    reserve_orders,
)
from crossdock.sync_engine.inventory._settle import (
    consume_line,
    consume_order,
    release_order,
    left_from_our_stock,
    take_shipped_units,
    units_left,
)
from crossdock.sync_engine.inventory._shared import (
    RESERVABLE_STATUSES,
    RESERVED,
    SHIPPED_FROM_STOCK,
    SHIPPED_SHORT,
    LineInput,
    LineOutcome,
    OrderContext,
    OrderInput,
    ReservationResult,
    SettleResult,
    Settled,
    StockState,
    WarehouseChooser,
    most_free_stock,
    routing_chooser,
)

__all__ = [
    "RESERVABLE_STATUSES",
    "RESERVED",
    "SHIPPED_FROM_STOCK",
    "SHIPPED_SHORT",
    "LineInput",
    "LineOutcome",
    "OrderContext",
    "OrderInput",
    "ReservationResult",
    "SettleResult",
    "Settled",
    "StockState",
    "WarehouseChooser",
    "active_reservation_skus",
    "adjust_stock",
    "adjust_stock_many",
    "availability_snapshot",
    "available",
    "consume_line",
    "consume_order",
    "load_order_inputs",
    "lock_stock",
    "most_free_stock",
    "release_order",
    "reserve_loaded",
    "reserve_order",
    "reserve_orders",
    "routing_chooser",
    "left_from_our_stock",
    "take_shipped_units",
    "units_left",
]
