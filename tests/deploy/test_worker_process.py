"""``crossdock worker`` as an operator runs it: a process, a config file, signals,
and a database or broker that goes away and comes back."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from tests.deploy.harness import Process, Proxy, clean_env, crossdock, crossdock_json, wait_for
from tests.services import TempPostgresDatabase, require_postgres, require_redis

pytestmark = pytest.mark.slow


def _done(db_url: str, kind: str) -> int:
    from sqlalchemy import func, select

    from crossdock.db.engine import Database
    from crossdock.db.models import OutboxEntry

    db = Database(db_url)
    try:
        with db.read() as s:
            return s.scalar(select(func.count()).select_from(OutboxEntry)
                            .where(OutboxEntry.kind == kind, OutboxEntry.status == "done")) or 0
    finally:
        db.dispose()


def test_worker_on_the_embedded_default_runs_until_sigterm_and_says_so_in_sync_status(tmp_path: Path):
    # Given a hand-written config for the embedded default: SQLite file, in-process broker
    (tmp_path / "crossdock.toml").write_text(
        '[database]\nurl = "sqlite:///crossdock.sqlite"\n\n[broker]\nurl = "stub://"\n\n'
        "[sync]\nhousekeeping_s = 1\n", encoding="utf-8")
    assert crossdock("db", "upgrade", cwd=tmp_path).returncode == 0
    # When `crossdock worker` starts in that folder
    worker = Process(["worker", "--threads", "2"], cwd=tmp_path, env=clean_env(), log_path=tmp_path / "worker.log")
    try:
        worker.wait_output("crossdock worker", timeout_s=30)
        status_line = next(l for l in worker.output().splitlines() if l.startswith("crossdock worker"))
        # Then it prints one status line naming the database, the broker, the channels and the schedules
        assert "crossdock.sqlite (revision " in status_line and "broker stub://" in status_line
        assert "0 channel(s)" in status_line and "schedule(s)" in status_line
        # and sync status shows it alive, with the scheduler ticking and its own jobs done
        doc = wait_for("a live worker in sync status",
                       lambda: (d := crossdock_json("sync", "status", cwd=tmp_path))["scheduler"]["running"] and d,
                       timeout_s=20)
        assert [w["alive"] for w in doc["workers"]] == [True]
        assert doc["scheduler"]["last_tick_age_s"] is not None and doc["scheduler"]["last_tick_age_s"] < 15
        db_url = f"sqlite:///{tmp_path / 'crossdock.sqlite'}"
        wait_for("housekeeping runs done by the worker", lambda: _done(db_url, "housekeeping") >= 2, timeout_s=20,
                 info=worker.tail)
    finally:
        # When it gets SIGTERM, it stops within 30 s with exit status 0
        rc, took = worker.terminate(timeout_s=40)
    assert rc == 0 and took < 30, worker.tail()
    assert "stopped;" in worker.output() and "Traceback" not in worker.output()
    # and sync status no longer calls anything running
    doc = crossdock_json("sync", "status", cwd=tmp_path)
    assert doc["scheduler"]["running"] is False
    assert [w["status"] for w in doc["workers"]] == ["stopped"]
    text = crossdock("sync", "status", cwd=tmp_path)
    assert "XD-SYNC-008" in text.stderr


@pytest.mark.postgres
def test_database_down_at_start_and_gone_mid_run_is_one_coded_line_each_and_work_resumes(tmp_path: Path):
    require_postgres()
    pg = TempPostgresDatabase()
    proxy = Proxy("127.0.0.1", 5432)
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{pg.name}"
    (tmp_path / "crossdock.toml").write_text(f'[database]\nurl = "{url}"\n\n[sync]\nhousekeeping_s = 1\n',
                                             encoding="utf-8")
    direct_url = f"postgresql://postgres@127.0.0.1:5432/{pg.name}"
    worker = None
    try:
        # Given the database is down when the worker starts
        worker = Process(["worker", "--threads", "2"], cwd=tmp_path, env=clean_env(), log_path=tmp_path / "w.log")
        worker.wait_output("XD-DATA-001", timeout_s=20)
        time.sleep(3)
        # Then it said so once, with the code, and keeps waiting (no traceback, no storm)
        assert worker.output().count("XD-DATA-001") == 1, worker.tail()
        assert worker.proc.poll() is None
        # When the database comes up and is migrated, the worker starts by itself
        proxy.start()
        assert crossdock("db", "upgrade", cwd=tmp_path).returncode == 0
        worker.wait_output("crossdock worker", timeout_s=40)
        wait_for("housekeeping done", lambda: _done(direct_url, "housekeeping") >= 2, timeout_s=30, info=worker.tail)
        # When the database goes away while it runs
        proxy.cut()
        worker.wait_output("XD-DATA-001] Database unreachable", timeout_s=20)
        time.sleep(6)
        # Then one more coded line, no traceback
        assert worker.output().count("XD-DATA-001") == 2, worker.tail()
        # And when it returns, work resumes
        proxy.start()
        worker.wait_output("database reachable again", timeout_s=40)
        before = _done(direct_url, "housekeeping")
        wait_for("housekeeping after the outage", lambda: _done(direct_url, "housekeeping") > before + 1,
                 timeout_s=30, info=worker.tail)
        rc, took = worker.terminate(timeout_s=40)
        assert rc == 0 and took < 30
        assert "Traceback" not in worker.output(), worker.tail()
    finally:
        if worker is not None and worker.proc.poll() is None:
            worker.kill()
        proxy.cut()
        pg.close()


@pytest.mark.redis
def test_broker_gone_mid_run_is_one_coded_line_and_work_resumes(tmp_path: Path):
    require_redis()
    from tests.services import REDIS_URL
    from urllib.parse import urlsplit

    target = urlsplit(REDIS_URL)
    proxy = Proxy(target.hostname or "127.0.0.1", target.port or 6379).start()
    (tmp_path / "crossdock.toml").write_text(
        f'[database]\nurl = "sqlite:///crossdock.sqlite"\n\n[broker]\nurl = "redis://127.0.0.1:{proxy.port}/0"\n\n'
        "[sync]\nhousekeeping_s = 1\n", encoding="utf-8")
    assert crossdock("db", "upgrade", cwd=tmp_path).returncode == 0
    db_url = f"sqlite:///{tmp_path / 'crossdock.sqlite'}"
    env = clean_env(CROSSDOCK_BROKER_NAMESPACE=f"xd-test-{uuid.uuid4().hex[:10]}")
    worker = Process(["worker", "--threads", "2"], cwd=tmp_path, env=env, log_path=tmp_path / "w.log")
    try:
        worker.wait_output("crossdock worker", timeout_s=30)
        wait_for("housekeeping done through Redis", lambda: _done(db_url, "housekeeping") >= 2, timeout_s=30,
                 info=worker.tail)
        # When Redis goes away for ~10 s
        proxy.cut()
        worker.wait_output("XD-SYNC-006", timeout_s=20)
        time.sleep(8)
        # Then one coded line, not one per reconnect attempt, and no traceback
        lines = worker.output().splitlines()
        assert sum("XD-SYNC-006" in l for l in lines) == 1, worker.tail()
        assert not any("CRITICAL" in l or "Traceback" in l for l in lines), worker.tail()
        # And when it returns, the worker says so and work resumes
        proxy.start()
        worker.wait_output("broker reachable again", timeout_s=60)
        before = _done(db_url, "housekeeping")
        wait_for("housekeeping after the outage", lambda: _done(db_url, "housekeeping") > before + 1, timeout_s=30,
                 info=worker.tail)
        rc, took = worker.terminate(timeout_s=40)
        assert rc == 0 and took < 30, worker.tail()
    finally:
        if worker.proc.poll() is None:
            worker.kill()
        proxy.cut()
