"""Claim, process, outcome: how the engine runs one outbox entry.

Outcome of a job for the outbox (:mod:`crossdock.sync_engine.failures`, by
the catalogue's ``action`` of the error's code — the same for ``crossdock
sync run``):
- returns normally → entry done (an order import still behind continues at
  once: :func:`_continue`);
- :class:`QuotaWait` or a QUOTA error (quota not available now) → entry
  released until the wait is over, no attempt used, logged with its code;
- a retryable crossdock error → entry retried with back-off (attempt used);
- any other crossdock error → entry failed (visible in ``crossdock jobs failed``);
- an AUTH error → the channel is paused with the code; its other jobs wait
  (:mod:`~crossdock.sync_engine.pauses`: not when its credentials changed
  since the job saw them, and tried again by itself once they change). A
  paused channel's share of a run it shares with others (the order import
  of Amazon marketplaces of one seller) goes on under another member.

Which function runs an entry is the job table's
(:data:`crossdock.sync_engine.jobs.JOBS`): a kind not in it is an error
(XD-SYNC-001), never a silent skip.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.base import utcnow
from crossdock.errors import SyncError
from crossdock.ratelimit.budget import job_priority
from crossdock.sync_engine import outbox
from crossdock.sync_engine.failures import classify, settle
from crossdock.sync_engine.jobs.context import ClaimLost, EngineContext, configured_lease_s
from crossdock.sync_engine.pauses import PauseRead, pause_channel, pause_state, paused, read_pause

if TYPE_CHECKING:
    from crossdock.sync_engine.jobs.spec import JobSpec

__all__ = ["claim_and_process", "complete_in", "job_spec", "pause_channel", "paused", "process", "run_entry"]

log = logging.getLogger(__name__)

#: Seconds an entry of a paused channel waits before it is looked at again.
PAUSED_RECHECK_S = 30.0


@dataclasses.dataclass
class _Run:
    """The entry :func:`process` is running in this thread, and whether its job
    completed it in the job's own last transaction (:func:`complete_in`)."""

    entry_id: int
    completed: bool | None = None       # None: not by the job; the runner completes it


_RUN: ContextVar[_Run | None] = ContextVar("crossdock_job_run", default=None)


# ---------------------------------------------------------------- dispatch
def job_spec(kind: str, *, channel: str | None = None) -> JobSpec:
    """The job table's row for ``kind``; an unknown kind is XD-SYNC-001."""
    from crossdock.sync_engine.jobs import JOBS

    spec = JOBS.get(kind)
    if spec is None:
        raise SyncError("XD-SYNC-001", channel=channel,
                        detail=f"unknown job kind {kind!r} (known: {', '.join(JOBS)})")
    return spec


def _stand_in(ctx: EngineContext, entry: outbox.ClaimedEntry) -> str | None:
    """A member of the run ``entry``'s paused channel shares with others
    (``Schedule.shared_by``: only its first member has the schedule) that is
    not paused itself, to run it for the group; None when there is none."""
    spec = job_spec(entry.kind, channel=entry.channel)
    share = spec.schedule.shared_by if spec.schedule is not None else None
    if share is None or not entry.channel:
        return None
    return next((c for c in share(ctx.cfg, entry.channel) if c != entry.channel and not paused(ctx.db, c)), None)


def _for_all_channels(kind: str) -> bool:
    from crossdock.sync_engine.jobs import JOBS

    spec = JOBS.get(kind)
    return spec is not None and spec.schedule is not None and not spec.schedule.per_channel


def _pauses(entry: outbox.ClaimedEntry) -> bool:
    """Whether ``entry`` waits while its channel is paused (a job for all channels, or without one, never does)."""
    return bool(entry.channel) and not _for_all_channels(entry.kind)


def run_entry(ctx: EngineContext, entry: outbox.ClaimedEntry) -> Mapping[str, object]:
    """Run ``entry`` with its job (:data:`~crossdock.sync_engine.jobs.JOBS`), at the job's quota priority."""
    spec = job_spec(entry.kind, channel=entry.channel)
    with job_priority(spec.priority):
        return spec.run(ctx, entry)


