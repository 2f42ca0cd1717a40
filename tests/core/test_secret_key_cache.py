"""The key file's keys are kept while the file is unchanged, and the tokens
decrypted with them while the keys are: a key file rotated, replaced or
rewritten on disk is read again at once, and a token is then decrypted with
the keys in the file now, never answered from what the old keys gave."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from crossdock import secrets
from crossdock.connectors.base import TokenState
from crossdock.connectors.tokens import SqlTokenStore
from crossdock.db import models as m
from crossdock.db.engine import Database
from crossdock.db.migrate import upgrade
from crossdock.errors import ConfigError
from tests.cli_run import crossdock


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    """A key file in use, and every read of it counted; files count as settled at once
    (the cache is used however recently the file was written)."""
    monkeypatch.delenv("CROSSDOCK_SECRET_KEY", raising=False)
    monkeypatch.setattr(secrets, "_SETTLED_NS", -10**18)
    path = tmp_path / "crossdock.key"
    secrets.write_key_file(path)
    secrets.use_key_file(path)
    reads = []
    real = Path.read_text

    def counted(self, *args, **kwargs):
        if self == path:
            reads.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    yield path, reads
    secrets.use_key_file(None)


def _replace(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, text.encode("ascii"))
    os.close(fd)
    os.replace(part, path)


def test_an_unchanged_key_file_is_read_once(key_file):
    path, reads = key_file
    first = secrets.keys()
    assert secrets.keys() == first and secrets.read_keys(path) == first
    assert len(reads) == 1


def test_a_key_file_replaced_on_disk_is_read_again_and_the_old_tokens_no_longer_decrypt(key_file):
    path, reads = key_file
    old_token = secrets.encrypt("shprt_old_value_1")
    assert secrets.decrypt(old_token) == "shprt_old_value_1"
    # When another key file is put in its place (same size, new file)
    new = secrets.new_key()
    _replace(path, new + "\n")
    # Then the new key is used at once
    assert secrets.keys() == [new]
    assert Fernet(new.encode()).decrypt(secrets.encrypt("x").encode()) == b"x"
    # and a token decrypted with the old key before is not answered from memory
    with pytest.raises(ConfigError) as raised:
        secrets.decrypt(old_token, what="the stored refresh token")
    assert raised.value.code == "XD-CFG-005"


def test_a_key_file_rewritten_in_place_is_read_again(key_file):
    path, reads = key_file
    old = secrets.keys()
    new = secrets.new_key()
    path.write_text(new + "\n", encoding="ascii")            # same file, same size
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert secrets.keys() == [new] != old


def test_a_key_file_written_just_now_is_not_kept(tmp_path, monkeypatch):
    # Given the default: a file modified in the last seconds may change again within its timestamp's tick
    monkeypatch.delenv("CROSSDOCK_SECRET_KEY", raising=False)
    path = tmp_path / "crossdock.key"
    secrets.write_key_file(path)
    secrets.use_key_file(path)
    try:
        secrets.keys()
        new = secrets.new_key()
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)         # rewritten in place at once, same size
        os.write(fd, (new + "\n").encode("ascii"))
        os.close(fd)
        assert secrets.keys() == [new]
    finally:
        secrets.use_key_file(None)


def test_a_running_process_follows_a_key_rotation(key_file, monkeypatch):
    path, reads = key_file
    folder = path.parent
    (folder / "crossdock.toml").write_text('[database]\nurl = "sqlite:///crossdock.sqlite"\n\n'
                                           '[secrets]\nkey_file = "crossdock.key"\n', encoding="utf-8")
    db = Database(f"sqlite:///{folder / 'crossdock.sqlite'}")
    try:
        upgrade(db)
        with db.write() as s:
            s.add(m.Channel(name="shop-eu", platform="shopify", account="demo-shop", currency="EUR"))
        store = SqlTokenStore(db)
        store.save(TokenState(channel="shop-eu", access_token="shpat_access_value_1",
                              refresh_token="shprt_refresh_value_1"))
        old = secrets.keys()
        assert store.load("shop-eu").refresh_token == "shprt_refresh_value_1"   # keys and tokens kept
        # When the key is rotated (in this process, as a worker's neighbour would on disk)
        ran = crossdock("config", "rotate-key", "--json", cwd=folder, env={"CROSSDOCK_SECRET_KEY": None})
        assert ran.returncode == 0, ran.stderr
        # Then this process uses the new key, reads the re-encrypted tokens, and the old key is gone
        new = secrets.keys()
        assert len(new) == 1 and new != old
        assert store.load("shop-eu").refresh_token == "shprt_refresh_value_1"
        with db.read() as s:
            stored = s.get(m.Credential, "shop-eu").refresh_token_enc
        assert Fernet(new[0].encode()).decrypt(stored.encode()) == b"shprt_refresh_value_1"
        with pytest.raises(ConfigError):
            secrets.decrypt(Fernet(old[0].encode()).encrypt(b"under the old key").decode())
    finally:
        db.dispose()
