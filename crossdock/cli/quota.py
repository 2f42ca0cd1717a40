"""``crossdock quota [--json]``: the shared quota budget as every worker sees it.

Humans get Rich tables on stdout; ``--json`` prints exactly one JSON document
on stdout and nothing else (:func:`crossdock.ratelimit.wiring.quota_doc`).
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from crossdock.cli.application import Application
from crossdock.errors import lookup
from crossdock.output import EXIT_OK
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="API quota per account and operation: rate, burst, what is left, 429s.",
                    no_args_is_help=False, add_completion=False)


@group.callback(invoke_without_command=True)
def quota(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    platform: str | None = typer.Option(None, help="Only this platform (amazon, ebay, shopify)."),
    account: str | None = typer.Option(None, help="Only this account."),
) -> None:
    """Per account and operation: rate, burst, available now, calls in the last
    hour, 429s seen, next token at; long windows (eBay daily limits, listing
    revisions) with their reset time; XD-QUOTA codes with remedies."""
    from crossdock.ratelimit.wiring import quota_doc, uses_database

    app = Application.of(ctx, json=json_out)
    cfg = app.config
    doc = quota_doc(cfg, app.db if uses_database(cfg) else None, platform=platform, account=account)
    if json_out:
        typer.echo(json.dumps(doc, sort_keys=True))
    else:
        _render(app.out, doc["quota"])
    raise typer.Exit(EXIT_OK)


def _fmt(value: Any, *, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _render(console: Console, entries: list[dict[str, Any]]) -> None:
    buckets = [e for e in entries if e["kind"] == "bucket"]
    windows = [e for e in entries if e["kind"] != "bucket"]
    if not entries:
        console.print("No quota used yet: buckets appear after the first call.")
        return
    if buckets:
        table = Table(title="Token buckets", title_justify="left")
        for column in ("Platform", "Account", "Operation"):
            table.add_column(column)
        for column in ("Rate/s", "Burst", "Available", "Calls 1h", "429s 1h/total"):
            table.add_column(column, justify="right")
        table.add_column("Next token at")
        table.add_column("Code")
        for e in buckets:
            rate = _fmt(e["rate_per_s"]) + ("*" if e["uncertain"] else "")
            table.add_row(escape(e["platform"]), escape(e["account"]), escape(e["operation"]),
                          rate, _fmt(e["burst"]),
                          _fmt(e["available"], digits=3), str(e["calls_last_hour"]),
                          f"{e['throttled_last_hour']}/{e['throttled_total']}",
                          e["blocked_until"] or e["next_token_at"] or "full", e["code"] or "")
        console.print(table)
        if any(e["uncertain"] for e in buckets):
            console.print(escape("* default not confirmed by the platform; set it in "
                                 "[ratelimit.plans.<platform>.<operation>]"))
    if windows:
        table = Table(title="Long windows", title_justify="left")
        for column in ("Platform", "Account", "Window", "Used", "Limit", "Resets at", "Code"):
            table.add_column(column)
        for e in windows:
            if e["kind"] == "window":
                used = _fmt(e["used"], digits=9)
            else:
                used = f"{e['listings']} listings, max {_fmt(e['max_used'], digits=9)}"
            table.add_row(escape(e["platform"]), escape(e["account"]), escape(e["window"]), used,
                          _fmt(e["limit"], digits=9), e["resets_at"], e["code"] or "")
        console.print(table)
    codes = sorted({e["code"] for e in entries if e["code"]})
    for code in codes:
        spec = lookup(code)
        console.print(f"[bold]{code}[/bold] {escape(spec.title)}: {escape(spec.remedy)}")
