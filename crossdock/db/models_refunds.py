"""Refunds of orders (issue 18), stored apart from ``orders``: one row per
refund the platform holds, issued from crossdock (``source`` crossdock) or
read from the platform (``source`` platform: buyer-initiated, customer
service), unique per channel by the platform's refund id so reading one
back never counts it twice. ``orders.refunded_amount`` is the sum of an
order's refunds that did not fail (:mod:`crossdock.sync_engine.refunds`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crossdock.db.base import Base, JSONType, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")

#: ``refunds.source``: who made the refund.
SOURCES = ("crossdock", "platform")
#: ``refunds.status``: as the platform reports it (a refund crossdock issued on eBay is pending until eBay
#: pays it); a failed refund is kept for the record and not counted.
STATUSES = ("pending", "refunded", "failed")


class RefundRow(Base):
    """One refund of one order. ``lines``: ``[{"line_id", "sku", "quantity", "amount"}]`` where the
    platform or the seller named lines (amounts as text, in ``currency``); ``actor``: who issued it from
    crossdock (``--as`` or the OS user), None for a platform's own refund."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("channel", "platform_refund_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    platform_refund_id: Mapped[str] = mapped_column(String(255))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    reason: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    refunded_at: Mapped[dt.datetime]
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
