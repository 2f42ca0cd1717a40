"""A Prometheus collector that reads crossdock's database when it is scraped.

Nothing is kept between scrapes: each :meth:`StateCollector.collect` builds
the same documents the commands print — ``sync status --json``
(:func:`crossdock.sync_engine.status.sync_status_doc`), ``auth status --json``
(:func:`crossdock.connectors.credentials.auth_status_doc`) and ``quota --json``
(:func:`crossdock.ratelimit.wiring.quota_doc`) — and turns their figures into
metric families, so a graph and the command an operator runs never disagree.

One section that fails with a crossdock error (a database that is down or busy,
XD-DATA-…, as :class:`crossdock.db.engine.Database` translates it; a secret key
that does not open the stored tokens, XD-CFG-005) does not fail the scrape: its
metrics are left out and ``crossdock_scrape_error{section, code}`` says which
and why, with the code's catalogue entry behind it. Anything else is a bug and
fails the scrape loudly.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from crossdock.clock import parse_iso
from crossdock.errors import CrossdockError

__all__ = ["CREDENTIAL_FIELDS", "PREFIX", "StateCollector"]

log = logging.getLogger(__name__)

PREFIX = "crossdock_"
#: ``auth status --json`` field → the ``credential`` label (the names its warnings use)
CREDENTIAL_FIELDS = {"refresh_expires_at": "refresh_token", "authorisation_expires_at": "seller_authorisation",
                     "client_secret_expires_at": "client_secret", "trading_token_expires_at": "trading_token"}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, labels=list(labels))


def _timestamp(iso: str | None) -> float | None:
    return parse_iso(iso).timestamp() if iso else None


class StateCollector(Collector):
    """Collects the engine's state from ``db`` with ``cfg`` at every scrape.
    ``now``: the clock (tests pin it to compare with a document built at the same instant)."""

    def __init__(self, cfg: Any, db: Any, *, now: Callable[[], dt.datetime] = _utcnow) -> None:
        self.cfg, self.db, self.now = cfg, db, now

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        at = self.now()
        errors = _gauge("scrape_error", "1 for each section of this scrape that could not be read "
                                        "(its metrics are missing), with the error's code", ("section", "code"))
        for section, build in (("status", self._status), ("credentials", self._credentials),
                               ("quota", self._quota)):
            try:
                families = list(build(at))
            except CrossdockError as exc:
                log.warning("metrics: %s not collected: %s", section, exc)
                errors.add_metric([section, exc.code], 1)
                continue
            yield from families
        yield errors
        duration = _gauge("scrape_duration_seconds", "Time this scrape took to read the database")
        duration.add_metric([], time.monotonic() - started)
        yield duration

    # ------------------------------------------------------------------ sync status
    def _status(self, at: dt.datetime) -> Iterator[Metric]:
        from crossdock.sync_engine.status import sync_status_doc

        doc = sync_status_doc(self.cfg, self.db, at)
        ch = ("channel",)
        paused = _gauge("channel_paused", "1 while the channel is paused (its code in paused_code)",
                        ("channel", "paused_code"))
        lag = _gauge("order_import_lag_seconds", "How far the order import trails the platform's now "
                                                 "(platform seconds; sync status orders.lag_s)", ch)
        last = _gauge("order_import_last_success_timestamp_seconds", "When the last order import succeeded", ch)
        dirty = _gauge("stock_queue_dirty_skus", "SKUs waiting for a stock push", ch)
        dirty_age = _gauge("stock_queue_oldest_age_seconds", "Age of the oldest SKU waiting for a stock push", ch)
        jobs = _gauge("outbox_jobs", "Outbox jobs by channel, kind and state (pending, running, failed; "
                                     "channel \"\" for jobs of no channel)", ("channel", "kind", "state"))
        job_age = _gauge("outbox_oldest_age_seconds", "Age of the oldest pending or running job",
                         ("channel", "kind"))
        failed = _gauge("failed_jobs", "Jobs that used up their retries and wait for a person "
                                       "(XD-SYNC-001; crossdock jobs failed; channel \"\" for jobs of no "
                                       "channel)", ch)
        failures = _gauge("failures_24h", "Failed or retried operations in the last 24 h by code",
                          ("channel", "code"))
        stuck = _gauge("stuck_orders", "Orders flagged stuck (XD-ORD-002, XD-ORD-003, XD-ORD-007)", ("channel", "code"))
        flagged = _gauge("flagged_orders", "Orders with lines no stock was reserved for (XD-INV-004, XD-ORD-004)",
                         ("channel", "code"))
        quarantined = _gauge("quarantined_orders", "Orders held in quarantine (XD-ORD-008)", ch)
        oversold = _gauge("oversold_units", "Units sold that no stock stands behind (XD-INV-001, XD-INV-012)", ch)
        drift = _gauge("drift_skus", "SKUs whose listed quantity or price the last reconcile found different "
                                     "(XD-INV-002, XD-MAP-013)", ("channel", "kind"))
        reconciled = _gauge("last_reconcile_timestamp_seconds", "When the last reconcile of the channel ended", ch)
        for name, c in doc["channels"].items():
            paused.add_metric([name, c["paused_code"] or ""], 1 if c["paused"] else 0)
            if c["orders"]["lag_s"] is not None:
                lag.add_metric([name], c["orders"]["lag_s"])
            if c["orders"]["last_success_at"]:
                last.add_metric([name], _timestamp(c["orders"]["last_success_at"]) or 0.0)
            dirty.add_metric([name], c["stock_queue"]["dirty_skus"])
            if c["stock_queue"]["oldest_age_s"] is not None:
                dirty_age.add_metric([name], c["stock_queue"]["oldest_age_s"])
            self._outbox(jobs, job_age, name, c["outbox"])
            failed.add_metric([name], sum(k["failed"] for k in c["outbox"].values()))
            for code, n in sorted(c["failures_24h"].items()):
                failures.add_metric([name, code], n)
            for code, n in c["stuck_orders"].items():
                stuck.add_metric([name, code], n)
            for code, n in c["flagged_orders"].items():
                flagged.add_metric([name, code], n)
            quarantined.add_metric([name], c["quarantined_orders"])
            oversold.add_metric([name], c["oversold_units"])
            if c["drift"] is not None:
                drift.add_metric([name, "quantity"], c["drift"]["quantities"])
                drift.add_metric([name, "price"], c["drift"]["prices"])
                reconciled.add_metric([name], _timestamp(c["drift"]["reconciled_at"]) or 0.0)
        self._outbox(jobs, job_age, "", doc["unassigned"]["outbox"])
        failed.add_metric([""], sum(k["failed"] for k in doc["unassigned"]["outbox"].values()))
        for code, n in sorted(doc["unassigned"]["failures_24h"].items()):
            failures.add_metric(["", code], n)
        workers = _gauge("workers_alive", "Workers whose heartbeat is recent")
        workers.add_metric([], doc["scheduler"]["workers_alive"])
        tick = _gauge("scheduler_last_tick_age_seconds", "Seconds since a worker last ran the scheduler")
        if doc["scheduler"]["last_tick_age_s"] is not None:
            tick.add_metric([], doc["scheduler"]["last_tick_age_s"])
        yield from (paused, lag, last, dirty, dirty_age, jobs, job_age, failed, failures, stuck, flagged,
                    quarantined, oversold, drift, reconciled, workers, tick)

    @staticmethod
    def _outbox(jobs: GaugeMetricFamily, age: GaugeMetricFamily, channel: str, kinds: dict[str, Any]) -> None:
        for kind, states in sorted(kinds.items()):
            for state in ("pending", "running", "failed"):
                jobs.add_metric([channel, kind, state], states.get(state, 0))
            if states.get("oldest_age_s") is not None:
                age.add_metric([channel, kind], states["oldest_age_s"])

    # ------------------------------------------------------------------ credentials
    def _credentials(self, at: dt.datetime) -> Iterator[Metric]:
        from crossdock.connectors.credentials import auth_status_doc

        doc = auth_status_doc(self.cfg, self.db, at)
        days = _gauge("credential_expiry_days", "Days until a stored credential expires (negative: expired "
                                                "that long ago; auth status)", ("channel", "credential"))
        when = _gauge("credential_expiry_timestamp_seconds", "When a stored credential expires",
                      ("channel", "credential"))
        for c in doc["channels"]:
            for field, credential in CREDENTIAL_FIELDS.items():
                expires = c[field]
                if expires is None:
                    continue
                ts = parse_iso(expires)
                days.add_metric([c["channel"], credential], (ts - at).total_seconds() / 86_400)
                when.add_metric([c["channel"], credential], ts.timestamp())
        yield from (days, when)

    # ------------------------------------------------------------------ quota
    def _quota(self, at: dt.datetime) -> Iterator[Metric]:
        from crossdock.ratelimit.wiring import quota_doc, uses_database

        doc = quota_doc(self.cfg, self.db if uses_database(self.cfg) else None)
        op = ("platform", "account", "operation")
        available = _gauge("quota_available_tokens", "Calls the account may make now on the operation", op)
        burst = _gauge("quota_burst_tokens", "The operation's burst (a full bucket)", op)
        level = _gauge("quota_level_ratio", "available / burst: 1 is a full bucket, 0 an empty one", op)
        rate = _gauge("quota_rate_per_second", "The operation's rate (the plan's, or the one the platform "
                                               "announced)", op)
        calls = _gauge("quota_calls_last_hour", "Calls made in the last hour", op)
        throttled_hour = _gauge("quota_throttled_last_hour", "Calls refused with 429 in the last hour", op)
        throttled = CounterMetricFamily(PREFIX + "quota_throttled", "Calls refused with 429 since the bucket "
                                                                    "was made", labels=list(op))
        win = ("platform", "account", "window")
        used = _gauge("quota_window_used", "Calls counted in the current long window (daily limits, …); for a "
                                           "per-listing window the most any listing used", win)
        limit = _gauge("quota_window_limit", "The long window's limit", win)
        for e in doc["quota"]:
            if e["kind"] == "bucket":
                labels = [e["platform"], e["account"], e["operation"]]
                available.add_metric(labels, e["available"])
                burst.add_metric(labels, e["burst"])
                if e["burst"]:
                    level.add_metric(labels, e["available"] / e["burst"])
                rate.add_metric(labels, e["rate_per_s"])
                calls.add_metric(labels, e["calls_last_hour"])
                throttled_hour.add_metric(labels, e["throttled_last_hour"])
                throttled.add_metric(labels, e["throttled_total"])
            else:
                labels = [e["platform"], e["account"], e["window"]]
                used.add_metric(labels, e["used"] if e["kind"] == "window" else e["max_used"])
                limit.add_metric(labels, e["limit"])
        yield from (available, burst, level, rate, calls, throttled_hour, throttled, used, limit)
