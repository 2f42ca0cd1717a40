"""Carrier names and tracking URLs for the warehouse (moved to
:mod:`crossdock.mapping.carriers`, where connectors can read them too; each
platform's codes live in its own folder)."""

from __future__ import annotations

from crossdock.mapping.carriers import (
    DISPLAY_NAMES,
    KNOWN_CARRIERS,
    TRACKING_URL_TEMPLATES,
    CarrierTable,
    PlatformCarrier,
    normalise_carrier_name,
    platform_carrier,
    platform_carrier_code,
    tracking_url,
)

__all__ = [
    "DISPLAY_NAMES",
    "KNOWN_CARRIERS",
    "TRACKING_URL_TEMPLATES",
    "CarrierTable",
    "PlatformCarrier",
    "normalise_carrier_name",
    "platform_carrier",
    "platform_carrier_code",
    "tracking_url",
]
