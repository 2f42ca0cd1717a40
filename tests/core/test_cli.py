"""The CLI as a person runs it: the real entry point, real exit codes, real
stdout and stderr (in-process: tests/cli_run.py)."""

from __future__ import annotations

import json

import pytest

from crossdock import synclog
from crossdock.db.engine import Database
from crossdock.db.migrate import upgrade
from tests.cli_run import crossdock


def run(args, *, cwd, env=None, check_json=False):
    proc = crossdock(*args, cwd=cwd, env=env)
    if check_json:
        return proc, json.loads(proc.stdout)
    return proc, None


def test_errors_list_json_is_one_document_with_the_catalogue(tmp_path):
    proc, doc = run(["errors", "list", "--json"], cwd=tmp_path, check_json=True)
    assert proc.returncode == 0
    assert len(doc) >= 30
    assert all({"code", "title", "meaning", "remedy"} <= set(e) for e in doc)


def test_errors_explain(tmp_path):
    proc, doc = run(["errors", "explain", "xd-auth-003", "--json"], cwd=tmp_path, check_json=True)
    assert proc.returncode == 0 and doc["code"] == "XD-AUTH-003"
    proc, _ = run(["errors", "explain", "XD-AUTH-003"], cwd=tmp_path)
    assert "Remedy" in proc.stdout and "Seller Central" in proc.stdout
    proc, doc = run(["errors", "explain", "XD-NOPE-001", "--json"], cwd=tmp_path, check_json=True)
    assert proc.returncode == 2 and doc["error"]["code"] == "XD-CFG-009"


def test_logs_and_trace_read_events_from_the_configured_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    db = Database(url)
    upgrade(db)
    with synclog.correlation():
        with db.write() as s:
            synclog.record(s, operation="orders.import", outcome="ok", channel="ebay-uk", entity="11-111", entity_type="order")
            synclog.record(s, operation="stock.reserve", outcome="ok", channel="ebay-uk", entity="SKU-9", entity_type="sku")
    (tmp_path / "crossdock.toml").write_text(f'[database]\nurl = "{url}"\n')
    env = {}
    proc, doc = run(["logs", "--json", "--channel", "ebay-uk"], cwd=tmp_path, env=env, check_json=True)
    assert proc.returncode == 0 and {e["entity"] for e in doc} == {"11-111", "SKU-9"}
    proc, doc = run(["logs", "trace", "11-111", "--json"], cwd=tmp_path, env=env, check_json=True)
    assert [e["operation"] for e in doc["events"]] == ["orders.import", "stock.reserve"]
    proc, doc = run(["logs", "--json", "--since", "yesterday"], cwd=tmp_path, env=env, check_json=True)
    assert proc.returncode == 2 and doc["error"]["code"] == "XD-CFG-009"


@pytest.mark.parametrize("content, code", [
    ('[channels.x]\nplatform = "amazon"\naccount = "A"\ncurrency = "USD"\nrefresh_token = "Atzr|abc"\n', "XD-CFG-006"),
    ("[channels.x\n", "XD-CFG-002"),
])
def test_bad_config_gives_code_and_remedy_not_a_traceback(tmp_path, content, code):
    (tmp_path / "crossdock.toml").write_text(content)
    proc, _ = run(["config", "check"], cwd=tmp_path)
    assert proc.returncode == 2
    assert code in proc.stderr and "Remedy" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "Atzr|abc" not in proc.stderr + proc.stdout


def test_missing_config_file_named_on_the_command_line(tmp_path):
    proc, doc = run(["--config", "nope.toml", "logs", "--json"], cwd=tmp_path, check_json=True)
    assert proc.returncode == 2 and doc["error"]["code"] == "XD-CFG-001"


def test_usage_errors_exit_2(tmp_path):
    proc, _ = run(["logs", "--limit", "0"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_db_upgrade_and_current(tmp_path):
    (tmp_path / "crossdock.toml").write_text('[database]\nurl = "sqlite:///elsewhere.sqlite"\n')
    env = {"CROSSDOCK_DATABASE_URL": f"sqlite:///{tmp_path / 'y.sqlite'}"}     # wins over the file
    proc, doc = run(["db", "upgrade", "--json"], cwd=tmp_path, env=env, check_json=True)
    assert proc.returncode == 0 and doc["from"] is None and doc["to"]
    proc, doc = run(["db", "current", "--json"], cwd=tmp_path, env=env, check_json=True)
    assert doc["up_to_date"] is True
