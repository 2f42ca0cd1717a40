"""``crossdock demo`` and ``crossdock sync run|reconcile|status``."""

from __future__ import annotations

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
                      apply: bool = typer.Option(False, "--apply", help="Push the expected quantities."),
                      as_json: bool = typer.Option(False, "--json")) -> None:
        """Read back listed quantities; report drift (SKU, expected, listed); repair with --apply."""
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
                      f"{result['repaired']} repaired")
            for d in result["drift"][:200]:
                out.print(f"  {d['sku']}: expected {d['expected']}, listed {d['listed']}")
        if result["drift"] and not apply:
            raise typer.Exit(EXIT_PARTIAL)

    @sync_app.command("run")
    def run_cmd(channel: Optional[str] = typer.Option(None, "--channel"),
                job: str = typer.Option("orders", "--job", help="orders, stock, shipments or reconcile."),
                as_json: bool = typer.Option(False, "--json")) -> None:
        """Run one job now for one channel (or every channel), in this process."""
        from crossdock.cli import load_config, open_db, state
        from crossdock.output import emit_json, out
        from crossdock.sync_engine import jobs
        from crossdock.sync_engine.engine import context_from_config

        state.json = as_json
        cfg = load_config()
        names = [cfg.channel(channel).name] if channel else sorted(cfg.channels)
        ctx = context_from_config(cfg, open_db(cfg))
        results = {}
        try:
            for name in names:
                if job == "orders":
                    results[name] = jobs.import_orders(ctx, name)
                elif job == "stock":
                    results[name] = jobs.push_stock(ctx, name)
                elif job == "reconcile":
                    results[name] = jobs.reconcile(ctx, name, apply=False)
                elif job == "shipments":
                    results[name] = {"processed": jobs.claim_and_process(
                        ctx, kinds=[jobs.CONFIRM_SHIPMENT], channel=name, limit=100)}
                else:
                    from crossdock.errors import ConfigError

                    raise ConfigError("XD-CFG-009", detail=f"--job {job!r}: orders, stock, shipments or reconcile")
        finally:
            ctx.connectors.close()
        if as_json:
            emit_json(results)
        else:
            for name, r in results.items():
                out.print(f"{name}: {r}")
