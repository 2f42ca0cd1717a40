"""``crossdock inspect FILE``: what crossdock makes of a raw platform payload."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from crossdock.cli.application import JSON_OPT, Application


def inspect(ctx: typer.Context,
            file: Path = typer.Argument(..., help="A raw API response body (JSON, or XML for eBay Trading)."),
            platform: str = typer.Option(..., "--platform", help="amazon, ebay or shopify."),
            kind: str = typer.Option(..., "--kind", help="order, orders or listing."),
            as_json: bool = JSON_OPT) -> None:
    """Print crossdock's normalised form of a platform payload."""
    from crossdock.inspect import inspect_file

    app = Application.of(ctx, json=as_json)
    result = inspect_file(platform, kind, file)
    if as_json:
        app.emit(result)
        return
    for item in result if isinstance(result, list) else [result]:
        app.out.print_json(json.dumps(item, default=str))
