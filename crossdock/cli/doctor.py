"""``crossdock doctor [--channel C] [--json] [--online]``: the whole support
checklist, one line per check (ok / warn / fail, code, what it found, the
command that fixes it); exit 0 when all is well, 4 on warnings, 1 on a
failure. The checks are in :mod:`crossdock.doctor`."""

from __future__ import annotations

from typing import Optional

import typer

from crossdock.cli.application import JSON_OPT, Application
from crossdock.textsafe import markup_escape as escape

_COLOUR = {"ok": "green", "warn": "yellow", "fail": "red"}


def doctor(ctx: typer.Context,
           channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel's checks (and the "
                                                                         "installation's)."),
           online: bool = typer.Option(False, "--online", help="Also call the platforms: refresh each token and "
                                                               "compare the last 24 h of orders (read-only)."),
           as_json: bool = JSON_OPT) -> None:
    """Walk the support checklist: configuration, database, broker, workers,
    per channel credentials, lag, quota, failed jobs, stuck orders, drift,
    listings; warehouse carriers and parcels (exit 0 ok, 4 warnings, 1 failures)."""
    from crossdock.doctor import run_doctor

    app = Application.of(ctx, json=as_json)
    report = run_doctor(app.config_path, channel=channel, online=online)
    if as_json:
        app.emit(report.to_dict())
    else:
        for r in report.results:
            where = f"{r.channel} " if r.channel else ""
            code = f" {r.code}" if r.code else ""
            app.out.print(f"[{_COLOUR[r.status]}]{r.status:<4}[/]{escape(code)} {escape(where)}{escape(r.check)}: "
                          f"{escape(r.found)}", highlight=False)
            if r.remedy and r.status != "ok":
                app.out.print(f"      fix: {escape(r.remedy)}", highlight=False)
        counts = report.to_dict()["counts"]
        app.out.print(f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failure(s)"
                      + ("" if online else "; --online also checks the platforms"), highlight=False)
    raise typer.Exit(report.exit_code)
