"""The backup check: the age of the newest *verified* backup against the
policy (``[backup] every``). A backup counts only once a restore of it was
proven (``db restore --verify-only``, or the worker's scheduled
verification): sellers' guides say it plainly — a backup nobody restored is
a hope, not a backup."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crossdock.doctor.model import FAIL, OK, WARN, DoctorContext, Result

__all__ = ["check_backups"]

#: The newest verified backup may be this many scheduled intervals old before it is a warning,
#: and twice that before it fails (one missed run is a warning, a missing habit a failure).
WARN_INTERVALS = 2
DAY_S = 86_400.0


def _age(now: dt.datetime, then: dt.datetime) -> str:
    hours = max(0.0, (now - then).total_seconds()) / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def check_backups(ctx: DoctorContext) -> Result | None:
    """No backup policy, no verified backup, a failed verification, or a
    newest verified backup older than the policy allows."""
    from crossdock.backups.tables import BackupRow
    from crossdock.keep_policy import parse_duration_s

    if ctx.db is None:
        return None
    policy = ctx.cfg.backup
    every_s = (parse_duration_s(policy["every"]) / max(ctx.cfg.time_scale, 1e-9)) if policy else DAY_S
    now = ctx.now
    with ctx.db.read() as s:
        rows = list(s.execute(select(BackupRow.taken_at, BackupRow.verified, BackupRow.verified_at,
                                     BackupRow.verify_code, BackupRow.path)
                              .where(BackupRow.pruned_at.is_(None)).order_by(BackupRow.taken_at.desc())))
    if not rows:
        return Result("backups", WARN, "no backup of this database is recorded"
                      + ("" if policy else " and no [backup] schedule is configured"),
                      code="XD-DATA-005", remedy="crossdock db backup" if policy else
                      "add [backup] to the config (every, keep, folder), then run crossdock worker")
    newest = rows[0]
    if newest.verified is False:
        return Result("backups", FAIL, f"the newest backup ({newest.path}) failed its verification"
                      f" ({newest.verify_code or 'no code'})", code=newest.verify_code or "XD-DATA-010",
                      remedy=f"crossdock db restore {newest.path} --verify-only")
    verified = [r for r in rows if r.verified]
    if not verified:
        return Result("backups", WARN, f"{len(rows)} backup(s), none verified by a restore yet; newest "
                      f"{_age(now, newest.taken_at)} old", code="XD-DATA-005",
                      remedy=f"crossdock db restore {newest.path} --verify-only")
    age_s = (now - verified[0].taken_at).total_seconds()
    found = f"newest verified backup {_age(now, verified[0].taken_at)} old (policy: every {every_s / 3600:g} h)"
    if age_s > 2 * WARN_INTERVALS * every_s:
        return Result("backups", FAIL, found, code="XD-DATA-005", remedy="crossdock db backups")
    if age_s > WARN_INTERVALS * every_s:
        return Result("backups", WARN, found, code="XD-DATA-005", remedy="crossdock db backups")
    return Result("backups", OK, found)
