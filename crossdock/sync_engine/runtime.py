"""The engine as one running process: what ``crossdock worker`` runs, and what
``crossdock demo`` rehearses with.

An :class:`EngineRuntime` holds

- the actors, on ``threads`` Dramatiq worker threads consuming the configured
  broker (``stub://``: in-process; ``redis://``/``amqp://``: shared by every
  worker on every machine);
- one loop thread that fires due schedules (compare-and-set in the
  database: two workers never fire one run twice) and — for the one worker
  holding the ``relay`` lease — sends wake-ups for due outbox entries (the
  others wake only entries overdue by the lease's lifetime: a dead or stalled
  holder delays work by seconds, never stops it). It looks when the earliest
  schedule, entry or heartbeat it knows of falls due, or this process commits
  work due sooner (:mod:`.wakeups`); at most every ``[sync] tick_s`` platform
  seconds, at least every ``tick_s`` or :data:`IDLE_LOOK_REAL_S` real seconds,
  whichever is longer (what another process adds waits no longer). At time
  scale 1 that is every ``tick_s``; a sandbox's fast clock no longer makes it
  query 60 times a second for nothing;
- a heartbeat in ``workers`` every ``[sync] heartbeat_s`` real seconds; with
  it, every worker declares a worker silent for ``[sync]
  worker_dead_after_s`` dead and hands back its outbox entries and claimed
  SKUs (:func:`~crossdock.sync_engine.liveness.reap_dead`): a killed worker's
  work goes on within ``worker_dead_after_s + heartbeat_s``, never waiting
  for its leases (``[sync] lease_s``) nor for a housekeeping run, which is a
  job of its own and may itself have been held by the dead worker.

Durable state is the database; a killed worker loses nothing. A database or
broker that is down at start or goes away is reported once with its code
(XD-DATA-001 / XD-SYNC-006) and retried with back-off until it returns.
:meth:`stop` (SIGTERM, SIGINT) lets running jobs finish for up to
``stop_timeout_s``, hands back whatever is still held, and returns.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError

from crossdock.config import Config
from crossdock.db.base import utcnow
from crossdock.db.engine import Database
from crossdock.errors import CrossdockError, DataError
from crossdock.sync_engine import dirty, liveness, outbox, scheduler, wakeups
from crossdock.sync_engine.jobs.context import configured_lease_s, configured_tick_real_s

log = logging.getLogger(__name__)

# The loop's longest sleep in real seconds, when that is longer than tick_s: how long another
# process's new work may wait for the relay under a sandbox's fast clock (at time scale 1 the
# loop looks every tick_s).
IDLE_LOOK_REAL_S = 0.1
RELAY_LEASE = "relay"
# A wake-up still pending this long (real seconds) after it was sent is sent again: the
# message may have died with a worker or a broker connection.
RESEND_AFTER_S = 15.0
MAX_BACKOFF_S = 30.0
FAST_THREADS = 2                # threads of the fast lane (actors.FAST_QUEUE)


def database_error(exc: BaseException) -> DataError | None:
    """The coded error for a database the engine should wait out (down,
    unreachable, connection lost mid-transaction, busy), or None when ``exc``
    is something else (a bug, a job's own failure, a database that cannot be
    written — waiting would not help, the worker stops with its code)."""
    from crossdock.db.engine import translate_db_error

    coded = exc if isinstance(exc, DataError) else translate_db_error(exc) if isinstance(exc, DBAPIError) else None
    if coded is not None and coded.code in ("XD-DATA-001", "XD-DATA-003"):
        return coded
    return None


class _BrokerLogGate(logging.Handler):
    """Dramatiq's consumers log every failed reconnect (every few seconds per
    queue, while the broker is down). This handler, on the ``dramatiq``
    logger, turns those into one outage of the runtime (reported once, with
    its code) and passes every other record on unchanged."""

    def __init__(self, on_outage: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self.on_outage = on_outage

    def emit(self, record: logging.LogRecord) -> None:
        from dramatiq.errors import BrokerConnectionError

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, BrokerConnectionError) or "connection error" in record.getMessage().lower():
            detail = str(exc) if exc else record.getMessage().split("connection error: ", 1)[-1]
            self.on_outage(detail.splitlines()[0][:300])
            return
        logging.getLogger().handle(record)


@dataclass
class _Outage:
    """One unavailability (database or broker), reported once with its code."""

    code: str
    since: float | None = None
    next_try: float = 0.0
    delay_s: float = 1.0

    def failed(self, exc: CrossdockError | str, now: float) -> None:
        message = exc if isinstance(exc, str) else exc.message
        if self.since is None:
            self.since = now
            log.error("%s; retrying with back-off until it answers", message)
        else:
            log.debug("still unavailable: %s", message)
        self.next_try = now + self.delay_s
        self.delay_s = min(MAX_BACKOFF_S, self.delay_s * 2)

    def ok(self, what: str, now: float) -> None:
        if self.since is not None:
            log.warning("%s reachable again after %.0f s; work resumes", what, now - self.since)
        self.since = None
        self.delay_s = 1.0
        self.next_try = 0.0

    def waiting(self, now: float) -> bool:
        return self.since is not None and now < self.next_try


class EngineRuntime:
    """The whole engine in this process (see the module doc)."""

    def __init__(self, cfg: Config, *, db: Database | None = None, threads: int = 4,
                 queues: set[str] | None = None, stop_timeout_s: float = 25.0,
                 on_status: Callable[[str], None] | None = None, middleware: tuple[Any, ...] = (),
                 companions: Callable[[Config, Database, threading.Event], list[Any]] | None = None) -> None:
        self.cfg = cfg
        # threads started beside the actors and stopped with them (`crossdock worker`: the event queue
        # consumers, crossdock.events.queue_consumer.start_consumers); each has join(timeout_s=)
        self.companions = companions
        self.middleware = middleware     # Dramatiq middleware added to the broker (the worker's Prometheus)
        self.db = db
        self.threads = threads
        self.queues = queues
        self.stop_timeout_s = stop_timeout_s
        self.on_status = on_status or (lambda line: None)
        self.id = liveness.process_id()
        sync = cfg.sync
        self.heartbeat_s = float(sync.get("heartbeat_s", liveness.DEFAULT_HEARTBEAT_S))
        self.dead_after_s = float(sync.get("worker_dead_after_s", liveness.DEFAULT_DEAD_AFTER_S))
        self.relay_ttl_s = max(3 * self.heartbeat_s, 10.0)
        self.lease_s = configured_lease_s(cfg)
        self.tick_real_s = configured_tick_real_s(cfg)
        self.longest_sleep_s = max(self.tick_real_s, IDLE_LOOK_REAL_S)
        self.ctx: Any = None
        self.engine: Any = None
        self.broker: Any = None
        self._workers: list[Any] = []
        self.consumers: list[Any] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._db_outage = _Outage("XD-DATA-001")
        self._broker_outage = _Outage("XD-SYNC-006")
        self._relay_held = False
        self._fallback_tracker = outbox.WakeupTracker(resend_after_s=RESEND_AFTER_S)
        self._last_beat = 0.0
        self._log_gate: _BrokerLogGate | None = None
        self.ticks = 0
        # when the loop looks next (time.monotonic()); brought forward by work committed here
        self._look = threading.Condition(threading.RLock())
        self._look_at = 0.0
        self._last_look = 0.0
        self._next_run: dt.datetime | None = None       # earliest schedule (platform clock)
        self._next_entry: dt.datetime | None = None     # earliest outbox entry due later (UTC)

    @property
    def database(self) -> Database:
        """The database :meth:`start` connected to."""
        if self.db is None:
            raise RuntimeError("the engine runtime has no database before start()")
        return self.db

    # ------------------------------------------------------------------ start
    def start(self, *, wait_for_database: bool = True) -> "EngineRuntime":
        """Connect (waiting for the database while it is down), start the
        worker threads and the loop. Returns once everything runs."""
        from crossdock.db.migrate import ensure_current

        while True:
            try:
                if self.db is None:
                    self.db = Database(self.cfg.database_url)
                ensure_current(self.db, auto_create=self.db.is_sqlite)
                break
            except CrossdockError as exc:
                # unreachable, or not migrated yet (a deployment may start workers and the
                # migration together): wait for it, saying why once
                coded = database_error(exc) or (exc if exc.code == "XD-DATA-002" else None)
                if coded is None or not wait_for_database:
                    raise
                self._db_outage.failed(coded, time.monotonic())
            except DBAPIError as exc:
                coded = database_error(exc)
                if coded is None or not wait_for_database:
                    raise
                self._db_outage.failed(coded, time.monotonic())
            if self._stop.wait(self._db_outage.delay_s / 2):
                raise KeyboardInterrupt
        self._db_outage.ok("database", time.monotonic())
        self._start_engine()
        return self

    def _start_engine(self) -> None:
        from crossdock.runtime import InProcessWorker, setup_broker
        from crossdock.sync_engine import actors
        from crossdock.sync_engine.engine import Engine, context_from_config

        self.broker = setup_broker(self.cfg.broker_url)
        for extra in self.middleware:
            self.broker.add_middleware(extra)
        self._install_log_gate()
        actors.bind(self.broker)
        self.ctx = context_from_config(self.cfg, self.db)
        actors.set_context(self.ctx)
        self.engine = Engine(self.ctx, send=lambda entry_id: actors.process_outbox_entry.send(entry_id))
        self.engine.tracker = outbox.WakeupTracker(resend_after_s=RESEND_AFTER_S)
        self.engine.ensure_schedules()
        with self.database.write() as s:
            liveness.register(s, self.id, info=self._info())
        # a restored database: stale rotating tokens and the cursors are settled before any job runs
        from crossdock.sync_engine.after_restore import settle_restores

        settle_restores(self.ctx, self.id, stop=self._stop)
        self._last_beat = 0.0          # the first tick beats and asks for the relay lease
        _tune_gc()
        # the stock pushes on threads of their own, one per channel (actors.PUSH_QUEUE); the fast
        # lane's jobs (an event's read) on FAST_THREADS of their own, wherever the jobs' queue is
        # consumed; the other jobs on ``threads``. A worker told which queues to consume takes those only.
        queues = set(self.queues) if self.queues is not None else {actors.QUEUE, actors.PUSH_QUEUE}
        if actors.QUEUE in queues:
            queues.add(actors.FAST_QUEUE)
        lanes = ((actors.QUEUE, self.threads), (actors.PUSH_QUEUE, max(1, len(self.cfg.channels))),
                 (actors.FAST_QUEUE, FAST_THREADS))
        self._workers = [InProcessWorker(self.broker, threads=n, queues={q}).start() for q, n in lanes if q in queues]
        others = queues - {actors.QUEUE, actors.PUSH_QUEUE, actors.FAST_QUEUE}
        if others:
            self._workers.append(InProcessWorker(self.broker, threads=self.threads, queues=others).start())
        self._thread = threading.Thread(target=self._loop, name="crossdock-scheduler", daemon=True)
        self._thread.start()
        wakeups.install(self._wake_at_commit, self._work_due)
        if self.companions is not None and actors.QUEUE in queues:
            self.consumers = self.companions(self.cfg, self.database, self._stop)
        from crossdock.db.migrate import current_revision

        self.on_status(self.status_line(current_revision(self.database)))

    def _wake_at_commit(self, entry_id: int, kind: str, due: dt.datetime) -> None:
        """An entry due at once was committed in this process: its wake-up now
        (:mod:`~crossdock.sync_engine.wakeups`), noted so the relay does not send it again."""
        if self._broker_outage.since is not None:
            return                      # the relay sends every pending wake-up when the broker is back
        from crossdock.sync_engine.actors import wake

        wake(wakeups.Woken(entry_id, kind))
        if self._relay_held:
            self.engine.tracker.sent((entry_id, due), utcnow())

    def _work_due(self, due: dt.datetime) -> None:
        """Work committed in this process falls due at ``due``: look by then."""
        at = time.monotonic() + max(0.0, (due - utcnow()).total_seconds())
        with self._look:
            at = max(at, self._last_look + self.tick_real_s)
            if at < self._look_at:
                self._look_at = at
                self._look.notify()

    def _info(self) -> dict[str, Any]:
        from crossdock import __version__

        return {"broker": _safe_url(self.cfg.broker_url), "threads": self.threads, "version": __version__,
                "channels": sorted(self.cfg.channels)}

    def status_line(self, revision: str | None) -> str:
        with self.database.read() as s:
            from sqlalchemy import func, select

            from crossdock.db.models import Schedule

            schedules = s.scalar(select(func.count()).select_from(Schedule).where(Schedule.enabled.is_(True)))
        return (f"crossdock worker {self.id}: database {_safe_url(self.cfg.database_url)} (revision {revision}), "
                f"broker {_safe_url(self.cfg.broker_url)}, {len(self.cfg.channels)} channel(s), "
                f"{schedules} schedule(s), {self.threads} thread(s); SIGTERM or Ctrl-C stops")

    # ------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            with self._look:
                self._last_look = started
                self._look_at = started + self.longest_sleep_s   # work committed meanwhile brings it forward
            self.tick()
            with self._look:
                self._look_at = min(self._look_at, self._next_look(started))
                while not self._stop.is_set() and (left := self._look_at - time.monotonic()) > 0:
                    self._look.wait(left)

    def _next_look(self, started: float) -> float:
        """When the loop looks next (monotonic): the earliest of what this tick
        found due later and the heartbeat, within tick_s and the longest sleep."""
        soonest = self.longest_sleep_s
        if self._next_run is not None and self.ctx is not None:
            soonest = min(soonest, (self._next_run - self.ctx.clock.now()).total_seconds() / self.cfg.time_scale)
        if self._next_entry is not None:
            soonest = min(soonest, (self._next_entry - utcnow()).total_seconds())
        now = time.monotonic()
        soonest = min(soonest, self._last_beat + self.heartbeat_s - now)
        return max(started + self.tick_real_s, now + soonest)

    def tick(self) -> None:
        """One round: heartbeat when due, fire due schedules, relay (lease
        holder only). Database and broker failures are reported once and
        retried with back-off; anything else is a bug, logged and survived."""
        now = time.monotonic()
        self._next_run = self._next_entry = None      # unknown until this tick has looked
        if self._db_outage.waiting(now):
            return
        try:
            beat = now - self._last_beat >= self.heartbeat_s
            if beat:
                self._beat()
                self._last_beat = now
            _, self._next_run = scheduler.fire_due_next(self.database, now=self.ctx.clock.now(),
                                                        enqueue_fn=_enqueue_unless_queued)
            if self._broker_outage.since is not None and not self._broker_outage.waiting(now):
                self._probe_broker(now)
            if self._broker_outage.since is None and (self._relay_held or beat):
                # the lease holder relays every tick; the others, once a heartbeat, wake only
                # entries overdue by the lease's lifetime (the holder died or is stalled)
                overdue = None if self._relay_held else utcnow() - dt.timedelta(seconds=self.relay_ttl_s)
                from crossdock.sync_engine.actors import wake

                result = outbox.relay(self.database, wake,
                                      tracker=self.engine.tracker if self._relay_held else self._fallback_tracker,
                                      now=overdue)
                if result.error:
                    self._broker_outage.failed(result.error, now)
                elif self._relay_held:
                    self._next_entry = result.next_at
            self.ticks += 1
            self._db_outage.ok("database", now)
        except (CrossdockError, DBAPIError) as exc:
            coded = database_error(exc)
            if coded is None:
                log.exception("scheduler tick failed")
            else:
                self._db_outage.failed(coded, now)
        except Exception:  # noqa: BLE001 - a bug must not stop the engine
            log.exception("scheduler tick failed")

    def _broker_down(self, detail: str) -> None:
        if self._broker_outage.since is None:
            self._broker_outage.failed(f"[XD-SYNC-006] Broker unreachable: {detail}", time.monotonic())

    def _probe_broker(self, now: float) -> None:
        """While the broker is down: one cheap round trip, with back-off. When it
        answers, every pending wake-up is sent again (some were lost with it)."""
        try:
            ping_broker(self.broker)
        except Exception as exc:  # noqa: BLE001 - any failure means still down
            self._broker_outage.failed(f"[XD-SYNC-006] Broker unreachable: {type(exc).__name__}: {exc}"[:300], now)
            return
        self._broker_outage.ok("broker", now)
        self.engine.tracker = outbox.WakeupTracker(resend_after_s=RESEND_AFTER_S)

    def _install_log_gate(self) -> None:
        dramatiq_log = logging.getLogger("dramatiq")
        self._log_gate = _BrokerLogGate(self._broker_down)
        dramatiq_log.addHandler(self._log_gate)
        dramatiq_log.propagate = False

    def _remove_log_gate(self) -> None:
        if self._log_gate is not None:
            dramatiq_log = logging.getLogger("dramatiq")
            dramatiq_log.removeHandler(self._log_gate)
            dramatiq_log.propagate = True
            self._log_gate = None

    def _beat(self) -> None:
        with self.database.write() as s:
            if not liveness.heartbeat(s, self.id, ticked=True):
                # declared dead while we could not write (a long stall): what we held was handed
                # out again; register anew so our heartbeat counts again
                log.warning("worker %s was declared dead while stalled; its claims were handed back; "
                            "registering again", self.id)
                liveness.register(s, self.id, info=self._info())
            else:
                # alive: the jobs this process is running keep their leases (a slow platform answer
                # must not let another worker do the same job again)
                liveness.renew_claims(s, self.id, lease_s=self.lease_s)
            self._relay_held = liveness.hold_lease(s, RELAY_LEASE, self.id, ttl_s=self.relay_ttl_s)
            # the dead are found by the living, as often as they beat (one UPDATE on the small workers table)
            liveness.reap_dead(s, dead_after_s=self.dead_after_s)

    # ------------------------------------------------------------------ stop
    def stop(self) -> dict[str, int]:
        """Finish or hand back what this process holds; returns what was
        handed back."""
        self.request_stop()
        wakeups.uninstall(self._wake_at_commit)
        if self._thread is not None:
            self._thread.join(timeout=10)
        for consumer in self.consumers:          # their long poll returns within its wait
            consumer.join(timeout_s=getattr(consumer, "wait_s", 5) + 5)
        for worker in self._workers:
            worker.stop(timeout_ms=int(self.stop_timeout_s * 1000))
        handed = {"jobs": 0, "skus": 0}
        if self.db is not None and self.ctx is not None:
            try:
                with self.db.write() as s:
                    handed["jobs"] = liveness.release_claims(s, self.id, reason=f"worker {self.id} stopped")
                    handed["skus"] = dirty.release_claims_of(s, self.id)
                    liveness.drop_lease(s, RELAY_LEASE, self.id)
                    liveness.stopped(s, self.id)
            except (CrossdockError, DBAPIError) as exc:
                log.error("could not hand back this worker's claims (%s); they return when their lease "
                          "or the heartbeat runs out", getattr(exc, "message", exc))
            self.ctx.connectors.close()
        self._remove_log_gate()
        return handed

    def request_stop(self) -> None:
        self._stop.set()
        with self._look:                  # reentrant: a signal may arrive while this thread holds it
            self._look.notify_all()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_until_stopped(self) -> dict[str, int]:
        """Block until :meth:`request_stop` (a signal handler), then stop."""
        while not self._stop.wait(1.0):
            pass
        return self.stop()

    def __enter__(self) -> "EngineRuntime":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def ping_broker(broker: Any) -> None:
    """One round trip to the broker; raises when it does not answer."""
    client = getattr(broker, "client", None)          # Redis
    if client is not None:
        client.ping()
        return
    parameters = getattr(broker, "parameters", None)  # RabbitMQ
    if parameters is not None:
        import pika

        pika.BlockingConnection(parameters=parameters).close()


def _enqueue_unless_queued(session, schedule, scheduled_for, missed_runs) -> bool:
    from crossdock.sync_engine.engine import enqueue_unless_queued

    return enqueue_unless_queued(session, schedule, scheduled_for, missed_runs)


def _safe_url(url: str) -> str:
    import re

    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)


#: The collector's thresholds for an engine process: a young collection every 20,000
#: allocations, not CPython's 700. A job run allocates thousands of short-lived objects
#: (rows, statements, JSON), nearly all freed by reference counting; collecting every 700
#: of them was 3 % of the default demo's CPU (0.98 s in 1,587 collections; 0.58 s in 37 with
#: these). Cycles are still collected, a little later.
GC_THRESHOLDS = (20_000, 20, 50)


def _tune_gc() -> None:
    """Once the engine has started: what start-up allocated (modules, tables,
    statements built once) lives as long as the process, so it is frozen out
    of the collections (after one collection, so no garbage is frozen with
    it), and the thresholds are :data:`GC_THRESHOLDS`."""
    gc.collect()
    gc.freeze()
    if gc.get_threshold()[0] < GC_THRESHOLDS[0]:
        gc.set_threshold(*GC_THRESHOLDS)
