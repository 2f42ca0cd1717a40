"""Stock held by the platforms themselves (issue 18: Amazon FBA), stored
apart from ``stock_levels``: a location per channel that is the platform's to
sell, never part of what crossdock offers on any channel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crossdock.db.base import Base, JSONType, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class PlatformStockRow(Base):
    """One SKU's units the platform holds for ``channel`` as last read
    (``read_at``). ``platform_sku``: the SKU the platform names; ``sku``: the
    catalogue SKU it stands for (the channel's SKU aliases), or the same."""

    __tablename__ = "platform_stock"
    __table_args__ = (UniqueConstraint("channel", "platform_sku"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(64))
    platform_sku: Mapped[str] = mapped_column(String(255))
    sku: Mapped[str] = mapped_column(String(255), index=True)
    fulfillable: Mapped[int] = mapped_column(Integer, default=0)
    inbound: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    unfulfillable: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    platform_ids: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    read_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
