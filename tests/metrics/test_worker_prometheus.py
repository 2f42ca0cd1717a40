"""``[worker] prometheus = true``: Dramatiq's own Prometheus middleware in
``crossdock worker`` — a real worker process, scraped over HTTP as Prometheus
scrapes it, parsed with prometheus_client's parser."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.harness import Process, clean_env, crossdock, wait_for
from tests.services import REDIS_URL, require_redis


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(folder: Path, port: int, broker: str) -> None:
    (folder / "crossdock.toml").write_text(
        f'[database]\nurl = "sqlite:///crossdock.sqlite"\n\n[broker]\nurl = "{broker}"\n\n'
        "[sync]\nhousekeeping_s = 1\n\n"
        f'[worker]\nprometheus = true\nprometheus_port = {port}\nprometheus_dir = "prometheus"\n',
        encoding="utf-8")
    assert crossdock("db", "upgrade", cwd=folder).returncode == 0


def _processed(port: int) -> dict[str, float]:
    """actor → dramatiq_messages_total, as the worker serves it."""
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            if s.name == "dramatiq_messages_total":
                out[s.labels["actor_name"]] = out.get(s.labels["actor_name"], 0.0) + s.value
    return out


def _counting_pids(folder: Path) -> set[str]:
    return {p.stem.rsplit("_", 1)[-1] for p in folder.glob("counter_*.db")}


@pytest.mark.slow       # worker processes for several seconds
# one process on the embedded default; two sharing Redis (with stub:// one process takes every job)
@pytest.mark.parametrize("processes", [1, 2])
def test_the_worker_serves_dramatiq_metrics_of_every_process(tmp_path: Path, processes: int):
    # Given a configuration that turns the worker's Prometheus metrics on, on a free loopback port
    port = _free_port()
    env = clean_env()
    if processes > 1:
        require_redis()
        env["CROSSDOCK_BROKER_NAMESPACE"] = f"xd-metrics-{uuid.uuid4().hex[:8]}"
    _config(tmp_path, port, REDIS_URL if processes > 1 else "stub://")
    stale = tmp_path / "prometheus" / "counter_999999.db"        # an earlier run's file: emptied at start
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    kept = tmp_path / "prometheus" / "notes.txt"                 # not a sample file: left alone
    kept.write_text("mine")
    # When the worker (or a group of two) runs its housekeeping jobs through Dramatiq
    worker = Process(["worker", "--threads", "2", "--processes", str(processes)], cwd=tmp_path, env=env,
                     log_path=tmp_path / "worker.log")
    try:
        worker.wait_output(f"worker metrics: http://127.0.0.1:{port}/metrics", timeout_s=30)
        assert not stale.exists() and kept.read_text() == "mine"
        counted = wait_for("housekeeping messages counted", lambda: (c := _processed(port)).get(
            "process_outbox_entry", 0) >= 2 and c, timeout_s=30, info=worker.tail)
        # one counter file per recording process: the supervisor's one scrape adds up its children's
        pids = wait_for(f"messages counted by {processes} process(es)", lambda: len(
            p := _counting_pids(tmp_path / "prometheus")) == processes and p, timeout_s=30, info=worker.tail)
        body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        families = {f.name for f in text_string_to_metric_families(body)}
        assert _processed(port)["process_outbox_entry"] >= len(pids)
    finally:
        rc, _ = worker.terminate(timeout_s=40)
    # Then Prometheus reads Dramatiq's own families, with the crossdock actors that ran
    # (a multiprocess scrape shows a family once it has a sample: no error family without an error)
    assert {"dramatiq_messages", "dramatiq_message_duration_milliseconds",
            "dramatiq_messages_inprogress"} <= families, families
    assert counted["process_outbox_entry"] >= 2
    assert rc == 0, worker.tail()
    assert "Traceback" not in worker.output()



def test_a_port_already_taken_stops_the_worker_with_the_key_named(tmp_path: Path):
    # Given the configured metrics port is taken by another program
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        _config(tmp_path, port, "stub://")
        # When the worker starts, Then it stops at once with the code and the key, before running any job
        ran = crossdock("worker", cwd=tmp_path, timeout_s=60)
    assert ran.returncode != 0
    assert "XD-CFG-003" in ran.stderr and "prometheus_port" in ran.stderr, ran.stderr
    assert "SIGTERM or Ctrl-C stops" not in ran.stdout       # the engine never started
