"""Dramatiq actors: thin. A message names an outbox entry; the actor claims
it from the database and runs the job. A duplicate message finds the entry
claimed or done and does nothing; a lost one is re-sent by the relay.

Waiting for quota does not hold a worker thread and does not use a retry.
The connectors ask the quota budget without sleeping; when there is no quota
now they raise :class:`~crossdock.ratelimit.waits.QuotaWait` with the exact
delay. :mod:`~crossdock.sync_engine.failures` reads its catalogue action
(``wait``) and releases the outbox entry until the delay has passed, with no
attempt counted; the actor returns at once, its message done. When the entry
is due, the relay (:func:`crossdock.sync_engine.outbox.relay`, every
scheduler tick) sends a new wake-up. This is dramatiq's ``Retry(delay=…)``
pattern with the schedule kept in the outbox row rather than in the broker:
the row is durable (a broker restart or a killed worker loses no wait), and
one mechanism wakes every due entry, so a quota wait is never woken twice
(once by a delayed message, once by the relay). The actor therefore has
``max_retries=0``: dramatiq's own retries are never used, whatever happens.
One exception: on the push and fast lanes, a wait no longer than the loop's
tick (``[sync] tick_s`` in real seconds) is slept through in the run
(:func:`_process`); releasing would cost the run at least that, and a new
claim and plan besides.

Stock pushes have a queue of their own (:data:`PUSH_QUEUE`), consumed by
threads of their own — one per channel (:class:`~crossdock.sync_engine.runtime.EngineRuntime`):
a push waits for its channel's platform (an Amazon feed being processed
holds its thread for minutes) but never for another channel's push nor for
any other job; :func:`wake` routes each entry's wake-up by its kind. Jobs someone
waits for in seconds (``JobSpec.fast_lane``: an event's read) have a queue and
threads of their own too (:data:`FAST_QUEUE`), consumed by every worker that
consumes :data:`QUEUE`: behind an order import, a label or a tracking round
in the common queue, a webhook's read waited for a free thread.

Import this module after :func:`crossdock.runtime.setup_broker` so the actor
binds to the configured broker. The process's :class:`EngineContext` is set
by the embedded runner (:func:`set_context`) or built from the configuration
on first use in a ``crossdock worker`` process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

import dramatiq

from crossdock.db.sqlite_writers import SOON, URGENT, write_rank
from crossdock.ratelimit.waits import inline_waits
from crossdock.sync_engine.jobs import EngineContext, claim_and_process
from crossdock.sync_engine.jobs.context import configured_tick_real_s

log = logging.getLogger(__name__)

QUEUE = "crossdock"
PUSH_QUEUE = "crossdock-push"
FAST_QUEUE = "crossdock-fast"       # jobs whose JobSpec says fast_lane (an event's read); see wake()
_ctx: EngineContext | None = None
_lock = threading.Lock()


def set_context(ctx: EngineContext | None) -> None:
    global _ctx
    _ctx = ctx


def context() -> EngineContext:
    global _ctx
    with _lock:
        if _ctx is None:
            from crossdock.sync_engine.engine import context_from_config

            _ctx = context_from_config()
        return _ctx


@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=15 * 60 * 1000)
def process_outbox_entry(entry_id: int) -> None:
    """Run outbox entry ``entry_id`` if it is still due and unclaimed. A job
    that has to wait for quota leaves the entry released until then (outcome
    ``quota_wait``, see the module doc); this message is done either way."""
    _process(entry_id)


@dramatiq.actor(queue_name=PUSH_QUEUE, max_retries=0, time_limit=15 * 60 * 1000)
def process_push_entry(entry_id: int) -> None:
    """:func:`process_outbox_entry` for the stock pushes, on their own queue;
    their SQLite writes go before the other jobs' (:func:`~crossdock.db.sqlite_writers.write_rank`)."""
    with write_rank(SOON):
        _process(entry_id, short_waits=True)


@dramatiq.actor(queue_name=FAST_QUEUE, max_retries=0, time_limit=15 * 60 * 1000)
def process_fast_entry(entry_id: int) -> None:
    """:func:`process_outbox_entry` for the fast lane's jobs (``JobSpec.fast_lane``), on their own queue;
    their SQLite writes go first."""
    with write_rank(URGENT):
        _process(entry_id, short_waits=True)


def wake(entry: Any) -> None:
    """Send the wake-up of outbox entry ``entry`` (its ``id`` and ``kind``) to its queue."""
    from crossdock.sync_engine.dirty import PUSH_STOCK
    from crossdock.sync_engine.jobs import JOBS

    if entry.kind == PUSH_STOCK:
        process_push_entry.send(entry.id)
    elif (spec := JOBS.get(entry.kind)) is not None and spec.fast_lane:
        process_fast_entry.send(entry.id)
    else:
        process_outbox_entry.send(entry.id)


def _process(entry_id: int, *, short_waits: bool = False) -> None:
    """Claim and run the entry. ``short_waits`` (the push and fast lanes): a
    quota wait no longer than the loop's tick (``[sync] tick_s``, in real
    seconds) is slept through in the run instead of releasing the entry — the
    release would cost at least that long before the run could go on, plus a
    new claim and a new plan; the lanes' threads do nothing else meanwhile."""
    from crossdock.sync_engine.runtime import database_error

    ctx = context()
    try:
        with inline_waits(configured_tick_real_s(ctx.cfg)) if short_waits else contextlib.nullcontext():
            outcomes = claim_and_process(ctx, ids=[entry_id])
    except Exception as exc:
        coded = database_error(exc)
        if coded is None:
            raise
        # the entry stays in the outbox (unclaimed, or handed back when this worker's claim lapses)
        log.warning("outbox entry %s not run now: %s", entry_id, coded.message)
        return
    if outcomes:
        log.debug("outbox entry %s: %s", entry_id, outcomes[0])


def bind(broker: dramatiq.Broker) -> None:
    """Declare the actors on ``broker`` and send through it (the broker set at
    import time may have been replaced, e.g. by a second embedded run)."""
    for actor in (process_outbox_entry, process_push_entry, process_fast_entry):
        broker.declare_actor(actor)
        actor.broker = broker
