"""``crossdock refunds issue|pull|list``: money back to a buyer (issue 18).

``issue`` refunds an order on its channel first and records it only once the
channel took it (:mod:`crossdock.sync_engine.refunds`); ``pull`` reads the
refunds the platforms made (buyer-initiated, customer service) for recent
orders; ``list`` shows an order's total, refunded amount, net and refunds.
"""

from __future__ import annotations

from typing import Optional

import typer

from crossdock.cli.application import JSON_OPT, Application

group = typer.Typer(help="Refunds: issue one on the order's channel, read the platforms' own, list an order's.",
                    no_args_is_help=True)

ORDER_ARG = typer.Argument(..., help="Platform order id, CHANNEL/ID, or crossdock's order number.")


def _print_doc(app: Application, doc: dict) -> None:
    cur = doc["currency"] or ""
    app.out.print(f"{doc['channel']}/{doc['platform_order_id']}: total {doc['total']} {cur}, refunded "
                  f"{doc['refunded']} {cur}, net {doc['net']} {cur}", markup=False, highlight=False)
    for r in doc["refunds"]:
        lines = ", ".join(f"{ln.get('sku') or ln.get('line_id')} x{ln.get('quantity')}" for ln in r["lines"]
                          if ln.get("quantity"))
        app.out.print(f"  {r['refund_id']}  {r['amount']} {r['currency']}  {r['status']}  {r['source']}"
                      f"{'/' + r['actor'] if r['actor'] else ''}  {r['reason'] or ''}{'  ' + lines if lines else ''}",
                      markup=False, highlight=False)


@group.command("issue")
def refunds_issue(
    ctx: typer.Context,
    order: str = ORDER_ARG,
    amount: str = typer.Option(..., "--amount", help="Amount to refund in the order's currency, e.g. 12.50."),
    reason: str = typer.Option(..., "--reason", help="buyer_return, buyer_cancel, not_received, damaged, wrong_item, "
                                                     "price_adjustment or other (mapped to each platform's reasons)."),
    lines: Optional[str] = typer.Option(None, "--lines", help="The order's lines refunded, SKU:QTY,SKU:QTY (units "
                                                              "are recorded; nothing is restocked)."),
    currency: Optional[str] = typer.Option(None, "--currency", help="Refused unless it is the order's currency."),
    note: Optional[str] = typer.Option(None, "--note", help="A note for the buyer or the record."),
    as_json: bool = JSON_OPT,
) -> None:
    """Refund an order on its channel (Shopify refundCreate, eBay issue_refund, Amazon's payment adjustment feed),
    then record it (refunds, the order's net, trace and audit log). Refused with XD-REF codes, nothing changed:
    amount not above zero or above what is left to refund, another currency, unknown lines, the channel's refusal."""
    from crossdock.sync_engine.refunds import issue_refund

    app = Application.of(ctx, json=as_json)
    with app.engine() as engine:
        doc = issue_refund(engine, order, amount, reason.strip().lower(), lines, currency=currency, note=note)
    if as_json:
        app.emit(doc)
        return
    app.out.print(f"refunded on the channel: {doc['refund_id']} ({doc['status']})", markup=False, highlight=False)
    _print_doc(app, doc)


@group.command("pull")
def refunds_pull(
    ctx: typer.Context,
    channel: Optional[str] = typer.Argument(None, help="Only this channel (default: every channel)."),
    order: Optional[str] = typer.Option(None, "--order", help="Only this order."),
    days: int = typer.Option(30, "--days", min=1, help="Orders bought this many days back."),
    as_json: bool = JSON_OPT,
) -> None:
    """Read the refunds the platforms hold for recent orders (made there by buyers or customer service, or issued
    by crossdock) and store the new ones; a refund already stored is never counted twice."""
    from crossdock.sync_engine.refunds import pull_refunds

    app = Application.of(ctx, json=as_json)
    if channel:
        app.config.channel(channel)
    with app.engine() as engine:
        doc = pull_refunds(engine, channel, order=order, days=days)
    if as_json:
        app.emit(doc)
        return
    for name, row in sorted(doc["channels"].items()):
        if not row["readable"]:
            app.out.print(f"{name}: the platform's orders say nothing of refunds (see docs/refunds.md)",
                          markup=False, highlight=False)
            continue
        app.out.print(f"{name}: {row['orders_read']} orders read, {row['new']} new refunds, {row['changed']} changed",
                      markup=False, highlight=False)


@group.command("list")
def refunds_list(ctx: typer.Context, order: str = ORDER_ARG, as_json: bool = JSON_OPT) -> None:
    """An order's total, refunded amount, net and each refund (who, why, status)."""
    from crossdock.sync_engine.refunds import refunds_doc

    app = Application.of(ctx, json=as_json)
    with app.engine() as engine:
        doc = refunds_doc(engine, order)
    if as_json:
        app.emit(doc)
        return
    _print_doc(app, doc)
