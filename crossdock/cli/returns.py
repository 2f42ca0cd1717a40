"""``crossdock returns open|receive|list|show|pull``: returns (RMAs, issue 18).

A seller opens a return for units of a shipped order (on the channel too where
its platform lets a seller do it), receives it when the parcel comes back —
each unit back to stock or written off — and reads the returns buyers opened
on the platforms (also a scheduled job of ``crossdock worker``). See
docs/returns.md and :mod:`crossdock.sync_engine.returns`.
"""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="Returns (RMAs): open one for units of a shipped order, receive it back to stock or "
                         "written off, list and show them, read the ones buyers opened on the platforms.",
                    no_args_is_help=True)


def _units(units: dict[str, int]) -> str:
    return ", ".join(f"{sku} x{n}" for sku, n in sorted(units.items())) or "nothing"


@group.command("open")
def returns_open(
    ctx: typer.Context,
    order: str = typer.Argument(..., help="Platform order id, CHANNEL/ID, or crossdock's order number."),
    lines: str = typer.Option(..., "--lines", help="SKU:QTY[,SKU:QTY]: the units coming back."),
    reason: str = typer.Option(..., "--reason", help="damaged, defective, not_as_described, wrong_item, unwanted, "
                                                     "size_fit or other (mapped to each platform's own)."),
    note: Optional[str] = typer.Option(None, "--note", help="Free text kept with the return."),
    as_json: bool = JSON_OPT,
) -> None:
    """Open a return (RMA) for units of a shipped order: on the channel too where its platform lets a seller
    (Shopify), crossdock's alone elsewhere. Refused (XD-RMA-001..003, 006; nothing changed) for lines the order
    does not have, more units than shipped and not yet returned, an unknown reason, or a platform refusal."""
    from crossdock.sync_engine.returns import open_return

    app = Application.of(ctx, json=as_json)
    with app.engine() as engine:
        doc = open_return(engine, order, lines, reason.strip().lower(), note=note)
    if as_json:
        app.emit(doc)
        return
    on = f" (on {doc['channel']}: {doc['platform_return_id']})" if doc["platform_return_id"] else ""
    app.out.print(f"{doc['rma']} opened for {doc['channel']}/{doc['platform_order_id']}: {_units(doc['lines'])} "
                  f"({doc['reason']}){on}", markup=False, highlight=False)


def _write_off(text: Optional[str]) -> dict[str, int] | None:
    """``--write-off-lines SKU:QTY,…`` → {sku: qty}."""
    if not text:
        return None
    from crossdock.sync_engine.returns import parse_lines

    return dict(parse_lines(text, code="XD-RMA-007"))


@group.command("receive")
def returns_receive(
    ctx: typer.Context,
    rma: str = typer.Argument(..., help="The RMA (RMA-000042) as `returns list` shows it."),
    restock: bool = typer.Option(False, "--restock", help="The units go back to stock (available to sell)."),
    write_off: bool = typer.Option(False, "--write-off", help="The units are written off (not sellable)."),
    write_off_lines: Optional[str] = typer.Option(
        None, "--write-off-lines", help="With --restock: these units are written off, the rest restocked "
                                        "(SKU:QTY, comma-separated)."),
    warehouse: Optional[str] = typer.Option(None, "--warehouse", "-w",
                                            help="Restock into this warehouse (default: where they shipped from)."),
    note: Optional[str] = typer.Option(None, "--note", help="What was found in the parcel."),
    as_json: bool = JSON_OPT,
) -> None:
    """Receive a return: restocked units go back on hand (a stock movement with reason `return`, the stock push
    follows), written-off ones do not; the platform is told where it can be; the order turns returned or
    partially returned. Refused (XD-RMA-004/005/007) for an unknown or already received return or an unclear
    choice."""
    from crossdock.errors import ReturnError
    from crossdock.sync_engine.returns import receive_return

    app = Application.of(ctx, json=as_json)
    if restock == write_off:
        raise ReturnError("XD-RMA-007", entity=f"return {rma}",
                          detail="give exactly one of --restock or --write-off")
    if write_off and write_off_lines:
        raise ReturnError("XD-RMA-007", entity=f"return {rma}", detail="--write-off-lines goes with --restock")
    with app.engine() as engine:
        doc = receive_return(engine, rma, restock=restock, write_off=_write_off(write_off_lines),
                             warehouse=warehouse, note=note)
    if as_json:
        app.emit(doc)
        return
    app.out.print(f"{doc['rma']} received: restocked {_units(doc['restocked'])}; written off "
                  f"{_units(doc['written_off'])}; order {doc['platform_order_id']} {doc['order_status']}; "
                  f"stock push queued for {', '.join(doc['marked_skus']) or 'no SKU'}", markup=False,
                  highlight=False)


