"""Quota budget: every platform call's right to go out.

Public surface::

    from crossdock.ratelimit import QuotaBudget, Priority, backend_from_url

    budget = QuotaBudget(backend_from_url("sql://", engine=engine), time_scale=1.0)
    wait_ms = budget.try_acquire("amazon", account, "getOrderItems", priority=Priority.CRITICAL)

See :mod:`crossdock.ratelimit.budget` for the rules, :mod:`.plans` for the
published limits, :mod:`.backends` for the stores and :mod:`.waits` for
:class:`QuotaWait`, what a call raises when there is no quota now.
"""

from __future__ import annotations

from crossdock.ratelimit.backends import QuotaBackend, backend_from_url
from crossdock.ratelimit.budget import Grant, Priority, QuotaBudget
from crossdock.ratelimit.waits import QuotaWait, inline_waits
from crossdock.ratelimit.plans import (
    DEFAULT_PLANS,
    DEFAULT_WINDOWS,
    LongWindow,
    ReservePolicy,
    UsagePlan,
    plan_for,
    window_for,
)

__all__ = [
    "DEFAULT_PLANS",
    "DEFAULT_WINDOWS",
    "Grant",
    "LongWindow",
    "Priority",
    "QuotaBackend",
    "QuotaBudget",
    "QuotaWait",
    "ReservePolicy",
    "UsagePlan",
    "backend_from_url",
    "inline_waits",
    "plan_for",
    "window_for",
]
