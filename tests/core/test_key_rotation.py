"""``crossdock config rotate-key``: every token and encrypted configuration
value re-encrypted under a new key, the old key accepted until it is done;
and ``auth status`` with a key that cannot read the tokens (issue 19 §5).

The commands run through the real entry point (tests/cli_run.py) on an SQLite
file; the re-encryption of the credentials table also on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import tomllib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from crossdock import secrets
from crossdock.connectors.base import TokenState
from crossdock.connectors.tokens import SqlTokenStore
from crossdock.db import models as m
from crossdock.db.engine import Database
from crossdock.db.migrate import upgrade
from tests.cli_run import crossdock

LATER = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)


def _config(folder: Path, client_secret_enc: str) -> Path:
    path = folder / "crossdock.toml"
    path.write_text(f"""
[database]
url = "sqlite:///crossdock.sqlite"

[secrets]
key_file = "crossdock.key"

[channels.shop-eu]
platform = "shopify"
account = "demo-shop"
currency = "EUR"
client_id = "app-1"
client_secret = {{encrypted = "{client_secret_enc}"}}
""", encoding="utf-8")
    return path


def _seed_tokens(db: Database, channel: str = "shop-eu") -> None:
    with db.write() as s:
        s.add(m.Channel(name=channel, platform="shopify", account="demo-shop", currency="EUR"))
    SqlTokenStore(db).save(TokenState(channel=channel, access_token="shpat_access_value_1",
                                      access_expires_at=LATER, refresh_token="shprt_refresh_value_1"))


@pytest.fixture
def installation(tmp_path, monkeypatch):
    """A folder with a key file (0600), a configuration holding one encrypted
    secret and a database holding a channel's two tokens, all under the old key."""
    monkeypatch.delenv("CROSSDOCK_SECRET_KEY", raising=False)
    old = secrets.write_key_file(tmp_path / "crossdock.key")
    secrets.use_key_file(tmp_path / "crossdock.key")
    _config(tmp_path, Fernet(old.encode()).encrypt(b"app-secret-value").decode())
    db = Database(f"sqlite:///{tmp_path / 'crossdock.sqlite'}")
    upgrade(db)
    _seed_tokens(db)
    yield tmp_path, db, old
    db.dispose()
    secrets.use_key_file(None)


def _stored(db: Database) -> tuple[str, str]:
    with db.read() as s:
        row = s.get(m.Credential, "shop-eu")
        return row.access_token_enc, row.refresh_token_enc


def _config_secret(folder: Path) -> str:
    raw = tomllib.loads((folder / "crossdock.toml").read_text(encoding="utf-8"))
    return raw["channels"]["shop-eu"]["client_secret"]["encrypted"]


def test_rotate_key_re_encrypts_tokens_and_config_and_the_old_key_no_longer_reads_them(installation):
    folder, db, old = installation
    # When the operator rotates the key
    ran = crossdock("config", "rotate-key", "--json", cwd=folder, env={"CROSSDOCK_SECRET_KEY": None})
    assert ran.returncode == 0, ran.stderr
    doc = ran.doc
    assert doc["stored_tokens"] == {"re_encrypted": 2, "already_new": 0}
    assert doc["config_secrets"] == {"re_encrypted": 1, "already_new": 0}
    # Then the key file holds one new key, still 0600, and the old one is kept aside, 0600
    new = secrets.read_keys(folder / "crossdock.key")
    assert len(new) == 1 and new[0] != old
    assert stat.S_IMODE((folder / "crossdock.key").stat().st_mode) == 0o600
    retired = Path(doc["retired_keys_file"])
    assert secrets.read_keys(retired) == [old] and stat.S_IMODE(retired.stat().st_mode) == 0o600
    # and every secret decrypts with the new key only
    new_f, old_f = Fernet(new[0].encode()), Fernet(old.encode())
    for token in (*_stored(db), _config_secret(folder)):
        assert new_f.decrypt(token.encode())
        with pytest.raises(Exception):
            old_f.decrypt(token.encode())
    assert SqlTokenStore(db).load("shop-eu").refresh_token == "shprt_refresh_value_1"
    # and the commands read them with the configuration as it is
    checked = crossdock("auth", "status", "--json", cwd=folder, env={"CROSSDOCK_SECRET_KEY": None})
    assert checked.returncode == 0, checked.stderr
    assert checked.doc["channels"][0]["access_valid"] is True


def test_an_interrupted_rotation_is_finished_by_running_it_again(installation, monkeypatch):
    folder, db, old = installation
    # Given a rotation the operator interrupted (Ctrl-C) after the stored tokens, before the configuration
    from crossdock import key_rotation

    real = key_rotation._rotate_config

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(key_rotation, "_rotate_config", ctrl_c)
    stopped = crossdock("config", "rotate-key", cwd=folder, env={"CROSSDOCK_SECRET_KEY": None})
    assert stopped.returncode != 0
    monkeypatch.setattr(key_rotation, "_rotate_config", real)
    # the key file holds both keys, new first: everything is readable in between
    ring = secrets.read_keys(folder / "crossdock.key")
    assert len(ring) == 2 and ring[1] == old
    assert SqlTokenStore(db).load("shop-eu").access_token == "shpat_access_value_1"
    assert Fernet(ring[0].encode()).decrypt(_stored(db)[0].encode())
    assert Fernet(old.encode()).decrypt(_config_secret(folder).encode())     # not reached yet
    # When it runs again
    ran = crossdock("config", "rotate-key", "--json", cwd=folder, env={"CROSSDOCK_SECRET_KEY": None})
    # Then it finishes that rotation (same new key), not another one
    assert ran.returncode == 0, ran.stderr
    assert ran.doc["stored_tokens"] == {"re_encrypted": 0, "already_new": 2}
    assert ran.doc["config_secrets"] == {"re_encrypted": 1, "already_new": 0}
    assert secrets.read_keys(folder / "crossdock.key") == [ring[0]]
    assert Fernet(ring[0].encode()).decrypt(_config_secret(folder).encode()) == b"app-secret-value"


