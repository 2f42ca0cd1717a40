"""``crossdock doctor``'s installation checks, each provoked: a secret that
is not there, a broker and a rate-limit backend that do not answer, an
inconsistent database. Run through the real entry point on a config file
written by hand."""

from __future__ import annotations

from crossdock.db.engine import Database
from crossdock.db.migrate import upgrade
from tests.cli_run import crossdock
from tests.doctor.support import reservation_on_a_cancelled_order

CHANNEL = """
[channels.shop-eu]
platform = "shopify"
account = "crossdock-eu"
currency = "EUR"
client_id = "app"
client_secret = {env = "XD_TEST_MISSING_SECRET"}
"""


def _doctor(tmp_path, text: str, env=None) -> dict:
    (tmp_path / "crossdock.toml").write_text('[database]\nurl = "sqlite:///shop.sqlite"\n' + text)
    ran = crossdock("doctor", "--json", cwd=tmp_path, env=env)
    assert ran.returncode in (1, 4), ran.stderr
    return {c["check"]: c for c in ran.doc["checks"] if c["channel"] is None}


def test_a_missing_secret_fails_the_configuration_check(tmp_path):
    checks = _doctor(tmp_path, CHANNEL, env={"XD_TEST_MISSING_SECRET": None})
    assert (checks["configuration"]["status"], checks["configuration"]["code"]) == ("fail", "XD-CFG-005")


def test_a_broker_and_a_rate_limit_backend_that_do_not_answer_fail(tmp_path):
    checks = _doctor(tmp_path, '[broker]\nurl = "redis://127.0.0.1:1/0"\n[ratelimit]\nurl = "redis://127.0.0.1:1/1"\n')
    assert (checks["broker"]["status"], checks["broker"]["code"]) == ("fail", "XD-SYNC-006")
    assert (checks["rate limit"]["status"], checks["rate limit"]["code"]) == ("fail", "XD-QUOTA-006")


def test_an_inconsistent_database_fails_the_integrity_check(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    upgrade(db)
    reservation_on_a_cancelled_order(db)
    db.dispose()
    checks = _doctor(tmp_path, "")
    integrity = checks["integrity"]
    assert (integrity["status"], integrity["code"], integrity["remedy"]) == ("fail", "XD-DATA-006",
                                                                              "crossdock db check")


def test_the_backup_check_counts_only_verified_backups_and_fails_a_failed_verification(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    upgrade(db)
    db.dispose()
    # Given no backup and no [backup] schedule: a warning that says so
    checks = _doctor(tmp_path, "")
    assert (checks["backups"]["status"], checks["backups"]["code"]) == ("warn", "XD-DATA-005")
    assert "no [backup] schedule" in checks["backups"]["found"]
    # When a daily schedule is configured and a backup taken, it is still only a warning until a
    # restore proves it
    schedule = '[backup]\nevery = "daily"\nfolder = "backups"\n'
    (tmp_path / "crossdock.toml").write_text('[database]\nurl = "sqlite:///shop.sqlite"\n' + schedule)
    taken = crossdock("db", "backup", "--json", cwd=tmp_path)
    assert taken.returncode == 0, taken.stderr
    checks = _doctor(tmp_path, schedule)
    assert (checks["backups"]["status"], checks["backups"]["remedy"]) == (
        "warn", f"crossdock db restore {taken.doc['path']} --verify-only")
    # Then verified, it counts: ok
    assert crossdock("db", "restore", taken.doc["path"], "--verify-only", cwd=tmp_path).returncode == 0
    ran = crossdock("doctor", "--json", cwd=tmp_path)
    backups = next(c for c in ran.doc["checks"] if c["check"] == "backups")
    assert backups["status"] == "ok" and "newest verified backup" in backups["found"]
    # And a newer backup whose file was damaged fails its verification, and doctor fails with its code
    newer = crossdock("db", "backup", "--json", cwd=tmp_path)
    with open(newer.doc["path"], "r+b") as f:
        f.truncate(100)
    assert crossdock("db", "restore", newer.doc["path"], "--verify-only", cwd=tmp_path).returncode != 0
    checks = _doctor(tmp_path, schedule)
    assert (checks["backups"]["status"], checks["backups"]["code"]) == ("fail", "XD-DATA-010")
