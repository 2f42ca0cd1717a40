"""``crossdock demo``: the whole engine on the embedded default, and its summary
as text a person reads (``--json``: the same figures as one JSON document)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from crossdock.cli.application import JSON_OPT, Application
from crossdock.textsafe import markup_escape as escape
from crossdock.textsafe import printable


def demo(ctx: typer.Context,
         skus: int = typer.Option(40, "--skus", min=1, max=100_000),
         minutes: float = typer.Option(30.0, "--minutes", min=0.1, help="Sandbox minutes of buying."),
         time_scale: float = typer.Option(30.0, "--time-scale", min=1.0, help="Sandbox seconds per real second."),
         seed: int = typer.Option(7, "--seed"),
         folder: Path = typer.Option(Path("crossdock-demo"), "--folder", help="Where the demo's database, "
                                                                                "config and labels go."),
         orders_per_min: float = typer.Option(1.5, "--orders-per-min", min=0.0,
                                              help="Orders per sandbox minute on each channel."),
         events: bool = typer.Option(False, "--events", help="The platforms' events on (webhooks, notifications, "
                                                              "queues), polling as well: docs/events.md."),
         drop_events: float = typer.Option(0.0, "--drop-events", min=0.0, max=1.0, metavar="SHARE",
                                           help="With --events: the share of events the sandbox loses."),
         guard: bool = typer.Option(True, "--guard/--no-guard",
                                    help="The oversell guard ([sync] oversell_guard): docs/overselling.md."),
         bundles: int = typer.Option(3, "--bundles", min=0, max=3,
                                     help="Bundles (kits) in the catalogue, made of its SKUs."),
         aliases: bool = typer.Option(True, "--aliases/--no-aliases",
                                      help="SKU aliases: some listings under a legacy SKU or an MSKU suffix."),
         seller_cancels: int = typer.Option(3, "--seller-cancels", min=0,
                                            help="Open orders the seller cancels while buyers buy."),
         seller_returns: int = typer.Option(3, "--seller-returns", min=0,
                                            help="Shipped units returned, received and refunded while buyers buy."),
         as_json: bool = JSON_OPT) -> None:
    """Run everything on the embedded default: sandbox, SQLite, in-process workers.
    Prints a summary; --json prints it as one JSON document."""
    from crossdock.demo import DemoOptions, run_demo

    app = Application.of(ctx, json=as_json)
    opts = DemoOptions(skus=skus, minutes=minutes, time_scale=time_scale, seed=seed, folder=folder,
                       orders_per_min=orders_per_min, events=events, drop_events=drop_events, guard=guard,
                       bundles=bundles, aliases=aliases, seller_cancels=seller_cancels,
                       seller_returns=seller_returns)
    show = app.progress or not as_json
    summary = run_demo(opts, progress=(lambda msg: app.err.print(f"[dim]demo[/] {escape(msg)}")) if show
                       else (lambda m: None))
    if as_json:
        app.emit(summary)
        return
    for line in summary_text(summary):
        app.out.print(printable(line), markup=False, highlight=False)
    app.err.print(f"\nNext: crossdock --config {summary['config']} logs | sync status | logs trace ORDER",
                  markup=False, highlight=False)


def _pct(value: float | None) -> str:
    """A propagation percentile: None when it falls among changes never shown before the run ended."""
    return "beyond the run" if value is None else f"{value} s"


def _by(figures: dict[str, Any]) -> str:
    return ", ".join(f"{name} p50 {_pct(v['p50'])} / p95 {_pct(v['p95'])} (n={v['n']})"
                     for name, v in sorted(figures.items()))


def _kit_lines(s: dict[str, Any]) -> list[str]:
    """Bundles, aliases and the seller's cancellations (issue 18)."""
    lines = []
    kits = s.get("kits")
    if kits:
        lines.append(f"bundles     {kits['bundles']} bundle(s): {kits['bundle_units_sold']} unit(s) sold in "
                     f"{kits['bundle_orders']} order(s), each consuming its components; {kits['aliases']} alias(es): "
                     f"{kits['alias_orders']} order(s) sold under an alias, "
                     f"{kits['alias_orders_resolved']} stored under the catalogue SKU")
    sc = s.get("seller_cancels")
    if sc and (sc["cancelled"] or sc["refused"]):
        refused = ", ".join(f"{n} {code}" for code, n in sc["refused"].items())
        lines.append(f"cancelled   by the seller: {sc['cancelled']} order(s) ({sc['cancelled_on_platform']} cancelled on "
                     f"their channel), {sc['released_units']} unit(s) released"
                     + (f"; refused: {refused}" if refused else ""))
    sr = s.get("seller_returns")
    if sr and (sr["received"] or sr["refused"]):
        refused = ", ".join(f"{n} {code}" for code, n in sr["refused"].items())
        lines.append(f"returns     {sr['received']} received ({sr['on_platform']} returns on their platform too): "
                     f"{sr['restocked_units']} unit(s) back to stock, {sr['written_off_units']} written off; "
                     f"{sr['refunds']} refund(s) issued on their channel"
                     + (f"; refused: {refused}" if refused else ""))
    return lines


