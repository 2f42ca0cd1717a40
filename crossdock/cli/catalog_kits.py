"""``crossdock catalog alias add|list|remove`` and ``crossdock catalog bundle
set|show|remove``: SKU aliases and bundles (:mod:`crossdock.catalog.kits`)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.textsafe import markup_escape as escape

alias_group = typer.Typer(help="SKU aliases: a SKU a channel lists a catalogue SKU under.", no_args_is_help=True)
bundle_group = typer.Typer(help="Bundles (kits): a SKU made of components, with no stock of its own.",
                           no_args_is_help=True)

_CHANNEL = typer.Option(None, "--channel", help="On this channel only (default: on every channel).")


def _channel(app: Application, channel: Optional[str]) -> Optional[str]:
    return app.config.channel(channel).name if channel else None


@alias_group.command("add")
def alias_add(ctx: typer.Context, listing_sku: str = typer.Argument(..., help="The SKU the channel lists under."),
              sku: str = typer.Argument(..., help="The catalogue SKU it stands for."),
              channel: Optional[str] = _CHANNEL, as_json: bool = JSON_OPT) -> None:
    """LISTING_SKU stands for SKU: orders, reservations, pushes and `listings pull` resolve it."""
    from crossdock.catalog.kits import add_alias

    app = Application.of(ctx, json=as_json)
    ch = _channel(app, channel)
    doc = app.db.run_write(lambda s: add_alias(s, listing_sku, sku, channel=ch))
    if as_json:
        app.emit(doc)
        return
    where = f"on {doc['channel']}" if doc["channel"] else "on every channel"
    app.out.print(f"{escape(doc['alias'])} → {escape(doc['sku'])} {escape(where)}"
                  + ("" if doc["added"] else " (already)"), highlight=False)


@alias_group.command("remove")
def alias_remove(ctx: typer.Context, listing_sku: str = typer.Argument(..., help="The alias."),
                 channel: Optional[str] = _CHANNEL, as_json: bool = JSON_OPT) -> None:
    """Remove an alias (on the channel given, or the one for every channel)."""
    from crossdock.catalog.kits import remove_alias

    app = Application.of(ctx, json=as_json)
    ch = _channel(app, channel)
    doc = app.db.run_write(lambda s: remove_alias(s, listing_sku, channel=ch))
    if as_json:
        app.emit(doc)
        return
    app.out.print(f"alias {escape(doc['alias'])} of {escape(doc['sku'])} removed", highlight=False)


@alias_group.command("list")
def alias_list(ctx: typer.Context, sku: Optional[str] = typer.Option(None, "--sku", help="Of this SKU only."),
               channel: Optional[str] = typer.Option(None, "--channel", help="Those that hold on this channel."),
               as_json: bool = JSON_OPT) -> None:
    """Every alias: the SKU a channel lists under, and the catalogue SKU it stands for."""
    from crossdock.catalog.kits import list_aliases

    app = Application.of(ctx, json=as_json)
    with app.db.read() as s:
        rows = list_aliases(s, sku=sku, channel=channel)
    if as_json:
        app.emit({"aliases": rows})
        return
    table = Table(title=f"SKU aliases ({len(rows)})")
    for col in ("alias", "sku", "channel"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(r["alias"]), escape(r["sku"]), escape(r["channel"] or "(every channel)"))
    app.out.print(table)


@bundle_group.command("set")
def bundle_set(ctx: typer.Context, bundle: str = typer.Argument(..., help="The bundle's catalogue SKU."),
               components: list[str] = typer.Argument(..., help="COMPONENT:QTY, one or more."),
               as_json: bool = JSON_OPT) -> None:
    """BUNDLE is made of these components (replacing what it had): its availability follows them."""
    from crossdock.catalog.kits import parse_components, set_bundle

    app = Application.of(ctx, json=as_json)
    parts = parse_components(components)
    doc = app.db.run_write(lambda s: set_bundle(s, bundle, parts))
    if as_json:
        app.emit(doc)
        return
    app.out.print(f"{escape(doc['bundle'])} = " + " + ".join(f"{q} × {escape(c)}" for c, q in doc["components"].items())
                  + ("" if doc["changed"] else " (unchanged)"), highlight=False)


@bundle_group.command("show")
def bundle_show(ctx: typer.Context, bundle: str = typer.Argument(..., help="The bundle's SKU."),
                as_json: bool = JSON_OPT) -> None:
    """A bundle's components, what each has available, and what the bundle may sell."""
    from crossdock.catalog.kits import show_bundle

    app = Application.of(ctx, json=as_json)
    with app.db.read() as s:
        doc = show_bundle(s, bundle)
    if as_json:
        app.emit(doc)
        return
    table = Table(title=f"bundle {escape(doc['bundle'])}: {doc['available']} available")
    for col in ("component", "per bundle", "available", "bundles"):
        table.add_column(col, justify="left" if col == "component" else "right")
    for c in doc["components"]:
        table.add_row(escape(c["sku"]), str(c["quantity"]), str(c["available"]), str(c["bundles"]))
    app.out.print(table)


@bundle_group.command("remove")
def bundle_remove(ctx: typer.Context, bundle: str = typer.Argument(..., help="The bundle's SKU."),
                  as_json: bool = JSON_OPT) -> None:
    """BUNDLE is no longer a bundle (it stays in the catalogue, with no stock)."""
    from crossdock.catalog.kits import remove_bundle

    app = Application.of(ctx, json=as_json)
    doc = app.db.run_write(lambda s: remove_bundle(s, bundle))
    if as_json:
        app.emit(doc)
        return
    app.out.print(f"{escape(doc['bundle'])} is no longer a bundle", highlight=False)
