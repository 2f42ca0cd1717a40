"""``crossdock sync metrics``: the scrape for operators without the web
console — printed (one real process, as a shell or a cron job runs it) or
written atomically for node-exporter's textfile collector."""

from __future__ import annotations

import json
import time

import pytest

from tests.cli_run import crossdock as crossdock_here
from tests.deploy.harness import clean_env, crossdock
from tests.metrics.support import parse, seed_everything, value
from tests.sync_engine.catalog_env import catalog_env


@pytest.mark.slow      # two real processes, about 5 s on a loaded machine, plus the seeded sandbox shop
def test_the_printed_metrics_equal_sync_status_json(sqlite_db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        seed_everything(env)
        run_env = clean_env(**env.env)
        config = str(env.config_path)
        # When an operator runs both commands, one after the other, as a shell would
        started = time.monotonic()
        metrics = crossdock("--config", config, "sync", "metrics", cwd=tmp_path, env=run_env)
        status = crossdock("--config", config, "sync", "status", "--json", cwd=tmp_path, env=run_env)
        apart_s = time.monotonic() - started
        scale = env.cfg.time_scale
    assert metrics.returncode == 0, metrics.stderr
    assert status.returncode == 0, status.stderr
    got, doc = parse(metrics.stdout), json.loads(status.stdout)
    # Then every figure that does not move with the clock is the same
    for name, c in doc["channels"].items():
        for kind, states in c["outbox"].items():
            for state in ("pending", "running", "failed"):
                assert value(got, "outbox_jobs", channel=name, kind=kind, state=state) == states[state]
        for code, n in c["stuck_orders"].items():
            assert value(got, "stuck_orders", channel=name, code=code) == n
        assert value(got, "oversold_units", channel=name) == c["oversold_units"]
        if c["drift"]:
            assert value(got, "drift_skus", channel=name, kind="quantity") == c["drift"]["quantities"]
        # … and the import lag moved no more than the platform's clock did between the two runs
        if c["orders"]["lag_s"] is not None:
            assert value(got, "order_import_lag_seconds", channel=name) == pytest.approx(
                c["orders"]["lag_s"], abs=scale * apart_s + 0.1)
    assert value(got, "oversold_units", channel="amazon-de") == 3 == doc["totals"]["oversold_units"]
    assert value(got, "failed_jobs", channel="amazon-de") == 1


def test_the_textfile_is_written_for_node_exporter(sqlite_db, tmp_path):
    (tmp_path / "crossdock.toml").write_text(f'[database]\nurl = "{sqlite_db.url}"\n')
    target = tmp_path / "textfile" / "crossdock.prom"
    target.parent.mkdir()
    ran = crossdock_here("sync", "metrics", "--textfile", str(target), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == ""
    assert value(parse(target.read_text()), "workers_alive") == 0
    assert [p.name for p in target.parent.iterdir()] == ["crossdock.prom"]     # no temporary file left
