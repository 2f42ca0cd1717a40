"""Files crossdock writes that hold buyers' data or tokens are private whatever
the umask: the SQLite database with its -wal/-shm files, and every backup
and the folders made for it (issue 19 §5). 0600 files, 0700 folders."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from crossdock.backup import backup_database
from crossdock.db import models as m
from crossdock.db.engine import Database
from crossdock.db.migrate import upgrade
from tests.cli_run import crossdock

UMASKS = [0o022, 0o000]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


@pytest.mark.parametrize("umask", UMASKS, indirect=True)
def test_the_sqlite_database_and_its_wal_and_shm_files_are_0600(tmp_path, umask):
    db = Database(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    try:
        upgrade(db)
        with db.write() as s:
            s.add(m.Warehouse(code="DE", name="Leipzig", country="DE"))
        files = {p.name: mode(p) for p in tmp_path.iterdir() if p.name.startswith("shop.sqlite")}
    finally:
        db.dispose()
    assert {"shop.sqlite", "shop.sqlite-wal", "shop.sqlite-shm"} <= set(files)
    assert set(files.values()) == {0o600}, {k: oct(v) for k, v in files.items()}


@pytest.mark.parametrize("umask", UMASKS, indirect=True)
def test_db_backup_writes_a_0600_file_in_0700_folders(tmp_path, umask):
    # Given a SQLite database (the configuration names it) and no backups folder yet
    (tmp_path / "data").mkdir(mode=0o700)
    (tmp_path / "crossdock.toml").write_text(f'[database]\nurl = "sqlite:///{tmp_path / "data" / "shop.sqlite"}"\n',
                                             encoding="utf-8")
    # When the operator backs it up to the default folder, and to a new nested folder
    default = crossdock("db", "backup", "--json", cwd=tmp_path)
    nested = crossdock("db", "backup", "--to", str(tmp_path / "offsite" / "daily") + "/", "--json", cwd=tmp_path)
    # Then every backup file is 0600 and every folder made for one 0700
    assert default.returncode == 0 and nested.returncode == 0, default.stderr + nested.stderr
    first, second = Path(default.doc["path"]), Path(nested.doc["path"])
    assert mode(first) == 0o600 and mode(second) == 0o600
    assert mode(first.parent) == 0o700                         # data/backups
    assert mode(tmp_path / "offsite") == 0o700 and mode(tmp_path / "offsite" / "daily") == 0o700
    assert not list(first.parent.glob("*.part"))


@pytest.mark.parametrize("umask", UMASKS, indirect=True)
def test_a_postgresql_backup_is_0600_in_a_0700_folder(pg_database, tmp_path, umask, monkeypatch):
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    monkeypatch.chdir(tmp_path)
    db = Database(pg_database.url)
    try:
        doc = backup_database(db)
    finally:
        db.dispose()
    path = Path(doc["path"])
    assert mode(path) == 0o600 and mode(path.parent) == 0o700 and path.parent == tmp_path / "backups"
