"""``crossdock quota [--json]``: the shared quota budget as every worker sees it.

The lead mounts :data:`app` as ``crossdock quota``. Humans get Rich tables on
stdout; ``--json`` prints exactly one JSON document on stdout and nothing else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crossdock.errors import ConfigError, CrossdockError, lookup
from crossdock.errors.catalogue import EXIT_OK
from crossdock.ratelimit.backends import backend_from_url
from crossdock.ratelimit.budget import QuotaBudget

DEFAULT_RATELIMIT_URL = "sql://"
DEFAULT_DATABASE_URL = "sqlite:///crossdock.sqlite"

app = typer.Typer(help="API quota per account and operation: rate, burst, what is left, 429s.",
                  no_args_is_help=False, add_completion=False)


def budget_from_env(environ: Mapping[str, str] | None = None) -> QuotaBudget:
    """Budget from CROSSDOCK_RATELIMIT_URL (default ``sql://`` on
    CROSSDOCK_DATABASE_URL, default ``sqlite:///crossdock.sqlite``) and
    CROSSDOCK_TIME_SCALE (default 1). The config loader replaces this later."""
    env = os.environ if environ is None else environ
    url = env.get("CROSSDOCK_RATELIMIT_URL") or DEFAULT_RATELIMIT_URL
    engine = None
    if urlsplit(url).scheme.lower() == "sql":
        from crossdock.db.engine import make_engine

        engine = make_engine(env.get("CROSSDOCK_DATABASE_URL") or DEFAULT_DATABASE_URL)
    raw_scale = env.get("CROSSDOCK_TIME_SCALE") or "1"
    try:
        time_scale = float(raw_scale)
    except ValueError:
        raise ConfigError("XD-CFG-003", detail=f"CROSSDOCK_TIME_SCALE={raw_scale!r} is not a "
                                               f"number") from None
    return QuotaBudget(backend_from_url(url, engine=engine), time_scale=time_scale)


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


@app.callback(invoke_without_command=True)
def quota(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    platform: str | None = typer.Option(None, help="Only this platform (amazon, ebay, shopify)."),
    account: str | None = typer.Option(None, help="Only this account."),
) -> None:
    """Per account and operation: rate, burst, available now, calls in the last
    hour, 429s seen, next token at; long windows (eBay daily limits, listing
    revisions) with their reset time; XD-QUOTA codes with remedies."""
    from crossdock.cli import load_config, open_db, state
    from crossdock.ratelimit.wiring import budget_from_config

    state.json = json_out
    cfg = load_config()
    db = open_db(cfg) if urlsplit(cfg.ratelimit_url).scheme.lower() == "sql" else None
    budget = budget_from_config(cfg, db)
    try:
        entries = budget.snapshot()
    finally:
        budget.close()
    entries = [e for e in entries
               if (platform is None or e["platform"] == platform)
               and (account is None or e["account"] in (account, "*"))]
    if json_out:
        problems = [{"code": code, "title": lookup(code).title, "remedy": lookup(code).remedy}
                    for code in sorted({e["code"] for e in entries if e["code"]})]
        typer.echo(json.dumps({"quota": entries, "problems": problems}, sort_keys=True))
    else:
        _render(Console(), entries)
    raise typer.Exit(EXIT_OK)
