"""Scheduled backups: the keep policy, the manifest, atomic private files, the
``backups`` table, copies, pruning, and ``crossdock db backups``."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest

from crossdock import config
from crossdock.errors import ConfigError
from crossdock.keep_policy import keep_selection, parse_duration_s, parse_keep
from tests.cli_run import crossdock

UTC = dt.timezone.utc


def test_keep_policy_keeps_the_newest_of_each_day_week_and_month():
    # Given a backup every 6 hours for 400 days
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    times = [start + dt.timedelta(hours=6 * i) for i in range(400 * 4)]
    # When "7 daily, 4 weekly, 12 monthly" picks what stays
    kept = sorted(keep_selection(times, parse_keep("7 daily, 4 weekly, 12 monthly")))
    # Then the newest backup of each of the last 7 days stays (one per day, the day's last)
    newest = times[-1]
    days = {t.date() for t in kept if newest - t < dt.timedelta(days=7)}
    assert len(days) == 7 and all(t.hour == 18 for t in kept)
    # and at most 7 + 4 + 12 distinct backups remain, spanning a year of months
    assert 12 <= len(kept) <= 23
    assert len({(t.year, t.month) for t in kept}) == 12
    # and the newest is always among them, even with a policy that keeps little
    assert keep_selection(times, {"monthly": 1}) == {newest}


def test_keep_and_every_are_checked_when_the_config_is_read():
    assert parse_duration_s("daily") == 86_400 and parse_duration_s("6h") == 21_600 and parse_duration_s(90) == 90
    cfg = config.parse({"backup": {"every": "6h", "keep": "3 last"}})
    assert cfg.backup is not None and cfg.backup["every"] == "6h" and cfg.backup["verify_every"] == "daily"
    assert config.parse({}).backup is None
    with pytest.raises(ConfigError) as err:
        config.parse({"backup": {"keep": "7 dailies"}})
    assert err.value.code == "XD-CFG-003" and "backup.keep" in err.value.detail


def _project(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "crossdock.toml").write_text(
        f'[database]\nurl = "sqlite:///shop.sqlite"\n\n[backup]\nfolder = "bk"\ncopy_to = "offsite/crossdock"\n'
        f'{extra}', encoding="utf-8")
    return tmp_path


def test_backup_writes_a_private_file_and_manifest_records_it_and_copies_it(tmp_path: Path):
    # Given a configured [backup] folder and copy_to
    root = _project(tmp_path)
    # When a backup is taken by hand
    ran = crossdock("db", "backup", "--json", cwd=root)
    assert ran.returncode == 0, ran.stderr
    doc = ran.doc
    path = Path(doc["path"])
    # Then the file and its manifest are in the folder, owner-only, and the folder is 0700
    assert path.parent == root / "bk"
    manifest = json.loads((root / "bk" / (path.name + ".manifest.json")).read_text())
    for p in (path, Path(doc["manifest"])):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "bk").stat().st_mode) == 0o700
    assert not list((root / "bk").glob("*.part"))
    # and the manifest holds the time, the revision, the rows of every table and the checksum
    import hashlib

    assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == doc["sha256"]
    assert manifest["bytes"] == path.stat().st_size and manifest["revision"] == doc["revision"] is not None
    assert "orders" in manifest["row_counts"] and manifest["row_counts"]["alembic_version"] == 1
    assert manifest["taken_at"].startswith(dt.datetime.now(UTC).date().isoformat())
    # and the copy is in copy_to, identical and private
    copy = root / "offsite" / "crossdock" / path.name
    assert copy.read_bytes() == path.read_bytes() and stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert (copy.parent / (path.name + ".manifest.json")).is_file()
    # and `db backups` lists it, not verified yet
    listed = crossdock("db", "backups", "--json", cwd=root).doc["backups"]
    assert [(b["path"], b["kind"], b["verified"], b["copied_to"]) for b in listed] == [
        (str(path), "manual", None, str(copy))]


def test_scheduled_backups_are_pruned_by_the_policy_but_manual_ones_stay(tmp_path: Path):
    from crossdock.backups.take import backup_rows, take_backup
    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade

    db = Database(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    upgrade(db)
    try:
        manual = take_backup(db, to=f"{tmp_path}/bk/", kind="manual",
                             now=dt.datetime(2026, 1, 1, tzinfo=UTC))
        # Given scheduled backups on five days, kept "2 daily"
        docs = [take_backup(db, to=f"{tmp_path}/bk/", kind="scheduled", keep="2 daily",
                            copy_to=tmp_path / "copy", now=dt.datetime(2026, 1, d, 3, tzinfo=UTC))
                for d in range(2, 7)]
        # Then only the last two days' files (and copies, and manifests) remain; their rows say pruned
        left = sorted(p.name for p in (tmp_path / "bk").iterdir())
        names = [Path(d["path"]).name for d in docs]
        assert left == sorted([Path(manual["path"]).name, Path(manual["path"]).name + ".manifest.json",
                               *[n for n in names[-2:]], *[n + ".manifest.json" for n in names[-2:]]])
        assert sorted(p.name for p in (tmp_path / "copy").iterdir() if not p.name.endswith(".json")) == names[-2:]
        rows = backup_rows(db, include_pruned=True)
        assert sum(1 for r in rows if r["pruned_at"]) == 3
        assert [r["path"] for r in backup_rows(db)] == [docs[-1]["path"], docs[-2]["path"], manual["path"]]
    finally:
        db.dispose()
