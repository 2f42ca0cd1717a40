"""What every eBay mapping shares: its timestamps and amounts (REST and
Trading), ebaysdk's dict shape of Trading XML, batching."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator, Mapping, Sequence, TypeVar

from crossdock.clock import parse_iso
from crossdock.errors import MappingError
from crossdock.models import (
    Money,
)

T = TypeVar("T")

CENT = Decimal("0.01")
FACILITATOR = "MarketplaceFacilitator"


def _opt(v: Any) -> str | None:
    return str(v) if v not in (None, "") else None


# ------------------------------------------------------------------ small helpers
def iso_ms(value: dt.datetime) -> str:
    """eBay's timestamp format: ``2024-01-15T10:30:00.000Z`` (UTC)."""
    v = value.astimezone(dt.timezone.utc)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"


def as_list(value: Any) -> list[Any]:
    """ebaysdk gives one element as a dict and several as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _bad(detail: str, exc: Exception | None = None) -> MappingError:
    err = MappingError("XD-MAP-010", detail=detail)
    if exc is not None:
        err.__cause__ = exc
    return err


def money_from(amount: Mapping[str, Any] | None) -> Money | None:
    """REST ``Amount{value, currency}`` → Money (the seller-currency side)."""
    if not amount:
        return None
    try:
        return Money(Decimal(str(amount["value"])), str(amount["currency"]))
    except (KeyError, InvalidOperation, ValueError, TypeError) as exc:
        raise _bad(f"bad eBay amount {amount!r}", exc) from exc


def money_from_trading(node: Any, default_currency: str | None = None) -> Money | None:
    """Trading ``<X currencyID="GBP">1.00</X>`` as ebaysdk dicts it."""
    if node is None:
        return None
    if isinstance(node, Mapping):
        value, currency = node.get("value"), node.get("_currencyID") or default_currency
    else:
        value, currency = node, default_currency
    try:
        return Money(Decimal(str(value)), str(currency))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise _bad(f"bad Trading amount {node!r}", exc) from exc


def _time(text: Any, what: str) -> dt.datetime:
    try:
        return parse_iso(str(text))
    except (ValueError, TypeError) as exc:
        raise _bad(f"bad {what} {text!r}", exc) from exc


# ------------------------------------------------------------------ raw XML (inspect)
def xml_to_dict(text: str | bytes) -> dict[str, Any]:
    """Trading XML → the dict shape of ebaysdk's ``response.dict()`` (root included)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise _bad(f"unreadable XML: {exc}", exc) from exc

    def tag(e: ET.Element) -> str:
        name = str(e.tag)
        return name.split("}", 1)[1] if "}" in name else name

    def conv(e: ET.Element) -> Any:
        children = list(e)
        if not children and not e.attrib:
            return (e.text or "").strip()
        d: dict[str, Any] = {}
        for c in children:
            v = conv(c)
            k = tag(c)
            if k in d:
                d[k] = d[k] if isinstance(d[k], list) else [d[k]]
                d[k].append(v)
            else:
                d[k] = v
        for k, v in e.attrib.items():
            d["_" + k] = v
        text = (e.text or "").strip()
        if text:
            d["value"] = text
        return d

    return {tag(root): conv(root)}
