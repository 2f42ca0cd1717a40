"""``crossdock alerts [--json]`` and ``crossdock alerts ack ID``: the alerts
the worker raised from doctor's checks (:mod:`crossdock.alerts`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import typer
from rich.table import Table

import crossdock.alerts
from crossdock.cli.application import JSON_OPT, Application
from crossdock.errors import ConfigError
from crossdock.textsafe import markup_escape as escape

#: Importing crossdock.alerts registered its job: every command (the worker's too) knows it.
JOB_KIND = crossdock.alerts.ALERTS

group = typer.Typer(help="Alerts raised by the worker from doctor's checks; acknowledge them.",
                    no_args_is_help=False)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _doc(row: Any) -> dict[str, Any]:
    return {"id": row.id, "code": row.code, "check": row.check, "channel": row.channel, "subject": row.subject,
            "severity": row.severity, "state": row.state, "found": row.found, "remedy": row.remedy,
            "first_seen_at": _iso(row.first_seen_at), "last_seen_at": _iso(row.last_seen_at),
            "resolved_at": _iso(row.resolved_at), "pending": row.pending,
            "pending_targets": list(row.pending_targets or []), "delivery_attempts": row.delivery_attempts,
            "last_error": row.last_error, "delivered_at": _iso(row.delivered_at), "reminders": row.reminders,
            "acked": row.acked_at is not None, "acked_at": _iso(row.acked_at)}


@group.callback(invoke_without_command=True)
def alerts(ctx: typer.Context,
           all_: bool = typer.Option(False, "--all", help="Resolved alerts too (default: open ones)."),
           as_json: bool = JSON_OPT) -> None:
    """Open alerts (--all: resolved too): code, channel, what was found, delivery state."""
    if ctx.invoked_subcommand is not None:
        return
    from sqlalchemy import select

    from crossdock.alerts.table import Alert

    app = Application.of(ctx, json=as_json)
    stmt = select(Alert).order_by(Alert.id.desc())
    if not all_:
        stmt = stmt.where(Alert.state == "open")
    with app.db.read() as s:
        docs = [_doc(r) for r in s.scalars(stmt.limit(1000))]
    if as_json:
        app.emit({"alerts": docs})
        return
    if not docs:
        app.out.print("no open alerts" if not all_ else "no alerts")
        return
    table = Table(title="alerts")
    for col in ("id", "state", "severity", "code", "channel", "found", "delivery"):
        table.add_column(col, overflow="fold")
    for d in docs:
        delivery = (f"pending {d['pending']} ({d['delivery_attempts']} tries)" if d["pending"]
                    else ("delivered" if d["delivered_at"] else "-")) + (" acked" if d["acked"] else "")
        table.add_row(str(d["id"]), d["state"], d["severity"], d["code"], escape(d["channel"] or "-"),
                      escape(d["found"]), delivery)
    app.out.print(table)


@group.command("ack")
def ack(ctx: typer.Context, alert_id: int = typer.Argument(..., metavar="ID"),
        by: Optional[str] = typer.Option(None, "--by", help="Who acknowledges it."),
        as_json: bool = JSON_OPT) -> None:
    """Acknowledge an alert: no more reminders (it still resolves when the condition clears); for a stock
    deviation (XD-INV-013) the level as it stands is accepted."""
    from crossdock.alerts.table import Alert
    from crossdock.doctor.stock_watch import DEVIATION_CODE, rebaseline

    app = Application.of(ctx, json=as_json)
    with app.db.write() as s:
        row = s.get(Alert, alert_id)
        if row is None:
            raise ConfigError("XD-CFG-009", detail=f"no alert {alert_id}: see `crossdock alerts --all`")
        if row.acked_at is None:
            row.acked_at, row.acked_by = dt.datetime.now(dt.timezone.utc), by
        if row.pending == "reminder":
            row.pending, row.pending_targets = None, []
        if row.code == DEVIATION_CODE and row.subject and row.state == "open":
            rebaseline(s, skus={row.subject})          # the level as it stands is accepted
        doc = _doc(row)
    if as_json:
        app.emit(doc)
    else:
        app.out.print(f"alert {alert_id} acknowledged ({doc['code']} {doc['channel'] or ''})".rstrip(),
                      highlight=False, markup=False)
