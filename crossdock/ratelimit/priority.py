"""Who goes first when quota is short: :class:`Priority`, the priority of the
job a call is made for (:func:`job_priority`), and the reserve table that lets
each priority drain a bucket or a long window only down to its fraction
(``[ratelimit.reserve]``, :class:`~crossdock.ratelimit.plans.ReservePolicy`).
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
from collections.abc import Iterator, Mapping

from crossdock.errors import ConfigError

__all__ = ["Priority", "job_priority", "priority_names", "reserve_table", "resolve_priority"]


class Priority(enum.IntEnum):
    """Who goes first when quota is short (higher value = more important)."""

    CONTENT = 10  # listing titles, descriptions, images
    PRICE = 20
    NORMAL = 25  # plumbing not tied to one purpose; prefer passing the job's priority
    STOCK = 30
    CRITICAL = 40  # order import, shipment confirmation


_job_priority: contextvars.ContextVar[Priority] = contextvars.ContextVar("crossdock_priority",
                                                                       default=Priority.NORMAL)


@contextlib.contextmanager
def job_priority(priority: Priority) -> Iterator[None]:
    """The priority of the calls made inside (a connector call that names no
    priority takes its job's: order import and shipment confirmation CRITICAL,
    stock STOCK, …)."""
    token = _job_priority.set(priority)
    try:
        yield
    finally:
        _job_priority.reset(token)


def resolve_priority(priority: Priority | None) -> Priority:
    return _job_priority.get() if priority is None else Priority(priority)


def reserve_table(values: Mapping[str, float], *, what: str) -> dict[Priority, float]:
    table: dict[Priority, float] = {}
    for key, value in values.items():
        name = str(key)
        if name not in Priority.__members__:
            raise ConfigError("XD-CFG-003", detail=f"ratelimit.reserve.{what}: unknown priority "
                                                   f"{key!r} (use {', '.join(Priority.__members__)})")
        fraction = float(value)
        if not 0.0 <= fraction < 1.0:
            raise ConfigError("XD-CFG-003", detail=f"ratelimit.reserve.{what}.{name.lower()} must be "
                                                   f"in [0, 1), got {value!r}")
        table[Priority[name]] = fraction
    for p in Priority:
        table.setdefault(p, 0.0)
    return table


def priority_names(values: Mapping[str, float] | Mapping[Priority, float] | None) -> dict[str, float]:
    """A reserve table keyed by priority name, whether it was keyed by name or by :class:`Priority`."""
    return {(k.name if isinstance(k, Priority) else str(k).upper()): v
            for k, v in (values or {}).items()}
