"""``crossdock orders quarantine|retry-quarantined``: the orders an import set aside;
``crossdock orders cancel``: the seller cancels an order on its channel.

An order the import could not store (or its connector could not read) is
quarantined with XD-ORD-008 and the import goes on
(:mod:`crossdock.sync_engine.quarantine`). Here a person lists them with the
reason and stores them again once the cause is gone.
"""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.output import EXIT_PARTIAL
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="Orders: the ones an import set aside (quarantine), storing them again, and "
                         "cancelling one on its channel.",
                    no_args_is_help=True)

CHANNEL_OPT = typer.Option(None, "--channel", help="Only this channel.")


@group.command("quarantine")
def orders_quarantine(ctx: typer.Context, channel: Optional[str] = CHANNEL_OPT, as_json: bool = JSON_OPT) -> None:
    """Orders an import could not store (XD-ORD-008), with why and the payload the platform sent (--json)."""
    from crossdock.sync_engine.quarantine import quarantine_doc

    app = Application.of(ctx, json=as_json)
    if channel:
        app.config.channel(channel)
    rows = quarantine_doc(app.db, channel=channel)
    if as_json:
        app.emit(rows)
        return
    if not rows:
        app.err.print("no quarantined order")
        return
    table = Table(title="quarantined orders (XD-ORD-008)")
    for col in ("channel", "order", "since", "tries", "cause", "reason"):
        table.add_column(col, overflow="fold", no_wrap=col in ("since", "tries"))
    for r in rows:
        table.add_row(escape(r["channel"]), escape(r["platform_order_id"] or "-"),
                      r["first_seen_at"][:16].replace("T", " "), str(r["attempts"]), r["cause_code"] or "-",
                      escape(r["error"][:300]))
    app.out.print(table)
    app.err.print(f"what to do: {escape(rows[0]['remedy'])}", highlight=False)


@group.command("retry-quarantined")
def orders_retry_quarantined(ctx: typer.Context, channel: Optional[str] = CHANNEL_OPT,
                             as_json: bool = JSON_OPT) -> None:
    """Store quarantined orders again from their payloads, read with the channel's configuration as
    it is now (e.g. after a new status was added to its order_status_overrides, or an upgrade).
    Exit 4 when some stay quarantined."""
    from crossdock.sync_engine.quarantine import retry_quarantined

    app = Application.of(ctx, json=as_json)
    if channel:
        app.config.channel(channel)
    with app.engine() as engine:
        doc = retry_quarantined(engine, channel=channel)
    if as_json:
        app.emit(doc)
    else:
        app.out.print(f"{doc['tried']} tried, {doc['stored']} stored, {doc['still_quarantined']} still quarantined",
                      markup=False, highlight=False)
        for o in doc["orders"]:
            if o["outcome"] != "stored":
                app.err.print(f"{escape(o['channel'])}/{escape(o['platform_order_id'] or '-')}: "
                              f"{o['cause_code'] or 'XD-ORD-008'} {escape(o['error'][:300])}", highlight=False)
    if doc["still_quarantined"]:
        raise typer.Exit(EXIT_PARTIAL)


@group.command("cancel")
def orders_cancel(
    ctx: typer.Context,
    order: str = typer.Argument(..., help="Platform order id, CHANNEL/ID, or crossdock's order number."),
    reason: str = typer.Option(..., "--reason",
                               help="out_of_stock, buyer_asked, address_issue or other (mapped to each "
                                    "platform's own reasons)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Cancel an order on its channel as the seller, then release its reservation (the stock push
    follows), mark it cancelled, and record it (trace and audit log). Refused (XD-ORD-012, nothing
    changed) when the channel no longer allows it: shipped, partly shipped, already cancelled."""
    from crossdock.sync_engine.seller_cancel import cancel_order

    app = Application.of(ctx, json=as_json)
    with app.engine() as engine:
        doc = cancel_order(engine, order, reason.strip().lower())
    if as_json:
        app.emit(doc)
        return
    released = ", ".join(f"{sku} x{n}" for sku, n in sorted(doc["released"].items())) or "nothing reserved"
    app.out.print(f"{doc['channel']}/{doc['platform_order_id']} cancelled on the channel ({doc['reason']}); "
                  f"released {released}; stock push queued for {', '.join(doc['marked_skus']) or 'no SKU'}",
                  markup=False, highlight=False)

