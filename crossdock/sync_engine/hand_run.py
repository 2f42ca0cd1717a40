"""``crossdock sync run``: one job now, for one channel or every channel,
behaving like the engine's own runs.

- **Failures are contained.** A channel's failure is classified and settled
  by :mod:`~crossdock.sync_engine.failures` — the path the engine's
  ``jobs.process`` takes: an authorisation failure pauses that channel only,
  every failure is written to the sync log with its code, and the run goes
  on with the next channel. A channel already paused is reported with the
  code that paused it and skipped (never retried by hand: ``crossdock auth
  resume`` lifts the pause).
- **One result per channel** (:class:`ChannelResult`): its outcome (ok,
  partial, skipped, paused, failed), its counts, and for a failure the
  error with its code, message and exit status. :class:`RunReport` holds
  them all and the run's exit status: 0 when every channel is ok; 4
  (partial) when some failed or did part of the work; when every channel
  failed, the exit status of the worst failure (the highest: 3 for
  authorisation or connection over 2 for configuration over 1).
- **Catching up.** The order import reads window after window until the
  cursor reaches the safety horizon (now − the channel's safety lag), so a
  first import walking back through ``initial_lookback_s`` or a cursor left
  far behind is caught up by one command. ``on_progress`` is told after
  each window.
- **Short quota waits are waited out.** Unlike a worker, whose thread is
  freed at once (:class:`~crossdock.ratelimit.waits.QuotaWait`), a hand run
  sleeps through a quota wait up to
  :data:`~crossdock.ratelimit.waits.PERSON_WAIT_S`: a person
  is waiting for this one command, and a run cut short by pacing would only
  be started again.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from crossdock import synclog
from crossdock.clock import parse_iso
from crossdock.db.models import Channel, OutboxEntry
from crossdock.errors import CrossdockError
from crossdock.errors.catalogue import ACTION_PAUSE, EXIT_OK, EXIT_PARTIAL
from crossdock.ratelimit.budget import job_priority
from crossdock.ratelimit.waits import PERSON_WAIT_S, inline_waits
from crossdock.sync_engine import jobs, outbox
from crossdock.sync_engine.failures import Failure, classify, settle
from crossdock.sync_engine.jobs import JOBS, EngineContext
from crossdock.sync_engine.jobs.listings import publish_listings
from crossdock.sync_engine.jobs.prices import push_prices

__all__ = ["JOB_KINDS", "OUTCOMES", "RUN_JOBS", "ChannelResult", "RunReport", "run_job"]

#: ``--job`` → the outbox kind the engine runs it as (its log rows are ``job.KIND``): the job
#: table's rows with a ``hand_run`` name.
JOB_KINDS = {spec.hand_run: kind for kind, spec in JOBS.items() if spec.hand_run}
RUN_JOBS = tuple(JOB_KINDS)

OK, PARTIAL, SKIPPED, PAUSED, FAILED = "ok", "partial", "skipped", "paused", "failed"
OUTCOMES = (OK, PARTIAL, SKIPPED, PAUSED, FAILED)

#: ``on_progress(channel, fraction done 0..1, description)``
ProgressFn = Callable[[str, float, str], None]


@dataclass
class ChannelResult:
    """One channel's part of a run: its outcome, what the job did (filled as
    it goes, so a failure half-way keeps the counts of what was done), and
    the failure."""

    channel: str
    outcome: str = OK
    result: dict[str, Any] = field(default_factory=dict)
    failure: Failure | None = None
    note: str | None = None              # why it was skipped, or what a partial run left undone

    @property
    def failed(self) -> bool:
        return self.outcome in (FAILED, PAUSED)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"outcome": self.outcome, **self.result}
        if self.note:
            doc["note"] = self.note
        if self.failure is not None:
            doc["error"] = self.failure.to_dict()
        return doc


@dataclass
class RunReport:
    job: str
    channels: dict[str, ChannelResult] = field(default_factory=dict)
    since: dt.datetime | None = None

    @property
    def failed(self) -> list[ChannelResult]:
        return [r for r in self.channels.values() if r.failed]

    @property
    def exit_code(self) -> int:
        failed = self.failed
        ran = [r for r in self.channels.values() if r.outcome != SKIPPED]
        if failed and len(failed) == len(ran):
            return max(r.failure.exit_code for r in failed if r.failure is not None)
        if failed or any(r.outcome == PARTIAL for r in ran):
            return EXIT_PARTIAL
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"job": self.job, "exit": self.exit_code}
        if self.since is not None:
            doc["since"] = self.since.isoformat()
        doc["failed"] = [{"channel": r.channel, "outcome": r.outcome, "code": r.failure.code}
                         for r in self.failed if r.failure is not None]
        doc["channels"] = {name: r.to_dict() for name, r in self.channels.items()}
        return doc


def run_job(ctx: EngineContext, job: str, names: Sequence[str], *, since: dt.datetime | None = None,
            skus: Sequence[str] | None = None, on_progress: ProgressFn | None = None) -> RunReport:
    """Run ``job`` (one of :data:`RUN_JOBS`) for each channel of ``names`` in
    turn, containing each channel's failure (see module doc)."""
    kind = JOB_KINDS[job]
    report = RunReport(job=job, since=since)
    imported_with: dict[str, str] = {}      # channel -> the channel whose import read it (one Amazon call)
    progress = on_progress or (lambda channel, fraction, text: None)
    from crossdock.sync_engine.after_restore import settle_restores
    from crossdock.sync_engine.liveness import process_id

    settle_restores(ctx, process_id())      # a restored database is settled before a hand run too
    for name in names:
        row = report.channels[name] = ChannelResult(name)
        if job == "orders" and since is None and name in imported_with:
            row.outcome, row.note = SKIPPED, f"imported with {imported_with[name]} in this run"
            continue
        code = jobs.paused(ctx.db, name)
        if code:
            row.outcome, row.failure = PAUSED, _paused_failure(ctx, name, code)
            continue
        with synclog.correlation(synclog.new_correlation_id()), \
                job_priority(JOBS[kind].priority), inline_waits(PERSON_WAIT_S):
            try:
                _JOBS[job](ctx, name, row, since=since, skus=skus, progress=progress)
            except Exception as exc:  # noqa: BLE001 - contained per channel, as the engine contains a job
                row.failure = classify(exc, channel=name)
                settle(ctx, row.failure, kind=kind, channel=name)
                row.outcome = PAUSED if row.failure.action == ACTION_PAUSE else FAILED
                continue
        if job == "orders" and since is None:
            for member in row.result.get("channels", ()):
                if member != name:
                    imported_with.setdefault(member, name)
    return report


