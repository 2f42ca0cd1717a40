"""Platforms as plug-ins: the :class:`PlatformSpec` each platform folder
exports, and the registry that finds them (see :mod:`.registry`).

    from crossdock.platforms import platform
    platform(channel.platform).windows.safety_lag_s
"""

from __future__ import annotations

from crossdock.platforms.registry import (
    RegistryView,
    find,
    fulfilled_by_platform,
    names,
    platform,
    platforms,
    register,
    registered,
    unregister,
)
from crossdock.platforms.spec import (
    BatchPolicy,
    ConfigTemplate,
    CredentialLifetimes,
    GrantDates,
    ImportWindows,
    Marketplace,
    PlatformSpec,
    QuotaReading,
)

__all__ = [
    "BatchPolicy",
    "ConfigTemplate",
    "CredentialLifetimes",
    "GrantDates",
    "ImportWindows",
    "Marketplace",
    "PlatformSpec",
    "QuotaReading",
    "RegistryView",
    "find",
    "names",
    "platform",
    "platforms",
    "register",
    "registered",
    "unregister",
]
