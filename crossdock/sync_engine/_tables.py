"""Typed handles on the ORM models' tables, for the engine's Core statements (private).

SQLAlchemy types ``Model.__table__`` as a ``FromClause``; Core's ``update`` /
``delete`` / ``insert`` want a ``Table``. :func:`table` narrows it once, with
a check, so the modules that write stock, reservations, dirty marks and
listings get real types instead of a cast at every statement.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result, Table

from crossdock.db.base import Base
from crossdock.db.models import (
    Channel,
    ChannelListing,
    Order,
    OrderLine,
    Product,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
)

__all__ = ["CHANNELS", "LINES", "LISTINGS", "MOVES", "ORDERS", "PRODUCTS", "RES", "STOCK", "WAREHOUSES",
           "rowcount", "table"]


def table(model: type[Base]) -> Table:
    """``model.__table__`` as the :class:`~sqlalchemy.Table` it is."""
    t = model.__table__
    if not isinstance(t, Table):
        raise TypeError(f"{model.__name__} is not mapped to a plain table")
    return t


def rowcount(result: Result[Any]) -> int:
    """Rows an ``UPDATE`` / ``DELETE`` matched (its result is a cursor result)."""
    if not isinstance(result, CursorResult):
        raise TypeError("rowcount of a statement that returned no cursor result")
    return int(result.rowcount)


ORDERS = table(Order)
LINES = table(OrderLine)
RES = table(Reservation)
STOCK = table(StockLevel)
MOVES = table(StockMovement)
PRODUCTS = table(Product)
WAREHOUSES = table(Warehouse)
LISTINGS = table(ChannelListing)
CHANNELS = table(Channel)
