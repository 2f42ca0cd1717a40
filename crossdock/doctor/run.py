"""Walk the whole checklist: :func:`run_doctor` for ``crossdock doctor``,
:func:`evaluate` for the worker's alerts (the same checks on an open
configuration and database)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from crossdock.doctor.channels import CHANNEL_CHECKS
from crossdock.doctor.events import EVENT_CHECKS
from crossdock.doctor.hints import HINT_CHECKS
from crossdock.doctor.model import FAIL, DoctorContext, Result, exit_status
from crossdock.doctor.online import ONLINE_CHECKS
from crossdock.doctor.system import SYSTEM_CHECKS, remedy_for
from crossdock.doctor.stock_watch import check_stock_deviation
from crossdock.doctor.warehouse import WAREHOUSE_CHECKS
from crossdock.errors import CrossdockError

__all__ = ["DoctorReport", "evaluate", "run_doctor"]


@dataclass
class DoctorReport:
    results: list[Result]
    online: bool
    channels: list[str]

    @property
    def exit_code(self) -> int:
        return exit_status(self.results)

    def to_dict(self) -> dict[str, Any]:
        counts = {s: sum(1 for r in self.results if r.status == s) for s in ("ok", "warn", "fail")}
        return {"ok": counts["warn"] == counts["fail"] == 0, "exit_code": self.exit_code, "online": self.online,
                "channels": self.channels, "counts": counts, "checks": [r.to_dict() for r in self.results]}


def _name(fn: Callable[..., Any]) -> str:
    return fn.__name__.removeprefix("check_").replace("_", " ")


def _run(fn: Callable[..., Any], *args: Any, channel: str | None = None) -> list[Result]:
    """One check; a crossdock error it meets is its failure, with that error's code."""
    try:
        out = fn(*args)
    except CrossdockError as exc:
        return [Result(_name(fn), FAIL, exc.message, code=exc.code, channel=channel or exc.channel,
                       remedy=remedy_for(exc.code, channel or exc.channel))]
    if out is None:
        return []
    return list(out) if isinstance(out, (list, tuple)) else [out]


def evaluate(ctx: DoctorContext, channels: Iterable[str], *, system: bool = True) -> list[Result]:
    """Every check on ``ctx`` (system, per channel, online when ``ctx.online``, warehouse)."""
    results: list[Result] = []
    if system:
        for system_check in SYSTEM_CHECKS:
            results += _run(system_check, ctx)
    if ctx.db is None:
        return results
    per_channel: tuple[Callable[..., Any], ...] = (CHANNEL_CHECKS + EVENT_CHECKS + (ONLINE_CHECKS if ctx.online else ())
                                                   + HINT_CHECKS)
    for name in channels:
        for channel_check in per_channel:
            results += _run(channel_check, ctx, name, channel=name)
    for warehouse_check in (*WAREHOUSE_CHECKS, check_stock_deviation):
        results += _run(warehouse_check, ctx)
    return results


def _open_db(cfg: Any, setup: Any) -> Any:
    """The database when the setup checks found it usable (else None: they say why)."""
    from crossdock.db.engine import Database
    from crossdock.db.migrate import ensure_current

    if any(p["check"] in ("database", "config") for p in setup.problems):
        return None
    db = Database(cfg.database_url)
    try:
        ensure_current(db, auto_create=db.is_sqlite)
    except CrossdockError:
        db.dispose()
        return None
    return db


def run_doctor(path: str | os.PathLike | None = None, *, channel: str | None = None, online: bool = False,
               now: dt.datetime | None = None) -> DoctorReport:
    """``crossdock doctor``: every check, one result per line."""
    from crossdock import config as config_mod
    from crossdock.config_check import run_check
    from crossdock.sync_engine.status import platform_now_of

    setup = run_check(path)
    cfg, _ = config_mod.read(path)
    at = now or dt.datetime.now(dt.timezone.utc)
    if cfg is None:
        ctx = DoctorContext(cfg=None, db=None, now=at, platform_now=at, setup=setup)
        return DoctorReport(_run(SYSTEM_CHECKS[0], ctx), online, [])
    names = [cfg.channel(channel).name] if channel else sorted(cfg.channels)
    db = _open_db(cfg, setup)
    ctx = DoctorContext(cfg=cfg, db=db, now=at, platform_now=platform_now_of(cfg, at), online=online, setup=setup)
    try:
        from crossdock.ratelimit.waits import PERSON_WAIT_S, inline_waits

        with inline_waits(PERSON_WAIT_S):        # a person waits for the online checks' quota, as for any command
            return DoctorReport(evaluate(ctx, names), online, names)
    finally:
        ctx.close()
        if db is not None:
            db.dispose()
