"""``crossdock stock …`` and ``crossdock warehouse …``.

Mounted by :func:`register` (the root CLI calls it): two command groups on the
root app. Every command reads the configuration, opens the database and makes
the configured warehouses and bins exist there first. ``--json`` prints
exactly one JSON document on stdout; errors print their code and remedy and
exit with the code's exit status (the root CLI's ``main`` does that).
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from crossdock.errors import ConfigError
from crossdock.output import EXIT_PARTIAL, emit_json, err, out

log = logging.getLogger(__name__)

stock_app = typer.Typer(help="Stock per warehouse: receive, adjust with a reason, import, show, history.",
                        no_args_is_help=True)
warehouse_app = typer.Typer(help="Warehouses: reserve with routing, pick lists, ship with labels, tracking.",
                            no_args_is_help=True)

_JSON_HELP = "Print exactly one JSON document on stdout."


def register(root: typer.Typer) -> None:
    """Add ``stock`` and ``warehouse`` to the root app."""
    root.add_typer(stock_app, name="stock")
    root.add_typer(warehouse_app, name="warehouse")


# ------------------------------------------------------------------ helpers
def _json_opt() -> Any:
    return typer.Option(False, "--json", help=_JSON_HELP)


def _open(as_json: bool):
    """(config, database) with the configured warehouses synced into the database."""
    from crossdock.cli import load_config, open_db, state
    from crossdock.warehouse.stock import sync_warehouses

    state.json = as_json
    cfg = load_config()
    db = open_db(cfg)
    if cfg.warehouses:
        db.run_write(lambda s: sync_warehouses(s, cfg.warehouses))
    return cfg, db


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:100]
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _carrier_options(cfg: Any) -> dict[str, Any]:
    raw = (cfg.sandbox or {}).get("carrier") or {}
    if not isinstance(raw, dict):
        raise ConfigError("XD-CFG-003", detail="sandbox.carrier must be a table")
    allowed = {"seed", "failure_rate", "stall_rate", "time_scale", "stage_hours", "currency", "max_weight_g"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError("XD-CFG-003", detail=f"sandbox.carrier.{unknown[0]}: unknown key "
                                               f"(known: {', '.join(sorted(allowed))})")
    return dict(raw)


def make_carrier(name: str, cfg: Any, *, clock=_now):
    """The carrier called ``name``: the sandbox (options from ``[sandbox.carrier]``),
    a registered integration, or a manual carrier for every other known name."""
    from crossdock.warehouse.carrier_codes import normalise_carrier_name
    from crossdock.warehouse.carriers import SandboxCarrier, get_carrier

    if normalise_carrier_name(name) == "sandbox":
        try:
            return SandboxCarrier(clock=clock, **_carrier_options(cfg))
        except (TypeError, ValueError) as exc:
            raise ConfigError("XD-CFG-003", detail=f"sandbox.carrier: {exc}") from None
    return get_carrier(name)


# ------------------------------------------------------------------ stock
@stock_app.command("adjust", context_settings={"ignore_unknown_options": True})
def stock_adjust(
    sku: str = typer.Argument(..., help="Catalogue SKU."),
    delta: str = typer.Argument(..., help="Change: +12 received, -2 damaged (0 with --bin: move to a bin)."),
    warehouse: str = typer.Option(..., "--warehouse", "-w", help="Warehouse code."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why: receive, count, damage, return, …"),
    reference: Optional[str] = typer.Option(None, "--reference", help="Delivery note, count sheet, …"),
    bin_code: Optional[str] = typer.Option(None, "--bin", help="Bin the SKU lives in."),
    as_json: bool = _json_opt(),
) -> None:
    """Receive or adjust stock of one SKU in one warehouse, with a reason (audit trail)."""
    from crossdock.warehouse.stock import adjust, parse_delta

    cfg, db = _open(as_json)
    change = parse_delta(delta)
    actor = _actor()
    result = db.run_write(lambda s: adjust(s, sku, warehouse, change, reason=reason, reference=reference,
                                           bin=bin_code, actor=actor))
    if as_json:
        emit_json(result.to_dict())
        return
    out.print(f"{escape(sku)} @ {escape(warehouse)}: {change:+d} ({escape(result.reason)}) -> on hand "
              f"{result.on_hand}, reserved {result.reserved}, available {result.available}"
              + (f", bin {escape(result.bin)}" if result.bin else ""), highlight=False)


@stock_app.command("import")
def stock_import(
    file: Path = typer.Argument(..., help="CSV: sku, warehouse, delta or on_hand, reason, reference, bin."),
    reason: Optional[str] = typer.Option(None, "--reason", "-r", help="Reason for rows without one."),
    as_json: bool = _json_opt(),
) -> None:
    """Apply a stock file, all or nothing (a bad row is XD-WH-003 and nothing is applied)."""
    from crossdock.warehouse.stock import import_stock_rows, parse_stock_rows, read_stock_file

    cfg, db = _open(as_json)
    rows, problems = parse_stock_rows(read_stock_file(file), path=str(file), default_reason=reason)
    actor = _actor()
    result = db.run_write(lambda s: import_stock_rows(s, rows, path=str(file), actor=actor, problems=problems))
    if as_json:
        emit_json(result.to_dict())
        return
    out.print(f"{file}: {len(result.changes)} change(s) applied, {result.unchanged} unchanged", highlight=False)


@stock_app.command("show")
def stock_show(
    sku: Optional[str] = typer.Argument(None, help="Only this SKU."),
    warehouse: Optional[str] = typer.Option(None, "--warehouse", "-w", help="Only this warehouse."),
    as_json: bool = _json_opt(),
) -> None:
    """Stock per SKU and warehouse: on hand, reserved, available, bin."""
    from crossdock.warehouse.stock import stock_view, totals

    cfg, db = _open(as_json)
    with db.read() as s:
        rows = stock_view(s, sku=sku, warehouse=warehouse)
    if as_json:
        emit_json({"levels": [r.to_dict() for r in rows],
                   "totals": [{"sku": k, **v} for k, v in sorted(totals(rows).items())]})
        return
    if not rows:
        err.print("no stock recorded" + (f" for {sku}" if sku else ""))
        return
    table = Table(title=f"stock ({len(rows)} rows)")
    for col in ("sku", "title", "warehouse", "bin"):
        table.add_column(col)
    for col in ("on hand", "reserved", "available"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(escape(r.sku), escape(r.title[:40]), escape(r.warehouse), escape(r.bin or "-"),
                      str(r.on_hand), str(r.reserved), str(r.available))
    out.print(table)


@stock_app.command("history")
def stock_history(
    sku: Optional[str] = typer.Argument(None, help="Only this SKU."),
    warehouse: Optional[str] = typer.Option(None, "--warehouse", "-w", help="Only this warehouse."),
    limit: int = typer.Option(100, "--limit", min=1, max=100000),
    as_json: bool = _json_opt(),
) -> None:
    """The audit trail: every on-hand change with its reason, newest first."""
    from crossdock.warehouse.stock import movement_to_dict, movements

    cfg, db = _open(as_json)
    with db.read() as s:
        rows = [movement_to_dict(m) for m in movements(s, sku=sku, warehouse=warehouse, limit=limit)]
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"stock movements ({len(rows)}, newest first)")
    for col in ("at", "sku", "warehouse", "delta", "reason", "reference", "actor"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row((r["at"] or "")[:19], escape(r["sku"]), escape(r["warehouse"]), f"{r['delta']:+d}",
                      escape(r["reason"]), escape(r["reference"] or ""), escape(r["actor"] or ""))
    out.print(table)


# ------------------------------------------------------------------ warehouse
@warehouse_app.command("list")
def warehouse_list(as_json: bool = _json_opt()) -> None:
    """Warehouses with their country and bins."""
    from sqlalchemy import select

    from crossdock.db.models import Bin, Warehouse

    cfg, db = _open(as_json)
    with db.read() as s:
        bins: dict[str, list[str]] = {}
        for wh, code in s.execute(select(Bin.warehouse, Bin.code).order_by(Bin.warehouse, Bin.code)):
            bins.setdefault(wh, []).append(code)
        rows = [{"code": w.code, "name": w.name, "country": w.country, "bins": bins.get(w.code, [])}
                for w in s.scalars(select(Warehouse).order_by(Warehouse.code))]
    if as_json:
        emit_json(rows)
        return
    table = Table(title="warehouses")
    for col in ("code", "name", "country", "bins"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(escape(r["code"]), escape(r["name"]), r["country"], escape(", ".join(r["bins"])))
    out.print(table)


@warehouse_app.command("reserve")
def warehouse_reserve(
    order: Optional[str] = typer.Argument(None, help="One order; default every open order."),
    as_json: bool = _json_opt(),
) -> None:
    """Reserve stock for open orders with the configured routing (after a restock, say)."""
    from sqlalchemy import select

    from crossdock.db.models import Order, Reservation
    from crossdock.warehouse.picking import READY_STATUSES
    from crossdock.warehouse.shipping import find_order
    from crossdock.warehouse.stock import reserve_routed

    cfg, db = _open(as_json)

    def run(s):
        if order:
            ids = [find_order(s, order).id]
        else:
            ids = list(s.scalars(select(Order.id).where(Order.local_status.in_(READY_STATUSES))))
        results = reserve_routed(s, ids, cfg=cfg)
        refs = {o.id: (o.channel, o.platform_order_id)
                for o in s.scalars(select(Order).where(Order.id.in_(list(results) or [-1])))}
        line_ids = [ln.line_id for r in results.values() for ln in r.lines]
        held = dict(s.execute(select(Reservation.order_line_id, Reservation.warehouse)
                              .where(Reservation.order_line_id.in_(line_ids or [-1]))).all())
        return [{"order_id": oid, "channel": refs[oid][0], "platform_order_id": refs[oid][1],
                 "fully_reserved": r.fully_held and r.skipped_reason is None, "skipped": r.skipped_reason,
                 "lines": [{"sku": ln.sku, "warehouse": ln.warehouse or held.get(ln.line_id),
                            "quantity": ln.quantity, "status": ln.status} for ln in r.lines]}
                for oid, r in sorted(results.items())]

    rows = db.run_write(run)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        state = "skipped: " + r["skipped"] if r["skipped"] else ("reserved" if r["fully_reserved"] else "short")
        lines = ", ".join(f"{ln['sku']} x{ln['quantity']} @ {ln['warehouse'] or '-'} ({ln['status']})"
                          for ln in r["lines"])
        out.print(f"{escape(r['channel'])}/{escape(r['platform_order_id'])}: {state}  {escape(lines)}",
                  highlight=False)
    if not rows:
        err.print("no open orders")


@warehouse_app.command("picklist")
def warehouse_picklist(
    warehouse: Optional[str] = typer.Option(None, "--warehouse", "-w", help="Only this warehouse."),
    pdf: Optional[Path] = typer.Option(None, "--pdf", help="Also write the pick list as a PDF file."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="At most this many orders (most urgent)."),
    as_json: bool = _json_opt(),
) -> None:
    """Batch the orders ready to ship into a pick list per warehouse, sorted by bin."""
    from crossdock.warehouse.picking import build_picklists, write_picklist_pdf
    from crossdock.warehouse.stock import get_warehouse

    cfg, db = _open(as_json)
    with db.read() as s:
        if warehouse:
            get_warehouse(s, warehouse)            # XD-WH-001 for a typo rather than an empty list
        lists = build_picklists(s, now=_now(), warehouse=warehouse, limit=limit)
    written = None
    if pdf is not None and lists:
        if len(lists) > 1:
            raise ConfigError("XD-CFG-009", detail="orders are ready in several warehouses ("
                                                   + ", ".join(p.warehouse for p in lists)
                                                   + "); choose one with --warehouse for the PDF")
        written = str(write_picklist_pdf(lists[0], pdf))
    if as_json:
        emit_json({"picklists": [p.to_dict() for p in lists], "pdf": written})
        return
    if not lists:
        err.print("no order is ready to ship" + (f" from {warehouse}" if warehouse else ""))
        return
    for p in lists:
        table = Table(title=f"{p.batch_id}: {len(p.orders)} orders, {p.units} units")
        for col in ("bin", "sku", "title", "qty", "orders"):
            table.add_column(col, overflow="fold", justify="right" if col == "qty" else "left")
        for r in p.rows:
            table.add_row(escape(r.bin or "-"), escape(r.sku), escape(r.title[:40]), str(r.quantity),
                          escape(", ".join(r.orders)))
        out.print(table)
    if written:
        err.print(f"pick list written to {written}")


@warehouse_app.command("ship")
def warehouse_ship(
    order: str = typer.Argument(..., help="Order: platform id, CHANNEL/ID or local id."),
    carrier: Optional[str] = typer.Option(None, "--carrier", help="sandbox, or a manual carrier (dhl, …)."),
    service: Optional[str] = typer.Option(None, "--service", help="standard, express, …"),
    tracking: Optional[str] = typer.Option(None, "--tracking", help="Tracking number (manual carriers)."),
    printer: Optional[str] = typer.Option(None, "--printer", help="Label printer host[:port] (TCP 9100)."),
    printer_dpi: Optional[int] = typer.Option(None, "--printer-dpi", help="203 or 300."),
    labels_dir: Optional[Path] = typer.Option(None, "--labels-dir", help="Folder for label files."),
    as_json: bool = _json_opt(),
) -> None:
    """Book the parcel, write the labels (PDF, ZPL 203/300 dpi; CN22/CN23 when
    cross-border), consume the reservation and queue the channel confirmation."""
    from crossdock.warehouse.shipping import ShippingOptions, ship_order

    cfg, db = _open(as_json)
    opts = ShippingOptions.from_config(cfg)
    result = ship_order(
        db, order, carrier=make_carrier(carrier or opts.carrier, cfg), service=service or opts.service,
        labels_dir=labels_dir or Path(cfg.labels_dir), printer=printer or opts.printer,
        printer_dpi=printer_dpi, tracking_number=tracking, clock=_now, cfg=cfg, options=opts)
    if as_json:
        emit_json(result.to_dict())
    else:
        out.print(f"{escape(result.channel)}/{escape(result.platform_order_id)} shipped from {result.warehouse}: "
                  f"{escape(result.carrier)} {escape(result.service)} {result.tracking_number}", highlight=False)
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


@warehouse_app.command("reprint")
def warehouse_reprint(
    order: str = typer.Argument(..., help="Order: platform id, CHANNEL/ID or local id."),
    printer: Optional[str] = typer.Option(None, "--printer", help="Label printer host[:port] (TCP 9100)."),
    printer_dpi: Optional[int] = typer.Option(None, "--printer-dpi", help="203 or 300."),
    as_json: bool = _json_opt(),
) -> None:
    """Send the order's latest label (ZPL) to the printer again."""
    from sqlalchemy import select

    from crossdock.db.models import Shipment
    from crossdock.errors import ShippingError
    from crossdock.warehouse.shipping import ShippingOptions, find_order, print_label

    cfg, db = _open(as_json)
    opts = ShippingOptions.from_config(cfg)
    address = printer or opts.printer
    if not address:
        raise ConfigError("XD-CFG-009", detail="no printer: give --printer HOST:PORT or set rules.shipping.printer")
    dpi = printer_dpi or opts.printer_dpi
    with db.read() as s:
        found = find_order(s, order)
        shipment = s.scalar(select(Shipment).where(Shipment.order_id == found.id)
                            .order_by(Shipment.id.desc()).limit(1))
    if shipment is None:
        raise ShippingError("XD-SHIP-003", entity=f"order {order}", detail="the order has no shipment to reprint")
    path = next((p for p in shipment.label_paths or [] if p.endswith(f"-{dpi}dpi.zpl")), None)
    try:
        data = Path(path).read_bytes() if path else None
    except OSError as exc:
        raise ShippingError("XD-SHIP-003", entity=f"tracking {shipment.tracking_number}",
                            detail=f"cannot read {path}: {exc.strerror or exc}") from exc
    if data is None:
        raise ShippingError("XD-SHIP-003", entity=f"tracking {shipment.tracking_number}",
                            detail=f"no {dpi} dpi ZPL label recorded")
    sent = print_label(data, address)
    if as_json:
        emit_json({"tracking_number": shipment.tracking_number, "printer": address, "bytes": sent, "file": path})
    else:
        out.print(f"sent {sent} bytes of {escape(path)} to {escape(address)}", highlight=False)


