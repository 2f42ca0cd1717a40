"""``crossdock demo`` and ``crossdock sync run|reconcile|status``."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Optional

import typer

sync_app = typer.Typer(help="The sync engine: run jobs, reconcile channels, see where each channel stands.",
                       no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from crossdock.ops_cli import status_command

    sync_app.command("status")(status_command)
    app.add_typer(sync_app, name="sync")

    @app.command("demo")
    def demo(skus: int = typer.Option(40, "--skus", min=1, max=100_000),
             minutes: float = typer.Option(30.0, "--minutes", min=0.1, help="Sandbox minutes of buying."),
             time_scale: float = typer.Option(30.0, "--time-scale", min=1.0, help="Sandbox seconds per real second."),
             seed: int = typer.Option(7, "--seed"),
             folder: Path = typer.Option(Path("crossdock-demo"), "--folder", help="Where the demo's database, "
                                                                                    "config and labels go."),
             orders_per_min: float = typer.Option(1.5, "--orders-per-min", min=0.0,
                                                  help="Orders per sandbox minute on each channel."),
             as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON document on stdout."),
             ) -> None:
        """Run everything on the embedded default: sandbox, SQLite, in-process workers."""
        from crossdock.cli import state
        from crossdock.demo import DemoOptions, run_demo
        from crossdock.output import emit_json, err, out, progress_enabled

        state.json = as_json
        opts = DemoOptions(skus=skus, minutes=minutes, time_scale=time_scale, seed=seed, folder=folder,
                           orders_per_min=orders_per_min)
        show = progress_enabled() or not as_json
        summary = run_demo(opts, progress=(lambda msg: err.print(f"[dim]demo[/] {msg}")) if show else (lambda m: None))
        if as_json:
            emit_json(summary)
            return
        out.print_json(data=summary)
        err.print(f"\nNext: crossdock --config {summary['config']} logs | sync status | logs trace ORDER")

    @sync_app.command("reconcile")
    def reconcile_cmd(channel: str = typer.Argument(...),
                      apply: bool = typer.Option(False, "--apply", help="Push the expected quantities and prices."),
                      as_json: bool = typer.Option(False, "--json")) -> None:
        """Read back listed quantities and prices; report drift (SKU, expected, listed); repair with --apply."""
        from crossdock.cli import load_config, open_db, state
        from crossdock.output import EXIT_PARTIAL, emit_json, out
        from crossdock.sync_engine.engine import context_from_config
        from crossdock.sync_engine.jobs import reconcile

        state.json = as_json
        cfg = load_config()
        cfg.channel(channel)
        ctx = context_from_config(cfg, open_db(cfg))
        try:
            result = reconcile(ctx, channel, apply=apply)
        finally:
            ctx.connectors.close()
        if as_json:
            emit_json(result)
        else:
            out.print(f"{channel}: {result['checked']} SKUs checked, {len(result['drift'])} drifted, "
                      f"{result['repaired']} repaired", markup=False, highlight=False)
            for d in result["drift"][:200]:
                out.print(f"  {d['sku']}: expected {d['expected']}, listed {d['listed']}", markup=False,
                          highlight=False)
            out.print(f"{channel}: {result['prices_checked']} prices checked, {len(result['price_drift'])} drifted, "
                      f"{result['prices_repaired']} repaired", markup=False, highlight=False)
            for d in result["price_drift"][:200]:
                listed = f"{d['listed']} {d['listed_currency']}" if d["listed"] is not None else "no price"
                out.print(f"  {d['sku']}: price expected {d['expected']} {d['currency']}, listed {listed}",
                          markup=False, highlight=False)
            for p in result["price_problems"][:200]:
                why = p["message"] if p["message"].startswith("[XD-") else f"[{p['code']}] {p['message']}"
                out.print(f"  {p['sku']}: price not computable: {why}", markup=False, highlight=False)
        if (result["drift"] or result["price_drift"]) and not apply:
            raise typer.Exit(EXIT_PARTIAL)

    @sync_app.command("run")
    def run_cmd(channel: Optional[str] = typer.Option(None, "--channel"),
                job: str = typer.Option("orders", "--job", help=", ".join(RUN_JOBS) + "."),
                since: Optional[str] = typer.Option(
                    None, "--since", help="orders only: read again from this time (2h, 30m, 1d or ISO, platform "
                                          "time) up to now; the cursor is not moved."),
                skus: Optional[list[str]] = typer.Option(None, "--sku", metavar="SKU",
                                                         help="prices, listings: only this SKU (repeatable)."),
                as_json: bool = typer.Option(False, "--json")) -> None:
        """Run one job now for one channel (or every channel), in this process.

        ``--job orders`` imports the next window after each channel's cursor; a
        channel read by an earlier channel's import in the same run (Amazon
        marketplaces of one seller share one call) is not read again. With
        ``--since T`` it reads [T, now - safety lag] once instead and leaves the
        cursor where it is (it only moves forward, with the scheduled import).
        ``prices`` pushes changed prices, ``listings`` publishes missing ones;
        both exit 4 when a SKU was refused or its price could not be computed."""
        from crossdock.cli import load_config, open_db, state
        from crossdock.errors import ConfigError
        from crossdock.output import EXIT_PARTIAL, emit_json, out
        from crossdock.sync_engine import catalog_jobs, jobs
        from crossdock.sync_engine.engine import context_from_config

        state.json = as_json
        if job not in RUN_JOBS:
            raise ConfigError("XD-CFG-009", detail=f"--job {job!r}: {', '.join(RUN_JOBS)}")
        if since and job != "orders":
            raise ConfigError("XD-CFG-009", detail=f"--since applies to --job orders, not {job!r}")
        if skus and job not in ("prices", "listings"):
            raise ConfigError("XD-CFG-009", detail=f"--sku applies to --job prices or listings, not {job!r}")
        cfg = load_config()
        names = [cfg.channel(channel).name] if channel else sorted(cfg.channels)
        ctx = context_from_config(cfg, open_db(cfg))
        results: dict[str, dict] = {}
        imported_with: dict[str, str] = {}      # channel -> the channel whose import read it
        partial = False
        try:
            start = since_time(since, now=ctx.clock.now()) if since else None
            for name in names:
                if job == "orders" and start is not None:
                    from crossdock.sync_engine.order_backfill import import_orders_since

                    results[name] = import_orders_since(ctx, name, start)
                elif job == "orders":
                    if name in imported_with:
                        results[name] = {"skipped": f"imported with {imported_with[name]} in this run"}
                        continue
                    results[name] = jobs.import_orders(ctx, name)
                    for member in results[name].get("channels", ()):
                        if member != name:
                            imported_with.setdefault(member, name)
                elif job == "stock":
                    results[name] = jobs.push_stock(ctx, name)
                elif job == "prices":
                    results[name] = catalog_jobs.push_prices(ctx, name, skus=skus or None)
                    partial = partial or bool(results[name]["rejected"] or results[name]["problems"])
                elif job == "listings":
                    results[name] = catalog_jobs.publish_listings(ctx, name, skus=skus or None)
                    partial = partial or bool(results[name]["rejected"])
                elif job == "reconcile":
                    results[name] = jobs.reconcile(ctx, name, apply=False)
                else:  # shipments
                    results[name] = {"processed": jobs.claim_and_process(
                        ctx, kinds=[jobs.CONFIRM_SHIPMENT], channel=name, limit=100)}
        finally:
            ctx.connectors.close()
        if as_json:
            emit_json(results)
        else:
            for name, r in results.items():
                out.print(f"{name}: {r}", markup=False, highlight=False)
        if partial:
            raise typer.Exit(EXIT_PARTIAL)


RUN_JOBS = ("orders", "stock", "prices", "listings", "shipments", "reconcile")
_RELATIVE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")


def since_time(text: str, *, now: dt.datetime) -> dt.datetime:
    """``--since``: ``2h``, ``30m``, ``1d``, ``45s``, ``1w`` before ``now`` (the
    platforms' clock, which a sandbox scales), or an ISO time (UTC if no zone).
    Anything else is XD-CFG-009."""
    m = _RELATIVE.fullmatch(text)
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        return now - dt.timedelta(**{unit: float(m.group(1))})
    from crossdock.cli import parse_since

    return parse_since(text)
