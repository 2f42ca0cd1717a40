"""``crossdock listings pull|list|link``: the listings that exist on the channels,
linked to the catalogue by SKU."""

from __future__ import annotations

from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.cli.catalog import listings_table
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="Listings that exist on the channels: pull and link them to the catalogue, list them.",
                    no_args_is_help=True)


@group.command("pull")
def listings_pull(
    ctx: typer.Context,
    channels: Optional[list[str]] = typer.Option(None, "--channel", metavar="CHANNEL",
                                                 help="Only this channel (repeatable; default: every channel)."),
    adopt: bool = typer.Option(False, "--adopt", help="Create catalogue products for listings whose SKU is "
                                                      "unknown (title, price from the platform) and link them."),
    as_json: bool = JSON_OPT,
) -> None:
    """Read every listing on the channels and link each to the catalogue by SKU (exit 4: unknown SKUs or conflicts)."""
    from crossdock.catalog.listings import pull_listings

    app = Application.of(ctx, json=as_json)
    cfg, _db = app.config, app.db          # the database answers before channel names are checked
    for name in channels or ():
        cfg.channel(name)
    with app.engine() as engine:
        doc = pull_listings(engine, channels or None, adopt=adopt)
    if as_json:
        app.emit(doc)
    else:
        _print_pull(app.out, app.err, doc)
    if doc["exit_code"]:
        raise typer.Exit(doc["exit_code"])


def _print_pull(out: Console, err: Console, doc: dict[str, Any]) -> None:
    table = Table(title="listings pull")
    for col in ("channel", "read", "new", "already", "adopted", "unknown SKU", "conflicts", "drift", "error"):
        table.add_column(col, justify="left" if col in ("channel", "error") else "right")
    for c in doc["channels"]:
        e = c["error"]
        n = c["counts"]
        table.add_row(escape(c["channel"]), str(c["read"]), str(n["new"]), str(n["already"]), str(n["adopted"]),
                      str(n["unknown"]), str(n["conflicts"]), str(n["drift"]),
                      escape(f"{e['code']} {e['detail'] or e['title']}") if e else "")
    out.print(table)
    for c in doc["channels"]:
        ch = escape(c["channel"])
        for u in c["unknown"][:200]:
            out.print(f"  {ch} [yellow]{u['code']}[/] {escape(u['sku'] or '(no SKU)')} "
                      f"(listing {escape(str(u['listing_id']))}): {escape(u['message'])}", highlight=False)
        for x in c["conflicts"][:200]:
            out.print(f"  {ch} [red]{x['code']}[/] {escape(x['message'])}", highlight=False)
        for d in c["drift"][:200]:
            out.print(f"  {ch} drift {escape(d['sku'])}: listed {d['listed']}, crossdock lists {d['expected']} "
                      "(queued for the next stock push)", highlight=False)
        if c["adopted"]:
            err.print(f"  {ch}: {len(c['adopted'])} product(s) adopted with no stock in crossdock: they list 0 "
                      "until `crossdock stock import`", highlight=False)
        if c["error"]:
            e = c["error"]
            err.print(f"  {ch}: [bold red]{e['code']}[/] {escape(e['title'])}: {escape(e['detail'] or '')}",
                      highlight=False)
            err.print(f"    Remedy: {escape(c['error']['remedy'])}", highlight=False)


@group.command("list")
def listings_list(
    ctx: typer.Context,
    channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
    sku: Optional[str] = typer.Option(None, "--sku", help="Only this SKU."),
    limit: int = typer.Option(1000, "--limit", min=1, max=1_000_000),
    as_json: bool = JSON_OPT,
) -> None:
    """The links between catalogue SKUs and channel listings, with what was last pushed and seen."""
    from crossdock.catalog.listings import list_listings

    app = Application.of(ctx, json=as_json)
    cfg, db = app.config, app.db
    if channel:
        cfg.channel(channel)
    with db.read() as s:
        rows = list_listings(s, channel=channel, sku=sku, limit=limit)
    if as_json:
        app.emit(rows)
        return
    app.out.print(listings_table(rows, f"listings ({len(rows)})"))


@group.command("link")
def listings_link(
    ctx: typer.Context,
    sku: str = typer.Argument(..., help="Catalogue SKU."),
    channel: str = typer.Option(..., "--channel", help="Channel name."),
    listing_id: str = typer.Option(..., "--listing-id", help="The platform's id: eBay ItemID, Amazon ASIN, "
                                                             "Shopify variant id."),
    as_json: bool = JSON_OPT,
) -> None:
    """Link a SKU to a listing whose SKU on the platform does not match (checked on the platform first)."""
    from crossdock.catalog.listings import link_listing

    app = Application.of(ctx, json=as_json)
    cfg, _db = app.config, app.db          # the database answers before the channel name is checked
    cfg.channel(channel)
    with app.engine() as engine:
        doc = link_listing(engine, sku, channel, listing_id)
    if as_json:
        app.emit(doc)
        return
    app.out.print(f"{escape(sku)} on {escape(channel)} linked to listing {escape(str(doc['listing_id']))}"
                  + (f" (was {escape(doc['previous'])})" if doc["previous"] and doc["previous"] != doc["listing_id"]
                     else "")
                  + f"; the channel shows {doc['quantity']}, queued for the next stock push", highlight=False)
