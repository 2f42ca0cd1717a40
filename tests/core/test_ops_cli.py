"""Operations commands: jobs, auth, fx, db backup/check, sync status.

What depends on the database runs on SQLite and PostgreSQL (``db`` fixture);
the commands run through the real entry point (exit codes, exactly one JSON
document on stdout; in-process, tests/cli_run.py) on an SQLite file, plus
PostgreSQL where the backend changes what the command does (pg_dump).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text

from crossdock import config as config_mod
from crossdock.connectors.tokens import SqlTokenStore
from crossdock.db import models as m
from crossdock.db.engine import Database
from crossdock.connectors.credentials import auth_status_doc, resume_channel, set_credentials
from crossdock.platforms import platform

# Amazon's lifetimes, as its platform folder declares them (365 and 180 days)
AMAZON_AUTHORISATION_DAYS = platform("amazon").credentials.seller_authorisation_days
AMAZON_CLIENT_SECRET_DAYS = platform("amazon").credentials.client_secret_days
from crossdock.backup import backup_database
from crossdock.db.check import db_check_findings
from crossdock.errors import ConfigError, DataError
from crossdock.secrets import encrypt
from crossdock.mapping.fx_store import fx_rates_doc, load_fx_file
from crossdock.sync_engine.dirty import DirtySku
from crossdock.sync_engine.outbox_admin import retry_jobs
from crossdock.sync_engine.status import sync_status_doc
from tests.cli_run import crossdock

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.timezone.utc)

CONFIG = """
[channels.amazon-de]
platform = "amazon"
account = "A1"
currency = "EUR"
marketplace = "A1PA6795UKMFR9"

