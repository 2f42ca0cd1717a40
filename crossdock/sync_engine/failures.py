"""What happens when a job fails — one path for the engine's runs and for hand runs.

A job fails the same way whether the engine runs it (:func:`jobs.process`,
an outbox entry) or a person does (``crossdock sync run``):

- :func:`classify` (pure) reads what to do from the error catalogue's
  ``action`` column (:data:`~crossdock.errors.catalogue.ACTIONS`): wait for
  quota, pause the channel, retry with back-off, or fail; and when to try
  again. Anything that is not a crossdock error is a bug: XD-SYNC-001,
  retried soon, never lost.
- :func:`settle` applies it: an authorisation failure pauses only that
  channel (:func:`~crossdock.sync_engine.jobs.pause_channel`, logged with the
  code); every failure is in the sync log with its code; an outbox entry is
  released (quota wait, pause) or failed (retried later, or for good).

Waiting for quota is not a failure of the entry (no attempt used), but it is
written to the log with its code (XD-QUOTA-001 throttled by the platform,
XD-QUOTA-003 no local budget …), so throttles can be found with
``crossdock logs --code XD-QUOTA``. The wait is
:class:`~crossdock.ratelimit.waits.QuotaWait` (re-exported here), raised by
the connectors' ``http.send`` when the budget has no quota now: a QUOTA
error like any other, so the catalogue's ``wait`` action and its
``retry_after_s`` decide, with no special case. The released entry is the
durable schedule; the relay wakes a worker when it is due
(:mod:`crossdock.sync_engine.actors`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crossdock import synclog
from crossdock.db.base import utcnow
from crossdock.errors import CrossdockError, SyncError
from crossdock.errors.catalogue import ACTION_FAIL, ACTION_PAUSE, ACTION_RETRY, ACTION_WAIT
from crossdock.ratelimit.waits import QuotaWait

if TYPE_CHECKING:
    from crossdock.sync_engine.jobs import EngineContext
    from crossdock.sync_engine.outbox import ClaimedEntry

log = logging.getLogger(__name__)

__all__ = ["CRASH", "Failure", "QuotaWait", "classify", "settle"]

#: A failure that is no crossdock error: a bug (XD-SYNC-001), kept and retried soon.
CRASH = "crash"
#: Seconds a paused channel's entry waits before it is looked at again.
PAUSED_RECHECK_S = 60.0
#: Seconds before a crashed entry is tried again.
CRASH_RETRY_S = 5.0
#: Seconds to wait for quota when neither the platform nor the budget said how long.
DEFAULT_QUOTA_WAIT_S = 1.0

# The engine's outcome names (jobs.process's return value) per action.
_OUTCOMES = {ACTION_WAIT: "quota_wait", ACTION_PAUSE: "paused", ACTION_RETRY: "retry", ACTION_FAIL: "failed",
             CRASH: "crashed"}


def _backoff_s(exc: CrossdockError, attempts: int) -> float:
    return exc.retry_after_s if exc.retry_after_s is not None else min(60.0, 2.0 ** (attempts + 1))


# When to try again, per action: (error, attempts used) -> seconds, None for "not on its own".
_DELAY_S: dict[str, Callable[[CrossdockError, int], float | None]] = {
    ACTION_WAIT: lambda exc, _: exc.retry_after_s if exc.retry_after_s is not None else DEFAULT_QUOTA_WAIT_S,
    ACTION_PAUSE: lambda exc, _: PAUSED_RECHECK_S,
    ACTION_RETRY: _backoff_s,
    ACTION_FAIL: lambda exc, _: None,
}


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed run, classified: the error (a bug is wrapped as
    XD-SYNC-001), what to do (``action``) and when to try again
    (``delay_s``; None: not on its own — a person fixes the cause)."""

    error: CrossdockError
    action: str
    delay_s: float | None
    cause: BaseException | None = None       # the original exception of a crash

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def exit_code(self) -> int:
        return self.error.spec.exit_code

    @property
    def outcome(self) -> str:
        """The engine's name for it (``jobs.process``): quota_wait, paused, retry, failed, crashed."""
        return _OUTCOMES[self.action]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "title": self.error.title, "message": self.error.message,
                "remedy": self.error.remedy, "command": self.error.spec.command, "exit": self.exit_code,
                "action": self.action, "retry_after_s": self.error.retry_after_s}


