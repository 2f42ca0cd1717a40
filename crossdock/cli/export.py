"""``crossdock export orders|customers|products|listings|stock``: CSV or JSON,
streamed to stdout or a file (columns: docs/exports.md)."""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

import typer

from crossdock.cli.application import JSON_OPT, Application

group = typer.Typer(help="Export orders, customers, products, listings or stock as CSV or JSON (streamed).",
                    no_args_is_help=True)


def _command(what: str, description: str) -> Callable[..., None]:
    def run(ctx: typer.Context,
            since: Optional[str] = typer.Option(None, "--from", help="From this date or date-time (UTC), "
                                                                     "inclusive."),
            until: Optional[str] = typer.Option(None, "--to", help="Up to this date or date-time (UTC), exclusive."),
            fmt: str = typer.Option("csv", "--format", help="csv or json."),
            out: Optional[str] = typer.Option(None, "--out", help="Write to this file (default: stdout)."),
            as_json: bool = JSON_OPT) -> None:
        from crossdock.exports.write import export, export_to_file, parse_when

        app = Application.of(ctx, json=as_json)
        options: dict[str, Any] = {"fmt": fmt, "since": parse_when(since, "--from"), "until": parse_when(until, "--to")}
        if out is None:
            export(app.db, what, sys.stdout, **options)
            sys.stdout.flush()
            return
        n = export_to_file(app.db, what, out, **options)
        doc = {"export": what, "format": fmt, "rows": n, "path": out}
        if as_json:
            app.emit(doc)
        else:
            app.out.print(f"{n} {what} row(s) written to {out}", highlight=False, markup=False)

    run.__doc__ = description
    return run


def _register() -> None:
    from crossdock.exports.kinds import KINDS

    for name, kind in KINDS.items():
        group.command(name)(_command(name, f"{kind.description} Columns: docs/exports.md#{name}."))


_register()
