"""Dramatiq integration: waiting for quota is not a failure.

An actor asks the budget; when there is no quota it raises :class:`QuotaWait`
(a ``dramatiq.Retry`` carrying the exact delay) and returns its worker thread at
once: no thread ever sleeps holding a worker slot.

Dramatiq 2.x's ``Retries`` middleware counts every ``Retry`` against
``max_retries``, so a busy day of quota waits would fail messages that never
failed. :class:`QuotaWaits` (installed after ``Retries`` with
:func:`install`) hands the try back before ``Retries`` counts it: middleware
``after_*`` hooks run in reverse order, so it sees the exception first.

    install(broker)

    @dramatiq.actor(max_retries=3)
    def import_order_items(account, order_id):
        acquire_or_retry(budget, "amazon", account, "getOrderItems",
                         priority=Priority.CRITICAL)
        ...
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware, Retries

from crossdock.ratelimit.budget import Grant, Priority, QuotaBudget

log = logging.getLogger(__name__)

QUOTA_WAITS_OPTION = "quota_waits"


class QuotaWait(dramatiq.Retry):
    """Retry after ``delay`` ms because quota is short; not counted as a retry
    when :class:`QuotaWaits` is installed."""

    def __init__(self, grant: Grant) -> None:
        super().__init__(f"[{grant.code}] waiting {grant.wait_ms} ms for {grant.platform}/"
                         f"{grant.account}/{grant.operation}", delay=grant.wait_ms)
        self.grant = grant

    def __reduce__(self) -> tuple[Any, ...]:
        return (QuotaWait, (self.grant,))


class QuotaWaits(Middleware):
    """Keeps quota waits from using up a message's retries.

    Runs its ``after_process_message`` before ``Retries`` (it must sit after
    ``Retries`` in the middleware list): for a :class:`QuotaWait` it lowers the
    retry counter by one, which ``Retries`` then raises again, and counts the
    wait in the ``quota_waits`` message option for observability.
    """

    def after_process_message(self, broker: dramatiq.Broker, message: Any, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        if not isinstance(exception, QuotaWait):
            return
        message.options["retries"] = message.options.get("retries", 0) - 1
        message.options[QUOTA_WAITS_OPTION] = message.options.get(QUOTA_WAITS_OPTION, 0) + 1
        log.debug("message %s waits %d ms for quota (%s)", message.message_id,
                  exception.grant.wait_ms, exception.grant.code)


def install(broker: dramatiq.Broker) -> QuotaWaits:
    """Add :class:`QuotaWaits` right after the broker's ``Retries`` middleware
    (once). Raises ValueError if the broker has no ``Retries``."""
    for middleware in broker.middleware:
        if isinstance(middleware, QuotaWaits):
            return middleware
    if not any(isinstance(m, Retries) for m in broker.middleware):
        raise ValueError("the broker has no Retries middleware; quota waits need it to re-enqueue")
    waits = QuotaWaits()
    broker.add_middleware(waits, after=Retries)
    return waits


def acquire_or_retry(budget: QuotaBudget, platform: str, account: str, operation: str, *,
                     cost: float = 1, priority: Priority = Priority.NORMAL,
                     listing_ids: Iterable[str] = ()) -> None:
    """Return when the call may go out; otherwise raise :class:`QuotaWait`
    with the exact delay until it could."""
    grant = budget.attempt(platform, account, operation, cost=cost, priority=priority,
                           listing_ids=listing_ids)
    if not grant.granted:
        raise QuotaWait(grant)
