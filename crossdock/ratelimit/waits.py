"""Waiting for quota is not a failure: :class:`QuotaWait`, the one exception
that says "no quota now, try again in ``delay_s``".

The quota budget answers a request at once (:meth:`QuotaBudget.attempt`,
never sleeping); :func:`crossdock.connectors.http.send` turns a refusal into
a ``QuotaWait`` and raises it, so no worker thread ever sleeps for quota.
The engine reads it like any coded error: it is a
:class:`~crossdock.errors.QuotaError` (XD-QUOTA-003, or -002 / -004 when a
daily or per-listing window is used up) whose catalogue ``action`` is
``wait`` and whose ``retry_after_s`` is the delay, so
:mod:`crossdock.sync_engine.failures` releases the outbox entry until then
without using an attempt.

A person running one command (``crossdock sync run``) may rather wait a
little than give up: inside :func:`inline_waits` a wait up to ``max_wait_s``
is slept through (:func:`wait_or_raise`) and the call goes out. Workers never
enter it. This module imports no task queue: connectors raise ``QuotaWait``
and connectors know nothing of Dramatiq.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crossdock.errors import QuotaError

if TYPE_CHECKING:
    from crossdock.ratelimit.budget import Grant

__all__ = ["PERSON_WAIT_S", "QUOTA_WAIT", "PartialRead", "QuotaWait", "inline_waits", "wait_or_raise"]

#: The code of an ordinary wait for the local budget.
QUOTA_WAIT = "XD-QUOTA-003"
#: The longest quota wait a person's one-off command sleeps through (real
#: seconds): a run cut short by pacing would only be started again.
PERSON_WAIT_S = 60.0


class QuotaWait(QuotaError):
    """No quota now; try again after ``delay_s`` real seconds (not a failure).

    ``code``: XD-QUOTA-003 (the bucket refills), XD-QUOTA-002 (a daily
    window is used up), XD-QUOTA-004 (a listing's revision window).
    ``platform`` / ``account`` / ``operation`` name the bucket, for the log.
    """

    def __init__(self, delay_s: float, *, code: str = QUOTA_WAIT, platform: str | None = None,
                 account: str | None = None, operation: str | None = None,
                 channel: str | None = None, entity: str | None = None) -> None:
        where = "/".join(p for p in (platform, account, operation) if p)
        super().__init__(code, channel=channel, entity=entity, retry_after_s=delay_s,
                         detail=f"{where + ': ' if where else ''}next quota in {delay_s:.3f} s")
        self.delay_s = delay_s
        self.platform = platform
        self.account = account
        self.operation = operation

    @classmethod
    def from_grant(cls, grant: Grant, *, channel: str | None = None,
                   entity: str | None = None) -> QuotaWait:
        """The wait a refused :class:`~crossdock.ratelimit.budget.Grant` asks for."""
        return cls(grant.wait_s, code=grant.code or QUOTA_WAIT, platform=grant.platform,
                   account=grant.account, operation=grant.operation, channel=channel, entity=entity)

    @property
    def delay_ms(self) -> int:
        return max(1, round(self.delay_s * 1000))

    def __reduce__(self) -> tuple[Any, ...]:     # picklable across processes, like every CrossdockError
        return (_rebuild, (self.delay_s, self.code, self.platform, self.account, self.operation,
                           self.channel, self.entity))


class PartialRead(QuotaWait):
    """A quota wait that cut a read of many pages short, carrying what the
    pages before it returned (``items``, in the order read), so the caller
    can keep them rather than read them again. A connector raises it only
    when its contract says what the part means (orders in update order:
    ``Connector.orders_in_update_order``)."""

    def __init__(self, delay_s: float, *, items: list[Any], code: str = QUOTA_WAIT, platform: str | None = None,
                 account: str | None = None, operation: str | None = None, channel: str | None = None,
                 entity: str | None = None) -> None:
        super().__init__(delay_s, code=code, platform=platform, account=account, operation=operation,
                         channel=channel, entity=entity)
        self.items = list(items)


def _rebuild(delay_s: float, code: str, platform: str | None, account: str | None, operation: str | None,
             channel: str | None, entity: str | None) -> QuotaWait:
    return QuotaWait(delay_s, code=code, platform=platform, account=account, operation=operation,
                     channel=channel, entity=entity)


@dataclass(frozen=True)
class _Inline:
    max_wait_s: float
    sleep: Callable[[float], None]


_inline: contextvars.ContextVar[_Inline | None] = contextvars.ContextVar("crossdock_inline_quota_waits",
                                                                         default=None)


@contextlib.contextmanager
def inline_waits(max_wait_s: float, *, sleep: Callable[[float], None] = time.sleep) -> Iterator[None]:
    """Inside: a quota wait up to ``max_wait_s`` real seconds is slept through
    instead of raised. For a person's one-off command, never for a worker."""
    token = _inline.set(_Inline(max_wait_s, sleep))
    try:
        yield
    finally:
        _inline.reset(token)


def wait_or_raise(wait: QuotaWait) -> None:
    """Sleep ``wait.delay_s`` inside :func:`inline_waits` when it allows that
    long a wait; otherwise raise ``wait`` (the caller's thread is freed and
    the job runs again later)."""
    inline = _inline.get()
    if inline is None or wait.delay_s > inline.max_wait_s:
        raise wait
    inline.sleep(wait.delay_s)