def _paused_failure(ctx: EngineContext, channel: str, code: str) -> Failure:
    """A channel paused before this run: reported with the code that paused it."""
    with ctx.db.read() as s:
        reason, since = s.execute(select(Channel.paused_reason, Channel.paused_at)
                                  .where(Channel.name == channel)).one()
    when = f" since {since.isoformat(timespec='seconds')}" if since else ""
    error = CrossdockError(code, channel=channel,
                           detail=f"channel paused{when}, skipped: {reason or 'no reason recorded'}; "
                                  f"fix the cause, then `crossdock auth resume {channel}`")
    return Failure(error, ACTION_PAUSE, None)


# ------------------------------------------------------------------ the jobs
def _orders(ctx: EngineContext, channel: str, row: ChannelResult, *, since, progress: ProgressFn, **_) -> None:
    if since is not None:
        from crossdock.sync_engine.order_backfill import import_orders_since

        def told(end: dt.datetime, horizon: dt.datetime) -> None:
            progress(channel, _fraction(since, end, horizon), f"{channel}: read again up to {_short(end)}")

        row.result.update(import_orders_since(ctx, channel, since, on_window=told))
        _note_quarantined(row)
        return
    totals: Counter = Counter()
    row.result.update(windows=0, read=0, new=0, updated=0)
    origin: dt.datetime | None = None
    last: str | None = None
    while True:
        r = jobs.import_orders(ctx, channel)
        if "skipped" in r:
            if not totals["windows"]:
                row.note = r["skipped"]
                row.result["caught_up"] = True
            break
        totals.update(windows=1, read=r["read"], new=r["new"], updated=r["updated"])
        if r.get("quarantined"):
            totals.update(quarantined=r["quarantined"])
        row.result.update(totals, cursor=r["cursor"], caught_up=not r["more"])
        if r.get("channels"):
            row.result["channels"] = r["channels"]
        origin = origin or parse_iso(r["start"])
        progress(channel, _fraction(origin, parse_iso(r["cursor"]), parse_iso(r["horizon"])),
                 f"{channel}: orders up to {_short(parse_iso(r['cursor']))}")
        if not r["more"] or r["cursor"] == last:      # caught up (or the cursor cannot move: stop, never spin)
            break
        last = r["cursor"]
    _note_quarantined(row)


