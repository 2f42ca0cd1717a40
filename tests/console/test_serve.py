"""``crossdock serve`` as a real process: it refuses a non-loopback address
unless told and configured, answers /healthz and /readyz when it runs, and
serves /metrics as `sync status --json` says."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.console.support import write_config


def _env(folder) -> dict[str, str]:
    env = {**os.environ, "CROSSDOCK_DATABASE_URL": f"sqlite:///{folder / 'crossdock.sqlite'}"}
    env.pop("CROSSDOCK_CONFIG", None)
    return env


def _serve(folder, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crossdock", "serve", *args], cwd=folder, env=_env(folder),
                          capture_output=True, text=True, timeout=timeout)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("args, extra", [
    (("--host", "0.0.0.0"), ""),                                   # no --allow-remote
    (("--host", "0.0.0.0", "--allow-remote"), ""),                 # no TLS files, no proxy note
    (("--host", "console.example.com", "--allow-remote"), "\n[serve]\nbehind_proxy = false\n"),
])
def test_serve_refuses_a_remote_address_without_allow_remote_and_protection(tmp_path, args, extra):
    write_config(tmp_path, extra)
    ran = _serve(tmp_path, *args)
    assert ran.returncode == 3, ran.stderr      # the XD-ACCESS exit status
    assert "XD-ACCESS-008" in ran.stderr and "crossdock console on" not in ran.stderr


def test_serve_answers_health_and_readiness(tmp_path):
    """Given a configuration (and behind_proxy: --allow-remote would be
    accepted), `crossdock serve` on loopback answers /healthz and /readyz and
    stops on SIGTERM."""
    write_config(tmp_path, "\n[serve]\nbehind_proxy = true\n")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "crossdock", "serve", "--port", str(port)], cwd=tmp_path,
                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "crossdock serve did not answer within 30 s"
                time.sleep(0.1)
        assert (health.status_code, health.text) == (200, "ok")
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json() == {"ready": True}
        login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert login.status_code == 200 and 'name="csrf"' in login.text
        assert "server" not in login.headers
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    # uvicorn shuts down cleanly, then re-raises the signal it caught (the status a supervisor expects)
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err


def test_the_served_metrics_equal_what_sync_status_json_says(tmp_path):
    """Prometheus scrapes `crossdock serve`'s /metrics with a viewer's API
    token (made with `crossdock users token`); parsed with prometheus-client's
    parser, its figures are the ones `crossdock sync status --json` prints."""
    from prometheus_client.parser import text_string_to_metric_families

    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade
    from crossdock.sync_engine.hand_pause import pause_by_hand
    from tests.console.support import seed

    write_config(tmp_path)
    env = {**_env(tmp_path), "XD_CONSOLE_CLIENT_SECRET": "not-shown"}
    db = Database(env["CROSSDOCK_DATABASE_URL"])
    upgrade(db)
    seed(db)                                  # a failed and a queued job, users per role
    pause_by_hand(db, "ebay-gb", reason="carrier strike")
    db.dispose()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "crossdock", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)

    token = cli("users", "token", "viewer")
    assert token.returncode == 0, token.stderr
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "crossdock", "serve", "--port", str(port)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "crossdock serve did not answer within 30 s"
                time.sleep(0.1)
        scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10,
                           headers={"Authorization": f"Bearer {token.stdout.strip()}"})
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    status = cli("sync", "status", "--json")
    assert scrape.status_code == 200 and status.returncode in (0, 3, 4), (scrape.text[:300], status.stderr)
    doc = json.loads(status.stdout)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(scrape.text) for s in f.samples}
    for name, c in doc["channels"].items():
        assert samples[("crossdock_channel_paused", (("channel", name), ("paused_code", c["paused_code"] or "")))] \
            == float(bool(c["paused"]))
        failed = sum(k["failed"] for k in c["outbox"].values())
        assert samples[("crossdock_failed_jobs", (("channel", name),))] == failed
        for kind, states in c["outbox"].items():
            for state in ("pending", "running", "failed"):
                assert samples[("crossdock_outbox_jobs", (("channel", name), ("kind", kind), ("state", state)))] \
                    == states[state]
        assert samples[("crossdock_oversold_units", (("channel", name),))] == c["oversold_units"]
    assert doc["channels"]["ebay-gb"]["paused_code"] == "XD-SYNC-009"
    total = sum(v for (n, _), v in samples.items() if n == "crossdock_failed_jobs")
    assert total == doc["totals"]["outbox_failed"] == 1
