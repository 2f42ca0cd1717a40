"""``crossdock jobs failed|list|retry``: the outbox's failed list and its replay."""

from __future__ import annotations

from typing import Any, Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.errors import ConfigError
from crossdock.output import EXIT_PARTIAL
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="The outbox: failed jobs, replay, and what is queued.", no_args_is_help=True)


def _jobs_table(rows: list[dict[str, Any]], title: str, *, failed: bool) -> Table:
    """A narrow table (the entity and times are in --json)."""
    table = Table(title=title)
    cols = ["id", "kind", "channel", "tries", "code", "error"] if failed else \
        ["id", "kind", "channel", "status", "tries", "due", "code"]
    for col in cols:
        table.add_column(col, overflow="fold", no_wrap=col in ("id", "tries"))
    for r in rows:
        cells = {"id": str(r["id"]), "kind": escape(r["kind"]), "channel": escape(r["channel"] or "-"),
                 "tries": str(r["attempts"]), "code": r["last_code"] or "-", "status": r["status"],
                 "error": escape((r["last_error"] or "")[:160]),
                 "due": (r["available_at"] or "")[5:16].replace("T", " ")}
        table.add_row(*(cells[c] for c in cols))
    return table


def _known_kind(kind: str | None) -> None:
    """``--kind`` names a row of the job table (before the database is opened)."""
    if kind is None:
        return
    from crossdock.sync_engine.jobs import JOBS

    if kind not in JOBS:
        raise ConfigError("XD-CFG-009", detail=f"--kind {kind!r}: one of {', '.join(JOBS)}")


@group.command("kinds")
def jobs_kinds(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """Every job kind the engine runs: its quota priority, its schedule and where its interval is configured."""
    from crossdock.sync_engine.jobs import table_doc

    app = Application.of(ctx, json=as_json)
    doc = table_doc()
    if as_json:
        app.emit(doc)
        return
    table = Table(title="job kinds")
    for col in ("kind", "priority", "schedule", "interval", "default", "switch", "sync run"):
        table.add_column(col, overflow="fold")
    for job in doc["jobs"]:
        sched = job["schedule"] or {}
        where = ("per channel" if sched.get("per_channel") else "all channels") if sched else "on demand"
        switch = f"{sched['enabled_by']} (default {str(sched['enabled_default']).lower()})" \
            if sched.get("enabled_by") else "-"
        table.add_row(job["kind"], job["priority"], where, sched.get("interval") or "-",
                      f"{sched['default_s']} s" if sched else "-", switch, job["hand_run"] or "-")
    app.out.print(table)


@group.command("failed")
def jobs_failed(ctx: typer.Context,
                channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
                kind: Optional[str] = typer.Option(None, "--kind", help="Only this job kind (`crossdock jobs kinds`)."),
                limit: int = typer.Option(500, "--limit", min=1, max=100_000),
                as_json: bool = JSON_OPT) -> None:
    """Jobs that used up their retries (XD-SYNC-001), newest failure first."""
    from crossdock.sync_engine.outbox_admin import failed_doc

    _known_kind(kind)
    app = Application.of(ctx, json=as_json)
    doc = failed_doc(app.db, channel=channel, kind=kind, limit=limit)
    if as_json:
        app.emit(doc)
        return
    rows = doc["failed"]
    if not rows:
        app.out.print("no failed jobs")
        return
    app.out.print(_jobs_table(rows, f"failed jobs ({len(rows)}, newest first)", failed=True))
    app.err.print("Fix the cause shown, then: crossdock jobs retry ID… | --all", markup=False, highlight=False)


@group.command("list")
def jobs_list(ctx: typer.Context,
              status: Optional[str] = typer.Option(None, "--status", help="pending, running, done or failed."),
              channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
              kind: Optional[str] = typer.Option(None, "--kind", help="Only this job kind (`crossdock jobs kinds`)."),
              limit: int = typer.Option(200, "--limit", min=1, max=100_000),
              as_json: bool = JSON_OPT) -> None:
    """Outbox entries, most recently changed first."""
    from crossdock.sync_engine.outbox_admin import STATUSES, jobs_doc

    app = Application.of(ctx, json=as_json)
    if status is not None and status not in STATUSES:       # before the database is opened
        raise ConfigError("XD-CFG-009", detail=f"--status {status!r}: one of {', '.join(STATUSES)}")
    _known_kind(kind)
    doc = jobs_doc(app.db, status=status, channel=channel, kind=kind, limit=limit)
    if as_json:
        app.emit(doc)
        return
    rows = doc["jobs"]
    if not rows:
        app.out.print("no jobs" + (f" with status {status}" if status else ""))
        return
    app.out.print(_jobs_table(rows, f"jobs ({len(rows)}, most recently changed first)", failed=False))


@group.command("retry")
def jobs_retry(ctx: typer.Context,
               ids: Optional[list[int]] = typer.Argument(None, help="Outbox entry ids (from `jobs failed`)."),
               all_failed: bool = typer.Option(False, "--all", help="Every failed job."),
               channel: Optional[str] = typer.Option(None, "--channel", help="With --all: only this channel."),
               as_json: bool = JSON_OPT) -> None:
    """Replay failed jobs: back to pending with a fresh set of attempts (exit 4 if some were not failed)."""
    from crossdock.sync_engine.outbox_admin import retry_jobs

    app = Application.of(ctx, json=as_json)
    if bool(ids) == all_failed:                             # before the database is opened
        raise ConfigError("XD-CFG-009", detail="name the job ids to retry, or --all (not both)")
    doc = retry_jobs(app.db, ids, all_failed=all_failed, channel=channel)
    moved = doc["retried"]
    if as_json:
        app.emit(doc)
    else:
        app.out.print(f"{len(moved)} job(s) back to pending" + (f": {', '.join(map(str, moved[:50]))}" if moved else ""))
        for r in doc["not_retried"]:
            app.err.print(f"  job {r['id']}: {r['reason']}", markup=False, highlight=False)
    if doc["not_retried"]:
        raise typer.Exit(EXIT_PARTIAL)
