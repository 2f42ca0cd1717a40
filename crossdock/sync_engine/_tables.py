"""The tables the stock and listing modules write with Core statements
(private): one name for each, shared by inventory, availability, dirty,
shown, unseen and the order import."""

from __future__ import annotations

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

__all__ = ["CHANNELS", "LINES", "LISTINGS", "MOVES", "ORDERS", "PRODUCTS", "RES", "STOCK", "WAREHOUSES"]

ORDERS = Order.__table__
LINES = OrderLine.__table__
RES = Reservation.__table__
STOCK = StockLevel.__table__
MOVES = StockMovement.__table__
PRODUCTS = Product.__table__
WAREHOUSES = Warehouse.__table__
LISTINGS = ChannelListing.__table__
CHANNELS = Channel.__table__
