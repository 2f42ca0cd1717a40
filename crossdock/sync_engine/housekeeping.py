"""The engine's own care, run by ``crossdock worker`` on schedules like any job.

- ``stuck`` (``[sync] stuck_s``): flags orders whose status differs between
  the platform and crossdock, or that are past their handling time
  (:func:`crossdock.sync_engine.stuck.find_stuck`).
- ``housekeeping`` (``[sync] housekeeping_s``): warns of credentials that
  expire within ``[sync] token_warning_days`` (XD-AUTH-005, once a day per
  credential, in the sync log), and hands back the work of workers that
  stopped sending heartbeats (:func:`crossdock.sync_engine.liveness.reap_dead`;
  every running worker also does it with its own heartbeat, so recovery
  after a killed worker does not wait for this job).
- ``reconcile`` per channel (``intervals_s.reconcile``, ``[sync] reconcile``):
  reads back what the channel shows and lets the stock push repair it
  (:func:`scheduled_reconcile`) — never a push outside the per-(channel, SKU)
  claim.

Each fires through the scheduler (one worker per run, claimed in the
database) and leaves its outcome in the sync log.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select

from crossdock.db.models import SyncEvent
from crossdock.sync_engine import dirty, liveness, shown
from crossdock.db.base import utcnow
from crossdock.sync_engine._sql import event_row, insert_events

log = logging.getLogger(__name__)

HOUSEKEEPING = "housekeeping"
STUCK = "stuck"
DEFAULT_HOUSEKEEPING_S = 60
DEFAULT_STUCK_S = 900
DEFAULT_STUCK_STATUS_S = 6 * 3600.0
DEFAULT_TOKEN_WARNING_DAYS = 30.0
WARN_EVERY_S = 86_400.0

_WHAT = {"refresh_token": "refresh token", "seller_authorisation": "seller authorisation",
         "client_secret": "client secret"}
_EXPIRED = {"refresh_token": "XD-AUTH-002", "seller_authorisation": "XD-AUTH-003", "client_secret": "XD-AUTH-004"}


def housekeeping_job(ctx: Any, entry: Any = None) -> dict[str, Any]:
    sync = ctx.cfg.sync
    with ctx.db.write() as s:
        dead = liveness.reap_dead(s, dead_after_s=float(sync.get("worker_dead_after_s",
                                                                 liveness.DEFAULT_DEAD_AFTER_S)))
    warned = warn_expiring_credentials(ctx, within_days=float(sync.get("token_warning_days",
                                                                      DEFAULT_TOKEN_WARNING_DAYS)))
    return {"dead_workers": dead, "credential_warnings": warned}


def warn_expiring_credentials(ctx: Any, *, within_days: float, now: dt.datetime | None = None) -> int:
    """One sync event per credential that expires within ``within_days``
    (XD-AUTH-005) or has expired (its XD-AUTH code), at most once a day each,
    so support sees it in ``crossdock logs --code XD-AUTH`` weeks ahead."""
    from crossdock.connectors.tokens import SqlTokenStore

    at = now or dt.datetime.now(dt.timezone.utc)
    items = SqlTokenStore(ctx.db).expiring(within=dt.timedelta(days=within_days), now=at)
    if not items:
        return 0
    since = at - dt.timedelta(seconds=WARN_EVERY_S)
    rows = []
    with ctx.db.write() as s:
        recent = set(s.execute(select(SyncEvent.channel, SyncEvent.entity)
                               .where(SyncEvent.operation == "auth.expiry", SyncEvent.at >= since)).all())
        for item in items:
            channel, what, when = item["channel"], item["what"], item["expires_at"]
            if (channel, what) in recent:
                continue
            days = (when - at).total_seconds() / 86_400
            expired = when <= at
            rows.append(event_row(
                operation="auth.expiry", outcome="failed" if expired else "partial", at=at, channel=channel,
                entity_type="credential", entity=what, code=_EXPIRED[what] if expired else "XD-AUTH-005",
                message=(f"{_WHAT[what]} expired on {when.date().isoformat()}" if expired else
                         f"{_WHAT[what]} expires on {when.date().isoformat()} (in {max(0, int(days))} days)"),
                details={"expires_at": when.isoformat(), "days_left": round(days, 1)}))
        if rows:
            insert_events(s, rows)
    for r in rows:
        log.warning("%s %s: %s", r["code"], r["channel"], r["message"])
    return len(rows)


def stuck_job(ctx: Any, entry: Any = None) -> dict[str, Any]:
    from crossdock.sync_engine.stuck import find_stuck

    sync = ctx.cfg.sync
    hours = {name: float(ch.handling_time_h) for name, ch in ctx.cfg.channels.items()}
    with ctx.db.write() as s:
        report = find_stuck(s, ctx.clock.now(),
                            status_threshold_s=float(sync.get("stuck_status_s", DEFAULT_STUCK_STATUS_S)),
                            handling_time_h=hours)
    return {"stuck": len(report.stuck), "newly_flagged": len(report.newly_flagged), "cleared": len(report.cleared)}


def scheduled_reconcile(ctx: Any, channel: str) -> dict[str, Any]:
    """Read back the channel and hand what drifted to the stock push.

    - A listing showing MORE than crossdock would list is an oversell risk: its
      shown quantity is recorded as what the channel shows and the SKU marked
      dirty, so the next push lowers it.
    - A listing showing LESS on a channel whose sales show up late
      (``unseen_sales_s``, Amazon) may be a sale not imported yet: the units
      are held like any unseen sale (:mod:`crossdock.sync_engine.unseen`),
      never pushed back up.
    - Elsewhere a listing showing less is a lost push: recorded and re-pushed.
    - SKUs already waiting for a push are left to it.
    """
    from crossdock.sync_engine import unseen
    from crossdock.sync_engine.jobs import reconcile

    read_from = utcnow()        # the read back went out after this, and had answered by the next
    result = reconcile(ctx, channel, apply=False)
    read_until = utcnow()
    drift = [d for d in result["drift"] if d["listed"] is not None]
    if not drift:
        return {**result, "handed_to_push": 0}
    conn = ctx.connectors.get(channel)
    late_sales = bool(conn.unseen_sales_s)
    with ctx.db.write() as s:
        waiting = set(s.scalars(select(dirty.DIRTY.c.sku).where(dirty.DIRTY.c.channel == channel)))
        drift = [d for d in drift if d["sku"] not in waiting]
        held: dict[str, int] = {}
        if late_sales:
            held = unseen.detect(s, channel, {d["sku"]: d["listed"] for d in drift if d["listed"] < d["expected"]},
                                 settle_real_s=ctx.clock.to_real_s(unseen.SETTLE_S))
        repush = [d for d in drift if d["sku"] not in held and (d["listed"] > d["expected"] or not late_sales)]
        shown.adopt_listed(s, channel, {d["sku"]: d["listed"] for d in repush}, read_from=read_from,
                           read_until=read_until)
        marked = sorted({d["sku"] for d in repush} | set(held))
        if marked:
            dirty.mark_dirty(s, marked)
            insert_events(s, [event_row(operation="reconcile.repair", outcome="ok", at=dt.datetime.now(dt.timezone.utc),
                                        channel=channel, entity_type="channel", entity=channel, code="XD-INV-002",
                                        message=f"{len(repush)} drifted SKU(s) handed to the stock push, "
                                                f"{len(held)} held as unseen sales",
                                        details={"repush": [d["sku"] for d in repush][:200],
                                                 "held": dict(list(held.items())[:200])})])
    return {**result, "handed_to_push": len(marked)}
