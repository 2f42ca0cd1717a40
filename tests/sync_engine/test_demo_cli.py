"""``crossdock demo`` as a person runs it: a summary in words (JSON only with
``--json``, as the README says), and after it the demo folder's commands on
real-speed time, the sync log on one time base (issue 19 §5/§6)."""

from __future__ import annotations

import datetime as dt
import json
import time
import tomllib

import pytest

from tests.cli_run import crossdock


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo-cli")
    started = dt.datetime.now(dt.timezone.utc)
    ran = crossdock("demo", "--minutes", "2", "--skus", "4", "--time-scale", "60", "--seed", "5",
                    "--folder", str(folder), cwd=folder)
    ended = dt.datetime.now(dt.timezone.utc)
    return ran, folder, started, ended


def test_the_demo_prints_its_summary_as_text_without_json(demo_run):
    ran, folder, _, _ = demo_run
    assert ran.returncode == 0, ran.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(ran.stdout)
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("crossdock demo: 4 SKUs, 2 sandbox minutes at time scale 60")
    assert any(line.startswith("orders ") and "placed imported" in line for line in lines)
    assert any(line.startswith("units ") and "oversold" in line for line in lines)
    assert f"folder      {folder}" in ran.stdout


def test_after_the_demo_its_folder_runs_on_real_speed_time(demo_run):
    ran, folder, _, _ = demo_run
    assert ran.returncode == 0, ran.stderr
    cfg = folder / "crossdock.toml"
    raw = tomllib.loads(cfg.read_text(encoding="utf-8"))
    assert raw["ratelimit"]["time_scale"] == 1.0 and raw["sandbox"]["clock"]["time_scale"] == 1.0

    def platform_now() -> dt.datetime:
        status = crossdock("--config", cfg, "sync", "status", "--json")
        assert status.returncode == 0, status.stderr
        return dt.datetime.fromisoformat(status.doc.get("platform_now") or status.doc["now"])

    # When the operator asks twice, two real seconds apart
    first = platform_now()
    time.sleep(2.0)
    second = platform_now()
    # Then the platforms' time moved about two seconds, not 60 times that
    assert dt.timedelta(seconds=1) < second - first < dt.timedelta(seconds=10)


def test_after_the_demo_the_sync_log_is_on_the_wall_clock(demo_run):
    ran, folder, started, ended = demo_run
    shown = crossdock("--config", folder / "crossdock.toml", "logs", "--json", "--limit", "100000")
    assert shown.returncode == 0, shown.stderr
    ats = [dt.datetime.fromisoformat(e["at"]) for e in shown.doc]
    ats = [a if a.tzinfo else a.replace(tzinfo=dt.timezone.utc) for a in ats]
    assert ats and min(ats) >= started - dt.timedelta(seconds=1)
    assert max(ats) <= ended + dt.timedelta(seconds=1), "an event stamped with the sandbox's fast clock"
