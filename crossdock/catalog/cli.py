"""``crossdock catalog …`` and ``crossdock listings …``.

Mounted by :func:`register` (the root CLI calls it). The commands only read
options, call the domain functions of :mod:`crossdock.catalog` and print the
document they return: a rich table (platform and catalogue text escaped), or
with ``--json`` exactly one JSON document on stdout. Errors print their code
and remedy and exit with the code's exit status (the root CLI's ``main``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from crossdock.output import emit_json, err, out

catalog_app = typer.Typer(help="The catalogue: import and export products (CSV or JSON), show one, list them.",
                          no_args_is_help=True)
listings_app = typer.Typer(help="Listings that exist on the channels: pull and link them to the catalogue, list "
                                "them.", no_args_is_help=True)

_JSON_HELP = "Print exactly one JSON document on stdout."
_FORMATS = ("csv", "json")


def register(root: typer.Typer) -> None:
    """Add ``catalog`` and ``listings`` to the root app."""
    root.add_typer(catalog_app, name="catalog")
    root.add_typer(listings_app, name="listings")


def _json_opt() -> Any:
    return typer.Option(False, "--json", help=_JSON_HELP)


@contextlib.contextmanager
def _open(as_json: bool) -> Iterator[tuple[Any, Any]]:
    """(config, database) for one command; the database's connections are
    closed when it ends (in-process callers, tests, run many commands)."""
    from crossdock.cli import load_config, open_db, state

    state.json = as_json
    cfg = load_config()
    db = open_db(cfg)
    try:
        yield cfg, db
    finally:
        db.dispose()


def _format(fmt: Optional[str]) -> Optional[str]:
    if fmt is None:
        return None
    if fmt.lower() not in _FORMATS:
        from crossdock.errors import ConfigError

        raise ConfigError("XD-CFG-009", detail=f"--format {fmt!r}: csv or json")
    return fmt.lower()


# ------------------------------------------------------------------ catalog
@catalog_app.command("import")
def catalog_import(
    file: Path = typer.Argument(..., help="CSV with a header (sku, title, description, category, brand, "
                                          "attributes, images, weight_g, hs_code, country_of_origin, base_price, "
                                          "base_currency, safety_stock; only sku and title required) or a JSON "
                                          "array of objects with those keys."),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv or json (default: from the extension or "
                                                             "the content)."),
    as_json: bool = _json_opt(),
) -> None:
    """Create or update products from a CSV or JSON file, all or nothing (XD-INV-008 lists every bad row)."""
    from crossdock.catalog.importer import import_catalog

    kind = _format(fmt)
    with _open(as_json) as (cfg, db):
        summary = db.run_write(lambda s: import_catalog(s, file, fmt=kind))
    doc = summary.to_dict()
    if as_json:
        emit_json(doc)
        return
    out.print(f"{escape(str(file))}: {doc['rows']} rows, {doc['created']} created, {doc['updated']} updated, "
              f"{doc['unchanged']} unchanged", highlight=False)
    if doc["columns_changed"]:
        out.print("  changed: " + ", ".join(f"{c} {n}" for c, n in doc["columns_changed"].items()), highlight=False)
    if doc["stock_marked"]:
        out.print(f"  stock pushes queued for {doc['stock_marked']} (channel, SKU) listings", highlight=False)
    for p in doc["price_pushes"]:
        what = "every listing" if p["skus"] is None else f"{p['skus']} SKU(s)"
        out.print(f"  price push queued on {escape(p['channel'])} for {what}", highlight=False)


@catalog_app.command("export")
def catalog_export(
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="Write to this file (default: stdout)."),
) -> None:
    """Every product, in the columns `catalog import` reads (importing it changes nothing)."""
    import sys

    from crossdock.catalog.export import export_catalog

    kind = _format(fmt) or "csv"
    with _open(False) as (cfg, db):
        if out_file is None:
            with db.read() as s:
                export_catalog(s, sys.stdout, fmt=kind)
            sys.stdout.flush()
            return
        target = out_file.resolve()
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=str(target.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f, db.read() as s:
                n = export_catalog(s, f, fmt=kind)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    err.print(f"{n} products written to {escape(str(out_file))}", highlight=False)


@catalog_app.command("show")
def catalog_show(sku: str = typer.Argument(..., help="Catalogue SKU."), as_json: bool = _json_opt()) -> None:
    """One product: its columns, stock per warehouse and listing per channel."""
    from crossdock.catalog.export import show_product

    with _open(as_json) as (cfg, db), db.read() as s:
        doc = show_product(s, sku)
    if as_json:
        emit_json(doc)
        return
    p = doc["product"]
    out.print(f"[bold]{escape(p['sku'])}[/]  {escape(p['title'])}", highlight=False)
    for key in ("brand", "category", "base_price", "base_currency", "safety_stock", "weight_g", "hs_code",
                "country_of_origin"):
        if p[key] not in (None, ""):
            out.print(f"  {key}: {escape(str(p[key]))}", highlight=False)
    if p["attributes"]:
        out.print(f"  attributes: {escape(str(p['attributes']))}", highlight=False)
    for url in p["images"]:
        out.print(f"  image: {escape(url)}", highlight=False)
    out.print(f"  available to sell: {doc['available_to_sell']}", highlight=False)
    if doc["stock"]:
        table = Table(title="stock")
        for col in ("warehouse", "bin", "on hand", "reserved", "available"):
            table.add_column(col, justify="right" if col in ("on hand", "reserved", "available") else "left")
        for lv in doc["stock"]:
            table.add_row(escape(lv["warehouse"]), escape(lv["bin"] or "-"), str(lv["on_hand"]), str(lv["reserved"]),
                          str(lv["available"]))
        out.print(table)
    if doc["listings"]:
        out.print(_listings_table(doc["listings"], "listings"))
    else:
        out.print("  not linked to any channel", highlight=False)


@catalog_app.command("list")
def catalog_list(
    limit: int = typer.Option(100, "--limit", min=1, max=100_000, help="At most this many products."),
    after: Optional[str] = typer.Option(None, "--after", help="Start after this SKU (the next page)."),
    as_json: bool = _json_opt(),
) -> None:
    """Products in SKU order with stock totals and the channels listing them."""
    from crossdock.catalog.export import list_products

    with _open(as_json) as (cfg, db), db.read() as s:
        doc = list_products(s, limit=limit, after=after)
    if as_json:
        emit_json(doc)
        return
    table = Table(title=f"catalogue ({doc['shown']} of {doc['total']})")
    for col in ("sku", "title", "brand", "price", "safety", "on hand", "reserved", "channels"):
        table.add_column(col, justify="right" if col in ("price", "safety", "on hand", "reserved") else "left")
    for p in doc["products"]:
        price = f"{p['base_price']} {p['base_currency'] or ''}".strip() if p["base_price"] else "-"
        table.add_row(escape(p["sku"]), escape(p["title"][:50]), escape(p["brand"] or ""), escape(price),
                      str(p["safety_stock"]), str(p["on_hand"]), str(p["reserved"]), escape(", ".join(p["channels"])))
    out.print(table)
    if doc["next_after"]:
        err.print(f"more: crossdock catalog list --after {escape(doc['next_after'])}", highlight=False)


# ------------------------------------------------------------------ listings
def _listings_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for col in ("channel", "sku", "listing id", "kind", "status", "pushed qty", "seen qty", "seen at"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(escape(r["channel"]), escape(r["sku"]), escape(r["listing_id"] or "-"), escape(r["kind"] or ""),
                      escape(r["status"]), "-" if r["last_pushed_qty"] is None else str(r["last_pushed_qty"]),
                      "-" if r["listed_qty_seen"] is None else str(r["listed_qty_seen"]), (r["seen_at"] or "")[:19])
    return table


@listings_app.command("pull")
def listings_pull(
    channels: Optional[list[str]] = typer.Option(None, "--channel", metavar="CHANNEL",
                                                 help="Only this channel (repeatable; default: every channel)."),
    adopt: bool = typer.Option(False, "--adopt", help="Create catalogue products for listings whose SKU is "
                                                      "unknown (title, price from the platform) and link them."),
    as_json: bool = _json_opt(),
) -> None:
    """Read every listing on the channels and link each to the catalogue by SKU (exit 4: unknown SKUs or conflicts)."""
    from crossdock.catalog.listings import pull_listings
    from crossdock.sync_engine.engine import context_from_config

    with _open(as_json) as (cfg, db):
        for name in channels or ():
            cfg.channel(name)
        ctx = context_from_config(cfg, db)
        try:
            doc = pull_listings(ctx, channels or None, adopt=adopt)
        finally:
            ctx.connectors.close()
    if as_json:
        emit_json(doc)
    else:
        _print_pull(doc)
    if doc["exit_code"]:
        raise typer.Exit(doc["exit_code"])


def _print_pull(doc: dict[str, Any]) -> None:
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


@listings_app.command("list")
def listings_list(
    channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
    sku: Optional[str] = typer.Option(None, "--sku", help="Only this SKU."),
    limit: int = typer.Option(1000, "--limit", min=1, max=1_000_000),
    as_json: bool = _json_opt(),
) -> None:
    """The links between catalogue SKUs and channel listings, with what was last pushed and seen."""
    from crossdock.catalog.listings import list_listings

    with _open(as_json) as (cfg, db):
        if channel:
            cfg.channel(channel)
        with db.read() as s:
            rows = list_listings(s, channel=channel, sku=sku, limit=limit)
    if as_json:
        emit_json(rows)
        return
    out.print(_listings_table(rows, f"listings ({len(rows)})"))


@listings_app.command("link")
def listings_link(
    sku: str = typer.Argument(..., help="Catalogue SKU."),
    channel: str = typer.Option(..., "--channel", help="Channel name."),
    listing_id: str = typer.Option(..., "--listing-id", help="The platform's id: eBay ItemID, Amazon ASIN, "
                                                             "Shopify variant id."),
    as_json: bool = _json_opt(),
) -> None:
    """Link a SKU to a listing whose SKU on the platform does not match (checked on the platform first)."""
    from crossdock.catalog.listings import link_listing
    from crossdock.sync_engine.engine import context_from_config

    with _open(as_json) as (cfg, db):
        cfg.channel(channel)
        ctx = context_from_config(cfg, db)
        try:
            doc = link_listing(ctx, sku, channel, listing_id)
        finally:
            ctx.connectors.close()
    if as_json:
        emit_json(doc)
        return
    out.print(f"{escape(sku)} on {escape(channel)} linked to listing {escape(str(doc['listing_id']))}"
              + (f" (was {escape(doc['previous'])})" if doc["previous"] and doc["previous"] != doc["listing_id"] else "")
              + f"; the channel shows {doc['quantity']}, queued for the next stock push", highlight=False)
