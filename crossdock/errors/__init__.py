"""One error model for all of crossdock.

Every failure a person may see carries a stable code ``XD-<AREA>-<NNN>``. The
catalogue (:mod:`crossdock.errors.catalogue`) is the single source of each code's
title, meaning, likely causes and remedy; the CLI, the sync log and the API read
from it. Codes are never renamed or reused.

Usage::

    raise AuthError("XD-AUTH-002", channel="amazon-de", detail="LWA refresh token rejected")
"""

from __future__ import annotations

from crossdock.errors.catalogue import CATALOGUE, ErrorSpec, lookup
from crossdock.errors.model import (
    AccessError,
    AuthError,
    ConfigError,
    CrossdockError,
    DataError,
    EventError,
    InventoryError,
    MappingError,
    NetError,
    OrderError,
    PlatformError,
    QuotaError,
    ReturnError,
    RefundError,
    ShippingError,
    SyncError,
    WarehouseError,
)

__all__ = [
    "CATALOGUE",
    "AccessError",
    "AuthError",
    "ConfigError",
    "CrossdockError",
    "DataError",
    "ErrorSpec",
    "EventError",
    "InventoryError",
    "MappingError",
    "NetError",
    "OrderError",
    "PlatformError",
    "QuotaError",
    "ReturnError",
    "RefundError",
    "ShippingError",
    "SyncError",
    "WarehouseError",
    "lookup",
]