def process(ctx: EngineContext, entry: outbox.ClaimedEntry, *, pause: PauseRead | None = None) -> str:
    """Run one claimed entry and settle it in the outbox. Returns the outcome.
    A failure is classified and settled by :mod:`~crossdock.sync_engine.failures`,
    the same path ``crossdock sync run`` takes. An entry of a paused channel
    waits (a job for all channels — the stock sweep, auto-ship — never does),
    unless it runs for channels sharing it: another member runs it then
    (:func:`_stand_in`). An authorisation failure pauses the channel only if
    its credentials are still those the job saw (:func:`pause_channel`).
    ``pause``: the entry's channel's pause as read in the claim's transaction
    (:func:`claim_and_process`), else it is read here."""
    state = pause_state(ctx.db, entry.channel, read=pause) if entry.channel and _pauses(entry) else None
    if state is not None and state.code:
        stand_in = _stand_in(ctx, entry)
        if stand_in is None:
            outbox.release(ctx.db, entry.id, ctx.worker_id,
                           available_at=utcnow() + dt.timedelta(seconds=PAUSED_RECHECK_S))
            return "paused"
        log.info("%s is paused (%s): its %s run goes on under %s", entry.channel, state.code, entry.kind, stand_in)
        entry = dataclasses.replace(entry, channel=stand_in)
        state = pause_state(ctx.db, stand_in)
    seen = state.credential_version if state is not None else None
    run = _Run(entry.id)
    with synclog.correlation(entry.correlation_id):
        token = _RUN.set(run)
        try:
            result = run_entry(ctx, entry)
        except ClaimLost:
            # the worker stalled past its lease (or was declared dead): the entry is another
            # worker's now, and this one sent nothing it decided before the stall
            with ctx.db.write() as s:
                synclog.record(s, operation=f"job.{entry.kind}", outcome="skipped", channel=entry.channel,
                               entity_type="outbox", entity=str(entry.id),
                               message="taken over by another worker after this one stalled past its lease; "
                                       "nothing sent")
            return "lost"
        except Exception as exc:  # noqa: BLE001 - a bug too is settled: the entry stays visible, never lost
            failure = classify(exc, attempts=entry.attempts, channel=entry.channel)
            return settle(ctx, failure, kind=entry.kind, channel=entry.channel, entry=entry, seen_version=seen)
        finally:
            _RUN.reset(token)
        if run.completed is None:
            with ctx.db.write() as s:
                _complete(s, ctx, entry, result)
    return "done"


def complete_in(session: Session, ctx: EngineContext, entry: outbox.ClaimedEntry,
                result: Mapping[str, object]) -> None:
    """Complete ``entry`` in its job's last write transaction (``session``),
    with what follows it (:func:`_continue`), instead of in one more
    transaction after the job returns: the job's last write and its outcome
    commit together. Call it as that transaction's last step, with the
    job's final result, and return once the transaction commits; when the
    transaction fails, the job's exception settles the entry as before
    (the completion rolled back with it). Does nothing unless :func:`process`
    is running ``entry`` in this thread (a job called directly, as ``crossdock
    sync run`` imports orders, has no entry to complete)."""
    run = _RUN.get()
    if run is None or run.entry_id != entry.id or run.completed is not None:
        return
    run.completed = _complete(session, ctx, entry, result)


def _complete(session: Session, ctx: EngineContext, entry: outbox.ClaimedEntry,
              result: Mapping[str, object]) -> bool:
    """Mark ``entry`` done while this worker still holds it (False: its lease
    was lost, nothing changed) and continue a job still behind."""
    done = outbox.complete(session, entry.id, ctx.worker_id)
    if done and job_spec(entry.kind).continues:
        _continue(session, entry, result)
    return done


def _continue(session: Session, entry: outbox.ClaimedEntry, result: Mapping[str, object]) -> None:
    """A job that continues (``JobSpec.continues``: the order import) and is
    still behind. An import whose cursor is still behind after its window (``more``: a
    first import walking back through ``initial_lookback_s``, a cursor left
    far behind by a stopped worker) goes on with the next window now, not
    an interval later: one continuation entry, due at once, keyed by the
    window it starts from (enqueued with the completion, so it is neither
    lost nor doubled). Each window's calls still wait for the quota budget,
    and a scheduled run finds it queued and adds none (``enqueue_unless_queued``)."""
    cursor = result.get("cursor")
    if not result.get("more") or not cursor:
        return
    outbox.enqueue(session, entry.kind, channel=entry.channel, entity=f"catch-up {entry.channel}",
                   payload={"continues": entry.id, "from": cursor},
                   idempotency_key=f"{entry.kind}:{entry.channel}:more:{cursor}"[:200],
                   correlation_id=entry.correlation_id)


def claim_and_process(ctx: EngineContext, *, ids: list[int] | None = None, kinds: Iterable[str] | None = None,
                      channel: str | None = None, limit: int = 1, lease_s: float | None = None) -> list[str]:
    """Claim and run due entries; ``lease_s`` defaults to ``[sync] lease_s``.
    The first entry's channel pause is read in the claim's transaction (one
    transaction fewer per job: what :func:`process` would read right after
    it); the others' just before each runs, after the ones before them."""
    with ctx.db.write() as s:
        entries = outbox.claim(s, worker_id=ctx.worker_id, ids=ids, kinds=kinds, channel=channel, limit=limit,
                               lease_s=lease_s if lease_s is not None else configured_lease_s(ctx.cfg))
        first = read_pause(s, entries[0].channel) if entries and entries[0].channel and _pauses(entries[0]) else None
    return [process(ctx, e, pause=first if i == 0 else None) for i, e in enumerate(entries)]
