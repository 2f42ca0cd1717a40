"""``crossdock worker``: the whole engine, continuously, in this process.

One process runs the actors on ``--threads`` worker threads, the scheduler,
the outbox relay and housekeeping (:class:`crossdock.sync_engine.runtime.EngineRuntime`).
Start as many as you like, on as many machines, against one database and one
broker (``redis://`` or ``amqp://``); with the embedded default (SQLite,
``stub://``) one worker process runs everything. ``--processes N`` starts N
such processes from one command (one per core) and stops them together: that
supervisor stays here, because what it starts is this command.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from typing import Optional

import typer

from crossdock.cli.application import Application
from crossdock.output import EXIT_OK

log = logging.getLogger("crossdock.workers")      # the name its log lines have always carried


def worker(ctx: typer.Context,
           threads: int = typer.Option(4, "--threads", "-t", min=1, max=256, help="Worker threads."),
           processes: int = typer.Option(1, "--processes", "-p", min=1, max=64,
                                         help="Worker processes started by this command."),
           queues: Optional[list[str]] = typer.Option(None, "--queue", "-Q", help="Only consume these broker queues: crossdock (jobs; with it crossdock-fast, events' reads), crossdock-push (stock pushes); a worker group without crossdock-push pushes no stock."),
           metrics_served: bool = typer.Option(False, "--metrics-served", hidden=True,
                                               help="Started by --processes: the supervisor serves "
                                                    "the [worker] prometheus metrics."),
           ) -> None:
    """Run the engine continuously: import orders, push stock, prices and shipments on their
    schedules, hand back the work of dead workers. Stops cleanly on SIGTERM or Ctrl-C.
    With ``[worker] prometheus = true`` Dramatiq's message metrics of every process
    are served on ``[worker] prometheus_host:prometheus_port``."""
    app = Application.of(ctx)
    cfg = app.config
    from crossdock.metrics.worker import WorkerPrometheus

    prometheus = WorkerPrometheus.from_config(cfg)
    server = None
    if prometheus is not None:
        prometheus.prepare()              # before any metric is made, in this process and the ones it starts
        if not metrics_served:
            prometheus.reset()
            server = prometheus.serve()
            app.out.print(f"worker metrics: http://{prometheus.host}:{prometheus.port}/metrics",
                          markup=False, highlight=False, soft_wrap=True)
    try:
        if processes > 1:
            raise typer.Exit(_supervise(processes, threads, queues, app.config_path,
                                        metrics_served=prometheus is not None))
        _run(app, threads, queues, middleware=(prometheus.middleware(),) if prometheus else ())
    finally:
        if server is not None:
            server.shutdown()


def _run(app: Application, threads: int, queues: list[str] | None, *, middleware: tuple[object, ...]) -> None:
    from crossdock.events.queue_consumer import start_consumers
    from crossdock.sync_engine.runtime import EngineRuntime

    out = app.out
    runtime = EngineRuntime(app.config, threads=threads, queues=set(queues) if queues else None,
                            on_status=lambda line: out.print(line, markup=False, highlight=False, soft_wrap=True),
                            middleware=middleware,
                            # events from message queues (SP-API notifications): a thread per queue
                            companions=lambda cfg, db, stop: list(start_consumers(cfg, db, stop=stop)))

    def stop(signum: int, frame: object) -> None:
        if runtime.stopping:
            return
        log.warning("%s received: finishing running jobs (up to %.0f s), then stopping",
                    signal.Signals(signum).name, runtime.stop_timeout_s)
        runtime.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        runtime.start()
    except KeyboardInterrupt:      # stopped while waiting for the database
        out.print("crossdock worker: stopped before the database answered", markup=False, highlight=False)
        raise typer.Exit(EXIT_OK) from None
    handed = runtime.run_until_stopped()
    out.print(f"crossdock worker {runtime.id}: stopped; {handed['jobs']} running job(s) and "
              f"{handed['skus']} claimed SKU(s) handed back", markup=False, highlight=False)
    raise typer.Exit(EXIT_OK)


def _supervise(processes: int, threads: int, queues: list[str] | None, config_path: str | None, *,
               metrics_served: bool = False) -> int:
    """Start ``processes`` single-process workers and stop them together
    (``metrics_served``: this process serves their Prometheus metrics)."""
    argv = [sys.executable, "-m", "crossdock"]
    if config_path:
        argv += ["--config", os.path.abspath(config_path)]
    argv += ["worker", "--threads", str(threads)]
    if metrics_served:
        argv.append("--metrics-served")
    for q in queues or []:
        argv += ["--queue", q]
    children = [subprocess.Popen(argv) for _ in range(processes)]

    def forward(signum: int, frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while any(c.poll() is None for c in children):
        time.sleep(0.5)
    return max(c.returncode or 0 for c in children)
