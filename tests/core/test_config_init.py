"""`crossdock config init`: from a running sandbox to a folder where crossdock
commands work with no environment variable set."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from crossdock import config, secrets
from crossdock.cli import main
from crossdock.config_init import Warehouse, render_config, sandbox_channels
from crossdock.sandbox.core import Sandbox

SANDBOX_CHANNELS = {"amazon-us", "amazon-de", "ebay-gb", "shopify-crossdock-eu"}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(time_scale=20, seed=3) as sb:
        yield sb


@pytest.fixture
def no_env_key(monkeypatch):
    """Only the key file: as on a machine where nobody exported CROSSDOCK_SECRET_KEY."""
    monkeypatch.delenv("CROSSDOCK_SECRET_KEY", raising=False)
    monkeypatch.delenv("CROSSDOCK_CONFIG", raising=False)
    yield
    secrets.use_key_file(None)


def clean_env(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """crossdock in a process with an EMPTY environment (no key, no URLs, no config path)."""
    return subprocess.run([sys.executable, "-m", "crossdock", *args], cwd=cwd, env={}, capture_output=True,
                          text=True, timeout=120)


def init(*args: str) -> int:
    return main(["config", "init", *args])


@pytest.mark.slow
def test_init_from_a_sandbox_then_every_command_works_with_no_environment(sandbox, tmp_path, no_env_key, capsys):
    # Given a running sandbox with Amazon (US, DE), eBay (GB) and a Shopify shop
    desc = sandbox.describe()
    site = tmp_path / "site"
    # When the operator writes a configuration from it
    assert init("--from-sandbox", sandbox.admin_url, "--out", str(site / "crossdock.toml"), "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    path, key_path = site / "crossdock.toml", site / "crossdock.key"
    assert doc["config"] == str(path) and doc["key_file"] == str(key_path) and doc["key_created"] is True
    # Then every account and marketplace has a channel with a readable name
    assert {c["name"] for c in doc["channels"]} == SANDBOX_CHANNELS
    # and the key file is private, in a folder others cannot write to
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert not stat.S_IMODE(site.stat().st_mode) & 0o022
    # and no secret of the sandbox is in the file in plain text
    text = path.read_text()
    plain = [a[k] for p in ("amazon", "ebay") for a in desc[p]["accounts"]
             for k in ("client_secret", "refresh_token", "trading_token") if a.get(k)]
    plain += [s[k] for s in desc["shopify"]["shops"] for k in ("client_secret", "refresh_token")]
    assert plain and not [p for p in plain if p in text]
    # and the file parses, its secrets decrypt with the key file, and it names what a run needs
    cfg = config.load(path, env={})
    assert cfg.key_file == key_path and cfg.database_url == f"sqlite:///{site / 'crossdock.sqlite'}"
    assert (cfg.broker_url, cfg.ratelimit_url, cfg.time_scale) == ("stub://", "sql://", 20.0)
    assert cfg.sandbox["clock"]["time_scale"] == 20.0 and list(cfg.warehouses) == ["DE"]
    ebay = cfg.channel("ebay-gb")
    assert ebay.secrets["trading_token"].reveal() == desc["ebay"]["accounts"][0]["trading_token"]
    assert ebay.options["fulfillment_policy_id"] and ebay.urls["trading_url"] == desc["ebay"]["trading_url"]
    assert cfg.channel("amazon-de").marketplace == "A1PA6795UKMFR9" and cfg.channel("amazon-de").currency == "EUR"

    # When crossdock runs in that folder with an empty environment
    proc = clean_env(["config", "check"], site)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "ok"
    proc = clean_env(["db", "upgrade", "--json"], site)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["from"] is None
    for name in sorted(SANDBOX_CHANNELS):
        proc = clean_env(["auth", "refresh", name, "--json"], site)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["refreshed"] is True
    proc = clean_env(["auth", "status", "--json"], site)
    assert proc.returncode == 0, proc.stderr
    assert {c["channel"] for c in json.loads(proc.stdout)["channels"] if c["access_valid"]} == SANDBOX_CHANNELS
    # Then the tokens it stored decrypt with the key file, and the database is where the config says
    proc = clean_env(["config", "check", "--json"], site)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"] is True, report
    tokens = next(c for c in report["checks"] if c["check"] == "stored tokens")
    assert tokens["ok"] and tokens["detail"].startswith("8 of 8")
    assert (site / "crossdock.sqlite").exists() and not (tmp_path / "crossdock.sqlite").exists()


def test_init_refuses_to_overwrite_and_force_keeps_the_key(sandbox, tmp_path, no_env_key, capsys):
    out = tmp_path / "crossdock.toml"
    assert init("--from-sandbox", sandbox.admin_url, "--out", str(out)) == 0
    first, key = out.read_text(), (tmp_path / "crossdock.key").read_bytes()
    capsys.readouterr()
    # When it runs again without --force, Then it refuses with XD-CFG-011 and changes nothing
    assert init("--from-sandbox", sandbox.admin_url, "--out", str(out), "--json") == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "XD-CFG-011"
    assert out.read_text() == first
    # When it runs with --force, Then the configuration is rewritten but the key is kept, so tokens already
    # stored with it stay readable
    assert init("--from-sandbox", sandbox.admin_url, "--out", str(out), "--force", "--database",
                "postgresql://crossdock@db.example/crossdock", "--broker", "redis://r.example:6379/0",
                "--ratelimit", "redis://r.example:6379/1", "--json") == 0
    assert json.loads(capsys.readouterr().out)["key_created"] is False
    assert (tmp_path / "crossdock.key").read_bytes() == key
    cfg = config.load(out, env={})
    assert (cfg.database_url, cfg.broker_url, cfg.ratelimit_url) == (
        "postgresql://crossdock@db.example/crossdock", "redis://r.example:6379/0", "redis://r.example:6379/1")
    assert cfg.channel("amazon-us").refresh_token.reveal() == sandbox.describe()["amazon"]["accounts"][0]["refresh_token"]


def test_init_refuses_a_folder_everyone_may_write_to(sandbox, tmp_path, no_env_key, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    assert init("--from-sandbox", sandbox.admin_url, "--out", str(shared / "crossdock.toml"), "--json") == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "XD-CFG-010"
    assert list(shared.iterdir()) == []


def test_init_from_a_url_that_is_no_sandbox(sandbox, tmp_path, no_env_key, capsys):
    # the Amazon URL of the sandbox answers, but not with a description
    assert init("--from-sandbox", sandbox.describe()["amazon"]["base_url"], "--out", str(tmp_path / "c.toml"),
                "--json") == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "XD-CFG-012"
    # nothing listens on port 1
    assert init("--from-sandbox", "http://127.0.0.1:1", "--out", str(tmp_path / "c.toml"), "--json") == 3
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "XD-NET-001"
    assert list(tmp_path.iterdir()) == []


def test_init_without_a_sandbox_writes_a_template_whose_examples_are_valid(tmp_path, no_env_key, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert init() == 0
    path = tmp_path / "crossdock.toml"
    cfg = config.load(path, env={})
    assert cfg.channels == {} and cfg.key_file == tmp_path / "crossdock.key"
    assert main(["config", "check"]) == 0
    # the commented channels are a valid configuration once uncommented
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# [channels."))
    uncommented = "\n".join(lines[:start] + [line[2:] for line in lines[start:]])
    tomllib.loads(uncommented)
    path.write_text(uncommented)
    cfg, problems = config.read(path, env={})
    assert problems == [] and set(cfg.channels) == {"amazon-de", "ebay-gb", "shopify-myshop"}
    assert cfg.channel("ebay-gb").options["merchant_location_key"] == "default"


def test_render_config_is_the_same_text_for_the_same_description(sandbox):
    # the demo can write its configuration with the same function
    desc = sandbox.describe()

    def render():
        return render_config(desc, encrypt=lambda v: f"enc({len(v)})", warehouse=Warehouse("CN", "Shenzhen", "CN"))

    text = render()
    assert text == render()
    parsed = tomllib.loads(text)
    assert set(parsed["channels"]) == SANDBOX_CHANNELS and parsed["warehouses"]["CN"]["name"] == "Shenzhen"
    assert parsed["channels"]["amazon-us"]["client_secret"] == {"encrypted": f"enc({len(desc['amazon']['accounts'][0]['client_secret'])})"}
    assert {c.sandbox_channel for c in sandbox_channels(desc)} == set(sandbox.all_channels())


def test_channel_names_stay_unique_and_readable_with_several_accounts():
    desc = {"clock": {}, "admin_url": "x", "amazon": {"base_url": "http://a.test", "lwa_url": "http://a.test/t",
            "accounts": [{"seller_id": sid, "marketplace_ids": ["ATVPDKIKX0DER"], "client_id": "c",
                          "client_secret": "s", "refresh_token": "r"} for sid in ("A1FIRST", "A2SECOND", "A2SECOND")]}}
    names = [c.name for c in sandbox_channels(desc)]
    assert names == ["amazon-us", "amazon-us-a2second", "amazon-us-a2second-2"]


def test_commands_that_need_no_configuration_work_without_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CROSSDOCK_CONFIG", raising=False)
    assert main(["--version"]) == 0
    assert main(["errors", "list", "--json"]) == 0
    assert main(["errors", "explain", "XD-CFG-001"]) == 0
    assert main(["config", "new-key"]) == 0
    assert main(["config", "new-key", "--out", "k.key"]) == 0 and stat.S_IMODE(os.stat("k.key").st_mode) == 0o600
    os.remove("k.key")
    capsys.readouterr()
    # and one that needs it stops with XD-CFG-001, creating nothing
    for args in (["logs", "--json"], ["db", "upgrade", "--json"], ["auth", "status", "--json"],
                 ["config", "show", "--json"]):
        assert main(args) == 2, args
        error = json.loads(capsys.readouterr().out)["error"]
        assert error["code"] == "XD-CFG-001" and "config init" in error["remedy"]
    assert main(["config", "check", "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and [p["code"] for p in report["problems"]] == ["XD-CFG-001"]
    assert list(tmp_path.iterdir()) == []


def test_config_encrypt_uses_the_key_file_of_the_configuration(tmp_path, no_env_key, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert init() == 0
    capsys.readouterr()
    monkeypatch.setenv("NEW_SECRET", "shpss_new-client-secret")
    assert main(["config", "encrypt", "--from-env", "NEW_SECRET"]) == 0
    line = capsys.readouterr().out.strip()
    token = tomllib.loads(f"x = {line}")["x"]["encrypted"]
    from cryptography.fernet import Fernet

    key = (tmp_path / "crossdock.key").read_text().strip()
    assert Fernet(key.encode()).decrypt(token.encode()) == b"shpss_new-client-secret"


def test_init_with_an_events_url_writes_where_platforms_post_and_the_sandbox_queues(sandbox, tmp_path, no_env_key,
                                                                                      capsys):
    """``--events-url``: ``[events] public_url`` for the webhook platforms, and for a platform whose
    events come on a queue (the sandbox's SQS endpoint) the queue options and its AWS keys, the keys
    encrypted like every secret; without it no channel reads a queue."""
    from crossdock.events.queue_consumer import bindings

    desc = sandbox.describe()
    site = tmp_path / "site"
    assert init("--from-sandbox", sandbox.admin_url, "--out", str(site / "crossdock.toml"),
                "--events-url", "http://127.0.0.1:8040", "--json") == 0
    capsys.readouterr()
    text = (site / "crossdock.toml").read_text()
    assert desc["sqs"]["secret_access_key"] not in text and desc["sqs"]["access_key_id"] not in text
    cfg = config.load(site / "crossdock.toml", env={})
    assert cfg.events["public_url"] == "http://127.0.0.1:8040"
    queues = bindings(cfg)
    # one seller's marketplaces share one queue: read once, for both channels
    assert len(queues) == 1 and set(queues[0].reader.channels) == {"amazon-us", "amazon-de"}, queues
    for b in queues:
        assert b.access.endpoint_url == desc["sqs"]["endpoint_url"]
        assert b.access.access_key_id == desc["sqs"]["access_key_id"]
        assert b.access.url in {q["url"] for q in desc["sqs"]["queues"]}

    # and without it, nothing reads a queue
    plain = tmp_path / "plain"
    assert init("--from-sandbox", sandbox.admin_url, "--out", str(plain / "crossdock.toml"), "--json") == 0
    capsys.readouterr()
    assert bindings(config.load(plain / "crossdock.toml", env={})) == []
