"""Returns (RMAs, issue 18): one row per return of an order, one per returned
line. Its own module (models.py is full); imported by models.py so the
metadata always holds it. Migration ``0019_returns``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crossdock.db.base import Base, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")
_PID = String(255)


class ReturnRow(Base):
    """One return (RMA) of an order. ``rma``: crossdock's id (``RMA-000042``);
    ``platform_return_id``: the platform's own (Shopify Return, eBay returnId,
    Amazon's return request) or None for a return crossdock alone knows.
    ``origin``: ``seller`` (``returns open``) or ``platform`` (read by
    ``returns pull``). ``status``: open → received → closed (closed: the
    platform closed it before anything was received here)."""

    __tablename__ = "returns"
    __table_args__ = (
        UniqueConstraint("rma"),
        UniqueConstraint("channel", "platform_return_id"),
        Index("ix_returns_order", "order_id"),
        Index("ix_returns_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rma: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(64))
    platform_return_id: Mapped[str | None] = mapped_column(_PID)
    platform_status: Mapped[str | None] = mapped_column(_PID)
    origin: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    reason_note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    opened_by: Mapped[str | None] = mapped_column(String(100))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    received_by: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReturnLineRow(Base):
    """One returned line: ``quantity`` units of ``sku`` (the order line's SKU);
    once received, ``disposition`` says whether they went back to stock
    (``restock``, into ``warehouse``) or not (``write_off``)."""

    __tablename__ = "return_lines"
    __table_args__ = (
        Index("ix_return_lines_return", "return_id"),
        Index("ix_return_lines_order_line", "order_line_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(_PID)
    quantity: Mapped[int] = mapped_column(Integer)
    platform_line_id: Mapped[str | None] = mapped_column(_PID)
    disposition: Mapped[str | None] = mapped_column(String(16))
    warehouse: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