@warehouse_app.command("track")
def warehouse_track(
    stale_days: Optional[float] = typer.Option(None, "--stale-days", min=0.01,
                                               help="Flag XD-SHIP-002 after this many silent days."),
    as_json: bool = _json_opt(),
) -> None:
    """Poll the carriers once for parcels not yet delivered."""
    from crossdock.warehouse.shipping import ShippingOptions, poll_tracking

    cfg, db = _open(as_json)
    opts = ShippingOptions.from_config(cfg)
    result = poll_tracking(db, lambda name: make_carrier(name, cfg), _now(),
                           max_silence_days=stale_days or opts.stale_after_days)
    if as_json:
        emit_json(result.to_dict())
        return
    out.print(f"{result.checked} parcel(s) checked, {result.new_events} new event(s), "
              f"{len(result.delivered)} delivered, {result.skipped} untracked", highlight=False)
    for s in result.stale:
        err.print(f"[yellow]XD-SHIP-002[/] {escape(s['carrier'])} {s['tracking_number']} ({escape(s['order'] or '')}): "
                  f"no event for {s['silent_days']} days", highlight=False)
    for f in result.failures:
        err.print(f"[red]{f['code']}[/] {escape(f['message'])}", highlight=False)


@warehouse_app.command("flagged")
def warehouse_flagged(
    channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
    as_json: bool = _json_opt(),
) -> None:
    """Orders the warehouse must act on: cancelled after they shipped (XD-ORD-007:
    intercept the parcel or expect a return) and parcels gone silent (XD-SHIP-002)."""
    from crossdock.sync_engine.stuck import flagged_orders

    _cfg, db = _open(as_json)
    with db.read() as s:
        rows = [f.to_dict() for f in flagged_orders(s, channel=channel)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        err.print("no flagged order")
        return
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


@warehouse_app.command("resolve")
def warehouse_resolve(
    order: str = typer.Argument(..., help="Order: platform id, CHANNEL/ID or local id."),
    note: Optional[str] = typer.Option(None, "--note", help="What was done (parcel intercepted, returned, …)."),
    as_json: bool = _json_opt(),
) -> None:
    """Clear an order's XD-ORD-007 flag once its parcel was intercepted or came back
    (restock returned goods with `crossdock stock adjust`)."""
    from crossdock.sync_engine.stuck import CANCELLED_AFTER_SHIP, resolve_flag
    from crossdock.warehouse.shipping import find_order

    _cfg, db = _open(as_json)
    actor = _actor()

    def run(s):
        found = find_order(s, order)
        return found.channel, found.platform_order_id, resolve_flag(s, found.id, CANCELLED_AFTER_SHIP,
                                                                    actor=actor, note=note)

    channel, pid, cleared = db.run_write(run)
    if as_json:
        emit_json({"channel": channel, "platform_order_id": pid, "code": CANCELLED_AFTER_SHIP, "cleared": cleared})
        return
    if cleared:
        out.print(f"{escape(channel)}/{escape(pid)}: {CANCELLED_AFTER_SHIP} resolved", highlight=False)
    else:
        err.print(f"{escape(channel)}/{escape(pid)} is not flagged {CANCELLED_AFTER_SHIP}", highlight=False)


__all__ = ["make_carrier", "register", "stock_app", "warehouse_app"]
