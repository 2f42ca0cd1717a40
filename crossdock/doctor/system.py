"""The checks of the installation: configuration and secret key, database
(reachable, at the current revision, consistent), broker, rate-limit
backend, workers alive and the scheduler ticking.

The first four read ``crossdock config check``'s report
(:func:`crossdock.config_check.run_check`), so doctor and ``config check``
cannot disagree. The age of the newest verified backup is its own check
(:mod:`crossdock.doctor.backups`); ``db check``'s backup finding (XD-DATA-005)
is left out of the integrity check so it is not reported twice.
"""

from __future__ import annotations

from typing import Any

from crossdock.doctor.backups import check_backups
from crossdock.doctor.model import FAIL, OK, WARN, DoctorContext, Result
from crossdock.errors import lookup

__all__ = ["SYSTEM_CHECKS", "remedy_for"]

_CONFIG_STEPS = ("config", "secret key", "secrets", "urls", "stored tokens", "channels")
DEFAULT_TICK_STALE_S = 60.0


def remedy_for(code: str | None, channel: str | None = None, fallback: str | None = None) -> str | None:
    """The catalogue's command for ``code``, with the channel filled in."""
    if code is None:
        return fallback
    command = lookup(code).command or fallback
    if command and channel:
        command = command.replace("CHANNEL", channel)
    return command


def _plain(message: str, code: str) -> str:
    """A coded message without its ``[XD-…] Title:`` head (the line shows the code)."""
    head = f"[{code}] {lookup(code).title}: "
    return message[len(head):] if message.startswith(head) else message


def _problems(ctx: DoctorContext, *steps: str) -> list[dict[str, Any]]:
    return [p for p in ctx.setup.problems
            if p["check"] in steps or (p["check"].startswith("channel ") and "channels" in steps)]


def _step_detail(ctx: DoctorContext, name: str) -> str:
    return next((c["detail"] for c in ctx.setup.checks if c["check"] == name), "")


def _from_setup(ctx: DoctorContext, check: str, steps: tuple[str, ...], ok_step: str,
                fallback: str | None = None) -> Result:
    problems = _problems(ctx, *steps)
    if problems:
        first = problems[0]
        more = f" (+{len(problems) - 1} more: crossdock config check)" if len(problems) > 1 else ""
        return Result(check, FAIL, _plain(first["message"], first["code"]) + more, code=first["code"],
                      remedy=remedy_for(first["code"], first.get("channel"), fallback))
    return Result(check, OK, _step_detail(ctx, ok_step) or "ok")


def check_configuration(ctx: DoctorContext) -> Result:
    """The file parses, every secret resolves, the key decrypts the stored tokens."""
    return _from_setup(ctx, "configuration", _CONFIG_STEPS, "config", "crossdock config check")


def check_database(ctx: DoctorContext) -> Result:
    """Reachable and at this crossdock's revision (XD-DATA-001 / XD-DATA-002)."""
    problems = _problems(ctx, "database")
    if problems and problems[0]["code"] == "XD-DATA-002":
        return Result("database", FAIL, _plain(problems[0]["message"], "XD-DATA-002"), code="XD-DATA-002",
                      remedy="crossdock db upgrade")
    return _from_setup(ctx, "database", ("database",), "database", "crossdock config check")


def check_broker(ctx: DoctorContext) -> Result:
    return _from_setup(ctx, "broker", ("broker",), "broker")


def check_ratelimit(ctx: DoctorContext) -> Result:
    return _from_setup(ctx, "rate limit", ("rate limit",), "rate limit")


def check_integrity(ctx: DoctorContext) -> Result | None:
    """``crossdock db check``'s findings (stock bounds, reservation sums…), the backup age left out."""
    from crossdock.db.check import db_check_findings

    if ctx.db is None:
        return None
    findings = [f for f in db_check_findings(ctx.db, now=ctx.now) if f.check != "backup_age"]
    errors = [f for f in findings if f.severity == "error"]
    if not findings:
        return Result("integrity", OK, "db check: no inconsistency")
    worst = errors[0] if errors else findings[0]
    return Result("integrity", FAIL if errors else WARN,
                  f"db check: {len(errors)} error(s), {len(findings) - len(errors)} warning(s); "
                  f"first: {worst.message}", code=worst.code, remedy="crossdock db check")


def _dead_after_s(ctx: DoctorContext) -> float:
    from crossdock.sync_engine.liveness import DEFAULT_DEAD_AFTER_S

    return float(ctx.cfg.sync.get("worker_dead_after_s", DEFAULT_DEAD_AFTER_S))


def check_workers(ctx: DoctorContext) -> Result | None:
    """At least one ``crossdock worker`` sends heartbeats (XD-SYNC-008 when none)."""
    if ctx.db is None:
        return None
    scheduler = ctx.status["scheduler"]
    alive = scheduler["workers_alive"]
    dead = [w for w in ctx.status["workers"] if w["status"] == "silent"]
    if not alive:
        return Result("workers", FAIL, "no worker has sent a heartbeat in the last "
                                       f"{_dead_after_s(ctx):g} s", code="XD-SYNC-008", remedy="crossdock worker")
    if dead:
        return Result("workers", WARN, f"{alive} worker(s) alive, {len(dead)} stopped sending heartbeats",
                      code="XD-SYNC-007", remedy="crossdock sync status")
    return Result("workers", OK, f"{alive} worker(s) alive")


def check_scheduler(ctx: DoctorContext) -> Result | None:
    """The scheduler ticked recently and no schedule is more than one interval overdue (XD-SYNC-004)."""
    import datetime as dt

    from crossdock.sync_engine import scheduler

    if ctx.db is None:
        return None
    age = ctx.status["scheduler"]["last_tick_age_s"]
    stale_after = max(DEFAULT_TICK_STALE_S, _dead_after_s(ctx))
    if age is None or age > stale_after:
        when = "never" if age is None else f"{age:.0f} s ago"
        return Result("scheduler", FAIL, f"last scheduler tick: {when}", code="XD-SYNC-004",
                      remedy="crossdock worker")
    late = [s for s in scheduler.due(ctx.db, ctx.platform_now)
            if s.next_run_at + dt.timedelta(seconds=s.interval_s) < ctx.platform_now]
    if late:
        names = ", ".join(s.name for s in late[:5])
        return Result("scheduler", WARN, f"{len(late)} schedule(s) more than one interval overdue: {names}",
                      code="XD-SYNC-004", remedy="crossdock sync status")
    return Result("scheduler", OK, f"ticking (last tick {age:.0f} s ago)")


SYSTEM_CHECKS = (check_configuration, check_database, check_integrity, check_backups, check_broker,
                 check_ratelimit, check_workers, check_scheduler)