def test_rotation_to_a_given_key_file_is_idempotent(installation):
    folder, db, old = installation
    new = secrets.write_key_file(folder / "next.key")
    first = crossdock("config", "rotate-key", "--new-key-file", "next.key", "--json", cwd=folder,
                      env={"CROSSDOCK_SECRET_KEY": None})
    assert first.returncode == 0, first.stderr
    assert secrets.read_keys(folder / "crossdock.key") == [new]
    again = crossdock("config", "rotate-key", "--new-key-file", "next.key", "--json", cwd=folder,
                      env={"CROSSDOCK_SECRET_KEY": None})
    assert again.returncode == 0, again.stderr
    assert again.doc["stored_tokens"] == {"re_encrypted": 0, "already_new": 2}
    assert again.doc["config_secrets"] == {"re_encrypted": 0, "already_new": 1}
    assert again.doc["retired_keys_file"] is None


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_rotation_with_the_environment_variable_writes_the_new_key_0600_and_says_what_to_set(
        installation, umask):
    folder, db, old = installation
    previous = os.umask(umask)
    try:
        ran = crossdock("config", "rotate-key", cwd=folder, env={"CROSSDOCK_SECRET_KEY": old})
    finally:
        os.umask(previous)
    assert ran.returncode == 0, ran.stderr
    new_file = folder / "crossdock.key.new"
    assert stat.S_IMODE(new_file.stat().st_mode) == 0o600
    new = secrets.read_key_file(new_file)
    assert "set CROSSDOCK_SECRET_KEY to the key in" in ran.stderr and str(new_file) in ran.stderr
    assert Fernet(new.encode()).decrypt(_stored(db)[1].encode()) == b"shprt_refresh_value_1"
    # during the change both keys, new first, read everything
    both = crossdock("auth", "status", "--json", cwd=folder, env={"CROSSDOCK_SECRET_KEY": f"{new},{old}"})
    assert both.returncode == 0, both.stderr


def test_a_token_under_an_unknown_key_stops_the_rotation_with_the_keys_in_place(installation):
    folder, db, old = installation
    stranger = Fernet(Fernet.generate_key())
    with db.write() as s:
        s.get(m.Credential, "shop-eu").refresh_token_enc = stranger.encrypt(b"x").decode()
    ran = crossdock("config", "rotate-key", "--json", cwd=folder, env={"CROSSDOCK_SECRET_KEY": None})
    assert ran.returncode == 2 and ran.doc["error"]["code"] == "XD-CFG-005"
    assert "refresh token of channel shop-eu" in ran.doc["error"]["message"]
    assert secrets.read_keys(folder / "crossdock.key")[1] == old      # still accepted: nothing lost


@pytest.mark.parametrize("key", ["wrong", "missing"])
def test_auth_status_with_a_key_that_cannot_read_the_tokens_fails_with_its_code(installation, key):
    folder, db, old = installation
    # Given tokens stored under the key file's key, and a command run with another key or none
    if key == "wrong":
        env = {"CROSSDOCK_SECRET_KEY": Fernet.generate_key().decode()}
    else:
        (folder / "crossdock.key").unlink()
        env = {"CROSSDOCK_SECRET_KEY": None}
    # When the operator asks for the credentials' status
    ran = crossdock("auth", "status", "--json", cwd=folder, env=env)
    # Then it fails with XD-CFG-005 (exit 2), not "access_valid: true"
    assert ran.returncode == 2, ran.stdout
    assert ran.doc["error"]["code"] == "XD-CFG-005" and "access_valid" not in ran.stdout
    table = crossdock("auth", "status", cwd=folder, env=env)
    assert table.returncode == 2 and "XD-CFG-005" in table.stderr and "Traceback" not in table.stderr
    assert "point [secrets] key_file" in " ".join(table.stderr.split())    # the remedy's brackets stay text


def test_token_rotation_holds_on_postgresql(pg_database, tmp_path, monkeypatch):
    from crossdock import key_rotation
    from tests.conftest import _truncate_all

    monkeypatch.delenv("CROSSDOCK_SECRET_KEY", raising=False)
    old = secrets.write_key_file(tmp_path / "crossdock.key")
    secrets.use_key_file(tmp_path / "crossdock.key")
    db = Database(pg_database.url)
    try:
        _truncate_all(db)
        _seed_tokens(db)
        new = Fernet.generate_key().decode()
        counts = key_rotation._rotate_tokens(db, secrets.keyring([new, old]), Fernet(new.encode()))
        assert counts == {"re_encrypted": 2, "already_new": 0}
        assert Fernet(new.encode()).decrypt(_stored(db)[0].encode()) == b"shpat_access_value_1"
    finally:
        db.dispose()
        secrets.use_key_file(None)