def _note_quarantined(row: ChannelResult) -> None:
    """Orders set aside: the channel's import went on, but a person has orders to look at (exit 4)."""
    n = row.result.get("quarantined", 0)
    if n:
        row.outcome = PARTIAL
        row.note = f"{n} order(s) quarantined (XD-ORD-008): crossdock orders quarantine"


def _stock(ctx: EngineContext, channel: str, row: ChannelResult, **_) -> None:
    row.result.update(jobs.push_stock(ctx, channel))


def _prices(ctx: EngineContext, channel: str, row: ChannelResult, *, skus, **_) -> None:
    row.result.update(push_prices(ctx, channel, skus=skus or None))
    left = [*row.result["rejected"], *row.result["problems"]]
    if left:
        row.outcome = PARTIAL
        row.note = _items_note(left, "not pushed")


def _listings(ctx: EngineContext, channel: str, row: ChannelResult, *, skus, **_) -> None:
    row.result.update(publish_listings(ctx, channel, skus=skus or None))
    if row.result["rejected"]:
        row.outcome = PARTIAL
        row.note = _items_note(row.result["rejected"], "rejected")


def _reconcile(ctx: EngineContext, channel: str, row: ChannelResult, **_) -> None:
    row.result.update(jobs.reconcile(ctx, channel, apply=False))


def _shipments(ctx: EngineContext, channel: str, row: ChannelResult, **_) -> None:
    """Send the channel's queued shipment confirmations now, each through the
    engine's own ``jobs.process`` (an authorisation failure pauses the
    channel there; a failed confirmation stays in the outbox to retry)."""
    entries = outbox.claim(ctx.db, worker_id=ctx.worker_id, kinds=[jobs.CONFIRM_SHIPMENT], channel=channel,
                           limit=100, lease_s=jobs.configured_lease_s(ctx.cfg))
    outcomes = Counter(jobs.process(ctx, e) for e in entries)
    row.result.update(queued=len(entries), confirmed=outcomes.pop("done", 0), outcomes=dict(outcomes))
    if not outcomes:
        return
    with ctx.db.read() as s:
        code, last_error = s.execute(select(OutboxEntry.last_code, OutboxEntry.last_error)
                                     .where(OutboxEntry.id.in_([e.id for e in entries]),
                                            OutboxEntry.last_code.is_not(None))
                                     .order_by(OutboxEntry.updated_at.desc()).limit(1)).first() or (None, None)
    paused_code = jobs.paused(ctx.db, channel)
    if paused_code:
        row.outcome, row.failure = PAUSED, _paused_failure(ctx, channel, paused_code)
        return
    left = sum(outcomes.values())
    row.note = f"{left} of {len(entries)} confirmations not sent yet (crossdock jobs failed)"
    if code:
        row.failure = classify(CrossdockError(code, channel=channel, detail=f"{row.note}; last: {last_error}"),
                               channel=channel)
    row.outcome = FAILED if not row.result["confirmed"] and row.failure is not None else PARTIAL


_JOBS: dict[str, Callable[..., None]] = {"orders": _orders, "stock": _stock, "prices": _prices,
                                         "listings": _listings, "reconcile": _reconcile, "shipments": _shipments}


def _items_note(items: list[dict[str, Any]], what: str) -> str:
    shown = ", ".join(f"{i['sku']} {i.get('code') or ''}".strip() for i in items[:5])
    return f"{len(items)} SKU(s) {what}: {shown}" + (", …" if len(items) > 5 else "")


def _fraction(origin: dt.datetime, at: dt.datetime, horizon: dt.datetime) -> float:
    span = (horizon - origin).total_seconds()
    return 1.0 if span <= 0 else max(0.0, min(1.0, (at - origin).total_seconds() / span))


def _short(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
