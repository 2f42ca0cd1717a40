from __future__ import annotations

import pytest

from crossdock import config
from crossdock.errors import ConfigError

GOOD = """
[database]
url = "sqlite:///data/crossdock.sqlite"

[ratelimit]
time_scale = 60
[ratelimit.plans."amazon.getOrders"]
rate_per_s = 0.5
burst = 30

[channels.amazon-us]
platform = "amazon"
account = "A1SELLER"
marketplace = "ATVPDKIKX0DER"
currency = "usd"
country = "US"
client_id = "amzn1.application-oa2-client.abc"
client_secret = {env = "AMZ_SECRET"}
refresh_token = {env = "AMZ_REFRESH"}
[channels.amazon-us.intervals_s]
orders = 60

[warehouses.DE]
name = "Leipzig"
country = "DE"
bins = ["A-01", "A-02"]
"""


def write(tmp_path, text, name="crossdock.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_good_config_parses_with_relative_sqlite_path(tmp_path):
    cfg = config.load(write(tmp_path, GOOD), env={})
    ch = cfg.channel("amazon-us")
    assert ch.currency == "USD" and ch.intervals_s["orders"] == 60 and ch.intervals_s["stock"] == 30
    assert cfg.database_url == f"sqlite:///{tmp_path / 'data' / 'crossdock.sqlite'}"
    assert cfg.ratelimit_plans["amazon.getOrders"] == {"rate_per_s": 0.5, "burst": 30.0}
    assert cfg.time_scale == 60.0
    assert cfg.warehouse("DE").bins == ["A-01", "A-02"]


def test_environment_overrides_the_file(tmp_path):
    cfg = config.load(write(tmp_path, GOOD), env={"CROSSDOCK_DATABASE_URL": "postgresql://x/y",
                                                   "CROSSDOCK_BROKER_URL": "redis://r:6379/0",
                                                   "CROSSDOCK_RATELIMIT_URL": "redis://r:6379/1"})
    assert (cfg.database_url, cfg.broker_url, cfg.ratelimit_url) == \
        ("postgresql://x/y", "redis://r:6379/0", "redis://r:6379/1")


def test_secrets_resolve_from_environment_and_never_show(tmp_path, monkeypatch):
    cfg = config.load(write(tmp_path, GOOD), env={})
    monkeypatch.setenv("AMZ_SECRET", "s3cr3t-value")
    assert cfg.channel("amazon-us").client_secret.reveal() == "s3cr3t-value"
    assert "s3cr3t" not in repr(cfg)
    monkeypatch.delenv("AMZ_REFRESH", raising=False)
    with pytest.raises(ConfigError) as exc:
        cfg.channel("amazon-us").refresh_token.reveal()
    assert exc.value.code == "XD-CFG-005" and "AMZ_REFRESH" in exc.value.detail
    assert "channels.amazon-us.refresh_token" in exc.value.detail


@pytest.mark.parametrize("text, code, fragment", [
    ('[channels.x]\nplatform = "amazon"\naccount = "A"\ncurrency = "USD"\nclient_secret = "plain"\n',
     "XD-CFG-006", "channels.x.client_secret"),
    ('[channels.x]\nplatform = "etsy"\naccount = "A"\ncurrency = "USD"\n', "XD-CFG-003", "channels.x.platform"),
    ('[channels.x]\nplatform = "ebay"\ncurrency = "GBP"\n', "XD-CFG-004", "channels.x.account"),
    ('[channels.x]\nplatform = "ebay"\naccount = "A"\ncurrency = "POUND"\n', "XD-CFG-003", "channels.x.currency"),
    ('[channels.x]\nplatform = "ebay"\naccount = "A"\ncurrency = "GBP"\n[channels.x.intervals_s]\nfoo = 3\n',
     "XD-CFG-003", "channels.x.intervals_s.foo"),
    ('[ratelimit]\ntime_scale = "fast"\n', "XD-CFG-003", "ratelimit.time_scale"),
    ('[warehouses.CN]\ncountry = "China"\n', "XD-CFG-003", "warehouses.CN.country"),
    ('[databse]\nurl = "x"\n', "XD-CFG-003", "databse"),
    ('[channels.x\nplatform = 1', "XD-CFG-002", "line"),
])
def test_bad_config_names_file_key_and_problem(tmp_path, text, code, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        config.load(path, env={})
    assert exc.value.code == code
    assert str(path) in exc.value.detail
    assert fragment in exc.value.detail


def test_missing_explicit_file_is_an_error_and_so_is_no_file_at_all(tmp_path, monkeypatch):
    with pytest.raises(ConfigError) as exc:
        config.load(tmp_path / "nope.toml", env={})
    assert exc.value.code == "XD-CFG-001"
    # Given a folder without crossdock.toml and no --config / CROSSDOCK_CONFIG (issue 11 §5)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CROSSDOCK_CONFIG", raising=False)
    # When a command loads its configuration, Then it stops with XD-CFG-001 instead of running on
    # guessed defaults, and no ./crossdock.sqlite appears
    with pytest.raises(ConfigError) as exc:
        config.load(None, env={"CROSSDOCK_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert exc.value.code == "XD-CFG-001" and "crossdock.toml" in exc.value.detail
    assert "config init" in exc.value.remedy
    assert list(tmp_path.iterdir()) == []


def test_unknown_channel_lists_the_known_ones(tmp_path):
    cfg = config.load(write(tmp_path, GOOD), env={})
    with pytest.raises(ConfigError) as exc:
        cfg.channel("ebay-uk")
    assert exc.value.code == "XD-CFG-007" and "amazon-us" in exc.value.detail


def test_check_reports_every_problem(tmp_path, monkeypatch):
    monkeypatch.delenv("AMZ_SECRET", raising=False)
    monkeypatch.delenv("AMZ_REFRESH", raising=False)
    cfg = config.load(write(tmp_path, GOOD), env={"CROSSDOCK_BROKER_URL": "kafka://x"})
    problems = config.check(cfg)
    assert len(problems) == 3
    assert any("AMZ_SECRET" in p for p in problems) and any("kafka" in p for p in problems)
