from __future__ import annotations

import datetime as dt
import multiprocessing as mp
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crossdock.db import models as m
from crossdock.db.engine import Database, normalise_url
from crossdock.db.migrate import current_revision, ensure_current, head_revision
from crossdock.errors import ConfigError, DataError


def seed(db: Database) -> None:
    with db.write() as s:
        s.add(m.Channel(name="amazon-us", platform="amazon", account="A1", marketplace="ATVPDKIKX0DER",
                        currency="USD", country="US"))
        s.add(m.Warehouse(code="DE", name="Leipzig", country="DE"))
        s.add(m.Product(sku="SKU-1", title="Mug", base_price=Decimal("9.9900"), base_currency="EUR",
                        hs_code="691200", country_of_origin="CN"))
        s.flush()  # no ORM relationship orders these inserts; foreign keys are enforced
        s.add(m.StockLevel(sku="SKU-1", warehouse="DE", on_hand=10))


def test_schema_is_at_head(db):
    assert current_revision(db) == head_revision(db) is not None


def test_order_import_is_unique_per_channel_and_platform_id(db):
    seed(db)
    now = dt.datetime.now(dt.timezone.utc)

    def order():
        return m.Order(channel="amazon-us", platform_order_id="113-1", platform_status="Unshipped",
                       local_status="unshipped", purchased_at=now, platform_updated_at=now,
                       currency="USD", total_amount=Decimal("19.98"))

    with db.write() as s:
        o = order()
        o.lines.append(m.OrderLine(platform_line_id="L1", sku="SKU-1", quantity=2, unit_price=Decimal("9.99"),
                                   currency="USD"))
        s.add(o)
    with pytest.raises(IntegrityError):
        with db.write() as s:
            s.add(order())
    with db.read() as s:
        stored = s.scalars(select(m.Order)).one()
        assert stored.total_amount == Decimal("19.98")
        assert stored.purchased_at.tzinfo is not None
        assert abs((stored.purchased_at - now).total_seconds()) < 1e-3
        assert [line.sku for line in stored.lines] == ["SKU-1"]


def test_database_refuses_reserving_more_than_on_hand(db):
    seed(db)
    with pytest.raises(IntegrityError):
        with db.write() as s:
            level = s.scalars(select(m.StockLevel)).one()
            level.reserved = 11


def test_naive_datetimes_are_refused(db):
    seed(db)
    with pytest.raises(Exception) as exc:
        with db.write() as s:
            s.add(m.SyncCursor(channel="amazon-us", stream="orders", position=dt.datetime(2026, 1, 1)))
    assert "naive" in str(exc.value)


def test_unsupported_url_and_missing_folder_give_codes(tmp_path):
    with pytest.raises(ConfigError) as exc:
        normalise_url("mysql://x/y")
    assert exc.value.code == "XD-CFG-008"
    with pytest.raises(DataError) as exc:
        Database(f"sqlite:///{tmp_path / 'missing' / 'x.sqlite'}")
    assert exc.value.code == "XD-DATA-001"
    assert normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"


def test_empty_sqlite_is_created_on_first_use_and_old_schema_is_reported(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'new.sqlite'}")
    ensure_current(db)
    assert current_revision(db) == head_revision(db)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'old'")
    with pytest.raises(DataError) as exc:
        ensure_current(db)
    assert exc.value.code == "XD-DATA-002"


# ---------------------------------------------------------------- concurrency
WORKERS = 4
ADJUSTMENTS = 40


def _adjust_many(url: str, worker: int, n: int) -> None:
    from crossdock import synclog

    db = Database(url)
    for i in range(n):
        with db.write() as s:
            # Given the read-modify-write pattern every stock change uses: a row lock
            # (FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE's write lock on SQLite)
            level = s.scalars(select(m.StockLevel).where(m.StockLevel.sku == "SKU-1").with_for_update()).one()
            level.on_hand = level.on_hand + 1
            s.add(m.StockMovement(sku="SKU-1", warehouse="DE", delta=1, reason="test", reference=f"{worker}-{i}"))
            synclog.record(s, operation="stock.adjust", outcome="ok", entity_type="sku", entity="SKU-1",
                           details={"worker": worker, "i": i})
    db.dispose()


def test_several_processes_write_without_locks_errors_or_lost_writes(db):
    seed(db)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_adjust_many, args=(db.url, w, ADJUSTMENTS)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    # Then every process finished cleanly ("database is locked" would crash one)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    total = WORKERS * ADJUSTMENTS
    with db.read() as s:
        assert s.scalar(select(m.StockLevel.on_hand)) == 10 + total
        assert s.scalar(select(func.count()).select_from(m.StockMovement)) == total
        assert s.scalar(select(func.count()).select_from(m.SyncEvent)) == total


def test_migrations_create_exactly_the_tables_the_models_declare(db):
    """Given a database upgraded by the migrations alone,
    when Alembic compares it with the models,
    then nothing differs: every model change ships with its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crossdock.db.schema import metadata

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_a_new_sqlite_database_and_its_wal_files_are_private_whatever_the_umask(tmp_path):
    """Given a permissive umask (0o000), when crossdock creates its SQLite
    database and writes to it, then the file and its -wal/-shm files are 0600."""
    import os
    import stat

    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade

    old = os.umask(0)
    try:
        db = Database(f"sqlite:///{tmp_path / 'private.sqlite'}")
        upgrade(db)
        with db.write() as s:
            s.add(m.Warehouse(code="DE", name="Leipzig", country="DE"))
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()
                 if p.name.startswith("private.sqlite")}
        db.dispose()
    finally:
        os.umask(old)
    assert "private.sqlite" in modes and "private.sqlite-wal" in modes, modes
    assert all(mode == 0o600 for mode in modes.values()), {k: oct(v) for k, v in modes.items()}


def test_a_postgresql_url_creates_no_file(tmp_path, monkeypatch):
    """Only a SQLite URL names a file: opening PostgreSQL leaves the working folder alone."""
    from crossdock.db.engine import Database

    monkeypatch.chdir(tmp_path)
    db = Database("postgresql://nobody@127.0.0.1:1/xd_no_file_here")
    db.dispose()
    assert list(tmp_path.iterdir()) == []
