"""``crossdock sandbox serve``: the marketplace sandbox as a process."""

from __future__ import annotations

import csv
import json
import signal
import sys
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path
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


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError("XD-CFG-009", detail=f"{path}: {exc}") from exc


def seed_listed_catalogue(sb, catalogue: Path, stock: Path | None) -> int:
    """A seller who already sells: every product of ``catalogue`` is a sandbox
    product with the physical stock ``stock`` gives it (summed over
    warehouses; 0 without), listed on every channel at that whole quantity —
    more than crossdock's rules will allow, as listings made by hand usually
    are. Reads the CSV files crossdock itself imports (a few columns of them)."""
    from crossdock.sandbox.core import CatalogueItem

    physical: dict[str, int] = {}
    for i, row in enumerate(_rows(stock) if stock else [], start=2):
        try:
            physical[row["sku"]] = physical.get(row["sku"], 0) + int(row.get("on_hand") or 0)
        except (KeyError, ValueError) as exc:
            raise ConfigError("XD-CFG-009", detail=f"{stock}, line {i}: needs sku and a whole on_hand") from exc
    items = []
    for i, row in enumerate(_rows(catalogue), start=2):
        try:
            items.append(CatalogueItem(sku=row["sku"], title=row.get("title") or row["sku"],
                                       price=Decimal(row.get("base_price") or "10.00"),
                                       currency=row.get("base_currency") or "EUR",
                                       physical_stock=physical.get(row["sku"], 0)))
        except (KeyError, InvalidOperation) as exc:
            raise ConfigError("XD-CFG-009", detail=f"{catalogue}, line {i}: needs sku and a numeric base_price") from exc
    for item in items:
        sb.market.seed_item(item)
    for channel, sim in sb.all_channels().items():
        for item in items:
            sim.set_listing(channel, item.sku, item.physical_stock, item.price)
    return len(items)


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
    if catalogue is not None:
        seed_listed_catalogue(sb, catalogue, stock)
    if buyers > 0:
        for ch in sb.all_channels():
            sb.set_buyers(ch, BuyerProfile(orders_per_min=buyers))
        if buyers_after > 0:
            starter = threading.Timer(buyers_after, sb.start_buyers)
            starter.daemon = True
            starter.start()
        else:
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
