"""Declarative base and column types shared by every table.

Money is ``Numeric(18, 4)`` plus a currency column, never a float. Times are
timezone-aware UTC (:class:`UTCDateTime`) on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import JSON, DateTime, MetaData, Numeric, Table, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

# The largest value of an Integer column (PostgreSQL's 4-byte integer). SQLite
# would store more, so quantities are checked against it in code, on both
# backends alike, before any SQL runs.
INTEGER_MAX = 2_147_483_647

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Stores UTC; always hands back an aware datetime in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(timezone.utc)")
        value = value.astimezone(dt.timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


Money = Numeric(18, 4, asdecimal=True)
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    #: Every model here maps one ``Table`` (declarative types it as any FromClause).
    __table__: ClassVar[Table]

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime(), Decimal: Money}