[channels.ebay-uk]
platform = "ebay"
account = "seller-uk"
currency = "GBP"
trading_token = {env = "XD_TEST_TRADING_TOKEN"}
"""

# ------------------------------------------------------------------ helpers
def run(args, *, cwd, db=None, env=None, check_json=False):
    env = dict(env or {})
    if db is not None:
        env["CROSSDOCK_DATABASE_URL"] = db.url
    proc = crossdock(*args, cwd=cwd, env=env)
    if check_json:
        try:
            return proc, json.loads(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"stdout is not one JSON document (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc, None


def write_config(folder: Path) -> None:
    (folder / "crossdock.toml").write_text(CONFIG)


def load_cfg(folder: Path):
    write_config(folder)
    return config_mod.load(folder / "crossdock.toml", env={})


def seed_channels(db: Database) -> None:
    with db.write() as s:
        s.add(m.Channel(name="amazon-de", platform="amazon", account="A1", marketplace="A1PA6795UKMFR9",
                        currency="EUR", country="DE"))
        s.add(m.Channel(name="ebay-uk", platform="ebay", account="seller-uk", currency="GBP", country="GB"))


def seed_stock(db: Database) -> None:
    """Two SKUs in one warehouse; an order per channel."""
    seed_channels(db)
    with db.write() as s:
        s.add(m.Warehouse(code="DE1", name="Leipzig", country="DE"))
        s.add_all([m.Product(sku="MUG", title="Mug"), m.Product(sku="CUP", title="Cup")])
        s.flush()
        s.add_all([m.StockLevel(sku="MUG", warehouse="DE1", on_hand=10, reserved=0),
                   m.StockLevel(sku="CUP", warehouse="DE1", on_hand=5, reserved=0)])


def add_order(db: Database, *, channel: str, order_id: str, status: str, lines, flags=()) -> list[int]:
    with db.write() as s:
        o = m.Order(channel=channel, platform_order_id=order_id, platform_status=status, local_status=status,
                    purchased_at=NOW, platform_updated_at=NOW, flags=list(flags))
        for i, (sku, qty) in enumerate(lines):
            o.lines.append(m.OrderLine(platform_line_id=f"{order_id}-{i}", sku=sku, quantity=qty))
        s.add(o)
        s.flush()
        return [ln.id for ln in o.lines]


def reserve(db: Database, line_id: int, sku: str, qty: int, status: str = "active") -> None:
    with db.write() as s:
        s.add(m.Reservation(order_line_id=line_id, sku=sku, warehouse="DE1", quantity=qty, status=status))


def add_job(db: Database, *, key: str, status: str, channel: str | None = "amazon-de", kind: str = "push_stock",
            attempts: int = 0, last_code: str | None = None, available_at=NOW, claimed_until=None) -> int:
    with db.write() as s:
        e = m.OutboxEntry(kind=kind, channel=channel, entity=f"channel {channel}", idempotency_key=key,
                          status=status, attempts=attempts, last_code=last_code,
                          last_error=f"{last_code} happened" if last_code else None, available_at=available_at,
                          claimed_by="w1" if status == "running" else None, claimed_until=claimed_until,
                          created_at=available_at, updated_at=available_at)
        s.add(e)
        s.flush()
        return e.id


def events(db: Database, operation: str) -> list[m.SyncEvent]:
    with db.read() as s:
        return list(s.scalars(select(m.SyncEvent).where(m.SyncEvent.operation == operation)
                              .order_by(m.SyncEvent.id)))


def codes(findings) -> dict[str, str]:
    return {f.check: f.code for f in findings}


@contextlib.contextmanager
def without_reserved_check(db: Database):
    """Let a test store reserved > on_hand, as a manual edit or an old schema could."""
    if db.is_sqlite:
        path = db.engine.url.database

        def write(sql: str) -> None:
            conn = sqlite3.connect(path)
            try:
                conn.execute("PRAGMA ignore_check_constraints = ON")
                conn.execute(sql)
                conn.commit()
            finally:
                conn.close()
        yield write
        return
    name = "ck_stock_levels_reserved_within_on_hand"
    with db.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE stock_levels DROP CONSTRAINT {name}"))

    def write_pg(sql: str) -> None:
        with db.engine.begin() as conn:
            conn.execute(text(sql))
    try:
        yield write_pg
    finally:   # the PostgreSQL database is shared by the session: put the constraint back
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE stock_levels SET reserved = on_hand WHERE reserved > on_hand"))
            conn.execute(text(f"ALTER TABLE stock_levels ADD CONSTRAINT {name} CHECK (reserved <= on_hand)"))


# ------------------------------------------------------------------ db check
def test_db_check_on_an_empty_database_only_misses_a_backup(db):
    findings = db_check_findings(db, now=NOW)
    assert [(f.code, f.severity) for f in findings] == [("XD-DATA-005", "warning")]


def test_db_check_finds_each_kind_of_inconsistency(db):
    # Given MUG with 2 units reserved, held by one open and one shipped order; a CUP reservation that
    # stock_levels.reserved does not count; an order line for a SKU nobody knows; a job running past its
    # lease, one pending for 2 h and one failed
    seed_stock(db)
    open_line, = add_order(db, channel="amazon-de", order_id="111-1", status="unshipped", lines=[("MUG", 1)])
    shipped_line, = add_order(db, channel="amazon-de", order_id="111-2", status="shipped", lines=[("MUG", 1)])
    cup_line, = add_order(db, channel="ebay-uk", order_id="22-1", status="unshipped", lines=[("CUP", 1)])
    add_order(db, channel="ebay-uk", order_id="22-2", status="unshipped", lines=[("GHOST-SKU", 1)])
    reserve(db, open_line, "MUG", 1)
    reserve(db, shipped_line, "MUG", 1)
    reserve(db, cup_line, "CUP", 1)
    with db.write() as s:
        s.execute(text("UPDATE stock_levels SET reserved = 2 WHERE sku = 'MUG'"))
    add_job(db, key="lease", status="running", claimed_until=NOW - dt.timedelta(minutes=5))
    add_job(db, key="late", status="pending", available_at=NOW - dt.timedelta(hours=2))
    add_job(db, key="dead", status="failed", attempts=8, last_code="XD-NET-003")
    add_job(db, key="fine", status="pending", available_at=NOW - dt.timedelta(minutes=1))

    # When the checks run
    findings = db_check_findings(db, now=NOW)

    # Then every problem is named with its code, errors first
    assert codes(findings) == {
        "reservation_sums": "XD-DATA-006", "reservations_on_closed_orders": "XD-DATA-006",
        "order_lines_unknown_sku": "XD-INV-004", "outbox_past_lease": "XD-SYNC-005",
        "outbox_overdue": "XD-SYNC-005", "outbox_failed": "XD-SYNC-001", "backup_age": "XD-DATA-005",
    }
    assert [f.severity for f in findings] == ["error"] * 2 + ["warning"] * 5
    by = {f.check: f for f in findings}
    # MUG's 2 reserved match its active reservations (open + shipped); CUP's do not
    assert list(by["reservation_sums"].sample) == [
        {"sku": "CUP", "warehouse": "DE1", "stock_reserved": 0, "active_reservations": 1}]
    assert by["reservations_on_closed_orders"].count == 1
    assert by["reservations_on_closed_orders"].sample[0]["order"] == "111-2"
    assert [r["sku"] for r in by["order_lines_unknown_sku"].sample] == ["GHOST-SKU"]
    assert by["outbox_past_lease"].count == by["outbox_overdue"].count == by["outbox_failed"].count == 1
    doc = by["reservation_sums"].to_dict()
    assert doc["remedy"] and doc["command"] == "crossdock db check" and doc["severity"] == "error"


def test_db_check_finds_reservations_without_a_stock_row(db):
    seed_stock(db)
    with db.write() as s:
        s.add(m.Product(sku="LAMP", title="Lamp"))
    line, = add_order(db, channel="amazon-de", order_id="111-9", status="unshipped", lines=[("LAMP", 3)])
    reserve(db, line, "LAMP", 3)
    by = {f.check: f for f in db_check_findings(db, now=NOW)}
    assert list(by["reservation_sums"].sample) == [
        {"sku": "LAMP", "warehouse": "DE1", "stock_reserved": None, "active_reservations": 3}]


def test_db_check_finds_reserved_above_on_hand(db):
    seed_stock(db)
    with without_reserved_check(db) as write:
        write("UPDATE stock_levels SET on_hand = 1, reserved = 2 WHERE sku = 'MUG'")
        by = {f.check: f for f in db_check_findings(db, now=NOW)}
    assert by["stock_bounds"].code == "XD-DATA-006" and by["stock_bounds"].severity == "error"
    assert list(by["stock_bounds"].sample) == [{"sku": "MUG", "warehouse": "DE1", "on_hand": 1, "reserved": 2}]


# ------------------------------------------------------------------ db backup
def test_backup_is_recorded_and_check_warns_when_it_gets_old(db, tmp_path):
    if not db.is_sqlite and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed: the PostgreSQL backup needs the client tools")
    seed_stock(db)
    doc = backup_database(db, to=str(tmp_path / "bk") + "/", now=NOW)
    path = Path(doc["path"])
    assert path.parent == tmp_path / "bk" and path.stat().st_size == doc["bytes"] > 0
    assert "20260302T120000Z" in path.name
    assert not list((tmp_path / "bk").glob("*.part"))
    if db.is_sqlite:
        conn = sqlite3.connect(path)            # one self-contained file holding the data
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
            assert conn.execute("SELECT on_hand FROM stock_levels WHERE sku = 'MUG'").fetchone() == (10,)
        finally:
            conn.close()
    else:
        assert path.read_bytes()[:5] == b"PGDMP"
        if shutil.which("pg_restore"):
            listing = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True, text=True)
            assert listing.returncode == 0 and "stock_levels" in listing.stdout
    again = backup_database(db, to=tmp_path / "bk", now=NOW)      # same second: its own file
    assert again["path"] != doc["path"] and Path(again["path"]).exists()
    first, _ = events(db, "db.backup")
    assert first.outcome == "ok" and first.details["path"] == doc["path"]

    assert "backup_age" not in codes(db_check_findings(db, now=NOW + dt.timedelta(hours=23)))
    stale = {f.check: f for f in db_check_findings(db, now=NOW + dt.timedelta(hours=25))}
    assert stale["backup_age"].code == "XD-DATA-005" and "25.0 h old" in stale["backup_age"].message


def test_backup_never_overwrites_a_file(sqlite_db, tmp_path):
    existing = tmp_path / "keep.sqlite"
    existing.write_text("precious")
    with pytest.raises(DataError) as info:
        backup_database(sqlite_db, to=existing, now=NOW)
    assert info.value.code == "XD-DATA-007" and existing.read_text() == "precious"
    [ev] = events(sqlite_db, "db.backup")
    assert ev.outcome == "failed" and ev.code == "XD-DATA-007"
    assert "backup_age" in codes(db_check_findings(sqlite_db, now=NOW))     # a failed backup does not count


# ------------------------------------------------------------------ jobs
def test_retry_jobs(db):
    seed_channels(db)
    a = add_job(db, key="a", status="failed", attempts=8, last_code="XD-NET-003")
    b = add_job(db, key="b", status="failed", attempts=8, last_code="XD-PLATFORM-001", channel="ebay-uk")
    c = add_job(db, key="c", status="pending")

    doc = retry_jobs(db, [a, c, 999], now=NOW)

    assert doc["retried"] == [a]
    assert {r["id"]: r["status"] for r in doc["not_retried"]} == {c: "pending", 999: None}
    [ev] = events(db, "jobs.retry")
    assert ev.outcome == "ok" and ev.details["ids"] == [a] and ev.entity == str(a)
    with db.read() as s:
        assert (s.get(m.OutboxEntry, a).status, s.get(m.OutboxEntry, a).attempts) == ("pending", 0)
    assert retry_jobs(db, all_failed=True, channel="amazon-de", now=NOW) == {"retried": [], "not_retried": []}
    assert retry_jobs(db, all_failed=True, channel="ebay-uk", now=NOW)["retried"] == [b]
    with pytest.raises(ConfigError):
        retry_jobs(db, [a], channel="ebay-uk")


# ------------------------------------------------------------------ fx
def test_fx_load_is_all_or_nothing_and_show_gives_the_newest(db, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rates]]\ndate = 2026-03-02\nbase = "EUR"\nquote = "JPY"\nrate = "162.1"\n'
                   '\n[[rates]]\ndate = 2026-03-02\nbase = "EUR"\nquote = "CHF"\nrate = "-1"\n')
    with pytest.raises(ConfigError) as info:
        load_fx_file(db, bad)
    assert info.value.code == "XD-CFG-009" and f"{bad}, line 7" in info.value.detail
    assert fx_rates_doc(db)["rates"] == []            # the good first row was not stored either

    good = tmp_path / "rates.csv"
    good.write_text("# ECB reference rates\ndate,base,quote,rate,source\n2026-02-27,EUR,USD,1.0801,ECB\n"
                    "2026-03-02,EUR,USD,1.0834,ECB\n2026-03-02,EUR,GBP,0.8421,ECB\n")
    doc = load_fx_file(db, good)
    assert doc == {"file": str(good), "rates": 3, "pairs": ["EUR/GBP", "EUR/USD"], "from": "2026-02-27",
                   "to": "2026-03-02"}
    shown = fx_rates_doc(db, today=dt.date(2026, 3, 4))
    assert [(r["base"], r["quote"], r["rate"], r["valid_on"], r["age_days"]) for r in shown["rates"]] == [
        ("EUR", "GBP", Decimal("0.8421"), "2026-03-02", 2), ("EUR", "USD", Decimal("1.0834"), "2026-03-02", 2)]
    every = fx_rates_doc(db, pair="eur/usd", every=True)
    assert [r["valid_on"] for r in every["rates"]] == ["2026-02-27", "2026-03-02"]
    assert events(db, "fx.load")[0].details["rates"] == 3


# ------------------------------------------------------------------ auth
def test_auth_status_warns_before_and_names_expired_credentials(db, tmp_path):
    cfg = load_cfg(tmp_path)
    seed_channels(db)
    with db.write() as s:
        s.add(m.Credential(channel="amazon-de", refresh_token_enc=encrypt("x"), version=1,
                           authorisation_expires_at=NOW + dt.timedelta(days=10),
                           client_secret_expires_at=NOW - dt.timedelta(days=1),
                           access_token_enc=encrypt("y"), access_expires_at=NOW + dt.timedelta(minutes=30)))
        s.add(m.Credential(channel="ebay-uk", refresh_token_enc=encrypt("x"), version=1,
                           refresh_expires_at=NOW + dt.timedelta(days=90)))
        s.get(m.Channel, "ebay-uk").paused_code = "XD-AUTH-002"

    doc = auth_status_doc(cfg, db, NOW, within_days=30)

    amazon, ebay = doc["channels"]
    assert [(w["code"], w["what"], w["expired"]) for w in amazon["warnings"]] == [
        ("XD-AUTH-004", "client_secret", True), ("XD-AUTH-005", "seller_authorisation", False)]
    assert amazon["access_valid"] is True and amazon["refresh_token_stored"] is True
    assert ebay["warnings"] == [] and ebay["paused"] is True and ebay["paused_code"] == "XD-AUTH-002"
    assert doc["ok"] is False
    assert not [k for k in amazon if k.endswith("_enc") or k in ("refresh_token", "access_token")]
    wider = auth_status_doc(cfg, db, NOW, within_days=120)
    assert [w["code"] for w in wider["channels"][1]["warnings"]] == ["XD-AUTH-005"]


def test_set_credentials_replaces_the_refresh_token_and_resumes(db, tmp_path):
    cfg = load_cfg(tmp_path)
    seed_channels(db)
    store = SqlTokenStore(db)
    store.seed_refresh_token("amazon-de", "Atzr|old-refresh-token",
                             client_secret_expires_at=NOW + dt.timedelta(days=40))
    with db.write() as s:
        row = s.get(m.Channel, "amazon-de")
        row.paused_code, row.paused_reason, row.paused_at = "XD-AUTH-003", "authorisation lapsed", NOW

    doc = set_credentials(db, cfg.channel("amazon-de"), refresh_token="Atzr|brand-new-refresh-token",
                          authorised_at=NOW - dt.timedelta(days=1), now=NOW)

    assert doc["resumed"] is True and doc["was_paused_with"] == "XD-AUTH-003"
    state = store.load("amazon-de")
    assert state.refresh_token == "Atzr|brand-new-refresh-token"       # replaced, unlike seed_refresh_token
    assert state.access_token is None
    assert state.authorisation_expires_at == NOW - dt.timedelta(days=1) + dt.timedelta(
        days=AMAZON_AUTHORISATION_DAYS)
    assert state.client_secret_expires_at == NOW + dt.timedelta(days=40)   # not rotated: kept
    with db.read() as s:
        assert s.get(m.Channel, "amazon-de").paused_code is None
    [set_ev], [resume_ev] = events(db, "auth.set"), events(db, "channel.resume")
    assert resume_ev.details == {"previous_code": "XD-AUTH-003"}
    assert "brand-new" not in json.dumps(set_ev.details) + (set_ev.message or "")

    rotated = NOW - dt.timedelta(days=3)
    doc = set_credentials(db, cfg.channel("amazon-de"), refresh_token="Atzr|third-refresh-token",
                          client_secret_rotated_at=rotated, now=NOW)
    assert doc["resumed"] is False
    assert store.load("amazon-de").client_secret_expires_at == rotated + dt.timedelta(
        days=AMAZON_CLIENT_SECRET_DAYS)
    assert store.load("amazon-de").refresh_token == "Atzr|third-refresh-token"
    with pytest.raises(ConfigError) as info:
        set_credentials(db, cfg.channel("ebay-uk"), refresh_token="v^1.1#x", client_secret_rotated_at=rotated)
    assert info.value.code == "XD-CFG-009"


def test_set_credentials_for_the_ebay_trading_token(db, tmp_path, monkeypatch):
    cfg = load_cfg(tmp_path)
    monkeypatch.setenv("XD_TEST_TRADING_TOKEN", "AgAAAA**new-trading-token")
    doc = set_credentials(db, cfg.channel("ebay-uk"), trading_token="AgAAAA**new-trading-token",
                          trading_token_env="XD_TEST_TRADING_TOKEN", authorised_at=NOW, now=NOW)
    expires = NOW + dt.timedelta(seconds=47_304_000)                      # 18 months
    assert doc["trading_token"] == "verified" and doc["trading_token_expires_at"] == expires.isoformat()
    status = auth_status_doc(cfg, db, NOW + dt.timedelta(days=520), within_days=30)
    ebay = next(c for c in status["channels"] if c["channel"] == "ebay-uk")
    assert ebay["trading_token_expires_at"] == expires.isoformat()
    assert [(w["code"], w["what"]) for w in ebay["warnings"]] == [("XD-AUTH-005", "trading_token")]
    expired = auth_status_doc(cfg, db, NOW + dt.timedelta(days=600))
    assert [w["code"] for c in expired["channels"] for w in c["warnings"]] == ["XD-AUTH-009"]

    # the configuration reads another value: storing this one would change nothing, so it is refused
    with pytest.raises(ConfigError) as info:
        set_credentials(db, cfg.channel("ebay-uk"), trading_token="AgAAAA**other", trading_token_env="XD_OTHER")
    assert info.value.code == "XD-CFG-003" and "trading_token" in info.value.detail


def test_resume_channel(db, tmp_path):
    cfg = load_cfg(tmp_path)
    seed_channels(db)
    add_job(db, key="f", status="failed", attempts=8, last_code="XD-AUTH-002")
    with db.write() as s:
        s.get(m.Channel, "amazon-de").paused_code = "XD-AUTH-002"
        s.add(m.Credential(channel="amazon-de", refresh_token_enc=encrypt("x"), version=1,
                           authorisation_expires_at=NOW - dt.timedelta(days=2)))
    doc = resume_channel(cfg, db, "amazon-de", now=NOW)
    assert doc["resumed"] is True and doc["was_paused_with"] == "XD-AUTH-002" and doc["failed_jobs"] == 1
    assert [w["code"] for w in doc["expired_credentials"]] == ["XD-AUTH-003"]     # it would pause again
    assert resume_channel(cfg, db, "amazon-de", now=NOW)["resumed"] is False
    [ev] = events(db, "channel.resume")
    assert ev.details == {"previous_code": "XD-AUTH-002"}


# ------------------------------------------------------------------ sync status
def test_sync_status_doc(db, tmp_path):
    cfg = load_cfg(tmp_path)
    seed_stock(db)
    with db.write() as s:
        s.get(m.Channel, "ebay-uk").paused_code = "XD-AUTH-002"
        s.add(m.SyncCursor(channel="amazon-de", stream="orders", position=NOW - dt.timedelta(minutes=5),
                           last_success_at=NOW - dt.timedelta(minutes=1)))
        s.add_all([DirtySku(channel="amazon-de", sku=sku, dirty_since=NOW - dt.timedelta(seconds=age),
                            marked_at=NOW) for sku, age in (("MUG", 40), ("CUP", 12))])
        for i, (code, hours, outcome) in enumerate((("XD-NET-003", 1, "retry"), ("XD-NET-003", 2, "failed"),
                                                    ("XD-QUOTA-001", 3, "retry"), ("XD-NET-003", 30, "failed"))):
            s.add(m.SyncEvent(at=NOW - dt.timedelta(hours=hours), channel="amazon-de", operation="job.push_stock",
                              outcome=outcome, code=code, entity=str(i)))
        s.add(m.SyncEvent(at=NOW - dt.timedelta(hours=1), channel="amazon-de", operation="job.push_stock",
                          outcome="ok"))
    add_job(db, key="p1", status="pending", available_at=NOW - dt.timedelta(seconds=90))
    add_job(db, key="p2", status="pending", kind="confirm_shipment", available_at=NOW)
    add_job(db, key="f1", status="failed", channel="ebay-uk", kind="import_orders")
    add_job(db, key="g1", status="pending", channel=None, kind="stock_sweep")
    add_order(db, channel="amazon-de", order_id="111-7", status="unshipped", lines=[("MUG", 1)],
              flags=["XD-ORD-003"])
    add_order(db, channel="amazon-de", order_id="111-8", status="shipped", lines=[("MUG", 1)],
              flags=["XD-ORD-002", "XD-INV-001"])
    add_order(db, channel="ebay-uk", order_id="22-7", status="unshipped", lines=[("CUP", 1)], flags=["XD-ORD-003"])

    doc = sync_status_doc(cfg, db, NOW)

    amazon, ebay = doc["channels"]["amazon-de"], doc["channels"]["ebay-uk"]
    assert amazon["orders"] == {"last_success_at": (NOW - dt.timedelta(minutes=1)).isoformat(),
                                "position": (NOW - dt.timedelta(minutes=5)).isoformat(), "lag_s": 300.0,
                                "changes_position": (NOW - dt.timedelta(minutes=5)).isoformat()}
    assert ebay["orders"] == {"last_success_at": None, "position": None, "lag_s": None, "changes_position": None}
    assert amazon["stock_queue"] == {"dirty_skus": 2, "oldest_age_s": 40.0}
    assert amazon["outbox"]["push_stock"] == {"pending": 1, "running": 0, "failed": 0, "oldest_age_s": 90.0}
    assert amazon["outbox"]["confirm_shipment"]["pending"] == 1
    assert ebay["outbox"]["import_orders"]["failed"] == 1
    assert doc["unassigned"]["outbox"]["stock_sweep"]["pending"] == 1
    assert amazon["failures_24h"] == {"XD-NET-003": 2, "XD-QUOTA-001": 1}
    assert amazon["stuck_orders"] == {"XD-ORD-002": 1, "XD-ORD-003": 1, "XD-ORD-007": 0}
    assert ebay["stuck_orders"] == {"XD-ORD-002": 0, "XD-ORD-003": 1, "XD-ORD-007": 0}
    assert ebay["paused"] is True and amazon["paused"] is False
    assert doc["totals"] == {"paused_channels": ["ebay-uk"],
                             "stuck_orders": {"XD-ORD-002": 1, "XD-ORD-003": 2, "XD-ORD-007": 0},
                             "dirty_skus": 2, "outbox_pending": 3, "outbox_failed": 1, "failures_24h": 3,
                             "oversold_units": 1}
    # 111-8's MUG could not be reserved (XD-INV-001) and holds no reservation: one unit oversold
    assert (amazon["oversold_units"], ebay["oversold_units"]) == (1, 0)
    assert amazon["drift"] is None          # no reconcile has run


def test_sync_status_lag_on_a_scaled_sandbox_clock(sqlite_db, tmp_path):
    # Given a sandbox running 60x faster: cursor positions are in platform time
    cfg = load_cfg(tmp_path)
    origin = NOW - dt.timedelta(minutes=10)
    cfg.sandbox = {"clock": {"time_scale": 60.0, "origin_real": origin.timestamp(),
                             "origin_platform": origin.timestamp()}}
    seed_channels(sqlite_db)
    platform_now = origin + dt.timedelta(minutes=600)
    with sqlite_db.write() as s:
        s.add(m.SyncCursor(channel="amazon-de", stream="orders", position=platform_now - dt.timedelta(minutes=2),
                           last_success_at=NOW))
    doc = sync_status_doc(cfg, sqlite_db, NOW)
    assert doc["platform_now"] == platform_now.isoformat()
    assert doc["channels"]["amazon-de"]["orders"]["lag_s"] == 120.0


# ------------------------------------------------------------------ the commands as a person runs them
@pytest.fixture
def cli_db(tmp_path):
    """An SQLite database file the commands are pointed at."""
    from tests.db_template import migrate

    database = Database(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    migrate(database)
    write_config(tmp_path)
    yield database
    database.dispose()


def test_db_check_cli_exits_1_on_an_error_and_0_on_warnings(cli_db, tmp_path):
    seed_stock(cli_db)
    proc, doc = run(["db", "check", "--json"], cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 0, proc.stderr
    assert doc["ok"] is True and doc["errors"] == 0 and "reservation_sums" in doc["checks"]
    assert [f["code"] for f in doc["findings"]] == ["XD-DATA-005"]
    line, = add_order(cli_db, channel="amazon-de", order_id="111-3", status="cancelled", lines=[("CUP", 1)])
    reserve(cli_db, line, "CUP", 1)
    proc, doc = run(["db", "check", "--json"], cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 1
    assert doc["ok"] is False and doc["errors"] == 2
    assert {f["check"] for f in doc["findings"] if f["severity"] == "error"} == {
        "reservation_sums", "reservations_on_closed_orders"}
    proc, _ = run(["db", "check"], cwd=tmp_path, db=cli_db)
    assert proc.returncode == 1 and "XD-DATA-006" in proc.stdout and "Traceback" not in proc.stderr


def test_db_backup_cli_writes_next_to_the_sqlite_database(tmp_path):
    (tmp_path / "data").mkdir()
    write_config(tmp_path)
    env = {"CROSSDOCK_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'shop.sqlite'}"}
    proc, doc = run(["db", "backup", "--json"], cwd=tmp_path, env=env, check_json=True)
    assert proc.returncode == 0, proc.stderr
    assert Path(doc["path"]).parent == tmp_path / "data" / "backups" and Path(doc["path"]).is_file()
    assert Path(doc["path"]).name.startswith("shop-") and doc["backend"] == "sqlite"
    proc, doc = run(["db", "check", "--json"], cwd=tmp_path, env=env, check_json=True)
    assert proc.returncode == 0 and doc["findings"] == []


def test_db_backup_cli_without_pg_dump_is_a_clear_data_error(pg_database, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    write_config(tmp_path)
    env = {"PATH": str(empty), "CROSSDOCK_DATABASE_URL": pg_database.url}
    proc, doc = run(["db", "backup", "--json"], cwd=tmp_path, env=env, check_json=True)
    assert proc.returncode == 1
    assert doc["error"]["code"] == "XD-DATA-007" and "pg_dump" in doc["error"]["detail"]
    assert not (tmp_path / "backups").exists()


def test_jobs_cli(cli_db, tmp_path):
    seed_channels(cli_db)
    a = add_job(cli_db, key="a", status="failed", attempts=8, last_code="XD-NET-003")
    b = add_job(cli_db, key="b", status="failed", attempts=8, last_code="XD-PLATFORM-001", channel="ebay-uk",
                available_at=NOW + dt.timedelta(seconds=1))
    c = add_job(cli_db, key="c", status="pending")

    proc, doc = run(["jobs", "failed", "--json"], cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 0
    assert [(j["id"], j["last_code"], j["attempts"]) for j in doc["failed"]] == [
        (b, "XD-PLATFORM-001", 8), (a, "XD-NET-003", 8)]
    assert {"id", "kind", "channel", "entity", "attempts", "last_code", "last_error", "updated_at"} <= set(
        doc["failed"][0])

    proc, doc = run(["jobs", "retry", str(a), str(c), "--json"], cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 4                      # partial: job c was not failed
    assert doc["retried"] == [a] and [r["id"] for r in doc["not_retried"]] == [c]

    proc, doc = run(["jobs", "list", "--status", "pending", "--json"], cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 0 and sorted(j["id"] for j in doc["jobs"]) == sorted([a, c])

    proc, _ = run(["jobs", "retry", "--all"], cwd=tmp_path, db=cli_db)
    assert proc.returncode == 0 and "1 job(s) back to pending" in proc.stdout


@pytest.mark.parametrize("args", [["jobs", "retry", "--json"], ["jobs", "retry", "1", "--all", "--json"],
                                  ["jobs", "list", "--status", "stuck", "--json"]])
def test_jobs_cli_bad_input_is_a_usage_error(cli_db, tmp_path, args):
    proc, doc = run(args, cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 2 and doc["error"]["code"] == "XD-CFG-009"


def test_fx_cli(cli_db, tmp_path):
    (tmp_path / "bad.csv").write_text("date,base,quote,rate\n2026-03-02,EUR,USD,1.08\n2026-03-02,EUR,XXX,2\n")
    (tmp_path / "rates.json").write_text('{"rates": [{"date": "2026-03-02", "base": "EUR", "quote": "USD", '
                                         '"rate": "1.0834", "source": "ECB"}]}')
    proc, doc = run(["fx", "load", "bad.csv", "--json"], cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 2 and doc["error"]["code"] == "XD-CFG-009"
    assert "bad.csv, line 3" in doc["error"]["detail"] and doc["error"]["context"]["line"] == 3
    proc, doc = run(["fx", "load", "rates.json", "--json"], cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 0 and doc["rates"] == 1
    proc, doc = run(["fx", "show", "--json"], cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 0
    assert [(r["base"], r["quote"], Decimal(r["rate"])) for r in doc["rates"]] == [("EUR", "USD", Decimal("1.0834"))]


def test_auth_cli(cli_db, tmp_path):
    seed_channels(cli_db)
    with cli_db.write() as s:
        s.get(m.Channel, "amazon-de").paused_code = "XD-AUTH-002"
    proc, doc = run(["auth", "status", "--json"], cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 3 and doc["channels"][0]["paused_code"] == "XD-AUTH-002"
    proc, _ = run(["auth", "status"], cwd=tmp_path, db=cli_db)          # the table a person reads
    assert proc.returncode == 3 and "XD-AUTH-" in proc.stdout and "paused" in proc.stdout
    assert "This is a bug" not in proc.stderr

    env = {"XD_NEW_REFRESH": "Atzr|brand-new-refresh-token"}
    proc, doc = run(["auth", "set", "amazon-de", "--refresh-token-env", "XD_NEW_REFRESH", "--authorised-on",
                     "2026-02-01", "--json"], cwd=tmp_path, db=cli_db, env=env, check_json=True)
    assert proc.returncode == 0, proc.stderr
    assert doc["resumed"] is True and doc["authorisation_expires_at"] == "2027-02-01T00:00:00+00:00"
    assert "brand-new" not in proc.stdout + proc.stderr
    assert SqlTokenStore(cli_db).load("amazon-de").refresh_token == "Atzr|brand-new-refresh-token"

    proc, _ = run(["auth", "resume", "amazon-de"], cwd=tmp_path, db=cli_db)
    assert proc.returncode == 0 and "not paused" in proc.stdout


def test_auth_status_exits_4_when_a_credential_expires_soon(cli_db, tmp_path):
    # Given Amazon's client secret expires in 10 days
    seed_channels(cli_db)
    with cli_db.write() as s:
        s.add(m.Credential(channel="amazon-de", version=1, client_secret_expires_at=dt.datetime.now(dt.timezone.utc)
                           + dt.timedelta(days=10)))
    # Then auth status says so on stderr and in its exit status (4), not only on stderr with 0
    proc, _ = run(["auth", "status"], cwd=tmp_path, db=cli_db)
    assert proc.returncode == 4 and "XD-AUTH-005" in proc.stderr
    proc, doc = run(["auth", "status", "--json"], cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 4 and [w["what"] for w in doc["warnings"]] == ["client_secret"]


@pytest.mark.parametrize("args, env, code", [
    (["auth", "set", "nope", "--refresh-token-env", "V"], {"V": "Atzr|x1234567"}, "XD-CFG-007"),
    (["auth", "set", "amazon-de", "--refresh-token-env", "XD_UNSET_VAR"], {}, "XD-CFG-005"),
    (["auth", "set", "amazon-de", "--refresh-token-env", "V", "--authorised-on", "01/02/2026"],
     {"V": "Atzr|x1234567"}, "XD-CFG-009"),
])
def test_auth_cli_refuses_bad_input(cli_db, tmp_path, args, env, code):
    proc, doc = run([*args, "--json"], cwd=tmp_path, db=cli_db, env=env, check_json=True)
    assert proc.returncode == 2 and doc["error"]["code"] == code
    assert "Atzr|x1234567" not in proc.stdout + proc.stderr


def test_sync_status_command(cli_db, tmp_path):
    seed_channels(cli_db)
    add_job(cli_db, key="x", status="failed", attempts=8, last_code="XD-NET-001")
    proc, doc = run(["sync", "status", "--json"], cwd=tmp_path, db=cli_db, check_json=True)
    assert proc.returncode == 0, proc.stderr
    assert set(doc["channels"]) == {"amazon-de", "ebay-uk"} and doc["totals"]["outbox_failed"] == 1
    proc, _ = run(["sync", "status"], cwd=tmp_path, db=cli_db)
    assert proc.returncode == 0 and "amazon-de" in proc.stdout
    assert "crossdock jobs failed" in proc.stderr
