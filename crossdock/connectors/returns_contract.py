"""The returns part of the connector contract (issue 18): what the engine asks
of a platform about returns (RMAs), and the platform-neutral shape of a return.

A mixin of :class:`~crossdock.connectors.contract.Connector` whose defaults
say "the platform has nothing here": a seller cannot open a return on it
(``open_return`` gives None: crossdock keeps the RMA alone), nothing is sent
when it is received, and there are no returns to read. Each platform's
connector overrides what its API allows (``connectors/<platform>/returns.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["RETURN_REASONS", "RETURN_STATES", "PlatformReturn", "ReturnLine", "ReturnsContract"]

#: Why a buyer sends units back (``crossdock returns open --reason``): platform-neutral, each connector maps
#: them to and from its platform's own reasons.
RETURN_REASONS = ("damaged", "defective", "not_as_described", "wrong_item", "unwanted", "size_fit", "other")
#: A return's state as the platform shows it, normalised: still expected, its units received, or closed
#: (cancelled, declined or closed without anything received).
RETURN_STATES = ("open", "received", "closed")


@dataclass(frozen=True, slots=True)
class ReturnLine:
    """Units of one order line on a return. ``sku``: as the platform names it (the order line's SKU when
    crossdock opens it); ``platform_line_id``: the order line's id on the platform, or the listing id
    (``listing_id``) where the platform's return names only the item."""

    sku: str | None
    quantity: int
    platform_line_id: str | None = None
    listing_id: str | None = None


@dataclass(frozen=True, slots=True)
class PlatformReturn:
    """A return as the platform holds it."""

    return_id: str
    platform_order_id: str
    state: str                                 # one of RETURN_STATES
    platform_status: str
    reason: str                                # one of RETURN_REASONS
    lines: tuple[ReturnLine, ...]
    reason_note: str | None = None
    opened_at: dt.datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


class ReturnsContract:
    """Returns, as the engine asks for them (see module doc)."""

    channel: str
    platform: str
    #: True: :meth:`read_returns` reads returns the buyers opened; the engine schedules that read only then.
    reads_returns: bool = False

    def open_return(self, platform_order_id: str, lines: Sequence[ReturnLine], reason: str, *,
                    note: str | None = None) -> PlatformReturn | None:
        """Open a return of ``lines`` of the order on the platform as the seller, for ``reason`` (one of
        :data:`RETURN_REASONS`). Returns the platform's return, or None where a seller cannot open one
        there (the return is crossdock's alone). Raises ReturnError XD-RMA-006 when the platform refuses."""
        return None

    def receive_return(self, ret: PlatformReturn | str, lines: Sequence[ReturnLine], *, restock: bool) -> None:
        """Tell the platform the return's units arrived (``restock``: whether they go back on sale; crossdock
        pushes the quantity itself either way). A platform without such a call: nothing is sent.
        Raises ReturnError XD-RMA-006 when the platform refuses."""
        return None

    def read_returns(self, since: dt.datetime | None) -> list[PlatformReturn]:
        """The returns opened or changed on the platform since ``since`` (None: as far back as it keeps)."""
        return []
