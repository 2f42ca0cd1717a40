"""``crossdock report orders|sales|stock|api-usage [--by day|week|month]
[--channel C] [--from DATE] [--to DATE] [--format table|csv|json]``: the
reports of :mod:`crossdock.reports`; CSV's header is the report's columns
(README, "Reports")."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from typing import Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.errors import ConfigError
from crossdock.textsafe import markup_escape as escape

FORMATS = ("table", "csv", "json")


def _day(text: Optional[str], option: str) -> Optional[dt.datetime]:
    if not text:
        return None
    from crossdock.clock import parse_iso

    try:
        return parse_iso(text)
    except ValueError:
        raise ConfigError("XD-CFG-009", detail=f"{option} {text!r}: write a date as YYYY-MM-DD") from None


def report(ctx: typer.Context,
           kind: str = typer.Argument(..., metavar="orders|sales|stock|api-usage", help="Which report."),
           by: str = typer.Option("day", "--by", help="Period: day, week (ISO) or month (UTC)."),
           channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
           start: Optional[str] = typer.Option(None, "--from", help="From this date (YYYY-MM-DD, included)."),
           end: Optional[str] = typer.Option(None, "--to", help="To this date (YYYY-MM-DD, included)."),
           base_currency: Optional[str] = typer.Option(None, "--base-currency",
                                                       help="Currency of revenue_base and value (default: the "
                                                            "one most products are priced in)."),
           fmt: str = typer.Option("table", "--format", help="table, csv or json."),
           as_json: bool = JSON_OPT) -> None:
    """Orders and units, sales (revenue, refunded, net, tax, base currency), stock per warehouse, API calls and 429s."""
    from crossdock.reports import build_report

    fmt = "json" if as_json else fmt
    app = Application.of(ctx, json=fmt == "json")
    if fmt not in FORMATS:
        raise ConfigError("XD-CFG-009", detail=f"--format {fmt!r}: one of {', '.join(FORMATS)}")
    until = _day(end, "--to")
    if until is not None and len(end or "") <= 10:
        until += dt.timedelta(days=1)                   # a date includes its whole day
    doc = build_report(kind, app.config, app.db, by=by, channel=channel, start=_day(start, "--from"), end=until,
                       base_currency=base_currency)
    if fmt == "json":
        app.emit(doc.to_dict())
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(doc.columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(doc.rows)
    else:
        table = Table(title=f"{kind} by {by}")
        for col in doc.columns:
            table.add_column(col, justify="right" if col in ("orders", "units", "calls", "throttled") else "left")
        for row in doc.rows:
            table.add_row(*(escape("" if row[c] is None else str(row[c])) for c in doc.columns))
        app.out.print(table if doc.rows else "no data for this report")
