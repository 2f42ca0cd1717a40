"""``crossdock stock adjust|import|show|history|platform-pull``: stock per warehouse, and the stock
the platforms hold themselves (Amazon FBA, its own location per channel).

Every command reads the configuration, opens the database and makes the
configured warehouses and bins exist there first
(:func:`crossdock.warehouse.operations.open_site`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.db.engine import Database
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="Stock per warehouse: receive, adjust with a reason, import, show, history.",
                    no_args_is_help=True)

WAREHOUSE_OPT = typer.Option(None, "--warehouse", "-w", help="Only this warehouse.")


def site(app: Application) -> Database:
    """The database with the configured warehouses in it (shared with ``crossdock warehouse``)."""
    from crossdock.warehouse.operations import open_site

    return open_site(app.db, app.config)


def actor() -> str:
    """Who changes stock from this command line (the audit trail's ``actor``):
    ``crossdock --as NAME``, else the OS user."""
    from crossdock import audit

    return f"cli:{audit.actor()}"[:100]


@group.command("adjust", context_settings={"ignore_unknown_options": True})
def stock_adjust(
    ctx: typer.Context,
    sku: str = typer.Argument(..., help="Catalogue SKU."),
    delta: str = typer.Argument(..., help="Change: +12 received, -2 damaged (0 with --bin: move to a bin)."),
    warehouse: str = typer.Option(..., "--warehouse", "-w", help="Warehouse code."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why: receive, count, damage, return, …"),
    reference: Optional[str] = typer.Option(None, "--reference", help="Delivery note, count sheet, …"),
    bin_code: Optional[str] = typer.Option(None, "--bin", help="Bin the SKU lives in."),
    as_json: bool = JSON_OPT,
) -> None:
    """Receive or adjust stock of one SKU in one warehouse, with a reason (audit trail)."""
    from crossdock.warehouse.operations import adjust_stock

    app = Application.of(ctx, json=as_json)
    result = adjust_stock(site(app), sku, warehouse, delta, reason=reason, reference=reference, bin_code=bin_code,
                          actor=actor(), ledger=app.ledger)
    if as_json:
        app.emit(result.to_dict())
        return
    app.out.print(f"{escape(sku)} @ {escape(warehouse)}: {result.delta:+d} ({escape(result.reason)}) -> on hand "
                  f"{result.on_hand}, reserved {result.reserved}, available {result.available}"
                  + (f", bin {escape(result.bin)}" if result.bin else ""), highlight=False)


@group.command("import")
def stock_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV: sku, warehouse, delta or on_hand, reason, reference, bin."),
    reason: Optional[str] = typer.Option(None, "--reason", "-r", help="Reason for rows without one."),
    as_json: bool = JSON_OPT,
) -> None:
    """Apply a stock file, all or nothing (a bad row is XD-WH-003 and nothing is applied)."""
    from crossdock.warehouse.operations import import_stock

    app = Application.of(ctx, json=as_json)
    result = import_stock(site(app), file, reason=reason, actor=actor(), ledger=app.ledger)
    if as_json:
        app.emit(result.to_dict())
        return
    app.out.print(f"{file}: {len(result.changes)} change(s) applied, {result.unchanged} unchanged", highlight=False)


@group.command("show")
def stock_show(
    ctx: typer.Context,
    sku: Optional[str] = typer.Argument(None, help="Only this SKU."),
    warehouse: Optional[str] = WAREHOUSE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Stock per SKU and warehouse: on hand, reserved, available, bin; and the stock each platform holds
    itself (Amazon FBA) as its own location, never part of what crossdock sells."""
    from crossdock.sync_engine.platform_stock import stock_rows
    from crossdock.warehouse.operations import stock_doc

    app = Application.of(ctx, json=as_json)
    db = site(app)
    doc = stock_doc(db, sku=sku, warehouse=warehouse)
    if warehouse is None:
        with db.read() as s:
            doc["platform"] = stock_rows(s, sku=sku)
    else:
        doc["platform"] = []
    if as_json:
        app.emit(doc)
        return
    rows = doc["levels"]
    if doc["platform"]:
        _print_platform(app, doc["platform"])
    if not rows:
        app.err.print("no stock recorded" + (f" for {sku}" if sku else "") + (" in crossdock's warehouses"
                                                                              if doc["platform"] else ""))
        return
    table = Table(title=f"stock ({len(rows)} rows)")
    for col in ("sku", "title", "warehouse", "bin"):
        table.add_column(col)
    for col in ("on hand", "reserved", "available"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(escape(r["sku"]), escape(r["title"][:40]), escape(r["warehouse"]), escape(r["bin"] or "-"),
                      str(r["on_hand"]), str(r["reserved"]), str(r["available"]))
    app.out.print(table)


@group.command("history")
def stock_history(
    ctx: typer.Context,
    sku: Optional[str] = typer.Argument(None, help="Only this SKU."),
    warehouse: Optional[str] = WAREHOUSE_OPT,
    limit: int = typer.Option(100, "--limit", min=1, max=100000),
    as_json: bool = JSON_OPT,
) -> None:
    """The audit trail: every on-hand change with its reason, newest first."""
    from crossdock.warehouse.operations import history_doc

    app = Application.of(ctx, json=as_json)
    rows = history_doc(site(app), sku=sku, warehouse=warehouse, limit=limit)
    if as_json:
        app.emit(rows)
        return
    table = Table(title=f"stock movements ({len(rows)}, newest first)")
    for col in ("at", "sku", "warehouse", "delta", "reason", "reference", "actor"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row((r["at"] or "")[:19], escape(r["sku"]), escape(r["warehouse"]), f"{r['delta']:+d}",
                      escape(r["reason"]), escape(r["reference"] or ""), escape(r["actor"] or ""))
    app.out.print(table)


def _print_platform(app: Application, rows: list[dict]) -> None:
    table = Table(title=f"held by the platforms ({len(rows)} rows; theirs to sell, not available to crossdock)")
    for col in ("sku", "channel", "platform sku"):
        table.add_column(col)
    for col in ("fulfillable", "inbound", "reserved", "unfulfillable"):
        table.add_column(col, justify="right")
    table.add_column("read at")
    for r in rows:
        table.add_row(escape(r["sku"]), escape(r["channel"]), escape(r["platform_sku"]), str(r["fulfillable"]),
                      str(r["inbound"]), str(r["reserved"]), str(r["unfulfillable"]), (r["read_at"] or "")[:19])
    app.out.print(table)


@group.command("platform-pull")
def stock_platform_pull(
    ctx: typer.Context,
    channel: Optional[str] = typer.Argument(None, help="Only this channel (default: every channel whose "
                                                       "platform holds stock)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Read the stock the platforms hold themselves (Amazon FBA) into its own location per channel."""
    from crossdock.sync_engine.platform_stock import holds_stock, pull_platform_stock

    app = Application.of(ctx, json=as_json)
    cfg = app.config
    app.db                                  # the database answers before channel names are checked
    names = [cfg.channel(channel).name] if channel else [n for n in sorted(cfg.channels) if holds_stock(cfg, n)]
    with app.engine() as engine:
        results = [pull_platform_stock(engine, name) for name in names]
    if as_json:
        app.emit({"channels": results})
        return
    if not results:
        app.err.print("no channel's platform holds stock")
    for r in results:
        app.out.print(f"{escape(r['channel'])}: " + (r["skipped"] if "skipped" in r else
                      f"{r['read']} SKU(s) read, {r['fulfillable']} fulfillable unit(s), {r['new']} new, "
                      f"{r['gone']} gone"), highlight=False)
