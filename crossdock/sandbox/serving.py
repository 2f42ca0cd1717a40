"""The sandbox as ``crossdock sandbox serve`` runs it: faults from their
command-line spelling, a seller's catalogue already listed on every channel,
buyers that start after a delay.
"""

from __future__ import annotations

import csv
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path

from crossdock.errors import ConfigError

__all__ = ["parse_fault", "seed_listed_catalogue", "start_sandbox"]


def parse_fault(spec: str) -> dict:
    """``kind[:platform[:probability[:operation[:delay_s]]]]``, e.g. ``html_503:amazon:0.2``,
    ``event_drop:amazon:0.2:ORDER_CHANGE``, ``event_delay:shopify:1:*:20``."""
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
    if len(parts) > 4 and parts[4]:
        try:
            out["delay_s"] = float(parts[4])
        except ValueError:
            raise ConfigError("XD-CFG-009", detail=f"--fault {spec!r}: delay_s must be a number") from None
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


def start_sandbox(*, host: str = "127.0.0.1", port: int = 0, time_scale: float = 1.0, seed: int = 1,
                  platforms: tuple[str, ...] = ("amazon", "ebay", "shopify"), faults: list[str] | None = None,
                  buyers: float = 0.0, buyers_after_s: float = 0.0, catalogue: Path | None = None,
                  stock: Path | None = None):
    """A started sandbox: the admin server on ``port`` (0: a free port) and
    each platform on the ports after it (or free ones), ``faults`` injected
    (``kind[:platform[:probability[:operation]]]``), ``catalogue`` listed on
    every channel at its ``stock``, and ``buyers`` orders per sandbox minute
    on every channel, starting ``buyers_after_s`` real seconds from now. The
    caller stops it (``sb.stop()``). Bad options are XD-CFG-009."""
    from crossdock.sandbox.core import BuyerProfile, Fault, Sandbox

    ports = None
    if port:
        ports = {"admin": port, **{n: port + 1 + i for i, n in enumerate(platforms)},
                 "sqs": port + 1 + len(platforms)}
    try:
        sb = Sandbox(time_scale=time_scale, seed=seed, host=host, platforms=platforms, ports=ports)
    except ValueError as exc:
        raise ConfigError("XD-CFG-009", detail=str(exc)) from exc
    for spec in faults or []:
        sb.faults.add(Fault(**parse_fault(spec)))
    try:
        sb.start()
    except OSError as exc:
        raise ConfigError("XD-CFG-009", detail=f"cannot listen on {host}:{port}: {exc}") from exc
    try:
        if catalogue is not None:
            seed_listed_catalogue(sb, catalogue, stock)
        if buyers > 0:
            for ch in sb.all_channels():
                sb.set_buyers(ch, BuyerProfile(orders_per_min=buyers))
            if buyers_after_s > 0:
                starter = threading.Timer(buyers_after_s, sb.start_buyers)
                starter.daemon = True
                starter.start()
            else:
                sb.start_buyers()
    except BaseException:
        sb.stop()
        raise
    return sb
