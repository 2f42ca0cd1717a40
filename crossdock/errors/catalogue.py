"""The error catalogue: the single source of every code's title, meaning,
likely causes and remedy.

Rules: a code is never renamed, never reused, never removed (retire it with
``retired=True``). New codes go at the end of their area's module in
:mod:`crossdock.errors.codes`. The CLI (``crossdock errors list|explain``), the
sync log and exceptions all read from here.
"""

from __future__ import annotations

from crossdock.errors.codes import (
    access,
    auth,
    config,
    data,
    events,
    inventory,
    mapping,
    network,
    orders,
    platform,
    quota,
    returns,
    refunds,
    shipping,
    sync,
    warehouse,
)
from crossdock.errors.spec import (
    ACTION_FAIL,
    ACTION_PAUSE,
    ACTION_RETRY,
    ACTION_WAIT,
    ACTIONS,
    AREAS,
    CODE_RE,
    EXIT_AUTH_OR_CONNECTION,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    ErrorSpec,
    ErrorSpecDict,
)

__all__ = [
    "ACTIONS",
    "ACTION_FAIL",
    "ACTION_PAUSE",
    "ACTION_RETRY",
    "ACTION_WAIT",
    "AREAS",
    "CATALOGUE",
    "CODE_RE",
    "EXIT_AUTH_OR_CONNECTION",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "ErrorSpec",
    "ErrorSpecDict",
    "lookup",
    "may_pass",
]

# One module per area, in the order of AREAS (``crossdock errors list`` keeps it).
_FAMILIES: dict[str, tuple[ErrorSpec, ...]] = {
    "CFG": config.ENTRIES, "AUTH": auth.ENTRIES, "QUOTA": quota.ENTRIES, "NET": network.ENTRIES,
    "PLATFORM": platform.ENTRIES, "MAP": mapping.ENTRIES, "INV": inventory.ENTRIES, "ORD": orders.ENTRIES,
    "SHIP": shipping.ENTRIES, "WH": warehouse.ENTRIES, "DATA": data.ENTRIES, "SYNC": sync.ENTRIES,
    "ACCESS": access.ENTRIES, "EVT": events.ENTRIES, "RMA": returns.ENTRIES,
    "REF": refunds.ENTRIES,
}


def _gather(families: dict[str, tuple[ErrorSpec, ...]]) -> dict[str, ErrorSpec]:
    if list(families) != list(AREAS):
        raise RuntimeError(f"error code families {list(families)} do not match the areas {list(AREAS)}")
    catalogue: dict[str, ErrorSpec] = {}
    for area, entries in families.items():
        for spec in entries:
            if spec.area != area:
                raise RuntimeError(f"{spec.code} is listed with the XD-{area} codes")
            if spec.code in catalogue:
                raise RuntimeError(f"duplicate error code {spec.code}")
            catalogue[spec.code] = spec
    return catalogue


CATALOGUE: dict[str, ErrorSpec] = _gather(_FAMILIES)


def lookup(code: str) -> ErrorSpec:
    """Return the spec of ``code``; raises KeyError for an unknown code."""
    try:
        return CATALOGUE[code.upper()]
    except KeyError:
        raise KeyError(f"unknown error code {code!r}") from None


def may_pass(code: str, *, unknown: bool) -> bool:
    """Whether a failure with ``code`` may not happen again on a later try:
    the catalogue's action for it is not ``fail``. ``unknown`` answers for a
    code the catalogue does not hold."""
    try:
        return lookup(code).action != ACTION_FAIL
    except KeyError:
        return unknown
