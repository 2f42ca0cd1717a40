"""``crossdock catalog import|export|show|list|alias|bundle``: the catalogue.

The commands read options, call the domain functions of
:mod:`crossdock.catalog` and print the document they return: a rich table
(platform and catalogue text escaped), or with ``--json`` exactly one JSON
document on stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.cli.catalog_kits import alias_group, bundle_group
from crossdock.errors import ConfigError
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="The catalogue: import and export products (CSV or JSON), show one, list them; "
                          "SKU aliases and bundles.",
                    no_args_is_help=True)

_FORMATS = ("csv", "json")


def _format(fmt: Optional[str]) -> Optional[str]:
    if fmt is None:
        return None
    if fmt.lower() not in _FORMATS:
        raise ConfigError("XD-CFG-009", detail=f"--format {fmt!r}: csv or json")
    return fmt.lower()


def listings_table(rows: list[dict[str, Any]], title: str) -> Table:
    """Links between catalogue SKUs and channel listings (also ``crossdock listings list``)."""
    table = Table(title=title)
    for col in ("channel", "sku", "listing id", "kind", "status", "pushed qty", "seen qty", "seen at"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(escape(r["channel"]), escape(r["sku"]), escape(r["listing_id"] or "-"), escape(r["kind"] or ""),
                      escape(r["status"]), "-" if r["last_pushed_qty"] is None else str(r["last_pushed_qty"]),
                      "-" if r["listed_qty_seen"] is None else str(r["listed_qty_seen"]), (r["seen_at"] or "")[:19])
    return table


@group.command("import")
def catalog_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV with a header (sku, title, description, category, brand, "
                                          "attributes, images, weight_g, hs_code, country_of_origin, base_price, "
                                          "base_currency, safety_stock; only sku and title required) or a JSON "
                                          "array of objects with those keys."),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv or json (default: from the extension or "
                                                             "the content)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Create or update products from a CSV or JSON file, all or nothing (XD-INV-008 lists every bad row)."""
    from crossdock.catalog.importer import import_catalog

    app = Application.of(ctx, json=as_json)
    kind = _format(fmt)
    doc = app.db.run_write(lambda s: import_catalog(s, file, fmt=kind)).to_dict()
    if as_json:
        app.emit(doc)
        return
    out = app.out
    out.print(f"{escape(str(file))}: {doc['rows']} rows, {doc['created']} created, {doc['updated']} updated, "
              f"{doc['unchanged']} unchanged", highlight=False)
    if doc["columns_changed"]:
        out.print("  changed: " + ", ".join(f"{c} {n}" for c, n in doc["columns_changed"].items()), highlight=False)
    if doc["stock_marked"]:
        out.print(f"  stock pushes queued for {doc['stock_marked']} (channel, SKU) listings", highlight=False)
    for p in doc["price_pushes"]:
        what = "every listing" if p["skus"] is None else f"{p['skus']} SKU(s)"
        out.print(f"  price push queued on {escape(p['channel'])} for {what}", highlight=False)


@group.command("export")
def catalog_export(
    ctx: typer.Context,
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="Write to this file (default: stdout)."),
) -> None:
    """Every product, in the columns `catalog import` reads (importing it changes nothing)."""
    from crossdock.catalog.export import export_catalog, export_catalog_file

    app = Application.of(ctx)
    kind = _format(fmt) or "csv"
    db = app.db
    if out_file is None:
        with db.read() as s:
            export_catalog(s, sys.stdout, fmt=kind)
        sys.stdout.flush()
        return
    n = export_catalog_file(db, out_file, fmt=kind)
    app.err.print(f"{n} products written to {escape(str(out_file))}", highlight=False)


@group.command("show")
def catalog_show(ctx: typer.Context, sku: str = typer.Argument(..., help="Catalogue SKU."),
                 as_json: bool = JSON_OPT) -> None:
    """One product: its columns, stock per warehouse and listing per channel."""
    from crossdock.catalog.export import show_product

    app = Application.of(ctx, json=as_json)
    with app.db.read() as s:
        doc = show_product(s, sku)
    if as_json:
        app.emit(doc)
        return
    out = app.out
    p = doc["product"]
    out.print(f"[bold]{escape(p['sku'])}[/]  {escape(p['title'])}", highlight=False)
    for key in ("brand", "category", "base_price", "base_currency", "safety_stock", "weight_g", "hs_code",
                "country_of_origin"):
        if p[key] not in (None, ""):
            out.print(f"  {key}: {escape(str(p[key]))}", highlight=False)
    if p["attributes"]:
        out.print(f"  attributes: {escape(str(p['attributes']))}", highlight=False)
    if p["aliases"]:
        out.print(f"  aliases: {escape(', '.join(p['aliases']))}", highlight=False)
    if p["bundle"]:
        out.print("  bundle of: " + escape(" + ".join(f"{q} × {c}" for c, q in sorted(p["bundle"].items()))),
                  highlight=False)
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
        out.print(listings_table(doc["listings"], "listings"))
    else:
        out.print("  not linked to any channel", highlight=False)


@group.command("list")
def catalog_list(
    ctx: typer.Context,
    limit: int = typer.Option(100, "--limit", min=1, max=100_000, help="At most this many products."),
    after: Optional[str] = typer.Option(None, "--after", help="Start after this SKU (the next page)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Products in SKU order with stock totals and the channels listing them."""
    from crossdock.catalog.export import list_products

    app = Application.of(ctx, json=as_json)
    with app.db.read() as s:
        doc = list_products(s, limit=limit, after=after)
    if as_json:
        app.emit(doc)
        return
    table = Table(title=f"catalogue ({doc['shown']} of {doc['total']})")
    for col in ("sku", "title", "brand", "price", "safety", "on hand", "reserved", "channels"):
        table.add_column(col, justify="right" if col in ("price", "safety", "on hand", "reserved") else "left")
    for p in doc["products"]:
        price = f"{p['base_price']} {p['base_currency'] or ''}".strip() if p["base_price"] else "-"
        table.add_row(escape(p["sku"]), escape(p["title"][:50]), escape(p["brand"] or ""), escape(price),
                      str(p["safety_stock"]), str(p["on_hand"]), str(p["reserved"]), escape(", ".join(p["channels"])))
    app.out.print(table)
    if doc["next_after"]:
        app.err.print(f"more: crossdock catalog list --after {escape(doc['next_after'])}", highlight=False)


group.add_typer(alias_group, name="alias")
group.add_typer(bundle_group, name="bundle")