@group.command("list")
def returns_list(
    ctx: typer.Context,
    channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
    status: Optional[str] = typer.Option(None, "--status", help="open, received or closed."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = JSON_OPT,
) -> None:
    """The returns (RMAs), newest first: order, origin, reason, status, units."""
    from crossdock.errors import ConfigError
    from crossdock.sync_engine.returns_view import list_returns

    app = Application.of(ctx, json=as_json)
    if channel:
        app.config.channel(channel)
    if status and status not in ("open", "received", "closed"):
        raise ConfigError("XD-CFG-009", detail=f"--status {status!r}: open, received or closed")
    with app.db.read() as s:
        rows = list_returns(s, channel=channel, status=status, limit=limit)
    if as_json:
        app.emit(rows)
        return
    if not rows:
        app.err.print("no returns")
        return
    table = Table(title=f"returns ({len(rows)})")
    for col in ("rma", "channel", "order", "origin", "reason", "status", "units", "opened"):
        table.add_column(col, no_wrap=col in ("rma", "order"))
    for r in rows:
        table.add_row(r["rma"], escape(r["channel"]), escape(r["platform_order_id"]), r["origin"], r["reason"],
                      r["status"], escape(_units(r["units"])), (r["opened_at"] or "")[:19])
    app.out.print(table)


@group.command("show")
def returns_show(
    ctx: typer.Context,
    rma: str = typer.Argument(..., help="The RMA (RMA-000042)."),
    as_json: bool = JSON_OPT,
) -> None:
    """One return with its lines, what became of each unit, who opened and received it."""
    from crossdock.sync_engine.returns_view import return_doc

    app = Application.of(ctx, json=as_json)
    with app.db.read() as s:
        doc = return_doc(s, rma)
    if as_json:
        app.emit(doc)
        return
    app.out.print(f"{doc['rma']}  {doc['channel']}/{doc['platform_order_id']}  {doc['status']}  ({doc['origin']}, "
                  f"{doc['reason']})" + (f"  platform return {doc['platform_return_id']} {doc['platform_status']}"
                                         if doc["platform_return_id"] else ""), markup=False, highlight=False)
    app.out.print(f"opened {doc['opened_at']} by {doc['opened_by']}"
                  + (f"; received {doc['received_at']} by {doc['received_by']}" if doc["received_at"] else ""),
                  markup=False, highlight=False)
    for ln in doc["lines"]:
        app.out.print(f"  {ln['sku']} x{ln['quantity']}  " + (ln["disposition"] or "expected")
                      + (f" into {ln['warehouse']}" if ln["warehouse"] else ""), markup=False, highlight=False)


@group.command("pull")
def returns_pull(
    ctx: typer.Context,
    channel: Optional[str] = typer.Argument(None, help="Only this channel (default: every channel whose "
                                                       "platform gives returns)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Read the returns buyers opened on the platforms into RMAs (idempotent: a return already held is only
    updated). The worker does this on [channels.NAME.intervals_s] returns."""
    from crossdock.sync_engine.returns_pull import pull_returns, reads_returns

    app = Application.of(ctx, json=as_json)
    cfg = app.config
    app.db
    names = [cfg.channel(channel).name] if channel else [n for n in sorted(cfg.channels) if reads_returns(cfg, n)]
    with app.engine() as engine:
        results = [pull_returns(engine, name) for name in names]
    if as_json:
        app.emit({"channels": results})
        return
    if not results:
        app.err.print("no channel's platform gives returns")
    for r in results:
        app.out.print(f"{escape(r['channel'])}: " + (r["skipped"] if isinstance(r["skipped"], str) else
                      f"{r['read']} read, {len(r['new'])} new ({', '.join(r['new']) or '-'}), {len(r['changed'])} "
                      f"changed, {len(r['skipped'])} of orders not imported"), highlight=False)
