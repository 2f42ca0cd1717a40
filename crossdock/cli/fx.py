"""``crossdock fx load|show``: the seller's dated exchange rates."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="Exchange rates: load the seller's dated rate file, show what is stored.",
                    no_args_is_help=True)


@group.command("load")
def fx_load(ctx: typer.Context,
            file: Path = typer.Argument(..., help="Rate file: .csv (date,base,quote,rate[,source]), .toml or .json."),
            as_json: bool = JSON_OPT) -> None:
    """Load a rate file into the database, all or nothing (a bad row is XD-CFG-009)."""
    from crossdock.mapping.fx_store import load_fx_file
    from crossdock.sync_engine.fx_prices import reprice_after_fx

    app = Application.of(ctx, json=as_json)
    cfg, db = app.config, app.db
    doc = load_fx_file(db, file, on_change=reprice_after_fx(cfg.channels))
    if as_json:
        app.emit(doc)
        return
    app.out.print(f"{file}: {doc['rates']} rates stored for {len(doc['pairs'])} pairs ({doc['from']} .. {doc['to']})",
                  highlight=False, markup=False)
    if doc["prices_enqueued"]:
        app.out.print(f"prices will be pushed on {', '.join(doc['prices_enqueued'])} (crossdock worker, or: "
                      "crossdock sync run --job prices)", highlight=False, markup=False)


@group.command("show")
def fx_show(ctx: typer.Context,
            pair: Optional[str] = typer.Option(None, "--pair", help="Only this pair, e.g. EUR/USD."),
            every: bool = typer.Option(False, "--all", help="Every stored rate, not only the newest per pair."),
            as_json: bool = JSON_OPT) -> None:
    """Stored rates: the newest per pair (or --all), with their age in days."""
    from crossdock.mapping.fx_store import fx_rates_doc

    app = Application.of(ctx, json=as_json)
    doc = fx_rates_doc(app.db, pair=pair, every=every)
    if as_json:
        app.emit(doc)
        return
    rows = doc["rates"]
    if not rows:
        app.err.print("no FX rates stored" + (f" for {pair}" if pair else "") + "; load them with: crossdock fx load "
                      "FILE", markup=False, highlight=False)
        return
    table = Table(title=f"FX rates ({len(rows)}{', newest per pair' if not every else ''})")
    for col in ("pair", "rate", "valid on", "age", "source"):
        table.add_column(col, justify="right" if col in ("rate", "age") else "left", no_wrap=col != "source")
    for r in rows:
        table.add_row(f"{r['base']}/{r['quote']}", str(r["rate"]), r["valid_on"], f"{r['age_days']}d",
                      escape(r["source"] or "-"))
    app.out.print(table)
