"""``crossdock worker``: worker processes consuming from the configured broker."""

from __future__ import annotations

import os
from typing import Optional

import typer

from crossdock.errors import ConfigError


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker(processes: int = typer.Option(2, "--processes", "-p", min=1, help="Worker processes."),
               threads: int = typer.Option(4, "--threads", "-t", min=1, help="Threads per process."),
               queues: Optional[list[str]] = typer.Option(None, "--queue", "-Q", help="Only these queues."),
               ) -> None:
        """Run worker processes against a real broker (redis://… or amqp://…)."""
        from dramatiq import cli as dramatiq_cli

        from crossdock.cli import load_config, state

        cfg = load_config()
        if cfg.broker_url.startswith("stub:"):
            raise ConfigError("XD-CFG-008", detail="`crossdock worker` needs a real broker: set "
                                                   "CROSSDOCK_BROKER_URL=redis://… or amqp://… (stub:// runs "
                                                   "in-process inside each command)")
        if state.config_path:
            os.environ["CROSSDOCK_CONFIG"] = os.path.abspath(state.config_path)
        argv = ["crossdock.worker_boot", "--processes", str(processes), "--threads", str(threads)]
        if queues:
            argv += ["--queues", *queues]
        rc = dramatiq_cli.main(dramatiq_cli.make_argument_parser().parse_args(argv))
        raise typer.Exit(rc or 0)
