"""`crossdock quota`: what every worker shares, for humans and as one JSON document."""

from __future__ import annotations

import json
import uuid

import pytest

from crossdock.ratelimit import Priority
from crossdock.cli import main
from crossdock.ratelimit.wiring import budget_from_env
from tests.services import REDIS_URL, require_redis

C = Priority.CRITICAL


class _Result:
    def __init__(self, exit_code: int, stdout: str) -> None:
        self.exit_code = exit_code
        self.stdout = self.output = stdout


@pytest.fixture
def invoke(capsys, monkeypatch, tmp_path):
    """Run `crossdock quota …` through the real entry point (its error handling included)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CROSSDOCK_CONFIG", raising=False)
    if not (tmp_path / "crossdock.toml").exists():
        (tmp_path / "crossdock.toml").write_text("# the defaults; the environment names the database\n")

    def run(args, env=None):
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        code = main(["quota", *args])
        return _Result(code, capsys.readouterr().out)

    return run


@pytest.fixture
def sqlite_env(tmp_path, monkeypatch):
    db_url = f"sqlite:///{tmp_path / 'crossdock.sqlite'}"
    from crossdock.db.engine import Database
    from tests.db_template import migrate

    database = Database(db_url)
    migrate(database)  # the CLI checks the schema revision, as for every command
    database.dispose()
    monkeypatch.setenv("CROSSDOCK_RATELIMIT_URL", "sql://")
    monkeypatch.setenv("CROSSDOCK_DATABASE_URL", db_url)
    monkeypatch.delenv("CROSSDOCK_TIME_SCALE", raising=False)
    return db_url


def use_some_quota(budget) -> None:
    for _ in range(21):
        budget.try_acquire("amazon", "A1", "getOrders", priority=C)
    budget.try_acquire("amazon", "A1", "getFeed", priority=C)
    budget.on_response("amazon", "A1", "getFeed", status=429, headers={"Retry-After": "30"})
    budget.try_acquire("ebay", "seller", "GetOrders", priority=C)
    budget.on_response("ebay", "seller", "GetOrders", status=200, daily_limit_reached=True)


def test_quota_json_is_one_document_with_codes(sqlite_env, invoke):
    budget = budget_from_env()
    use_some_quota(budget)
    budget.close()
    result = invoke(["--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)  # exactly one JSON document, nothing else on stdout
    by_op = {(e["platform"], e.get("operation") or e.get("window")): e for e in doc["quota"]}
    orders = by_op[("amazon", "getOrders")]
    assert (orders["rate_per_s"], orders["burst"], orders["calls_last_hour"]) == (0.0167, 20, 20)
    assert orders["code"] == "XD-QUOTA-003" and orders["next_token_at"]
    feed = by_op[("amazon", "getFeed")]
    assert feed["code"] == "XD-QUOTA-001" and feed["throttled_total"] == 1 and feed["blocked_until"]
    trading = by_op[("ebay", "trading_daily")]
    assert trading["remaining"] == 0 and trading["code"] == "XD-QUOTA-002"
    assert {p["code"] for p in doc["problems"]} == {"XD-QUOTA-001", "XD-QUOTA-002", "XD-QUOTA-003"}
    assert all(p["remedy"] for p in doc["problems"])


def test_quota_filters(sqlite_env, invoke):
    budget = budget_from_env()
    use_some_quota(budget)
    budget.close()
    result = invoke(["--json", "--platform", "ebay"])
    assert {e["platform"] for e in json.loads(result.stdout)["quota"]} == {"ebay"}


def test_quota_human_table(sqlite_env, invoke):
    budget = budget_from_env()
    use_some_quota(budget)
    budget.close()
    result = invoke([], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("Token buckets", "getOrders", "Long windows", "trading_daily", "XD-QUOTA-001",
                 "Rate limited by the platform"):
        assert text in result.stdout


def test_quota_on_a_new_embedded_database_is_empty(tmp_path, monkeypatch, invoke):
    monkeypatch.setenv("CROSSDOCK_RATELIMIT_URL", "sql://")
    monkeypatch.setenv("CROSSDOCK_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    result = invoke(["--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"problems": [], "quota": []}


def test_quota_bad_url(monkeypatch, invoke):
    monkeypatch.setenv("CROSSDOCK_RATELIMIT_URL", "memcached://127.0.0.1")
    result = invoke(["--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "XD-CFG-008"


def test_quota_on_redis(monkeypatch, invoke):
    require_redis()
    prefix = f"xdtest:rl:{uuid.uuid4().hex}:"
    monkeypatch.setenv("CROSSDOCK_RATELIMIT_URL", f"{REDIS_URL}?key_prefix={prefix}")
    budget = budget_from_env()
    try:
        use_some_quota(budget)
        result = invoke(["--json"])
        assert result.exit_code == 0, result.output
        ops = {e.get("operation") for e in json.loads(result.stdout)["quota"]}
        assert {"getOrders", "getFeed", "GetOrders"} <= ops
    finally:
        budget.backend.delete_all()  # type: ignore[attr-defined]
        budget.close()


def test_bad_time_scale(sqlite_env, tmp_path, invoke):
    (tmp_path / "crossdock.toml").write_text('[ratelimit]\ntime_scale = "fast"\n')
    result = invoke(["--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "XD-CFG-003"
