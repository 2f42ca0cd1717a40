"""The ledger the warehouse writes through: on-hand stock, reservations and the
channel's shipment confirmation.

The warehouse owns bins, pick lists, parcels, labels and carriers; the stock
ledger (``stock_movements``, reservations, the stock push to every channel)
and the outbox belong to the engine, and the engine drives the warehouse
(auto-ship, tracking). So the warehouse never imports the engine: whoever
calls a warehouse function that changes stock or ships hands it a
:class:`Ledger` — the CLI, the auto-ship job and the tests pass
:data:`crossdock.sync_engine.warehouse_ledger.ENGINE_LEDGER`.

Every operation works in the caller's Session, so the change, its audit row,
the stock push and the sync events commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict

from sqlalchemy.orm import Session

from crossdock.warehouse.routing import RoutingPreference, WarehouseSite

__all__ = ["Ledger", "ReservationOutcome", "ReservedLine", "ShipmentConfirmation", "StockAdjustment"]


class ReservedLine(Protocol):
    """One order line's outcome of a reservation."""

    @property
    def line_id(self) -> int: ...
    @property
    def sku(self) -> str | None: ...
    @property
    def warehouse(self) -> str | None: ...
    @property
    def quantity(self) -> int: ...
    @property
    def status(self) -> str: ...   # reserved | already_reserved | insufficient | no_sku | unknown_sku | …


class ReservationOutcome(Protocol):
    """What reserving one order did: per line, and whether all of it is held."""

    @property
    def order_id(self) -> int: ...
    @property
    def lines(self) -> Sequence[ReservedLine]: ...
    @property
    def skipped_reason(self) -> str | None: ...
    @property
    def fully_held(self) -> bool: ...


class ShipmentConfirmation(TypedDict):
    """The payload of the ``confirm_shipment`` outbox entry a shipment queues."""

    shipment_id: int
    order_id: int
    channel: str
    platform_order_id: str
    carrier: str
    service: str
    tracking_number: str
    tracking_url: str | None
    shipped_at: str                       # ISO 8601, aware
    lines: list[list[str | int]]          # [platform line id, units] per line
    warehouse: str


@dataclass(frozen=True, slots=True)
class StockAdjustment:
    """One change of on hand, as :meth:`Ledger.adjust_stock_many` takes it."""

    sku: str
    warehouse: str
    delta: int
    reason: str
    reference: str | None = None


class Ledger(Protocol):
    """The stock ledger and outbox, as the warehouse uses them."""

    def adjust_stock(self, session: Session, sku: str, warehouse: str, delta: int, reason: str,
                     reference: str | None = None, *, actor: str | None = None) -> None:
        """Change on hand by ``delta`` with an audit row (XD-INV-005 when on
        hand would go negative or below reserved) and push the new availability."""
        ...

    def adjust_stock_many(self, session: Session, changes: Sequence[StockAdjustment], *,
                          actor: str | None = None) -> None:
        """:meth:`adjust_stock` for many changes in one pass, applied in the order given
        (a stock file): the same refusals — the first raises, with its index in ``changes``
        as ``context["change"]`` — audit rows and sync events, and the new availability
        pushed once for all of them."""
        ...

    def reserve_routed(self, session: Session, order_id: int, *, sites: Sequence[WarehouseSite],
                       preference: RoutingPreference) -> ReservationOutcome:
        """Reserve the order's unreserved lines in the first of ``sites`` (by
        ``preference``) that can fill all of it, else each SKU where most is free."""
        ...

    def consume_order(self, session: Session, order_id: int, *, reference: str | None = None,
                      actor: str | None = None) -> None:
        """The order shipped: its reservations consumed, on hand and reserved both down."""
        ...

    def consume_line(self, session: Session, order_line_id: int, *, quantity: int,
                     reference: str | None = None, actor: str | None = None) -> None:
        """Part of the order shipped: ``quantity`` of the line's reservation consumed."""
        ...

    def queue_confirmation(self, session: Session, payload: ShipmentConfirmation, *, key: str,
                           correlation_id: str | None) -> bool:
        """Queue the confirmation to the channel, urgently and once per ``key``;
        False when an entry with ``key`` already exists."""
        ...
