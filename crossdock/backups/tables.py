"""The tables of data safety: each backup taken (``backups``), and each
restore (``restores``) the workers still have to settle (stale credentials,
cursors) before they sync."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crossdock.db.base import Base, JSONType, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")

__all__ = ["BACKUPS", "RESTORES", "BackupRow", "RestoreRow"]


class BackupRow(Base):
    """One backup file crossdock wrote (``crossdock db backups``)."""

    __tablename__ = "backups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(String(1000))
    taken_at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(16))                       # scheduled | manual
    backend: Mapped[str] = mapped_column(String(16))                    # sqlite | postgresql
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    revision: Mapped[str | None] = mapped_column(String(64))
    row_counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    copied_to: Mapped[str | None] = mapped_column(String(1000))
    pruned_at: Mapped[dt.datetime | None] = mapped_column()
    verified_at: Mapped[dt.datetime | None] = mapped_column()
    verified: Mapped[bool | None] = mapped_column()                     # None: never verified
    verify_code: Mapped[str | None] = mapped_column(String(16))
    verify_detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RestoreRow(Base):
    """A ``crossdock db restore`` into this database: until ``settled_at`` no
    worker syncs (credentials that rotate are tried, cursors moved back)."""

    __tablename__ = "restores"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    restored_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    backup_taken_at: Mapped[dt.datetime]
    backup_path: Mapped[str] = mapped_column(String(1000))
    backup_sha256: Mapped[str] = mapped_column(String(64))
    settled_at: Mapped[dt.datetime | None] = mapped_column()
    settled_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[dt.datetime | None] = mapped_column()
    outcome: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


BACKUPS = BackupRow.__table__
RESTORES = RestoreRow.__table__
