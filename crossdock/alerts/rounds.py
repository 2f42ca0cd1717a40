"""One alerts round, run by the worker on ``[sync] alerts_s`` (a scheduled
job: one worker per run, claimed in the database like every schedule).

1. Evaluate doctor's checks (:func:`crossdock.doctor.evaluate`).
2. Open one alert per (code, channel, subject) not open yet; refresh the
   ones still seen; resolve the ones whose check ran and no longer finds
   them; mark reminders for open, unacknowledged alerts last delivered more
   than ``[alerts] reminder_h`` ago. Each open and resolve is a sync event.
3. Deliver every pending message to the targets it has not reached; what
   fails stays pending for the next round.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select

from crossdock import synclog
from crossdock.alerts.deliver import Target, message, send, targets_from_config
from crossdock.alerts.table import Alert
from crossdock.doctor.model import OK, SEVERITY, Result

log = logging.getLogger(__name__)

__all__ = ["alert_key", "alerts_round", "deliver_pending", "evaluate_checks", "record"]

DEFAULT_REMINDER_H = 24.0


def alert_key(code: str, channel: str | None, subject: str | None) -> str:
    return f"{code}|{channel or ''}|{subject or ''}"[:400]


def evaluate_checks(cfg: Any, db: Any, now: dt.datetime) -> list[Result]:
    from crossdock.config_check import run_check
    from crossdock.doctor import DoctorContext, evaluate
    from crossdock.sync_engine.status import platform_now_of

    setup = run_check(cfg.path)
    ctx = DoctorContext(cfg=cfg, db=db, now=now, platform_now=platform_now_of(cfg, now), setup=setup)
    try:
        return evaluate(ctx, sorted(cfg.channels))
    finally:
        ctx.close()


def _wanting(targets: dict[str, Target], code: str, severity: str) -> list[str]:
    return [name for name, t in targets.items() if t.wants(code, severity)]


def record(db: Any, results: list[Result], targets: dict[str, Target], *, now: dt.datetime,
           reminder_h: float = DEFAULT_REMINDER_H) -> dict[str, int]:
    """Open, refresh, resolve and remind (step 2 of the module doc)."""
    problems = {alert_key(r.code or "", r.channel, r.subject): r for r in results if r.status != OK}
    checked = {(r.check, r.channel) for r in results}
    counts = {"opened": 0, "resolved": 0, "reminders": 0, "open": 0}
    with db.write() as s:
        open_rows = {a.key: a for a in s.scalars(select(Alert).where(Alert.state == "open"))}
        for key, r in problems.items():
            row = open_rows.get(key)
            if row is not None:
                row.last_seen_at, row.found, row.remedy = now, r.found, r.remedy
                if SEVERITY[r.status] > SEVERITY[row.severity]:
                    # worse now: the targets that only want the worse severity hear of it too
                    before = set(_wanting(targets, row.code, row.severity))
                    row.severity = r.status
                    newly = [n for n in _wanting(targets, row.code, row.severity) if n not in before]
                    if newly:
                        row.pending = row.pending or "open"
                        row.pending_targets = sorted(set(row.pending_targets or []) | set(newly))
                continue
            assert r.code is not None
            wanted = _wanting(targets, r.code, r.status)
            row = Alert(key=key, code=r.code, check=r.check, channel=r.channel, subject=r.subject, severity=r.status,
                        state="open", found=r.found, remedy=r.remedy, first_seen_at=now, last_seen_at=now,
                        pending="open" if wanted else None, pending_targets=wanted, delivery_attempts=0,
                        reminders=0)
            s.add(row)
            s.flush()
            counts["opened"] += 1
            synclog.record(s, operation="alert.open", outcome="failed" if r.status == "fail" else "partial",
                           channel=r.channel, entity_type="alert", entity=str(row.id), code=r.code,
                           message=f"{r.check}: {r.found}", details={"subject": r.subject, "remedy": r.remedy})
        reminder_after = dt.timedelta(hours=reminder_h)
        for key, row in open_rows.items():
            if key not in problems and (row.check, row.channel) in checked:
                row.state, row.resolved_at = "resolved", now
                wanted = _wanting(targets, row.code, row.severity)
                row.pending, row.pending_targets = ("resolved" if wanted else None), wanted
                counts["resolved"] += 1
                synclog.record(s, operation="alert.resolved", outcome="ok", channel=row.channel, entity_type="alert",
                               entity=str(row.id), code=row.code, message=f"{row.check}: cleared")
            elif (row.acked_at is None and row.pending is None and row.delivered_at is not None
                  and now - row.delivered_at >= reminder_after):
                wanted = _wanting(targets, row.code, row.severity)
                if wanted:
                    row.pending, row.pending_targets = "reminder", wanted
                    row.reminders += 1
                    counts["reminders"] += 1
        counts["open"] = len(problems)
    return counts


def deliver_pending(db: Any, targets: dict[str, Target], *, now: dt.datetime) -> dict[str, int]:
    """Step 3: every pending message to the targets not reached yet."""
    delivered = failed = 0
    with db.read() as s:
        ids = list(s.scalars(select(Alert.id).where(Alert.pending.is_not(None)).order_by(Alert.id)))
    for alert_id in ids:
        with db.read() as s:
            row = s.get(Alert, alert_id)
            if row is None or row.pending is None:
                continue
            title, body = message(row, row.pending)
            todo = [n for n in row.pending_targets or [] if n in targets]
        errors = {}
        for name in todo:
            why = send(targets[name], title, body)
            if why is None:
                delivered += 1
            else:
                errors[name] = why
                failed += 1
                log.warning("alert %s not delivered: %s", alert_id, why)
        with db.write() as s:
            row = s.get(Alert, alert_id)
            if row is None:
                continue
            row.delivery_attempts += 1
            row.pending_targets = sorted(errors)
            row.last_error = "; ".join(errors.values())[:2000] or None
            if not errors:
                row.pending, row.delivered_at = None, now
    return {"delivered": delivered, "failed": failed}


def alerts_round(cfg: Any, db: Any, *, now: dt.datetime | None = None,
                 results: list[Result] | None = None) -> dict[str, int]:
    at = now or dt.datetime.now(dt.timezone.utc)
    targets = targets_from_config(cfg)
    found = results if results is not None else evaluate_checks(cfg, db, at)
    counts = record(db, found, targets, now=at,
                    reminder_h=float((cfg.alerts or {}).get("reminder_h", DEFAULT_REMINDER_H)))
    if results is None:
        from crossdock.doctor import stock_watch

        stock_watch.refresh(db, found, now=at)
    return {**counts, **deliver_pending(db, targets, now=at)}
