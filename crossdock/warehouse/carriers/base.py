"""The one interface every carrier implements.

A carrier quotes rates, creates a shipment (returning the tracking number and,
for carriers that render labels themselves, their ZPL) and reports tracking
events. Failures are ``ShippingError`` with a catalogue code; a failed
``create_shipment`` must leave nothing behind, so the order stays ready to
ship and can be retried with the same ``idempotency_key``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from crossdock.models import Money, TrackingEvent
from crossdock.warehouse.parcel import Parcel

SERVICE_STANDARD = "standard"
SERVICE_EXPRESS = "express"


@dataclass(frozen=True, slots=True)
class Rate:
    carrier: str
    service: str
    cost: Money
    estimated_days: int | None = None
    cross_border: bool = False


@dataclass(frozen=True, slots=True)
class CreatedShipment:
    tracking_number: str
    carrier: str
    service: str
    cost: Money | None
    created_at: dt.datetime
    label_zpl: bytes | None = None      # only carriers that render their own label
    tracking_url: str | None = None


@runtime_checkable
class Carrier(Protocol):
    name: str
    #: True when the operator must type the tracking number (manual carriers).
    requires_tracking_number: bool
    #: False when the carrier cannot be followed (no events will ever come).
    trackable: bool

    def rates(self, parcel: Parcel) -> list[Rate]:
        """Prices per service; empty when the carrier does not quote."""
        ...

    def create_shipment(
        self,
        parcel: Parcel,
        *,
        service: str,
        idempotency_key: str,
        tracking_number: str | None = None,
    ) -> CreatedShipment:
        """Book the parcel. The same ``idempotency_key`` returns the same shipment."""
        ...

    def track(self, tracking_number: str, *, shipped_at: dt.datetime | None = None) -> list[TrackingEvent]:
        """Events so far, oldest first. ``shipped_at`` lets a carrier that keeps no
        server-side record (sandbox) answer for shipments made by another process."""
        ...


__all__ = ["SERVICE_EXPRESS", "SERVICE_STANDARD", "Carrier", "CreatedShipment", "Rate"]
