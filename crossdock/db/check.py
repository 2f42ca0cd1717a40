"""Integrity checks: ``crossdock db check``.

Each finding carries a catalogue code and a severity: errors (a damaged
SQLite file, stock or reservations that do not add up) fail the check;
warnings (a stale backup, an outbox backlog, order lines of unknown SKUs) do
not. :func:`check_report` builds the document the command prints.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crossdock.db.engine import masked_url
from crossdock.errors import lookup

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["BACKUP_MAX_AGE_S", "BACKUP_OP", "CHECKS", "VERIFY_OP", "Finding", "check_report", "db_check_findings",
           "sqlite_file_findings"]

#: The sync-log operation of a backup (:mod:`crossdock.backup` records it); the
#: newest one with outcome "ok" dates the last backup.
BACKUP_OP = "db.backup"
#: The sync-log operation of a backup's verification (:mod:`crossdock.backups.restore` records it).
VERIFY_OP = "db.verify"
BACKUP_MAX_AGE_S = 24 * 3600.0          # XD-DATA-005 beyond this
OUTBOX_OVERDUE_S = 3600.0               # pending work due longer than this → XD-SYNC-005
SAMPLE_SIZE = 20                        # rows named per finding
CLOSED_ORDER_STATUSES = ("shipped", "delivered", "cancelled", "returned", "partially_returned")
#: Orders whose every unit left the warehouse: each line's stock was consumed (XD-INV-012 when not).
LEFT_STOCK_STATUSES = ("shipped", "delivered")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


_STATEMENTS: dict[str, Any] = {}


def _statement(name: str, build: Callable[[], Any]) -> Any:
    """The statement ``build()`` gives, built once per process (what varies is bound when it runs):
    the worker's alerts round runs these checks every round, and building the statements cost
    more than running them."""
    stmt = _STATEMENTS.get(name)
    if stmt is None:
        stmt = _STATEMENTS[name] = build()
    return stmt


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Finding:
    """One problem found by ``db check``: a catalogue code, ``error`` or ``warning``."""

    check: str
    code: str
    severity: str
    message: str
    count: int = 1
    sample: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        spec = lookup(self.code)
        return {"check": self.check, "code": self.code, "severity": self.severity, "title": spec.title,
                "message": self.message, "count": self.count, "sample": list(self.sample),
                "remedy": spec.remedy, "command": spec.command}


def sqlite_file_findings(url: str) -> list[Finding]:
    """``PRAGMA integrity_check`` on a SQLite database file, opened read-only
    on its own (nothing is created or migrated): a damaged file, or one that
    is not a database at all, is XD-DATA-006. Nothing for PostgreSQL, an
    in-memory database or a file that is not there."""
    from crossdock.db.engine import normalise_url, sqlite_path

    url = normalise_url(url)
    path = sqlite_path(url) if url.startswith("sqlite") else None
    if path is None or not path.is_file():
        return []
    try:
        conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
        try:
            rows = [r[0] for r in conn.execute(f"PRAGMA integrity_check({SAMPLE_SIZE})").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            return [Finding("sqlite_integrity_check", "XD-DATA-006", "error",
                            f"{path} cannot be read as a SQLite database: {exc}", 1,
                            ({"file": str(path), "problem": str(exc)},))]
        return []       # busy, unreadable, …: the checks that follow report it with its own code
    if rows == ["ok"]:
        return []
    return [Finding("sqlite_integrity_check", "XD-DATA-006", "error",
                    f"SQLite integrity_check reported {len(rows)}{'+' if len(rows) >= SAMPLE_SIZE else ''} "
                    f"problem(s) in {path}", len(rows), tuple({"problem": r} for r in rows))]


def _check_stock_bounds(s: Session) -> list[Finding]:
    from sqlalchemy import func, or_, select

    from crossdock.db.models import StockLevel as SL

    def bad() -> Any:
        return or_(SL.reserved > SL.on_hand, SL.on_hand < 0, SL.reserved < 0)

    n = s.scalar(_statement("stock_bounds", lambda: select(func.count()).select_from(SL).where(bad()))) or 0
    if not n:
        return []
    rows = s.execute(select(SL.sku, SL.warehouse, SL.on_hand, SL.reserved).where(bad())
                     .order_by(SL.sku, SL.warehouse).limit(SAMPLE_SIZE)).all()
    return [Finding("stock_bounds", "XD-DATA-006", "error",
                    f"{n} stock row(s) with reserved above on hand or a negative quantity", n,
                    tuple({"sku": r.sku, "warehouse": r.warehouse, "on_hand": r.on_hand, "reserved": r.reserved}
                          for r in rows))]


def _check_reservation_sums(s: Session) -> list[Finding]:
    from sqlalchemy import and_, func, select

    from crossdock.db.models import Reservation as R, StockLevel as SL

    def build() -> tuple[Any, Any]:
        held = (select(R.sku.label("sku"), R.warehouse.label("warehouse"), func.sum(R.quantity).label("qty"))
                .where(R.status == "active").group_by(R.sku, R.warehouse).subquery())
        on = and_(held.c.sku == SL.sku, held.c.warehouse == SL.warehouse)
        held_qty = func.coalesce(held.c.qty, 0)
        return (select(SL.sku, SL.warehouse, SL.reserved, held_qty.label("held"))
                .select_from(SL.__table__.outerjoin(held, on)).where(SL.reserved != held_qty)
                .order_by(SL.sku, SL.warehouse),
                select(held.c.sku, held.c.warehouse, held.c.qty)
                .select_from(held.outerjoin(SL.__table__, on)).where(SL.id.is_(None))
                .order_by(held.c.sku, held.c.warehouse))

    differ_stmt, orphans_stmt = _statement("reservation_sums", build)
    # One statement per direction: each reads one consistent snapshot on both backends.
    differ = s.execute(differ_stmt).all()
    orphans = s.execute(orphans_stmt).all()
    sample = [{"sku": r.sku, "warehouse": r.warehouse, "stock_reserved": r.reserved, "active_reservations": int(r.held)}
              for r in differ] + [{"sku": r.sku, "warehouse": r.warehouse, "stock_reserved": None,
                                   "active_reservations": int(r.qty)} for r in orphans]
    if not sample:
        return []
    return [Finding("reservation_sums", "XD-DATA-006", "error",
                    f"{len(sample)} (SKU, warehouse) pair(s) where stock_levels.reserved differs from the sum of "
                    "active reservations", len(sample), tuple(sample[:SAMPLE_SIZE]))]


def _check_reservations_on_closed_orders(s: Session) -> list[Finding]:
    from sqlalchemy import and_, func, select

    from crossdock.db.models import Order as O, OrderLine as L, Reservation as R

    cond, joined = _statement("closed_orders_parts", lambda: (
        and_(R.status == "active", O.local_status.in_(CLOSED_ORDER_STATUSES)),
        R.__table__.join(L.__table__, L.id == R.order_line_id).join(O.__table__, O.id == L.order_id)))
    n = s.scalar(_statement("reservations_on_closed_orders",
                            lambda: select(func.count()).select_from(joined).where(cond))) or 0
    if not n:
        return []
    rows = s.execute(select(R.id, R.sku, R.warehouse, R.quantity, O.channel, O.platform_order_id, O.local_status)
                     .select_from(joined).where(cond).order_by(R.id).limit(SAMPLE_SIZE)).all()
    return [Finding("reservations_on_closed_orders", "XD-DATA-006", "error",
                    f"{n} active reservation(s) on shipped, delivered, cancelled or returned orders (stock held "
                    "for nothing)", n,
                    tuple({"reservation_id": r.id, "sku": r.sku, "warehouse": r.warehouse, "quantity": r.quantity,
                           "channel": r.channel, "order": r.platform_order_id, "status": r.local_status}
                          for r in rows))]


def _check_shipped_not_taken(s: Session) -> list[Finding]:
    """Lines of shipped or delivered orders (not fulfilled by the platform, of
    a catalogue SKU) with no consumed reservation — and no active one, which
    :func:`_check_reservations_on_closed_orders` reports: units the orders say
    left that stock never gave (a restore of an older backup before the fix
    of the import, a manual edit). Per SKU: units and orders."""
    from sqlalchemy import and_, bindparam, exists, func, or_, select

    from crossdock.db.models import Order as O, OrderLine as L, Product as P, Reservation as R, SyncCursor as C
    from crossdock.platforms import fulfilled_by_platform

    def build() -> tuple[Any, Any]:
        taken = exists().where(R.order_line_id == L.id, R.status.in_(("consumed", "active")))
        # orders bought before the channel's import first ran are history: never from crossdock's stock
        cond = and_(O.local_status.in_(LEFT_STOCK_STATUSES), L.quantity > 0, ~taken,
                    or_(O.fulfillment_channel.is_(None), O.fulfillment_channel.in_(bindparam("ours", expanding=True))),
                    or_(C.position.is_(None), O.purchased_at.is_(None), O.purchased_at >= C.position))
        joined = (L.__table__.join(O.__table__, O.id == L.order_id).join(P.__table__, P.sku == L.sku)
                  .outerjoin(C.__table__, and_(C.channel == O.channel, C.stream == "go_live")))
        return (select(O.fulfillment_channel).where(O.fulfillment_channel.is_not(None)).distinct(),
                select(L.sku, func.sum(L.quantity).label("units"), func.count(func.distinct(O.id)).label("n"),
                       func.min(O.channel + ":" + O.platform_order_id).label("first"))
                .select_from(joined).where(cond).group_by(L.sku).order_by(L.sku))

    channels_stmt, units_stmt = _statement("shipped_not_taken_from_stock", build)
    ours = [fc for fc in s.scalars(channels_stmt) if not fulfilled_by_platform(fc)]
    rows = s.execute(units_stmt, {"ours": ours}).all()
    if not rows:
        return []
    units = sum(int(r.units) for r in rows)
    return [Finding("shipped_not_taken_from_stock", "XD-INV-012", "warning",
                    f"{len(rows)} SKU(s) with {units} unit(s) on shipped or delivered orders that were never taken "
                    "from stock: on hand still counts them unless it was counted after they left", len(rows),
                    tuple({"sku": r.sku, "units": int(r.units), "orders": int(r.n), "e.g.": r.first}
                          for r in rows[:SAMPLE_SIZE]))]


def _check_unknown_skus(s: Session) -> list[Finding]:
    """Order lines no stock could be reserved for, with the codes the import
    flags their orders with: a SKU not in the catalogue (XD-INV-004), or no
    SKU at all (XD-ORD-004)."""
    from sqlalchemy import func, select

    from crossdock.db.models import Order as O, OrderLine as L, Product as P

    joined, unknown, missing = _statement("unknown_skus_parts", lambda: (
        L.__table__.join(O.__table__, O.id == L.order_id).outerjoin(P.__table__, P.sku == L.sku),
        L.sku.is_not(None) & P.sku.is_(None), L.sku.is_(None)))
    found: list[Finding] = []
    for check, code, cond, what in (
            ("order_lines_unknown_sku", "XD-INV-004", unknown, "order line(s) whose SKU is not in the catalogue"),
            ("order_lines_without_sku", "XD-ORD-004", missing, "order line(s) without a SKU")):
        n = s.scalar(_statement(check, lambda: select(func.count()).select_from(joined).where(cond))) or 0
        if not n:
            continue
        rows = s.execute(select(L.id, L.sku, L.listing_id, O.channel, O.platform_order_id, O.local_status)
                         .select_from(joined).where(cond).order_by(L.id.desc()).limit(SAMPLE_SIZE)).all()
        found.append(Finding(check, code, "warning", f"{n} {what}: no stock was reserved for them", n,
                             tuple({"line_id": r.id, "sku": r.sku, "listing_id": r.listing_id, "channel": r.channel,
                                    "order": r.platform_order_id, "status": r.local_status} for r in rows)))
    return found


def _check_outbox(s: Session, now: dt.datetime) -> list[Finding]:
    from sqlalchemy import and_, bindparam, func, or_, select

    from crossdock.db.models import OutboxEntry as E

    found: list[Finding] = []
    past_lease, overdue = _statement("outbox_parts", lambda: (
        and_(E.status == "running", or_(E.claimed_until.is_(None), E.claimed_until < bindparam("now"))),
        and_(E.status == "pending", E.available_at < bindparam("due_before"))))
    times = {"now": now, "due_before": now - dt.timedelta(seconds=OUTBOX_OVERDUE_S)}
    for name, cond, what in (
            ("outbox_past_lease", past_lease, "running past their lease (the worker stopped; nothing has "
                                              "reclaimed them)"),
            ("outbox_overdue", overdue, f"pending and due for more than {OUTBOX_OVERDUE_S / 60:g} minutes")):
        n = s.scalar(_statement(name, lambda: select(func.count()).select_from(E).where(cond)), times) or 0
        if n:
            rows = s.execute(select(E.id, E.kind, E.channel, E.available_at, E.claimed_by, E.claimed_until)
                             .where(cond).order_by(E.available_at).limit(SAMPLE_SIZE), times).all()
            found.append(Finding(name, "XD-SYNC-005", "warning", f"{n} outbox entr{'y' if n == 1 else 'ies'} {what}",
                                 n, tuple({"id": r.id, "kind": r.kind, "channel": r.channel,
                                           "available_at": _iso(r.available_at), "claimed_by": r.claimed_by,
                                           "claimed_until": _iso(r.claimed_until)} for r in rows)))
    failed = s.scalar(_statement("outbox_failed",
                                 lambda: select(func.count()).select_from(E).where(E.status == "failed"))) or 0
    if failed:
        found.append(Finding("outbox_failed", "XD-SYNC-001", "warning",
                             f"{failed} failed job(s) wait for a replay (crossdock jobs failed)", failed))
    return found


def _check_backup_age(s: Session, now: dt.datetime) -> list[Finding]:
    from sqlalchemy import select

    from crossdock.db.models import SyncEvent

    last = s.execute(_statement("backup_age", lambda: select(SyncEvent.at, SyncEvent.details)
                                .where(SyncEvent.operation == BACKUP_OP, SyncEvent.outcome == "ok")
                                .order_by(SyncEvent.at.desc(), SyncEvent.id.desc()).limit(1))).first()
    if last is None:
        return [Finding("backup_age", "XD-DATA-005", "warning", "no backup of this database is recorded", 1)]
    age_s = (now - last.at).total_seconds()
    if age_s <= BACKUP_MAX_AGE_S:
        return []
    path = (last.details or {}).get("path")
    return [Finding("backup_age", "XD-DATA-005", "warning",
                    f"the newest backup is {age_s / 3600:.1f} h old (limit {BACKUP_MAX_AGE_S / 3600:g} h)", 1,
                    ({"at": _iso(last.at), "path": path},))]


def _check_backup_verified(s: Session) -> list[Finding]:
    """The last verification of a backup (``db restore --verify-only``, the
    worker's ``backup.verify``) failed: the backups may not restore."""
    from sqlalchemy import select

    from crossdock.db.models import SyncEvent

    last = s.execute(_statement("backup_verified", lambda: select(
        SyncEvent.at, SyncEvent.outcome, SyncEvent.code, SyncEvent.message, SyncEvent.details)
        .where(SyncEvent.operation == VERIFY_OP).order_by(SyncEvent.at.desc(), SyncEvent.id.desc()).limit(1))).first()
    if last is None or last.outcome == "ok":
        return []
    return [Finding("backup_verified", last.code or "XD-DATA-010", "warning",
                    f"the last backup verification failed: {last.message or ''}"[:500], 1,
                    ({"at": _iso(last.at), "file": (last.details or {}).get("file")},))]


CHECKS = ("sqlite_integrity_check", "stock_bounds", "reservation_sums", "reservations_on_closed_orders",
          "shipped_not_taken_from_stock", "order_lines_unknown_sku", "outbox_past_lease", "outbox_overdue",
          "outbox_failed", "backup_age", "backup_verified")


def db_check_findings(db: Any, *, now: dt.datetime | None = None) -> list[Finding]:
    """Run every integrity check; errors first, then warnings."""
    return _sorted((sqlite_file_findings(db.url) if db.is_sqlite else []) + _data_findings(db, now=now))


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.severity != "error", f.code, f.check))


