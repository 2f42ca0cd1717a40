"""A minimal audit log: who (the OS user running crossdock), when, what
action on which subject, and what changed (before/after as JSON).

Kept deliberately small — one table, one function — so a richer audit log
can replace it later. A record never holds the personal data an action
removed: an erasure records which fields of which records it masked, not
their values."""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Any

from sqlalchemy import BigInteger, Integer, String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crossdock.db.base import Base, JSONType, utcnow

__all__ = ["AUDIT", "AuditRow", "actor", "audit_rows", "record"]

BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


AUDIT = AuditRow.__table__


def actor() -> str:
    """The OS user running this process."""
    try:
        return getpass.getuser()[:100]
    except (KeyError, OSError):
        return "unknown"


def record(session: Session, *, action: str, subject: str, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, who: str | None = None) -> int:
    """Add one audit record in the caller's transaction; returns its id."""
    return int(session.execute(insert(AUDIT).values(
        at=dt.datetime.now(dt.timezone.utc), actor=who or actor(), action=action, subject=subject[:255],
        before=before, after=after).returning(AUDIT.c.id)).scalar_one())


def audit_rows(session: Session, *, action: str | None = None) -> list[dict[str, Any]]:
    stmt = select(AUDIT).order_by(AUDIT.c.id)
    if action is not None:
        stmt = stmt.where(AUDIT.c.action == action)
    return [{"id": r.id, "at": r.at.isoformat(), "actor": r.actor, "action": r.action, "subject": r.subject,
             "before": r.before, "after": r.after} for r in session.execute(stmt)]
