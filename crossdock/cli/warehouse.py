"""``crossdock warehouse list|reserve|picklist|ship|reprint|track|flagged|resolve``.

Reserve with routing, pick lists, ship with labels, tracking, and the orders
a person must act on. The work is :mod:`crossdock.warehouse.operations`; here
the options are read and its documents printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.cli.stock import actor, site
from crossdock.output import EXIT_PARTIAL
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="Warehouses: reserve with routing, pick lists, ship with labels, tracking.",
                    no_args_is_help=True)

ORDER_ARG = typer.Argument(..., help="Order: platform id, CHANNEL/ID or local id.")
PRINTER_OPT = typer.Option(None, "--printer", help="Label printer host[:port] (TCP 9100).")
DPI_OPT = typer.Option(None, "--printer-dpi", help="203 or 300.")


@group.command("list")
def warehouse_list(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """Warehouses with their country and bins."""
    from crossdock.warehouse.operations import warehouses_doc

    app = Application.of(ctx, json=as_json)
    rows = warehouses_doc(site(app))
    if as_json:
        app.emit(rows)
        return
    table = Table(title="warehouses")
    for col in ("code", "name", "country", "bins"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(escape(r["code"]), escape(r["name"]), r["country"], escape(", ".join(r["bins"])))
    app.out.print(table)


@group.command("reserve")
def warehouse_reserve(
    ctx: typer.Context,
    order: Optional[str] = typer.Argument(None, help="One order; default every open order."),
    as_json: bool = JSON_OPT,
) -> None:
    """Reserve stock for open orders with the configured routing (after a restock, say)."""
    from crossdock.warehouse.operations import reserve_open_orders

    app = Application.of(ctx, json=as_json)
    rows = reserve_open_orders(site(app), app.config, order, ledger=app.ledger)
    if as_json:
        app.emit(rows)
        return
    for r in rows:
        state = "skipped: " + r["skipped"] if r["skipped"] else ("reserved" if r["fully_reserved"] else "short")
        lines = ", ".join(f"{ln['sku']} x{ln['quantity']} @ {ln['warehouse'] or '-'} ({ln['status']})"
                          for ln in r["lines"])
        app.out.print(f"{escape(r['channel'])}/{escape(r['platform_order_id'])}: {escape(state)}  {escape(lines)}",
                      highlight=False)
    if not rows:
        app.err.print("no open orders")


@group.command("picklist")
def warehouse_picklist(
    ctx: typer.Context,
    warehouse: Optional[str] = typer.Option(None, "--warehouse", "-w", help="Only this warehouse."),
    pdf: Optional[Path] = typer.Option(None, "--pdf", help="Also write the pick list as a PDF file."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="At most this many orders (most urgent)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Batch the orders ready to ship into a pick list per warehouse, sorted by bin."""
    from crossdock.warehouse.operations import picklists_doc

    app = Application.of(ctx, json=as_json)
    doc = picklists_doc(site(app), warehouse=warehouse, limit=limit, pdf=pdf)
    if as_json:
        app.emit(doc)
        return
    if not doc["picklists"]:
        app.err.print("no order is ready to ship" + (f" from {warehouse}" if warehouse else ""))
        return
    for p in doc["picklists"]:
        table = Table(title=f"{p['batch_id']}: {p['order_count']} orders, {p['units']} units")
        for col in ("bin", "sku", "title", "qty", "orders"):
            table.add_column(col, overflow="fold", justify="right" if col == "qty" else "left")
        for r in p["rows"]:
            table.add_row(escape(r["bin"] or "-"), escape(r["sku"]), escape(r["title"][:40]), str(r["quantity"]),
                          escape(", ".join(r["orders"])))
        app.out.print(table)
    if doc["pdf"]:
        app.err.print(f"pick list written to {doc['pdf']}")


@group.command("ship")
def warehouse_ship(
    ctx: typer.Context,
    order: str = ORDER_ARG,
    carrier: Optional[str] = typer.Option(None, "--carrier", help="sandbox, or a manual carrier (dhl, …)."),
    service: Optional[str] = typer.Option(None, "--service", help="standard, express, …"),
    tracking: Optional[str] = typer.Option(None, "--tracking", help="Tracking number (manual carriers)."),
    printer: Optional[str] = PRINTER_OPT,
    printer_dpi: Optional[int] = DPI_OPT,
    labels_dir: Optional[Path] = typer.Option(None, "--labels-dir", help="Folder for label files."),
    lines: Optional[str] = typer.Option(None, "--lines", metavar="SKU:QTY[,SKU:QTY]",
                                        help="Ship only these units in this parcel (a partial shipment); "
                                             "the rest ship later, each parcel with its own tracking."),
    as_json: bool = JSON_OPT,
) -> None:
    """Book the parcel, write the labels (PDF, ZPL 203/300 dpi; CN22/CN23 when
    cross-border), consume the reservation and queue the channel confirmation.
    With --lines, only those units: the order stays partially shipped until
    its other parcels ship."""
    from crossdock.warehouse.operations import ship

    app = Application.of(ctx, json=as_json)
    result = ship(site(app), app.config, order, carrier=carrier, service=service, tracking=tracking, printer=printer,
                  printer_dpi=printer_dpi, labels_dir=labels_dir, ledger=app.ledger, lines=lines)
    out, err = app.out, app.err
    if as_json:
        app.emit(result.to_dict())
    else:
        out.print(f"{escape(result.channel)}/{escape(result.platform_order_id)} shipped from {escape(result.warehouse)}: "
                  f"{escape(result.carrier)} {escape(result.service)} {escape(result.tracking_number)}", highlight=False)
        if result.customs is not None:
            c = result.customs
            out.print(f"  customs {c.form}, {c.total_value.amount} {c.currency}, "
                      f"{c.origin_country} > {c.destination_country}"
                      + (f", IOSS {escape(c.ioss_number)}" if c.ioss_number else ""), highlight=False)
        for kind, path in sorted(result.label_paths.items()):
            out.print(f"  {kind}: {escape(path)}", highlight=False)
        if result.printed_bytes is not None:
            out.print(f"  printed ({result.printed_bytes} bytes)", highlight=False)
    if result.print_error is not None:
        err.print(f"[bold red]{result.print_error['code']}[/] {escape(result.print_error['message'])}",
                  highlight=False)
        err.print(f"  The order is shipped; reprint with: crossdock warehouse reprint {escape(order)} "
                  "--printer HOST:PORT", highlight=False)
        raise typer.Exit(EXIT_PARTIAL)


