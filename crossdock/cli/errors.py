"""``crossdock errors list|explain``: the error catalogue."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.errors import CATALOGUE, ConfigError, lookup
from crossdock.errors.catalogue import AREAS
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="The error catalogue: every XD code, what it means and how to fix it.",
                    no_args_is_help=True)


@group.command("list")
def errors_list(ctx: typer.Context,
                area: Optional[str] = typer.Option(None, "--area", help="Only this area (CFG, AUTH, …)."),
                as_json: bool = JSON_OPT) -> None:
    """Every error code with its title and remedy."""
    app = Application.of(ctx, json=as_json)
    specs = [s for s in CATALOGUE.values() if not area or s.area == area.upper()]
    if area and not specs:
        raise ConfigError("XD-CFG-009", detail=f"--area {area!r}: one of {', '.join(AREAS)}")
    if as_json:
        app.emit([s.to_dict() for s in specs])
        return
    table = Table(title=f"crossdock error codes ({len(specs)})", show_lines=False)
    table.add_column("code", no_wrap=True)
    table.add_column("title")
    table.add_column("remedy")
    for s in specs:
        table.add_row(s.code, escape(s.title), escape(s.remedy))
    app.out.print(table)


@group.command("explain")
def errors_explain(ctx: typer.Context,
                   code: str = typer.Argument(..., help="An XD code, e.g. XD-AUTH-002."),
                   as_json: bool = JSON_OPT) -> None:
    """What a code means, its likely causes and the remedy."""
    app = Application.of(ctx, json=as_json)
    try:
        spec = lookup(code.strip())
    except KeyError:
        near = [c for c in CATALOGUE if c.startswith(code.strip().upper()[:7])][:5]
        raise ConfigError("XD-CFG-009", detail=f"unknown error code {code!r}"
                                               + (f"; did you mean {', '.join(near)}?" if near else "")) from None
    if as_json:
        app.emit(spec.to_dict())
        return
    out = app.out
    out.print(f"[bold]{spec.code}[/]  {escape(spec.title)}  [dim]({AREAS[spec.area]})[/]", highlight=False)
    out.print(f"\n[bold]Meaning[/]\n  {escape(spec.meaning)}", highlight=False)
    if spec.causes:
        out.print("\n[bold]Likely causes[/]", highlight=False)
        for c in spec.causes:
            out.print(f"  - {c}", highlight=False, markup=False)
    out.print(f"\n[bold]Remedy[/]\n  {escape(spec.remedy)}", highlight=False)
    if spec.command:
        out.print("\n[bold]Command[/]", highlight=False)
        out.print(f"  {spec.command}", highlight=False, markup=False)
    out.print(f"\n[dim]retryable: {'yes' if spec.retryable else 'no'} · exit code {spec.exit_code}[/]")
