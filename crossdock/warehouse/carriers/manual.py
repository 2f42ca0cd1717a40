"""A carrier crossdock has no integration with: the operator books the parcel
at the counter or in the carrier's own portal and types the tracking number
(``crossdock warehouse ship ORDER --carrier dhl --tracking 00340434…``).

Nothing is sent anywhere; ``create_shipment`` validates the number and
records it. Such parcels are not tracked (``track`` returns ``[]`` and
``trackable`` is False, so the no-tracking check skips them).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

from crossdock.errors import ShippingError
from crossdock.models import TrackingEvent
from crossdock.warehouse.carrier_codes import normalise_carrier_name, tracking_url
from crossdock.warehouse.carriers.base import CreatedShipment, Rate
from crossdock.warehouse.parcel import Parcel

log = logging.getLogger(__name__)

_TRACKING = re.compile(r"^[A-Z0-9]{6,40}$")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def normalise_tracking_number(raw: str | None) -> str:
    """Strip blanks (numbers are often printed in groups) and upper-case; the
    result must be 6-40 letters and digits, else ``ShippingError("XD-SHIP-007")``."""
    if raw is None or not raw.strip():
        raise ShippingError("XD-SHIP-007", detail="a manual carrier needs the tracking number (--tracking)")
    cleaned = re.sub(r"\s+", "", raw).upper()
    if not _TRACKING.match(cleaned):
        raise ShippingError(
            "XD-SHIP-007", entity=f"tracking {raw.strip()[:60]!r}",
            detail="must be 6-40 letters and digits (spaces are ignored)",
        )
    return cleaned


class ManualCarrier:
    requires_tracking_number = True
    trackable = False

    def __init__(self, name: str, *, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        key = normalise_carrier_name(name)
        if not key:
            raise ValueError("a manual carrier needs a name")
        self.name = key
        self._clock = clock
        self._by_key: dict[str, CreatedShipment] = {}

    def __repr__(self) -> str:
        return f"ManualCarrier({self.name!r})"

    def rates(self, parcel: Parcel) -> list[Rate]:
        return []

    def create_shipment(
        self,
        parcel: Parcel,
        *,
        service: str,
        idempotency_key: str,
        tracking_number: str | None = None,
    ) -> CreatedShipment:
        number = normalise_tracking_number(tracking_number)
        previous = self._by_key.get(idempotency_key)
        if previous is not None:
            if previous.tracking_number != number:
                raise ShippingError(
                    "XD-SHIP-005", entity=f"order {parcel.order}",
                    detail=f"already shipped with {self.name} {previous.tracking_number}",
                )
            return previous
        shipment = CreatedShipment(
            tracking_number=number,
            carrier=self.name,
            service=service or "manual",
            cost=None,
            created_at=self._clock(),
            tracking_url=tracking_url(self.name, number),
        )
        self._by_key[idempotency_key] = shipment
        log.info("manual shipment recorded: order %s, %s %s", parcel.order, self.name, number)
        return shipment

    def track(self, tracking_number: str, *, shipped_at: dt.datetime | None = None) -> list[TrackingEvent]:
        return []


__all__ = ["ManualCarrier", "normalise_tracking_number"]
