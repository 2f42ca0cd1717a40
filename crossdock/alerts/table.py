"""The ``alerts`` table: one row per condition the doctor checks found
(code, channel, subject), open until the condition clears.

A row also carries the message still to deliver (``pending``: open,
reminder or resolved) and the targets it has not reached yet
(``pending_targets``): a delivery that fails leaves both as they are, so the
next round tries again and nothing is lost. At most one open row per
``key`` (a partial unique index), however many workers evaluate at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from crossdock.db.base import Base, JSONType, utcnow
from crossdock.db.models import BigId

__all__ = ["Alert"]


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("uq_alerts_open_key", "key", unique=True, sqlite_where=text("state = 'open'"),
              postgresql_where=text("state = 'open'")),
        Index("ix_alerts_pending", "pending"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(400))                  # code|channel|subject
    code: Mapped[str] = mapped_column(String(32))
    check: Mapped[str] = mapped_column(String(64))                 # the doctor check that raised it
    channel: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(255))
    severity: Mapped[str] = mapped_column(String(8))               # warn | fail
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    found: Mapped[str] = mapped_column(Text)
    remedy: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    pending: Mapped[str | None] = mapped_column(String(16))        # open | reminder | resolved: still to deliver
    pending_targets: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None] = mapped_column()     # the last message reached every target
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    acked_at: Mapped[dt.datetime | None] = mapped_column()
    acked_by: Mapped[str | None] = mapped_column(String(100))