@group.command("reprint")
def warehouse_reprint(
    ctx: typer.Context,
    order: str = ORDER_ARG,
    printer: Optional[str] = PRINTER_OPT,
    printer_dpi: Optional[int] = DPI_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Send the order's latest label (ZPL) to the printer again."""
    from crossdock.warehouse.operations import reprint_label

    app = Application.of(ctx, json=as_json)
    doc = reprint_label(site(app), app.config, order, printer=printer, printer_dpi=printer_dpi)
    if as_json:
        app.emit(doc)
    else:
        app.out.print(f"sent {doc['bytes']} bytes of {escape(doc['file'])} to {escape(doc['printer'])}",
                      highlight=False)


@group.command("track")
def warehouse_track(
    ctx: typer.Context,
    stale_days: Optional[float] = typer.Option(None, "--stale-days", min=0.01,
                                               help="Flag XD-SHIP-002 after this many silent days."),
    as_json: bool = JSON_OPT,
) -> None:
    """Poll the carriers once for parcels not yet delivered."""
    from crossdock.warehouse.operations import track

    app = Application.of(ctx, json=as_json)
    result = track(site(app), app.config, stale_days=stale_days)
    if as_json:
        app.emit(result.to_dict())
        return
    app.out.print(f"{result.checked} parcel(s) checked, {result.new_events} new event(s), "
                  f"{len(result.delivered)} delivered, {result.skipped} untracked", highlight=False)
    for s in result.stale:
        app.err.print(f"[yellow]XD-SHIP-002[/] {escape(s['carrier'])} {escape(s['tracking_number'])} "
                      f"({escape(s['order'] or '')}): no event for {s['silent_days']} days", highlight=False)
    for f in result.failures:
        app.err.print(f"[red]{f['code']}[/] {escape(f['message'])}", highlight=False)


@group.command("flagged")
def warehouse_flagged(
    ctx: typer.Context,
    channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
    as_json: bool = JSON_OPT,
) -> None:
    """Orders the warehouse must act on: cancelled after they shipped (XD-ORD-007:
    intercept the parcel or expect a return), parcels gone silent (XD-SHIP-002) and
    lines no stock was reserved for (XD-INV-004 SKU not in the catalogue, XD-ORD-004 no SKU)."""
    from crossdock.sync_engine.stuck import flagged_doc

    app = Application.of(ctx, json=as_json)
    rows = flagged_doc(site(app), channel=channel)
    if as_json:
        app.emit(rows)
        return
    if not rows:
        app.err.print("no flagged order")
        return
    out = app.out
    for r in rows:
        out.print(f"[bold]{r['code']}[/] {escape(r['channel'])}/{escape(r['platform_order_id'])}: "
                  f"{escape(r['title'].lower())} — {escape(r['local_status'])} "
                  f"({escape(r['platform_status'])}) since {r['since'][:16].replace('T', ' ')}", highlight=False)
        for p in r["parcels"]:
            out.print(f"  parcel {escape(p['carrier'])} {escape(p['tracking_number'])} from "
                      f"{escape(p['warehouse'] or '-')}: {escape(p['status'])}, "
                      + ("confirmed on the channel" if p["confirmed"] else "not confirmed on the channel"),
                      highlight=False)
        out.print(f"  what to do: {escape(r['remedy'])}", highlight=False)


@group.command("resolve")
def warehouse_resolve(
    ctx: typer.Context,
    order: str = ORDER_ARG,
    note: Optional[str] = typer.Option(None, "--note", help="What was done (parcel intercepted, returned, …)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Clear an order's XD-ORD-007 flag once its parcel was intercepted or came back
    (restock returned goods with `crossdock stock adjust`)."""
    from crossdock.sync_engine.stuck import resolve_cancelled

    app = Application.of(ctx, json=as_json)
    doc = resolve_cancelled(site(app), order, note=note, actor=actor())
    if as_json:
        app.emit(doc)
        return
    where = f"{escape(doc['channel'])}/{escape(doc['platform_order_id'])}"
    if doc["cleared"]:
        app.out.print(f"{where}: {doc['code']} resolved", highlight=False)
    else:
        app.err.print(f"{where} is not flagged {doc['code']}", highlight=False)
