from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from crossdock.db.base import Base
from crossdock.errors import ConfigError
from crossdock.mapping.fx import FxRate
from crossdock.mapping.fx_files import load_rates, sample_rates_path
from crossdock.mapping.fx_store import FxRateRecord, fx_rates, load_into, rates_from_db, table_from_db

DAY = dt.date(2025, 1, 6)


def _create(engine: sa.Engine) -> None:
    Base.metadata.create_all(engine, tables=[fx_rates])


def _round_trip(engine: sa.Engine) -> None:
    _create(engine)
    # Given the sample file loaded into the table
    sample = load_rates(sample_rates_path())
    assert load_into(engine, sample) == len(sample)
    # When read back, Then every rate is exactly what went in
    back = rates_from_db(engine)
    assert sorted(back, key=lambda r: (r.base, r.quote, r.valid_on)) == sorted(
        sample, key=lambda r: (r.base, r.quote, r.valid_on))
    assert all(isinstance(r.rate, D) for r in back)

    # Given a correction for one day and a new day (upsert)
    load_into(engine, [FxRate("EUR", "USD", D("1.11112222"), dt.date(2025, 1, 10), "fix"),
                       FxRate("EUR", "USD", D("1.0500"), dt.date(2025, 1, 13), "new")])
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(fx_rates)).scalar_one()
    assert count == len(sample) + 1
    table = table_from_db(engine)
    assert table.rate("EUR", "USD", dt.date(2025, 1, 10)) == D("1.11112222")
    assert table.rate("EUR", "USD", dt.date(2025, 1, 20)) == D("1.05")
    # cross and inverse work on rates read from the database
    assert table.resolve("GBP", "JPY", dt.date(2025, 1, 10)).how == "cross"
    assert table_from_db(engine, until=dt.date(2025, 1, 7)).rate(
        "EUR", "USD", dt.date(2025, 1, 30)) == D("1.0350")

    # Eight decimals are kept exactly; a ninth is rounded half up
    load_into(engine, [FxRate("USD", "JPY", D("0.000066665"), DAY),
                       FxRate("EUR", "KWD", D("12345678.12345678"), DAY)])
    table = table_from_db(engine)
    assert table.rate("USD", "JPY", DAY) == D("0.00006667")
    assert table.rate("EUR", "KWD", DAY) == D("12345678.12345678")


def test_round_trip_on_sqlite_file(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fx.db'}")
    try:
        _round_trip(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_round_trip_on_postgresql(pg_engine):
    _round_trip(pg_engine)
    with pg_engine.connect() as conn:
        column_type = conn.execute(sa.text(
            "select data_type, numeric_precision, numeric_scale from information_schema.columns "
            "where table_name = 'fx_rates' and column_name = 'rate'")).one()
    assert tuple(column_type) == ("numeric", 18, 8)


def test_session_joins_the_callers_transaction(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fx.db'}")
    try:
        _create(engine)
        # Given rates written through a session that is then rolled back
        with Session(engine) as session:
            load_into(session, [FxRate("EUR", "USD", D("1.1"), DAY)])
            assert len(table_from_db(session)) == 1      # visible inside the transaction
            session.rollback()
        # Then nothing was stored
        assert rates_from_db(engine) == []
        # And with a commit it is, readable through the ORM class too
        with Session(engine) as session:
            load_into(session, [FxRate("EUR", "USD", D("1.1"), DAY, "manual")])
            session.commit()
            rec = session.scalars(sa.select(FxRateRecord)).one()
            assert rec.to_rate() == FxRate("EUR", "USD", D("1.1"), DAY, "manual")
            assert rec.loaded_at.tzinfo is not None
    finally:
        engine.dispose()


def test_duplicate_keys_in_one_batch_keep_the_last(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fx.db'}")
    try:
        _create(engine)
        assert load_into(engine, [FxRate("EUR", "USD", D("1.1"), DAY),
                                  FxRate("EUR", "USD", D("1.2"), DAY)]) == 1
        assert [r.rate for r in rates_from_db(engine)] == [D("1.2")]
        assert load_into(engine, []) == 0
    finally:
        engine.dispose()


def test_rate_too_small_for_the_column_is_refused_before_writing(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fx.db'}")
    try:
        _create(engine)
        with pytest.raises(ConfigError) as err:
            load_into(engine, [FxRate("EUR", "USD", D("1.1"), DAY),
                               FxRate("VND", "BHD", D("0.000000001"), DAY)])
        assert err.value.code == "XD-CFG-009" and "inverse" in err.value.detail
        assert rates_from_db(engine) == []
    finally:
        engine.dispose()


def test_table_is_registered_on_the_shared_metadata():
    assert Base.metadata.tables["fx_rates"] is fx_rates
    uniques = [c for c in fx_rates.constraints if isinstance(c, sa.UniqueConstraint)]
    assert [[col.name for col in u.columns] for u in uniques] == [["base", "quote", "valid_on"]]


def test_a_rate_too_large_for_the_column_is_refused_not_a_crash(tmp_path):
    # quantize() of 1e30 to 8 decimals overflows the decimal context: compared before rounding
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fx.db'}")
    try:
        _create(engine)
        with pytest.raises(ConfigError) as err:
            load_into(engine, [FxRate("EUR", "USD", D("1e30"), DAY)])
        assert err.value.code == "XD-CFG-009" and "inverse" in err.value.detail
        assert rates_from_db(engine) == []
    finally:
        engine.dispose()
