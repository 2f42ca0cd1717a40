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
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.base import utcnow
from crossdock.errors import SyncError
from crossdock.ratelimit.budget import job_priority
from crossdock.sync_engine import outbox
from crossdock.sync_engine.failures import classify, settle
from crossdock.sync_engine.jobs.context import ClaimLost, EngineContext, configured_lease_s
from crossdock.sync_engine.pauses import pause_channel, pause_state, paused

if TYPE_CHECKING:
    from crossdock.sync_engine.jobs.spec import JobSpec

__all__ = ["claim_and_process", "job_spec", "pause_channel", "paused", "process", "run_entry"]

log = logging.getLogger(__name__)

#: Seconds an entry of a paused channel waits before it is looked at again.
PAUSED_RECHECK_S = 30.0


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


def run_entry(ctx: EngineContext, entry: outbox.ClaimedEntry) -> Mapping[str, object]:
    """Run ``entry`` with its job (:data:`~crossdock.sync_engine.jobs.JOBS`), at the job's quota priority."""
    spec = job_spec(entry.kind, channel=entry.channel)
    with job_priority(spec.priority):
        return spec.run(ctx, entry)


def process(ctx: EngineContext, entry: outbox.ClaimedEntry) -> str:
    """Run one claimed entry and settle it in the outbox. Returns the outcome.
    A failure is classified and settled by :mod:`~crossdock.sync_engine.failures`,
    the same path ``crossdock sync run`` takes. An entry of a paused channel
    waits (a job for all channels — the stock sweep, auto-ship — never does),
    unless it runs for channels sharing it: another member runs it then
    (:func:`_stand_in`). An authorisation failure pauses the channel only if
    its credentials are still those the job saw (:func:`pause_channel`)."""
    state = None if _for_all_channels(entry.kind) or not entry.channel else pause_state(ctx.db, entry.channel)
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
    with synclog.correlation(entry.correlation_id):
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
        with ctx.db.write() as s:
            if outbox.complete(s, entry.id, ctx.worker_id) and job_spec(entry.kind).continues:
                _continue(s, entry, result)
    return "done"


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
    """Claim and run due entries; ``lease_s`` defaults to ``[sync] lease_s``."""
    entries = outbox.claim(ctx.db, worker_id=ctx.worker_id, ids=ids, kinds=kinds, channel=channel,
                           limit=limit, lease_s=lease_s if lease_s is not None else configured_lease_s(ctx.cfg))
    return [process(ctx, e) for e in entries]
