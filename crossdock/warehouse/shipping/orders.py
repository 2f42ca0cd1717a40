"""Finding the order to ship, and the identity its sync events carry: the
platform order id as entity and the order's correlation id, so ``crossdock
logs trace ORDER`` shows import → reservation → label → confirmation →
tracking as one chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.models import Order, SyncEvent
from crossdock.errors import ConfigError, CrossdockError, OrderError

SHIPPED_STATUSES = ("shipped", "delivered")


@dataclass(frozen=True, slots=True)
class OrderIdent:
    order_id: int
    channel: str
    platform_order_id: str
    correlation_id: str

    def event(self, operation: str, outcome: str, **fields: Any) -> synclog.Event:
        return synclog.Event(operation=operation, outcome=outcome, channel=self.channel, entity_type="order",
                             entity=self.platform_order_id, correlation_id=self.correlation_id, **fields)

    def failure(self, operation: str, exc: CrossdockError, *, outcome: str = "failed",
                details: dict[str, Any] | None = None) -> synclog.Event:
        return synclog.event_from_error(operation, exc, outcome=outcome, channel=self.channel,
                                        entity=self.platform_order_id, entity_type="order",
                                        correlation_id=self.correlation_id, details=details)


# built once: auto-ship finds and identifies every order it ships
_BY_CHANNEL_ID = select(Order).where(Order.channel == bindparam("channel"),
                                     Order.platform_order_id == bindparam("platform_order_id"))
_BY_PLATFORM_ID = select(Order).where(Order.platform_order_id == bindparam("platform_order_id")).limit(5)
_FIRST_CORRELATION = (
    select(SyncEvent.correlation_id)
    .where(SyncEvent.entity == bindparam("entity"), SyncEvent.correlation_id.is_not(None),
           or_(SyncEvent.channel == bindparam("channel"), SyncEvent.channel.is_(None)))
    .order_by(SyncEvent.at, SyncEvent.id).limit(1))


def find_order(session: Session, ref: str | int) -> Order:
    """An order by platform order id (``302-…``), ``channel/platform-id`` or
    local numeric id. XD-ORD-005 when none matches; XD-CFG-009 when a
    platform id exists on several channels."""
    text = str(ref).strip()
    if not text:
        raise OrderError("XD-ORD-005", detail="no order id given")
    if "/" in text:
        channel, _, pid = text.partition("/")
        order = session.scalar(_BY_CHANNEL_ID, {"channel": channel, "platform_order_id": pid})
        if order is None:
            raise OrderError("XD-ORD-005", channel=channel, entity=f"order {pid}", detail="not imported")
        return order
    matches = list(session.scalars(_BY_PLATFORM_ID, {"platform_order_id": text}))
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ConfigError("XD-CFG-009", detail=f"order {text} exists on several channels "
                                               f"({', '.join(sorted(o.channel for o in matches))}); "
                                               f"write CHANNEL/{text}")
    if text.isdigit():
        order = session.get(Order, int(text))
        if order is not None:
            return order
    raise OrderError("XD-ORD-005", entity=f"order {text}", detail="no order with that id")


def derived_correlation_id(channel: str, platform_order_id: str) -> str:
    """A stable correlation id for an order (the one its import used)."""
    from crossdock.synclog import order_correlation

    return order_correlation(channel, platform_order_id)


def order_correlation_id(session: Session, order: Order) -> str:
    """The correlation id of the order's first logged event (its import),
    else :func:`derived_correlation_id`."""
    cid = session.scalar(_FIRST_CORRELATION, {"entity": order.platform_order_id, "channel": order.channel})
    return cid or derived_correlation_id(order.channel, order.platform_order_id)


def order_ident(session: Session, order: Order) -> OrderIdent:
    return OrderIdent(order.id, order.channel, order.platform_order_id, order_correlation_id(session, order))


__all__ = ["SHIPPED_STATUSES", "OrderIdent", "derived_correlation_id", "find_order", "order_correlation_id",
           "order_ident"]
