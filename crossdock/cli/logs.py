"""``crossdock logs [trace]``: the sync log, newest first, or one entity's chain."""

from __future__ import annotations

from typing import Any, Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application, parse_since
from crossdock.textsafe import markup_escape as escape
from crossdock.textsafe import printable

group = typer.Typer(help="The sync log: every fetch, push, retry, skip and failure.", invoke_without_command=True)


def _events_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for col in ("at", "channel", "entity", "operation", "outcome", "code", "message"):
        table.add_column(col, overflow="fold")
    for r in rows:
        style = {"failed": "red", "retry": "yellow", "partial": "yellow", "skipped": "dim"}.get(r["outcome"], "")
        table.add_row((r["at"] or "")[:23], escape(r["channel"] or ""), escape(r["entity"] or ""),
                      escape(r["operation"]), f"[{style}]{r['outcome']}[/]" if style else escape(r["outcome"]),
                      escape(r["code"] or ""), escape((r["message"] or "")[:160]))
    return table


@group.callback()
def logs(ctx: typer.Context,
         channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
         code: Optional[str] = typer.Option(None, "--code", help="Only this code or area prefix (XD-AUTH)."),
         since: Optional[str] = typer.Option(None, "--since", help="2h, 30m, 1d or an ISO time."),
         entity: Optional[str] = typer.Option(None, "--entity", help="Order id, SKU or shipment."),
         outcome: Optional[str] = typer.Option(None, "--outcome", help="ok, failed, retry, skipped, partial."),
         limit: int = typer.Option(200, "--limit", min=1, max=100000),
         as_json: bool = JSON_OPT) -> None:
    """Recent sync events, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from crossdock import synclog

    app = Application.of(ctx, json=as_json)
    since_at = parse_since(since)
    with app.db.read() as s:
        rows = synclog.events_doc(s, channel=channel, code=code, since=since_at, entity=entity, outcome=outcome,
                                  limit=limit)
    if as_json:
        app.emit(rows)
    else:
        app.out.print(_events_table(rows, f"sync log ({len(rows)} events, newest first)"))


@group.command("trace")
def logs_trace(ctx: typer.Context,
               entity_id: str = typer.Argument(..., help="Order id (platform or local), SKU or tracking number."),
               as_json: bool = JSON_OPT) -> None:
    """The whole chain for one order, SKU or shipment, oldest first."""
    from crossdock import synclog

    app = Application.of(ctx, json=as_json)
    with app.db.read() as s:
        doc = synclog.trace_doc(s, entity_id)
    rows = doc["events"]
    if as_json:
        app.emit(doc)
        return
    if not rows:
        app.err.print(f"no events for {printable(entity_id)!r}", markup=False, highlight=False)
    app.out.print(_events_table(rows, f"trace of {entity_id} ({len(rows)} events, oldest first)"))