def _propagation_line(prop: dict[str, Any], *, measure: str | None = None) -> str:
    """The propagation figure and what it measures (docs/events.md): without the oversell guard
    every other channel's share of what is left; with it (each channel holds a part of its own) no
    other channel showing more than is left in all."""
    what = {"share": "sale to every other channel (its share of what is left)",
            "left": "sale to every other channel showing no more than is left"}[measure or prop.get("measure", "share")]
    if not prop["sales_measured"] and not prop["never_reached"]:
        return (f"propagation {what}: no sale had to reach another channel "
                f"({prop['withdrawn_by_cancel']} withdrawn by a cancel)")
    return (f"propagation {what}, sandbox seconds: p50 {_pct(prop['p50'])}, p95 {_pct(prop['p95'])} "
            f"({prop['sales_measured']} sales measured, {prop['never_reached']} never reached, "
            f"{prop['withdrawn_by_cancel']} withdrawn by a cancel)")


def summary_text(s: dict[str, Any]) -> list[str]:
    """The demo's summary (:func:`crossdock.demo.run_demo`) as lines of text."""
    prop = s["propagation_s"]
    missing = len(s["orders_missing"])
    lines = [
        f"crossdock demo: {s['skus']} SKUs, {s['sandbox_minutes']:g} sandbox minutes at time scale "
        f"{s['time_scale']:g} ({s['wall_s']:g} s real)",
        "",
        f"orders      {s['orders_imported']} of {s['orders_placed']} placed imported"
        + (f" ({missing} missing: {', '.join(list(s['orders_missing'])[:5])})" if missing else ""),
        f"units       {s['units_sold']} sold, {s['units_cancelled']} cancelled, {s['oversold_units']} oversold",
        *_kit_lines(s),
        f"drift       {s['drift_skus']} SKU(s) after the final reconcile "
        f"({s['drift_repaired_at_end']} repaired by it)",
        f"stock       {s['stock_changes']} changes, {s['stock_push_calls']} push requests "
        f"(independent floor, every change within 15 s: {s['push_floor_15s']}; within 60 s: {s['push_floor_60s']})",
        "  per channel " + "; ".join(f"{name} {c['stock_push_calls']} (floor {c['push_floor_15s']}, {c['ratio_15s']}x)"
                                     for name, c in s["stock_push"].items()),
        f"API calls   {', '.join(f'{p} {n}' for p, n in sorted(s['api_calls'].items())) or 'none'}; "
        f"{s['throttled']} throttled",
        f"shipping    {s['shipments_created']} shipments, {s['shipments_confirmed']} confirmed "
        f"({s['shipped_orders_confirmed_once_on_platform']} once on their channel, "
        f"{s['shipped_orders_confirmed_twice_on_platform']} twice), {s['shipments_confirmation_queued']} queued, "
        f"{s['shipments_cancelled_after_ship']} cancelled after shipping; {s['labels_written']} label files",
        _propagation_line(prop),
    ]
    if prop["by_source"]:
        lines.append(f"  by where it sold:  {_by(prop['by_source'])}")
    if prop["by_target"]:
        lines.append(f"  by where it shows: {_by(prop['by_target'])}")
    left = s.get("propagation_left_s")
    if left and prop.get("measure") == "share":
        lines.append("  " + _propagation_line(left, measure="left").replace("propagation ", "", 1))
    over = s.get("over_exposed")
    if over:
        lines.append(f"exposure    oversell guard {'on' if s.get('oversell_guard', True) else 'off'}: channels "
                     f"together showed more than was left {over['episodes']} time(s)"
                     + (f" (lasting p50 {_pct(over['p50_s'])}, p95 {_pct(over['p95_s'])}; {over['unit_s']} "
                        f"unit-seconds, at most {over['max_units']} unit(s) over)" if over["episodes"] else "")
                     + f"; {over['listed_share']:.0%} of the stock left was on sale")
    known = s.get("order_known_s")
    if known:
        lines.append(f"order known sale to stored in crossdock, sandbox seconds: p50 {_pct(known['p50'])}, "
                     f"p95 {_pct(known['p95'])} ({known['orders']} orders, {known['missing']} never stored)")
        lines.append(f"  by where it sold:  {_by(known['by_source'])}")
    ev = s.get("events")
    if ev:
        got = ev["received"]
        lines.append(f"events      on ({ev['drop_probability']:.0%} dropped by the sandbox): "
                     + "; ".join(f"{name} {c['accepted']} accepted, {c['duplicate']} duplicate, {c['refused']} refused"
                                 for name, c in got.items()))
    else:
        lines.append("events      off (polling only; crossdock demo --events turns them on)")
    for refused, n in sorted(s["confirmations_refused"].items()):
        lines.append(f"  {n} confirmation(s) refused with {refused}: crossdock jobs failed")
    lines += ["", f"folder      {s['demo_folder']} (config {s['config']}, labels {s['label_folder']})",
              "The sandbox stopped with the demo; its clock now runs at real speed from where the demo left it."]
    return lines
