"""Two ``crossdock worker`` processes with a ``[backup]`` section: each
scheduled backup is taken by one of them, pruned by the policy, and the
newest is verified on its own schedule; retention trims the sync log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.deploy.harness import Process, clean_env, crossdock, crossdock_json, wait_for

pytestmark = pytest.mark.slow


def test_two_workers_take_each_scheduled_backup_once_prune_and_verify(tmp_path: Path):
    # Given a hand-written config: backups every 3 s, the last 2 kept, verified every 4 s
    (tmp_path / "crossdock.toml").write_text(
        '[database]\nurl = "sqlite:///crossdock.sqlite"\n\n[broker]\nurl = "stub://"\n\n'
        '[sync]\nhousekeeping_s = 1\n\n'
        '[backup]\nevery = 3\nkeep = "2 last"\nfolder = "backups"\ncopy_to = "offsite"\nverify_every = 4\n\n'
        '[retention]\nsync_log_days = 30\nevery = 3\n', encoding="utf-8")
    assert crossdock("db", "upgrade", cwd=tmp_path).returncode == 0
    # and a sync log with three events from last year
    from crossdock import synclog
    from crossdock.db.engine import Database
    from crossdock.retention import summary_rows

    db = Database(f"sqlite:///{tmp_path / 'crossdock.sqlite'}")
    with db.write() as s:
        for _ in range(3):
            synclog.record(s, operation="orders.import", outcome="ok", message="old",
                           at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400))
    started = dt.datetime.now(dt.timezone.utc)
    workers = [Process(["worker", "--threads", "2"], cwd=tmp_path, env=clean_env(),
                       log_path=tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        for w in workers:
            w.wait_output("crossdock worker", timeout_s=30)
        # When they run for a while
        doc = wait_for("four scheduled backups and a verified one",
                       lambda: (d := crossdock_json("db", "backups", "--all", cwd=tmp_path)) and
                       len(d["backups"]) >= 4 and any(b["verified"] for b in d["backups"]) and d,
                       timeout_s=60, info=workers[0].tail)
    finally:
        for w in workers:
            w.terminate(timeout_s=40)
    elapsed_s = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
    rows = crossdock_json("db", "backups", "--all", cwd=tmp_path)["backups"]
    # Then every backup is a scheduled one, at most one per 3-second slot (never one per worker)
    assert {r["kind"] for r in rows} == {"scheduled"}
    assert len(rows) <= elapsed_s / 3 + 2
    times = sorted(dt.datetime.fromisoformat(r["taken_at"]) for r in rows)
    assert all((b - a).total_seconds() > 1.5 for a, b in zip(times, times[1:])), times
    # and only the two newest are left on disk, in both places, each with its manifest
    live = [r for r in rows if not r["pruned_at"]]
    assert len(live) == 2 and all(Path(r["path"]).is_file() and Path(r["copied_to"]).is_file() for r in live)
    assert len(list((tmp_path / "backups").glob("*.sqlite"))) == 2
    assert len(list((tmp_path / "offsite").glob("*.manifest.json"))) == 2
    # and the verification ran on a backup and passed
    assert any(r["verified"] is True for r in doc["backups"])
    for w in workers:
        assert "Traceback" not in w.output()
    # and the year-old events were removed by the worker's retention run, their count kept
    assert [(r["operation"], r["count"]) for r in summary_rows(db)] == [("orders.import", 3)]
    db.dispose()
