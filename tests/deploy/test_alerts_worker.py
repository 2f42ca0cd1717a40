"""Alerts as an operator deploys them (issue 15): ``crossdock worker`` on a
hand-written configuration raises an alert from doctor's checks on its own
schedule, delivers it once to a webhook, and a resolved message when the
condition clears."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import delete

from crossdock.db import models as m
from crossdock.db.engine import Database
from tests.deploy.harness import Process, clean_env, crossdock, crossdock_json, wait_for
from tests.doctor.receivers import webhook
from tests.doctor.support import reservation_on_a_cancelled_order

pytestmark = pytest.mark.slow


def test_the_worker_alerts_a_webhook_once_and_says_when_it_cleared(tmp_path: Path):
    with webhook() as (port, got):
        # Given a hand-written config with a webhook target for integrity problems, checked every second
        # (the database has no backup either — XD-DATA-005 — which this target does not ask for)
        (tmp_path / "crossdock.toml").write_text(
            '[database]\nurl = "sqlite:///crossdock.sqlite"\n\n[sync]\nalerts_s = 1\n\n'
            f'[alerts.targets.ops]\nurl = "json://127.0.0.1:{port}/alerts"\ncodes = ["XD-DATA-006"]\n',
            encoding="utf-8")
        assert crossdock("db", "upgrade", cwd=tmp_path).returncode == 0
        db = Database(f"sqlite:///{tmp_path / 'crossdock.sqlite'}")
        reservation_on_a_cancelled_order(db)
        worker = Process(["worker", "--threads", "2"], cwd=tmp_path, env=clean_env(),
                         log_path=tmp_path / "worker.log")
        try:
            # When the worker runs, Then one alert is delivered and listed
            wait_for("the integrity alert delivered", lambda: got, timeout_s=30, info=worker.tail)
            time.sleep(3)                          # three more rounds: nothing is sent again
            assert len(got) == 1 and "XD-DATA-006" in got[0]["title"], got
            doc = crossdock_json("alerts", cwd=tmp_path)
            [alert] = [a for a in doc["alerts"] if a["code"] == "XD-DATA-006"]
            assert alert["delivered_at"] and alert["pending"] is None
            # When the data is put right, Then a resolved message follows
            with db.write() as s:
                s.execute(delete(m.Reservation))
            wait_for("the resolved message", lambda: len(got) >= 2, timeout_s=30, info=worker.tail)
            assert "RESOLVED" in got[1]["title"] and len(got) == 2
        finally:
            worker.terminate(timeout_s=40)
            db.dispose()
