"""``crossdock erase buyer``: remove a buyer's personal data (recorded in the audit log)."""

from __future__ import annotations

import typer

from crossdock.cli.application import JSON_OPT, Application

group = typer.Typer(help="Erase personal data on request (GDPR, platform deletion notices).", no_args_is_help=True)


@group.command("buyer")
def erase_buyer_cmd(ctx: typer.Context,
                    channel: str = typer.Option(..., "--channel", help="The channel the buyer ordered on."),
                    buyer: str = typer.Option(..., "--buyer", help="The buyer: a platform order id of theirs, or "
                                                                    "their name, e-mail or buyer id as the platform "
                                                                    "gave it."),
                    as_json: bool = JSON_OPT) -> None:
    """Mask a buyer's name, address, phone and e-mail in orders, delete their label files; amounts and SKUs stay."""
    from crossdock.erasure import erase_buyer

    app = Application.of(ctx, json=as_json)
    doc = erase_buyer(app.db, channel=channel, buyer=buyer)
    if as_json:
        app.emit(doc)
        return
    app.out.print(f"{channel}: buyer data erased from {len(doc['orders'])} order(s) "
                  f"({', '.join(doc['orders'])}); {doc['label_files_deleted']} label file(s) deleted; "
                  f"audit record {doc['audit_id']}", highlight=False, markup=False)
