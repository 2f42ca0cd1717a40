"""The tables of events received (migration 0013).

``event_deliveries``: every delivery that reached crossdock, whatever became
of it — accepted, duplicate or refused, with its stable code. An accepted
delivery's ``delivery_id`` is unique per channel: that is the dedupe. A
duplicate or a refusal keeps the id it claimed in ``ref`` only, so a forged
delivery reusing a genuine id can never block the genuine one.

``event_reads``: the orders events asked crossdock to read, one row per
(channel, order): many events for one order are one read. ``wanted_at``
moves with each event; a read deletes the row only when ``wanted_at`` is
still what it read (no event asked again meanwhile; no clock compared).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crossdock.db.base import Base, JSONType, utcnow

__all__ = ["EventDelivery", "EventRead"]

BigId = BigInteger().with_variant(Integer(), "sqlite")


class EventDelivery(Base):
    """One delivery received by a receiver (``/hooks/KIND``, the SQS consumer)."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        UniqueConstraint("channel", "delivery_id", name="uq_event_deliveries_delivery"),
        Index("ix_event_deliveries_channel_received", "channel", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str | None] = mapped_column(String(64))       # None: the delivery named no known channel
    source: Mapped[str] = mapped_column(String(32))                # the receiver: hooks kind, "sqs" …
    topic: Mapped[str] = mapped_column(String(128), default="")
    delivery_id: Mapped[str | None] = mapped_column(String(200))   # accepted deliveries only (the dedupe key)
    ref: Mapped[str | None] = mapped_column(String(200))           # the id the delivery claimed
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))               # accepted | duplicate | refused
    code: Mapped[str | None] = mapped_column(String(32))
    order_ids: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    detail: Mapped[str | None] = mapped_column(Text)


class EventRead(Base):
    """An order of a channel an event asked to read (see module doc)."""

    __tablename__ = "event_reads"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    wanted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    first_wanted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
