"""What a label shows, pick-list rows, and writing a label file atomically.

Renderers (:mod:`.zpl`, :mod:`.pdf`) are pure: data in, bytes out. Only
:func:`write_label` touches the file system.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from crossdock.errors import ShippingError
from crossdock.models import Address
from crossdock.warehouse.customs import CustomsDeclaration
from crossdock.warehouse.parcel import OrderRef, Parcel, ShipFrom

log = logging.getLogger(__name__)

LABEL_FORMATS = ("pdf", "zpl")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")


@dataclass(frozen=True, slots=True)
class LabelData:
    tracking_number: str
    carrier: str                          # crossdock carrier name, e.g. "sandbox", "dhl"
    service: str
    ship_from: ShipFrom
    ship_to: Address
    order: OrderRef
    weight_g: int | None = None
    customs: CustomsDeclaration | None = None
    shipped_on: dt.date | None = None

    def __post_init__(self) -> None:
        if not self.tracking_number or not self.tracking_number.strip():
            raise ValueError("a label needs a tracking number")
        if any(ord(c) < 0x20 or ord(c) > 0x7E for c in self.tracking_number):
            raise ValueError(f"tracking number {self.tracking_number!r} is not printable ASCII")

    @classmethod
    def from_parcel(
        cls,
        parcel: Parcel,
        *,
        tracking_number: str,
        carrier: str,
        service: str,
        customs: CustomsDeclaration | None = None,
        shipped_on: dt.date | None = None,
    ) -> LabelData:
        return cls(
            tracking_number=tracking_number,
            carrier=carrier,
            service=service,
            ship_from=parcel.ship_from,
            ship_to=parcel.ship_to,
            order=parcel.order,
            weight_g=parcel.total_weight_g,
            customs=customs,
            shipped_on=shipped_on,
        )


def address_lines(address: Address, *, country: str | None = None) -> list[str]:
    """Printable lines of an address, skipping empty parts; the country last."""
    lines = [address.name, address.line1, address.line2]
    city = " ".join(p for p in (address.postal_code, address.city) if p)
    lines.append(city)
    if address.region:
        lines.append(address.region)
    lines.append(country if country is not None else address.country_code)
    return [ln.strip() for ln in lines if ln and ln.strip()]


def sender_lines(ship_from: ShipFrom) -> list[str]:
    lines = address_lines(ship_from.address, country=ship_from.country_code)
    if not ship_from.address.name:
        lines.insert(0, f"Warehouse {ship_from.warehouse_code}")
    return lines


def format_weight(weight_g: int | None) -> str:
    if weight_g is None:
        return ""
    return f"{weight_g / 1000:.3f} kg".replace(".000 kg", " kg")


# ----------------------------------------------------------------- pick lists

@dataclass(frozen=True, slots=True)
class PickItem:
    """One order line allocated to a bin (input of :func:`aggregate_pick_rows`)."""

    order_ref: str
    sku: str
    quantity: int
    bin: str | None = None
    title: str = ""


@dataclass(frozen=True, slots=True)
class PickRow:
    bin: str | None
    sku: str
    title: str
    quantity: int
    orders: tuple[str, ...]


_NUM = re.compile(r"(\d+)")


def bin_sort_key(bin_code: str | None) -> tuple:
    """Natural order of bin codes (A-2-10 after A-2-9); bins unknown go last."""
    if bin_code is None or not bin_code.strip():
        return (1, ())
    parts = _NUM.split(bin_code.strip().upper())
    return (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p))


def sort_pick_rows(rows: Iterable[PickRow]) -> list[PickRow]:
    return sorted(rows, key=lambda r: (bin_sort_key(r.bin), r.sku))


def aggregate_pick_rows(items: Iterable[PickItem]) -> list[PickRow]:
    """Merge allocations of the same SKU in the same bin; rows sorted by bin."""
    merged: dict[tuple[str | None, str], list] = {}
    for item in items:
        if item.quantity <= 0:
            continue
        key = (item.bin, item.sku)
        entry = merged.setdefault(key, [item.title, 0, []])
        entry[0] = entry[0] or item.title
        entry[1] += item.quantity
        if item.order_ref not in entry[2]:
            entry[2].append(item.order_ref)
    return sort_pick_rows(
        PickRow(bin=b, sku=sku, title=title, quantity=qty, orders=tuple(orders))
        for (b, sku), (title, qty, orders) in merged.items()
    )


# ----------------------------------------------------------------- writing

def label_filename(tracking_number: str, fmt: str) -> str:
    if fmt not in LABEL_FORMATS:
        raise ValueError(f"label format must be one of {LABEL_FORMATS}, got {fmt!r}")
    if not _SAFE_NAME.match(tracking_number):
        raise ShippingError("XD-SHIP-003", entity=f"tracking {tracking_number!r}",
                            detail="tracking number cannot be used as a file name")
    return f"{tracking_number}.{fmt}"


def write_label(data: bytes, *, folder: str | os.PathLike[str], tracking_number: str, fmt: str) -> Path:
    """Write ``<folder>/<tracking>.<fmt>`` atomically: a temp file in the same
    folder, fsync, then rename over the target, so a reader never sees half a
    label. Any OS failure becomes ``ShippingError("XD-SHIP-003")``."""
    target_dir = Path(folder)
    target = target_dir / label_filename(tracking_number, fmt)
    tmp_name: str | None = None
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{tracking_number}.", suffix=".tmp", dir=target_dir)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
        tmp_name = None
    except OSError as exc:
        raise ShippingError("XD-SHIP-003", entity=f"tracking {tracking_number}",
                            detail=f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
    log.info("label written: %s (%d bytes)", target, len(data))
    return target
