"""The engine's side of :class:`crossdock.warehouse.ledger.Ledger`: the stock
ledger of :mod:`crossdock.sync_engine.inventory` and the
:mod:`~crossdock.sync_engine.outbox`, handed to the warehouse by its callers.

The engine drives the warehouse (auto-ship, tracking) and the warehouse never
imports the engine; callers above both — the CLI, the auto-ship job, tests —
pass :data:`ENGINE_LEDGER` to the warehouse functions that change stock or ship.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from crossdock import audit
from crossdock.sync_engine import inventory, outbox
from crossdock.warehouse.ledger import Ledger, ReservationOutcome, ShipmentConfirmation, StockAdjustment
from crossdock.warehouse.routing import RoutingPreference, WarehouseSite
from crossdock.warehouse.shipping import CONFIRM_SHIPMENT

__all__ = ["ENGINE_LEDGER", "EngineLedger"]


class EngineLedger:
    """Stock changes, reservations and shipment confirmations through the engine."""

    def adjust_stock(self, session: Session, sku: str, warehouse: str, delta: int, reason: str,
                     reference: str | None = None, *, actor: str | None = None) -> None:
        """A person's stock change (``stock adjust``), in the audit log with the on hand before and after."""
        state = inventory.adjust_stock(session, sku, warehouse, delta, reason, reference, actor=actor)
        audit.record(session, action="stock.adjust", subject=f"sku {sku} in {warehouse}",
                     before={"on_hand": state.on_hand - delta},
                     after={"on_hand": state.on_hand, "delta": delta, "reason": reason, "reference": reference})

    def adjust_stock_many(self, session: Session, changes: Sequence[StockAdjustment], *,
                          actor: str | None = None) -> None:
        """A stock file's changes (``stock import``): one audit record for the file's changes."""
        after = inventory.adjust_stock_many(session, changes, actor=actor)
        if changes:
            audit.record(session, action="stock.import", subject=f"{len(changes)} stock change(s)",
                         after={"changes": len(changes), "pairs": len(after),
                                "skus": sorted({c.sku for c in changes})[:50],
                                "reasons": sorted({c.reason for c in changes})[:20]})

    def reserve_routed(self, session: Session, order_id: int, *, sites: Sequence[WarehouseSite],
                       preference: RoutingPreference) -> ReservationOutcome:
        chooser = inventory.routing_chooser(list(sites), preference)
        return inventory.reserve_order(session, order_id, chooser=chooser)

    def consume_order(self, session: Session, order_id: int, *, reference: str | None = None,
                      actor: str | None = None) -> None:
        inventory.consume_order(session, order_id, reference=reference, actor=actor)

    def consume_line(self, session: Session, order_line_id: int, *, quantity: int,
                     reference: str | None = None, actor: str | None = None) -> None:
        inventory.consume_line(session, order_line_id, quantity=quantity, reference=reference, actor=actor)

    def queue_confirmation(self, session: Session, payload: ShipmentConfirmation, *, key: str,
                           correlation_id: str | None) -> bool:
        return outbox.enqueue(session, CONFIRM_SHIPMENT, channel=payload["channel"],
                              entity=payload["platform_order_id"], payload=payload, idempotency_key=key,
                              priority=outbox.PRIORITY_URGENT, correlation_id=correlation_id)


ENGINE_LEDGER: Ledger = EngineLedger()
