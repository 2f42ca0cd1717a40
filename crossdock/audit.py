"""The audit log: who, by which way (``cli``, ``console``, ``api``), when,
what action on which subject, and what changed (before/after as JSON).

Who: the caller names it (the console and the API: the logged-in user);
otherwise the invocation's actor (:func:`acting_as`: the CLI's ``--as NAME``),
else the OS user running crossdock. A record never holds the personal data an
action removed (an erasure records which fields of which records it masked,
not their values), nor a password, password hash or token."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import getpass
from collections.abc import Iterator
from typing import Any

from sqlalchemy import BigInteger, Integer, String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crossdock.db.base import Base, JSONType, utcnow

__all__ = ["AUDIT", "VIAS", "AuditRow", "acting_as", "actor", "audit_doc", "audit_rows", "record"]

#: The ways a change comes in.
VIAS = ("cli", "console", "api")

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
    via: Mapped[str | None] = mapped_column(String(16))    # cli, console, api (None: before migration 0010)


AUDIT = AuditRow.__table__

# (who, via) of the running invocation: the CLI's --as, set by its root callback
_acting: contextvars.ContextVar[tuple[str | None, str]] = contextvars.ContextVar("crossdock_audit_actor",
                                                                                  default=(None, "cli"))


@contextlib.contextmanager
def acting_as(who: str | None, via: str = "cli") -> Iterator[None]:
    """Records made inside name ``who`` (None: the OS user) coming ``via``."""
    token = _acting.set((who[:100] if who else None, via))
    try:
        yield
    finally:
        _acting.reset(token)


def actor() -> str:
    """Who acts: the invocation's ``--as`` name, else the OS user running this process."""
    named = _acting.get()[0]
    if named:
        return named
    try:
        return getpass.getuser()[:100]
    except (KeyError, OSError):
        return "unknown"


def record(session: Session, *, action: str, subject: str, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, who: str | None = None, via: str | None = None) -> int:
    """Add one audit record in the caller's transaction; returns its id."""
    if via is not None and via not in VIAS:
        raise ValueError(f"audit via {via!r}: one of {VIAS}")
    return int(session.execute(insert(AUDIT).values(
        at=dt.datetime.now(dt.timezone.utc), actor=who or actor(), action=action, subject=subject[:255],
        before=before, after=after, via=via or _acting.get()[1]).returning(AUDIT.c.id)).scalar_one())


def _row(r: Any) -> dict[str, Any]:
    return {"id": r.id, "at": r.at.isoformat(), "actor": r.actor, "via": r.via, "action": r.action,
            "subject": r.subject, "before": r.before, "after": r.after}


def audit_rows(session: Session, *, action: str | None = None) -> list[dict[str, Any]]:
    """Every record (of ``action``), oldest first."""
    stmt = select(AUDIT).order_by(AUDIT.c.id)
    if action is not None:
        stmt = stmt.where(AUDIT.c.action == action)
    return [_row(r) for r in session.execute(stmt)]


def audit_doc(session: Session, *, action: str | None = None, actor_name: str | None = None,
              limit: int = 200, before_id: int | None = None) -> dict[str, Any]:
    """The newest records first, ``limit`` of them (older ones: ``before_id``):
    what ``crossdock audit --json`` and ``GET /api/audit`` return."""
    stmt = select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)
    if action is not None:
        stmt = stmt.where(AUDIT.c.action == action)
    if actor_name is not None:
        stmt = stmt.where(AUDIT.c.actor == actor_name)
    if before_id is not None:
        stmt = stmt.where(AUDIT.c.id < before_id)
    return {"records": [_row(r) for r in session.execute(stmt)]}
