"""Carriers behind one interface (:class:`~.base.Carrier`): the simulated
``sandbox`` carrier and manual carriers for everything not integrated."""

from __future__ import annotations

from crossdock.warehouse.carriers.base import (
    SERVICE_EXPRESS,
    SERVICE_STANDARD,
    Carrier,
    CreatedShipment,
    Rate,
)
from crossdock.warehouse.carriers.manual import ManualCarrier
from crossdock.warehouse.carriers.registry import available_carriers, get_carrier, register_carrier
from crossdock.warehouse.carriers.sandbox import SandboxCarrier

__all__ = [
    "SERVICE_EXPRESS",
    "SERVICE_STANDARD",
    "Carrier",
    "CreatedShipment",
    "ManualCarrier",
    "Rate",
    "SandboxCarrier",
    "available_carriers",
    "get_carrier",
    "register_carrier",
]
