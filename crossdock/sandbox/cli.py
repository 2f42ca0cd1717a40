"""``crossdock sandbox serve``: the marketplace sandbox as a process."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from typing import Optional

import typer

from crossdock.errors import ConfigError

app = typer.Typer(help="The marketplace sandbox: local Amazon, eBay and Shopify for rehearsals and tests.",
                  no_args_is_help=True)


def parse_fault(spec: str) -> dict:
    """``kind[:platform[:probability[:operation]]]``, e.g. ``html_503:amazon:0.2``."""
    from crossdock.sandbox.core import Fault

    parts = spec.split(":")
    if parts[0] not in Fault.KINDS:
        raise ConfigError("XD-CFG-009", detail=f"--fault {spec!r}: kind must be one of {', '.join(Fault.KINDS)}")
    out: dict = {"kind": parts[0]}
    if len(parts) > 1 and parts[1]:
        out["platform"] = parts[1]
    if len(parts) > 2 and parts[2]:
        try:
            out["probability"] = float(parts[2])
        except ValueError:
            raise ConfigError("XD-CFG-009", detail=f"--fault {spec!r}: probability must be a number") from None
    if len(parts) > 3 and parts[3]:
        out["operation"] = parts[3]
    return out


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(0, "--port", help="Admin port (0 = free port); platforms take the next ports, "
                                               "or free ones when 0."),
    time_scale: float = typer.Option(1.0, "--time-scale", min=0.001, help="Platform seconds per real second."),
    seed: int = typer.Option(1, "--seed"),
    platforms: str = typer.Option("amazon,ebay,shopify", "--platforms"),
    fault: Optional[list[str]] = typer.Option(None, "--fault", help="kind[:platform[:probability[:operation]]]; "
                                                                   "repeatable."),
    buyers: float = typer.Option(0.0, "--buyers", help="Orders per sandbox minute on every channel (0 = off)."),
    as_json: bool = typer.Option(False, "--json", help="First stdout line: the sandbox description as JSON."),
    for_s: float = typer.Option(0.0, "--for", help="Stop after this many real seconds (0 = until Ctrl-C)."),
) -> None:
    """Serve the sandbox until interrupted."""
    from crossdock.output import err
    from crossdock.sandbox.core import BuyerProfile, Fault, Sandbox

    names = tuple(p.strip() for p in platforms.split(",") if p.strip())
    ports = None
    if port:
        ports = {"admin": port, **{n: port + 1 + i for i, n in enumerate(names)}}
    try:
        sb = Sandbox(time_scale=time_scale, seed=seed, host=host, platforms=names, ports=ports)
    except ValueError as exc:
        raise ConfigError("XD-CFG-009", detail=str(exc)) from exc
    for spec in fault or []:
        sb.faults.add(Fault(**parse_fault(spec)))
    try:
        sb.start()
    except OSError as exc:
        raise ConfigError("XD-CFG-009", detail=f"cannot listen on {host}:{port}: {exc}") from exc
    if buyers > 0:
        for ch in sb.all_channels():
            sb.set_buyers(ch, BuyerProfile(orders_per_min=buyers))
        sb.start_buyers()
    desc = sb.describe()
    if as_json:
        sys.stdout.write(json.dumps(desc) + "\n")
        sys.stdout.flush()
    else:
        err.print(f"sandbox admin {desc['admin_url']} (time scale {time_scale}, seed {seed})")
        for n in names:
            err.print(f"  {n}: {desc[n].get('base_url')}")
        err.print("Ctrl-C to stop")
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