def classify(exc: BaseException, *, attempts: int = 0, channel: str | None = None) -> Failure:
    """What to do with ``exc``, raised by a job for ``channel`` on its
    attempt ``attempts + 1`` (see module doc). Pure: reads the catalogue's
    ``action`` of the error's code (a :class:`QuotaWait` is XD-QUOTA-00x:
    ``wait``, for its ``delay_s``)."""
    if not isinstance(exc, CrossdockError):
        error = SyncError("XD-SYNC-001", channel=channel, detail=f"{type(exc).__name__}: {exc}"[:500])
        return Failure(error, CRASH, CRASH_RETRY_S, cause=exc)
    action = exc.spec.action or ACTION_FAIL           # always set: ErrorSpec defaults it by area
    if action == ACTION_PAUSE and not channel:
        action = ACTION_RETRY if exc.retryable else ACTION_FAIL     # nothing to pause: an ordinary failure
    delay = _DELAY_S[action](exc, attempts)
    return Failure(exc, action, delay)


def settle(ctx: EngineContext, failure: Failure, *, kind: str, channel: str | None,
           entry: ClaimedEntry | None = None, seen_version: int | None = None) -> str:
    """Apply ``failure`` of job ``kind`` (an outbox kind) for ``channel``:
    pause the channel on an authorisation failure, write the failure to the
    sync log with its code, and settle ``entry`` in the outbox when the
    engine ran it. Without an entry (a hand run) the log row is the record.
    ``seen_version``: the channel's credentials version when the job started
    (an authorisation failure decided on older credentials pauses nothing:
    :func:`~crossdock.sync_engine.pauses.pause_channel`; the entry is tried
    again at once, outcome "retry"). Returns the outcome name
    (``Failure.outcome``)."""
    from crossdock.sync_engine import outbox
    from crossdock.sync_engine.pauses import STALE, pause_channel

    error = failure.error
    if failure.action == CRASH:
        log.error("job %s%s crashed", kind, f" for {channel}" if channel else "", exc_info=failure.cause)
    if failure.action == ACTION_PAUSE and channel is not None:    # classify pauses only a named channel
        # logged as channel.pause with the code (skipped when stale; once per pause)
        if pause_channel(ctx.db, channel, error, seen_version=seen_version) == STALE:
            if entry is not None:
                outbox.release(ctx.db, entry.id, ctx.worker_id, available_at=utcnow())
            return _OUTCOMES[ACTION_RETRY]
    if entry is None:
        if failure.action != ACTION_PAUSE:
            synclog.record_now(ctx.db, synclog.event_from_error(
                f"job.{kind}", error, channel=channel, entity_type="job", entity="sync run",
                details={"run": "sync run", "action": failure.action}))
        return failure.outcome
    later = utcnow() + dt.timedelta(seconds=failure.delay_s or 0.0)
    if failure.action == ACTION_WAIT:
        # no attempt used; logged so that throttles can be found by their code
        synclog.record_now(ctx.db, synclog.event_from_error(
            f"job.{kind}", error, outcome="retry", channel=channel, entity_type="job", entity=str(entry.id),
            attempt=entry.attempts + 1,
            details={"outbox_id": entry.id, "entity": entry.entity, "retry_in_s": round(failure.delay_s or 0, 3)}))
        outbox.release(ctx.db, entry.id, ctx.worker_id, available_at=later)
    elif failure.action == ACTION_PAUSE:
        outbox.release(ctx.db, entry.id, ctx.worker_id, available_at=later)
    else:                                                      # retry, fail, crash: outbox.fail logs it
        again = failure.action in (ACTION_RETRY, CRASH)
        outbox.fail(ctx.db, entry.id, ctx.worker_id, error.code if failure.action != CRASH else "XD-SYNC-001",
                    error.message if failure.action != CRASH else error.detail,
                    retry_at=later if again else None)
    return failure.outcome