def _data_findings(db: Any, *, now: dt.datetime | None = None) -> list[Finding]:
    now = now or _now()
    findings: list[Finding] = []
    with db.read() as s:
        findings += _check_stock_bounds(s)
        findings += _check_reservation_sums(s)
        findings += _check_reservations_on_closed_orders(s)
        findings += _check_shipped_not_taken(s)
        findings += _check_unknown_skus(s)
        findings += _check_outbox(s, now)
        findings += _check_backup_age(s, now)
        findings += _check_backup_verified(s)
    return findings


def check_report(url: str, open_db: Callable[[], Any], *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The ``db check`` document for the database at ``url``: ``checks`` run,
    ``ok`` (no error), counts and every finding. ``open_db`` opens (and
    migrates) the database; it is called only when the file itself is sound:
    a damaged SQLite file fails every other check, so it is reported alone."""
    now = now or _now()
    findings = sqlite_file_findings(url)
    is_sqlite = url.startswith("sqlite")
    if findings:
        checks = ["sqlite_integrity_check"]
    else:
        findings = _sorted(_data_findings(open_db(), now=now))
        checks = [c for c in CHECKS if is_sqlite or c != "sqlite_integrity_check"]
    errors = [f for f in findings if f.severity == "error"]
    return {"database": masked_url(url), "checked_at": _iso(now), "checks": checks,
            "ok": not errors, "errors": len(errors), "warnings": len(findings) - len(errors),
            "findings": [f.to_dict() for f in findings]}
