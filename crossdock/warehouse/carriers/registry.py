"""Carrier lookup by name.

``sandbox`` is the simulated integrated carrier; every other name crossdock
knows (:data:`~crossdock.warehouse.carrier_codes.KNOWN_CARRIERS`) is a
:class:`ManualCarrier` until an integration is registered for it with
:func:`register_carrier`. A name nobody knows is ``MappingError("XD-MAP-012")``;
``allow_unknown=True`` makes it a manual carrier anyway (the platform code
then has to come from the carrier-code overrides).

Each call builds a new instance; keep the instance for as long as its
in-memory state matters (see :mod:`.sandbox` for what survives a new one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crossdock.errors import MappingError
from crossdock.warehouse.carrier_codes import KNOWN_CARRIERS, normalise_carrier_name
from crossdock.warehouse.carriers.base import Carrier
from crossdock.warehouse.carriers.manual import ManualCarrier
from crossdock.warehouse.carriers.sandbox import SandboxCarrier

CarrierFactory = Callable[..., Carrier]

_FACTORIES: dict[str, CarrierFactory] = {"sandbox": SandboxCarrier}


def register_carrier(name: str, factory: CarrierFactory) -> None:
    """Make ``get_carrier(name, **opts)`` return ``factory(**opts)``."""
    _FACTORIES[normalise_carrier_name(name)] = factory


def available_carriers() -> list[str]:
    return sorted(set(_FACTORIES) | set(KNOWN_CARRIERS))


def get_carrier(name: str, *, allow_unknown: bool = False, **opts: Any) -> Carrier:
    key = normalise_carrier_name(name)
    factory = _FACTORIES.get(key)
    if factory is not None:
        return factory(**opts)
    if key in KNOWN_CARRIERS or (allow_unknown and key):
        return ManualCarrier(key, **opts)
    raise MappingError("XD-MAP-012", entity=f"carrier {name!r}",
                       detail=f"no carrier named {name!r}; known: {', '.join(available_carriers())}")


__all__ = ["available_carriers", "get_carrier", "register_carrier"]
