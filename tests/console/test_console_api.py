"""``/api/``: bearer tokens, the CLI's documents, audited changes, health."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from crossdock.access.users import disable_user, new_token
from crossdock.audit import audit_rows
from tests.cli_run import crossdock
from tests.console.support import CLIENT_SECRET, ORDER_ID, console, seed, write_config


@pytest.fixture
def api(db, tmp_path, monkeypatch):
    ids = seed(db)
    client = console(db, tmp_path, monkeypatch)
    tokens = {role: new_token(db, role)["token"] for role in ("viewer", "support", "operator", "admin")}
    return db, ids, client, {role: {"Authorization": f"Bearer {t}"} for role, t in tokens.items()}


def test_api_order_trace_is_what_logs_trace_json_prints(api, tmp_path):
    """Given the seeded order, GET /api/orders/ID is byte for byte the
    document `crossdock logs trace ID --json` prints (a real process)."""
    db, ids, client, auth = api
    r = client.get(f"/api/orders/{ORDER_ID}", headers=auth["support"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    folder = tmp_path / "cli"
    folder.mkdir()
    write_config(folder)
    env = {**os.environ, "CROSSDOCK_DATABASE_URL": db.url, "XD_CONSOLE_CLIENT_SECRET": CLIENT_SECRET}
    env.pop("CROSSDOCK_CONFIG", None)
    cli = subprocess.run([sys.executable, "-m", "crossdock", "logs", "trace", ORDER_ID, "--json"], cwd=folder,
                         env=env, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert r.text == cli.stdout
    assert [e["operation"] for e in r.json()["events"]] == ["order.import", "order.reserve"]


def test_api_documents_are_the_cli_documents(api, tmp_path):
    db, ids, client, auth = api
    write_config(tmp_path)
    env = {"CROSSDOCK_DATABASE_URL": db.url, "XD_CONSOLE_CLIENT_SECRET": CLIENT_SECRET}
    assert client.get("/api/jobs/failed", headers=auth["viewer"]).json() == \
        crossdock("jobs", "failed", "--json", cwd=tmp_path, env=env).doc
    assert client.get("/api/logs?channel=ebay-gb", headers=auth["support"]).json() == \
        crossdock("logs", "--channel", "ebay-gb", "--json", cwd=tmp_path, env=env).doc
    status = client.get("/api/status", headers=auth["viewer"]).json()
    cli = crossdock("sync", "status", "--json", cwd=tmp_path, env=env).doc
    assert set(status) == set(cli) and status["channels"].keys() == cli["channels"].keys()
    found = client.get("/api/orders?country=GB", headers=auth["viewer"]).json()
    assert [o["platform_order_id"] for o in found["orders"]] == ["12-00000", "12-00001", "12-00002"]
    by_sku = client.get("/api/orders?sku=MUG-1", headers=auth["viewer"]).json()["orders"]
    assert [o["platform_order_id"] for o in by_sku] == [ORDER_ID]


def test_api_tokens_and_roles(api):
    """No token, a wrong one or a disabled user's: 401 XD-ACCESS-007; a role
    too low: 403 XD-ACCESS-005; the right role: the action, audited via api."""
    db, ids, client, auth = api
    for headers in ({}, {"Authorization": "Bearer xdt_nonsense"}, {"Authorization": "Basic abc"}):
        r = client.get("/api/status", headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (401, "XD-ACCESS-007")
    for role, path in (("viewer", f"/api/orders/{ORDER_ID}"), ("viewer", "/api/logs"), ("operator", "/api/audit")):
        r = client.get(path, headers=auth[role])
        assert (r.status_code, r.json()["error"]["code"]) == (403, "XD-ACCESS-005"), (role, path)
    for role in ("viewer", "support"):
        r = client.post(f"/api/jobs/{ids['failed']}/retry", headers=auth[role])
        assert (r.status_code, r.json()["error"]["code"]) == (403, "XD-ACCESS-005")
        assert client.post("/api/channels/amazon-de/pause", headers=auth[role]).status_code == 403
    retried = client.post(f"/api/jobs/{ids['failed']}/retry", headers=auth["operator"])
    assert retried.json() == {"retried": [ids["failed"]], "not_retried": []}
    again = client.post(f"/api/jobs/{ids['failed']}/retry", headers=auth["operator"])
    assert again.status_code == 409 and again.json()["not_retried"][0]["reason"] == "status is pending, not failed"
    assert client.post("/api/channels/amazon-de/pause?reason=audit%20test", headers=auth["operator"]).json() == \
        {"channel": "amazon-de", "paused": True, "paused_code": "XD-SYNC-009"}
    assert client.get("/api/status", headers=auth["viewer"]).json()["channels"]["amazon-de"]["paused_code"] == \
        "XD-SYNC-009"
    assert client.post("/api/channels/amazon-de/resume", headers=auth["operator"]).json()["resumed"] is True
    unknown = client.post("/api/channels/nowhere/pause", headers=auth["operator"])
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "XD-CFG-007")
    records = client.get("/api/audit", headers=auth["admin"]).json()["records"]
    assert [(r["action"], r["actor"], r["via"]) for r in records[:3]] == [
        ("channels.resume", "operator", "api"), ("channels.pause", "operator", "api"), ("jobs.retry", "operator", "api")]
    disable_user(db, "operator")
    r = client.post("/api/channels/amazon-de/pause", headers=auth["operator"])
    assert (r.status_code, r.json()["error"]["code"]) == (401, "XD-ACCESS-007")
    with db.read() as s:
        assert [r["action"] for r in audit_rows(s) if r["action"].startswith("channels.")] == \
            ["channels.pause", "channels.resume"]


def test_health_and_readiness(db, tmp_path, monkeypatch):
    client = console(db, tmp_path, monkeypatch)
    assert client.get("/healthz").text == "ok"
    assert client.get("/readyz").json() == {"ready": True}
    from sqlalchemy import text

    from crossdock.db.migrate import head_revision

    head = head_revision(db)
    with db.engine.begin() as conn:          # a database behind the code: not ready, with the code
        conn.execute(text("UPDATE alembic_version SET version_num = '0009_doctor'"))
    r = client.get("/readyz")
    assert (r.status_code, r.json()["error"]["code"]) == (503, "XD-DATA-002")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})


def test_metrics_for_a_token_are_the_status_documents_figures(api):
    """/metrics answers a viewer's token (a Prometheus scrape) and nobody
    without one; what it says is what /api/status says, parsed with
    prometheus-client's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    db, ids, client, auth = api
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.json()["error"]["code"].startswith("XD-ACCESS-")
    r = client.get("/metrics", headers=auth["viewer"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    status = client.get("/api/status", headers=auth["viewer"]).json()
    paused = {s.labels["channel"]: s.value for s in families["crossdock_channel_paused"].samples}
    assert paused and paused == {name: float(bool(c["paused"])) for name, c in status["channels"].items()}
    failed = {s.labels["channel"]: s.value for s in families["crossdock_failed_jobs"].samples}
    assert sum(failed.values()) == sum(k["failed"] for c in status["channels"].values() for k in c["outbox"].values()) \
        + sum(k["failed"] for k in status["unassigned"]["outbox"].values())
