"""``crossdock db restore``: into an empty database only, the file checked
against its manifest, the schema migrated forward, ``--verify-only`` into a
scratch database — on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from crossdock.db.engine import Database
from crossdock.db.migrate import current_revision, head_revision, upgrade
from tests.db_template import migrate
from tests.cli_run import crossdock
from tests.services import TempPostgresDatabase, require_postgres


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


class Shop:
    """A configured project with a database holding a few rows, on ``backend``."""

    def __init__(self, root: Path, backend: str) -> None:
        self.root = root
        self.temps: list[TempPostgresDatabase] = []
        if backend == "sqlite":
            self.url = f"sqlite:///{root / 'shop.sqlite'}"
        else:
            require_postgres()
            self.url = self.new_pg()
        (root / "crossdock.toml").write_text(f'[database]\nurl = "{self.url}"\n\n[backup]\nfolder = "bk"\n\n'
                                             '[warehouses.MAIN]\nname = "Main"\ncountry = "DE"\n', encoding="utf-8")
        db = Database(self.url)
        migrate(db)
        db.dispose()
        (root / "catalog.csv").write_text("sku,title\nMUG-1,Mug\nMUG-2,Big mug\nCAP-1,Cap\n", encoding="utf-8")
        ran = crossdock("catalog", "import", "catalog.csv", cwd=root)
        assert ran.returncode == 0, ran.stderr
        for sku in ("MUG-1", "MUG-2", "CAP-1"):
            ran = crossdock("stock", "adjust", sku, "+5", "-w", "MAIN", "-r", "receive", cwd=root)
            assert ran.returncode == 0, ran.stderr

    def new_pg(self) -> str:
        tmp = TempPostgresDatabase()
        self.temps.append(tmp)
        return tmp.url

    def empty_target(self) -> str:
        return f"sqlite:///{self.root / 'restored.sqlite'}" if self.url.startswith("sqlite") else self.new_pg()

    def backup(self) -> Path:
        ran = crossdock("db", "backup", "--json", cwd=self.root)
        assert ran.returncode == 0, ran.stderr
        return Path(ran.doc["path"])

    def close(self) -> None:
        for t in self.temps:
            t.close()


@pytest.fixture
def shop(tmp_path: Path, backend: str):
    s = Shop(tmp_path, backend)
    yield s
    s.close()


def _rows(url: str, table: str) -> int:
    from sqlalchemy import text

    db = Database(url)
    try:
        with db.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        db.dispose()


def test_restore_into_an_empty_database_and_refuse_a_full_one(shop: Shop):
    file = shop.backup()
    # When the backup is restored over the database it came from
    ran = crossdock("db", "restore", str(file), cwd=shop.root)
    # Then it refuses with its code and changes nothing
    assert ran.returncode == 1 and "XD-DATA-009" in ran.stderr
    # When it is restored into an empty database
    target = shop.empty_target()
    ran = crossdock("db", "restore", str(file), "--to", target, "--json", cwd=shop.root)
    assert ran.returncode == 0, ran.stderr
    doc = ran.doc
    # Then every row is there, db check passed, and the database knows it was restored (and from when)
    assert doc["check"]["ok"] and doc["revision_to"] == doc["revision_from"]
    manifest = json.loads(Path(str(file) + ".manifest.json").read_text())
    assert _rows(target, "stock_levels") == manifest["row_counts"]["stock_levels"] > 0
    assert _rows(target, "restores") == 1 and doc["taken_at"] == manifest["taken_at"]


@pytest.mark.parametrize("damage", ["truncate", "tamper"])
def test_verify_only_detects_a_truncated_or_tampered_backup(shop: Shop, damage: str):
    file = shop.backup()
    # Given a good backup verifies, and the verification is recorded on it
    ran = crossdock("db", "restore", str(file), "--verify-only", "--json", cwd=shop.root)
    assert ran.returncode == 0 and ran.doc["ok"] and ran.doc["recorded"] == 1, ran.stdout + ran.stderr
    assert crossdock("db", "backups", "--json", cwd=shop.root).doc["backups"][0]["verified"] is True
    # When the file is damaged
    data = bytearray(file.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))
    # Then --verify-only fails with XD-DATA-010 and says why, and the backup is recorded as failed
    ran = crossdock("db", "restore", str(file), "--verify-only", "--json", cwd=shop.root)
    assert ran.returncode == 1 and ran.doc["code"] == "XD-DATA-010"
    assert ("truncated" in ran.doc["detail"]) if damage == "truncate" else ("SHA-256" in ran.doc["detail"])
    row = crossdock("db", "backups", "--json", cwd=shop.root).doc["backups"][0]
    assert (row["verified"], row["verify_code"]) == (False, "XD-DATA-010")
    # and db check warns that the backups may not restore
    check = crossdock("db", "check", "--json", cwd=shop.root).doc
    assert [(f["check"], f["code"]) for f in check["findings"] if f["check"] == "backup_verified"] == [
        ("backup_verified", "XD-DATA-010")]
    # and a restore of it is refused before the target is touched
    target = shop.empty_target()
    ran = crossdock("db", "restore", str(file), "--to", target, cwd=shop.root)
    assert ran.returncode == 1 and "XD-DATA-010" in ran.stderr
    if target.startswith("sqlite"):
        assert not Path(target.removeprefix("sqlite:///")).exists()


def test_verify_only_catches_a_manifest_whose_rows_differ(shop: Shop):
    # Given a manifest that counts rows the file does not hold (a manifest of another file, rehashed)
    file = shop.backup()
    mpath = Path(str(file) + ".manifest.json")
    manifest = json.loads(mpath.read_text())
    manifest["row_counts"]["stock_levels"] += 1
    mpath.write_text(json.dumps(manifest))
    ran = crossdock("db", "restore", str(file), "--verify-only", "--json", cwd=shop.root)
    assert ran.returncode == 1 and ran.doc["code"] == "XD-DATA-010" and "stock_levels" in ran.doc["detail"]


def test_an_older_backup_is_migrated_forward_on_restore(tmp_path: Path):
    # Given a backup (with its manifest) of a database one revision behind
    from crossdock import __version__
    from crossdock.backup import backup_database
    from crossdock.backups.manifest import sha256_of, sqlite_facts, write_manifest
    from crossdock.db.migrate import downgrade

    db = Database(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade(db)
    downgrade(db, "0006_poison")
    doc = backup_database(db, to=f"{tmp_path}/bk/")
    db.dispose()
    path = Path(doc["path"])
    revision, counts = sqlite_facts(path)
    write_manifest(path, taken_at=dt.datetime.now(dt.timezone.utc), backend="sqlite", revision=revision,
                   row_counts=counts, sha256=sha256_of(path), crossdock_version=__version__)
    # When it is restored
    target = f"sqlite:///{tmp_path / 'new.sqlite'}"
    ran = crossdock("db", "restore", str(path), "--to", target, "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    # Then the schema was brought to this crossdock's head
    new = Database(target)
    try:
        assert ran.doc["revision_from"] == "0006_poison" and current_revision(new) == head_revision(new)
    finally:
        new.dispose()
