"""`crossdock config check`: says "ok" only when a run would start, and lists
every problem at once with its code (exit 2 for the configuration, 3 for
services and authorisation, the worst found)."""

from __future__ import annotations

import json
import os

import pytest
from cryptography.fernet import Fernet

from crossdock import secrets
from crossdock.cli import main
from crossdock.config_init import init_config
from crossdock.db.engine import Database
from crossdock.db.migrate import upgrade
from crossdock.db.models import Channel, Credential
from tests.services import AMQP_URL, REDIS_URL, TempPostgresDatabase, require_postgres, require_rabbitmq, require_redis

CHANNEL = """
[channels.ebay-gb]
platform = "ebay"
account = "seller"
marketplace = "EBAY_GB"
currency = "GBP"
client_id = "App-ID"
client_secret = {env = "XD_TEST_EBAY_SECRET"}
refresh_token = {env = "XD_TEST_EBAY_REFRESH"}
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder with a key file (mode 0600) and a helper writing its crossdock.toml."""
    monkeypatch.delenv("CROSSDOCK_SECRET_KEY", raising=False)
    monkeypatch.delenv("CROSSDOCK_CONFIG", raising=False)
    for var in ("CROSSDOCK_DATABASE_URL", "CROSSDOCK_BROKER_URL", "CROSSDOCK_RATELIMIT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XD_TEST_EBAY_SECRET", "cert-id-secret")
    monkeypatch.setenv("XD_TEST_EBAY_REFRESH", "v^1.1#refresh")
    monkeypatch.chdir(tmp_path)
    key = secrets.write_key_file(tmp_path / "crossdock.key")

    def write(body: str = "", *, database: str = "sqlite:///crossdock.sqlite") -> str:
        (tmp_path / "crossdock.toml").write_text(
            f'[database]\nurl = "{database}"\n[secrets]\nkey_file = "crossdock.key"\n{body}')
        return key

    yield tmp_path, write
    secrets.use_key_file(None)


