"""``crossdock sandbox serve``: the marketplace sandbox as a process."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Optional

import typer

from crossdock.cli.application import Application

group = typer.Typer(help="The marketplace sandbox: local Amazon, eBay and Shopify for rehearsals and tests.",
                    no_args_is_help=True)


@group.command("serve")
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(0, "--port", help="Admin port (0 = free port); platforms take the next ports, "
                                               "or free ones when 0."),
    time_scale: float = typer.Option(1.0, "--time-scale", min=0.001, help="Platform seconds per real second."),
    seed: int = typer.Option(1, "--seed"),
    platforms: str = typer.Option("amazon,ebay,shopify", "--platforms"),
    fault: Optional[list[str]] = typer.Option(None, "--fault", help="kind[:platform[:probability[:operation"
                                                                   "[:delay_s]]]]; repeatable. Event kinds "
                                                                   "(event_drop, event_delay, event_duplicate, "
                                                                   "event_reorder) take the event's topic as "
                                                                   "operation."),
    buyers: float = typer.Option(0.0, "--buyers", help="Orders per sandbox minute on every channel (0 = off)."),
    buyers_after: float = typer.Option(0.0, "--buyers-after", min=0.0,
                                       help="Real seconds before the buyers start (time to set crossdock up)."),
    catalogue: Optional[Path] = typer.Option(None, "--catalogue", help="A crossdock catalogue CSV (sku, title, "
                                                                       "base_price, base_currency): the seller's "
                                                                       "products, already listed on every channel."),
    stock: Optional[Path] = typer.Option(None, "--stock", help="A crossdock stock CSV (sku, on_hand): the "
                                                               "physical stock; every listing shows all of it."),
    as_json: bool = typer.Option(False, "--json", help="First stdout line: the sandbox description as JSON."),
    for_s: float = typer.Option(0.0, "--for", help="Stop after this many real seconds (0 = until Ctrl-C)."),
) -> None:
    """Serve the sandbox until interrupted."""
    from crossdock.sandbox.serving import start_sandbox

    app = Application.of(ctx)
    names = tuple(p.strip() for p in platforms.split(",") if p.strip())
    sb = start_sandbox(host=host, port=port, time_scale=time_scale, seed=seed, platforms=names, faults=fault,
                       buyers=buyers, buyers_after_s=buyers_after, catalogue=catalogue, stock=stock)
    try:
        desc = sb.describe()
        if as_json:
            sys.stdout.write(json.dumps(desc) + "\n")
            sys.stdout.flush()
        else:
            app.err.print(f"sandbox admin {desc['admin_url']} (time scale {time_scale}, seed {seed})")
            for n in names:
                app.err.print(f"  {n}: {desc[n].get('base_url')}")
            app.err.print(f"  sqs: {desc['sqs']['endpoint_url']} (boto3 endpoint_url, region {desc['sqs']['region']})")
            app.err.print("Ctrl-C to stop")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            if for_s > 0:
                stop.wait(for_s)
            else:
                while not stop.wait(1.0):
                    pass
        except KeyboardInterrupt:
            pass
    finally:
        sb.stop()
