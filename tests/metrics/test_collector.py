"""``/metrics`` (issue 14): the collector reads the database at scrape time,
and every figure equals the one the commands print for the same database at
the same instant — ``sync status --json``, ``auth status --json``,
``quota --json`` — because it is built from the same documents."""

from __future__ import annotations

import datetime as dt

import pytest

from crossdock.connectors.credentials import auth_status_doc
from crossdock.metrics.exposition import exposition
from crossdock.metrics.collector import CREDENTIAL_FIELDS
from crossdock.clock import parse_iso
from crossdock.ratelimit.wiring import quota_doc
from crossdock.sync_engine.status import sync_status_doc
from tests.metrics.support import UTC, parse, seed_everything, value
from tests.sync_engine.catalog_env import catalog_env


def test_every_figure_equals_the_commands_documents(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        # Given a shop with something to show on every metric
        seed_everything(env)
        at = dt.datetime.now(UTC)
        # When Prometheus scrapes, and an operator runs the commands at the same instant
        body, content_type = exposition(env.cfg, env.db, now=lambda: at)
        status = sync_status_doc(env.cfg, env.db, at)
        auth = auth_status_doc(env.cfg, env.db, at)
        quota = quota_doc(env.cfg, env.db)
        got = parse(body)
    # Then the figures are the documents' figures
    assert content_type.startswith("text/plain; version=0.0.4")
    for name, c in status["channels"].items():
        if c["orders"]["lag_s"] is not None:
            assert value(got, "order_import_lag_seconds", channel=name) == c["orders"]["lag_s"]
        assert value(got, "stock_queue_dirty_skus", channel=name) == c["stock_queue"]["dirty_skus"]
        for kind, states in c["outbox"].items():
            for state in ("pending", "running", "failed"):
                assert value(got, "outbox_jobs", channel=name, kind=kind, state=state) == states[state]
        assert value(got, "failed_jobs", channel=name) == sum(k["failed"] for k in c["outbox"].values())
        for code, n in c["stuck_orders"].items():
            assert value(got, "stuck_orders", channel=name, code=code) == n
        for code, n in c["failures_24h"].items():
            assert value(got, "failures_24h", channel=name, code=code) == n
        assert value(got, "oversold_units", channel=name) == c["oversold_units"]
        assert value(got, "channel_paused", channel=name, paused_code="") == 0
        if c["drift"]:
            assert value(got, "drift_skus", channel=name, kind="quantity") == c["drift"]["quantities"]
            assert value(got, "drift_skus", channel=name, kind="price") == c["drift"]["prices"]
    for c in auth["channels"]:
        for field, credential in CREDENTIAL_FIELDS.items():
            if c[field]:
                days = (parse_iso(c[field]) - at).total_seconds() / 86_400
                assert value(got, "credential_expiry_days", channel=c["channel"], credential=credential) == days
    assert sum(v for (n, _), v in got.items() if n == "crossdock_failed_jobs") == status["totals"]["outbox_failed"]
    for e in (e for e in quota["quota"] if e["kind"] == "bucket"):
        op = {"platform": e["platform"], "account": e["account"], "operation": e["operation"]}
        assert value(got, "quota_calls_last_hour", **op) == e["calls_last_hour"]
        assert value(got, "quota_throttled_last_hour", **op) == e["throttled_last_hour"]
        assert value(got, "quota_throttled_total", **op) == e["throttled_total"]
        assert value(got, "quota_burst_tokens", **op) == e["burst"]
        # (tokens refill between the two readings: milliseconds apart)
        assert value(got, "quota_available_tokens", **op) == pytest.approx(e["available"], abs=0.5)
    # … and the seeded problems are there, so the comparisons above compared something
    assert value(got, "oversold_units", channel="amazon-de") == 3
    assert value(got, "outbox_jobs", channel="amazon-de", kind="push_stock", state="failed") == 1
    assert value(got, "outbox_jobs", channel="shopify-eu", kind="push_price", state="pending") == 1
    assert value(got, "failed_jobs", channel="amazon-de") == 1
    assert value(got, "stuck_orders", channel="shopify-eu", code="XD-ORD-003") == 1
    assert value(got, "drift_skus", channel="ebay-uk", kind="quantity") >= 1
    assert 9.9 < value(got, "credential_expiry_days", channel="amazon-de", credential="client_secret") < 10
    assert sum(v for (n, labels), v in got.items() if n == "crossdock_quota_throttled_last_hour"
               and ("platform", "ebay") in labels) >= 1
    assert not [k for k in got if k[0] == "crossdock_scrape_error"]
    assert status["totals"]["oversold_units"] == 3


def test_openmetrics_when_the_scraper_asks_for_it(sqlite_db, tmp_path):
    from crossdock.config import load

    path = tmp_path / "crossdock.toml"
    path.write_text(f'[database]\nurl = "{sqlite_db.url}"\n')
    body, content_type = exposition(load(path, env={}), sqlite_db, accept="application/openmetrics-text; "
                                                                          "version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")
    assert value(parse(body.decode().replace("# EOF", "")), "workers_alive") == 0


def test_a_database_that_is_down_is_a_coded_scrape_error_not_a_failed_scrape(tmp_path):
    from crossdock.config import load
    from crossdock.db.engine import Database

    # Given a configuration whose PostgreSQL database does not exist
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/crossdock_metrics_no_such_database"
    path = tmp_path / "crossdock.toml"
    path.write_text(f'[database]\nurl = "{url}"\n')
    db = Database(url)
    try:
        # When Prometheus scrapes
        got = parse(exposition(load(path, env={}), db)[0])
    finally:
        db.dispose()
    # Then each section says it could not be read, with the code, and the scrape itself answers
    for section in ("status", "credentials"):
        assert value(got, "scrape_error", section=section, code="XD-DATA-001") == 1
    # (the quota budget in the same database: its backend's own code)
    assert value(got, "scrape_error", section="quota", code="XD-QUOTA-006") == 1
    assert value(got, "scrape_duration_seconds") >= 0
    assert not [k for k in got if k[0] == "crossdock_outbox_jobs"]