def check(capsys, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    rc = main(["config", "check", "--json", *args])
    return rc, json.loads(capsys.readouterr().out)


def codes(report: dict) -> list[str]:
    return sorted(p["code"] for p in report["problems"])


def test_a_complete_embedded_setup_is_ok(site, capsys):
    folder, write = site
    write(CHANNEL)
    rc, report = check(capsys)
    assert rc == 0 and report["ok"] is True and report["problems"] == []
    assert {c["check"] for c in report["checks"]} >= {"config", "secret key", "secrets", "channels", "database",
                                                     "broker", "rate limit"}
    # checking creates nothing: the embedded database is created by the first command that uses it
    assert not (folder / "crossdock.sqlite").exists()
    # the human output ends with "ok"
    assert main(["config", "check"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "ok"


def test_stored_tokens_that_the_key_cannot_decrypt(site, capsys):
    # Given tokens stored under another key (the key file was replaced)
    folder, write = site
    write(CHANNEL)
    db = Database(f"sqlite:///{folder / 'crossdock.sqlite'}")
    upgrade(db)
    other = Fernet(Fernet.generate_key())
    with db.write() as s:
        s.add(Channel(name="ebay-gb", platform="ebay", account="seller", currency="GBP"))
        s.flush()
        s.add(Credential(channel="ebay-gb", version=1, access_token_enc=other.encrypt(b"v^1.1#access").decode(),
                         refresh_token_enc=other.encrypt(b"v^1.1#refresh").decode()))
    db.dispose()
    # When the configuration is checked, Then the stored tokens are the problem, named by channel
    rc, report = check(capsys)
    assert rc == 2 and codes(report) == ["XD-CFG-005", "XD-CFG-005"]
    assert all(p["check"] == "stored tokens" and p["channel"] == "ebay-gb" for p in report["problems"])
    assert any("stored refresh token of channel ebay-gb cannot be decrypted" in p["message"]
               for p in report["problems"])


def test_no_key_and_a_key_file_others_can_read(site, capsys):
    folder, write = site
    write(CHANNEL.replace('{env = "XD_TEST_EBAY_SECRET"}', f'{{encrypted = "{Fernet(Fernet.generate_key()).encrypt(b"x").decode()}"}}'))
    os.chmod(folder / "crossdock.key", 0o644)
    rc, report = check(capsys)
    assert rc == 2 and "XD-CFG-010" in codes(report)
    (folder / "crossdock.key").unlink()
    rc, report = check(capsys)
    assert rc == 2 and codes(report)[0] == "XD-CFG-005"
    assert "crossdock.key does not exist" in report["problems"][0]["message"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_database_at_an_old_revision(site, capsys, backend):
    folder, write = site
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'old.sqlite'}"
    else:
        require_postgres()
        pg = TempPostgresDatabase()
        url = pg.url
    try:
        db = Database(url)
        upgrade(db, "0001")
        db.dispose()
        write(database=url)
        rc, report = check(capsys)
        assert rc == 3 and codes(report) == ["XD-DATA-002"]
        assert "is at 0001" in report["problems"][0]["message"]
    finally:
        if backend == "postgres":
            pg.close()


def test_an_empty_postgresql_database_needs_db_upgrade_and_then_is_ok(site, capsys):
    require_postgres()
    folder, write = site
    pg = TempPostgresDatabase()
    try:
        write(CHANNEL, database=pg.url)
        rc, report = check(capsys)
        assert rc == 3 and codes(report) == ["XD-DATA-002"]
        db = Database(pg.url)       # what `crossdock db upgrade` does
        upgrade(db)
        db.dispose()
        rc, report = check(capsys)
        assert rc == 0, report
    finally:
        pg.close()


def test_unreachable_database_broker_and_rate_limit_are_all_reported(site, capsys):
    # Given every service URL pointing at a closed port (nothing listens on port 1)
    folder, write = site
    write('[broker]\nurl = "redis://127.0.0.1:1/0"\n[ratelimit]\nurl = "redis://127.0.0.1:1/1"\n',
          database="postgresql://postgres@127.0.0.1:1/crossdock")
    rc, report = check(capsys)
    # Then each is its own problem with its code, and the exit status is 3
    assert rc == 3 and codes(report) == ["XD-DATA-001", "XD-QUOTA-006", "XD-SYNC-006"]
    assert all("127.0.0.1:1" in p["message"] for p in report["problems"])


def test_amqp_broker_on_a_closed_port(site, capsys):
    folder, write = site
    write('[broker]\nurl = "amqp://guest:guest@127.0.0.1:1/"\n')
    rc, report = check(capsys)
    assert rc == 3 and codes(report) == ["XD-SYNC-006"]
    assert "guest:***@" in report["problems"][0]["message"]     # the password is never shown


def test_real_redis_and_rabbitmq_answer(site, capsys):
    require_redis()
    require_rabbitmq()
    folder, write = site
    write(f'[broker]\nurl = "{AMQP_URL}"\n[ratelimit]\nurl = "{REDIS_URL}"\n')
    rc, report = check(capsys)
    assert rc == 0, report
    write(f'[broker]\nurl = "{REDIS_URL}"\n')
    rc, report = check(capsys)
    assert rc == 0, report


def test_configuration_and_service_problems_together_exit_with_the_worst(site, capsys, monkeypatch):
    folder, write = site
    monkeypatch.delenv("XD_TEST_EBAY_REFRESH")
    write(CHANNEL + '[broker]\nurl = "redis://127.0.0.1:1/0"\n[sync]\ntick_s = 0\n')
    rc, report = check(capsys)
    assert codes(report) == ["XD-CFG-003", "XD-CFG-005", "XD-SYNC-006"]
    assert rc == 3
    messages = " ".join(p["message"] for p in report["problems"])
    assert "XD_TEST_EBAY_REFRESH" in messages and "sync.tick_s" in messages
    # without the broker problem, the worst is the configuration's
    write(CHANNEL + '[sync]\ntick_s = 0\n')
    rc, report = check(capsys)
    assert rc == 2 and codes(report) == ["XD-CFG-003", "XD-CFG-005"]


def test_a_channel_the_connector_would_refuse(site, capsys):
    folder, write = site
    write(CHANNEL.replace('marketplace = "EBAY_GB"\n', "").replace("[channels.ebay-gb]", "[channels.amazon-x]")
          .replace('platform = "ebay"', 'platform = "amazon"'))
    rc, report = check(capsys)
    assert rc == 2 and codes(report) == ["XD-CFG-004"]
    assert report["problems"][0]["channel"] == "amazon-x" and "marketplace" in report["problems"][0]["message"]


def test_online_refreshes_every_channel_and_names_the_one_whose_token_was_revoked(tmp_path, monkeypatch, capsys):
    from crossdock.sandbox.core import Sandbox

    monkeypatch.delenv("CROSSDOCK_SECRET_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    try:
        with Sandbox(time_scale=20, seed=5) as sb:
            init_config(tmp_path / "crossdock.toml", admin_url=sb.admin_url)
            # When every credential is good, Then --online refreshes each channel and stores the tokens
            rc, report = check(capsys, "--online")
            assert rc == 0, report
            online = [c for c in report["checks"] if c["check"].startswith("online ")]
            assert len(online) == 4 and all(c["ok"] for c in online)
            # When the seller revokes Amazon's refresh token
            import httpx

            assert httpx.post(f"{sb.admin_url}/auth/amazon/revoke_refresh_token", json={}).status_code == 200
            rc, report = check(capsys, "--online")
            # Then both Amazon channels fail with the platform's code, the others still pass, and exit is 3
            assert rc == 3
            assert {(p["channel"], p["code"]) for p in report["problems"]} == {
                ("amazon-de", "XD-AUTH-002"), ("amazon-us", "XD-AUTH-002")}
            assert [c["ok"] for c in report["checks"] if c["check"] in ("online ebay-gb", "online shopify-crossdock-eu")
                    ] == [True, True]
    finally:
        secrets.use_key_file(None)
