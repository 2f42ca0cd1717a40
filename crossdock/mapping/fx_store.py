"""FX rates in the database: table ``fx_rates`` and its load / read helpers.

The table lives on :data:`crossdock.db.base.Base.metadata` (import this module
before ``create_all`` or an Alembic autogenerate so it is registered).

``rate`` is ``Numeric(18, 8)``. SQLite has no exact decimal type and would hand
the value back through a float, so there the column holds the decimal *text*
instead; PostgreSQL keeps a real NUMERIC. Rates with more than eight decimals
are rounded half up on the way in.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Date, Integer, Numeric, String, TypeDecorator, UniqueConstraint, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from crossdock.db.base import Base, UTCDateTime, utcnow
from crossdock.errors import ConfigError
from crossdock.mapping.fx import DEFAULT_PIVOTS, RATE_LIMIT, RATE_SCALE, FxRate, FxTable

__all__ = ["RATE_SCALE", "FxRateRecord", "fx_rates", "fx_rates_doc", "load_fx_file", "load_into", "rates_digest",
           "rates_from_db", "table_from_db"]

log = logging.getLogger(__name__)

_QUANTUM = Decimal(1).scaleb(-RATE_SCALE)
_MAX_RATE = RATE_LIMIT

T = TypeVar("T")


class ExactRate(TypeDecorator):
    """``Numeric(18, 8)``; on SQLite stored as text so no float is ever involved."""

    impl = Numeric(18, RATE_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(18, RATE_SCALE, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float) or not isinstance(value, Decimal):
            raise TypeError("fx rate must be a Decimal")
        value = value.quantize(_QUANTUM, rounding=ROUND_HALF_UP)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value) if isinstance(value, str) else value


class FxRateRecord(Base):
    """One dated rate: 1 ``base`` = ``rate`` ``quote`` from ``valid_on``."""

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("base", "quote", "valid_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    valid_on: Mapped[dt.date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(ExactRate())
    source: Mapped[str | None] = mapped_column(String(200), default=None)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def to_rate(self) -> FxRate:
        return FxRate(self.base, self.quote, self.rate, self.valid_on, self.source)


fx_rates = Base.metadata.tables[FxRateRecord.__tablename__]

_Target = Engine | Connection | Session


def _with_connection(target: _Target, fn: Callable[[Connection], T]) -> T:
    """Engine → own transaction (committed); Connection / Session → the caller's transaction."""
    if isinstance(target, Engine):
        with target.begin() as conn:
            return fn(conn)
    if isinstance(target, Session):
        return fn(target.connection())
    if isinstance(target, Connection):
        return fn(target)
    raise TypeError(f"expected an Engine, Connection or Session, got {type(target).__name__}")


def _rows(rates: Iterable[FxRate]) -> list[dict[str, Any]]:
    now = utcnow()
    by_key: dict[tuple[str, str, dt.date], dict[str, Any]] = {}
    for r in rates:
        if not isinstance(r, FxRate):
            raise TypeError(f"expected FxRate, got {type(r).__name__}")
        # compared before rounding: quantize() of a huge rate (1e30) overflows the decimal context
        if r.rate >= _MAX_RATE or r.rate.quantize(_QUANTUM, rounding=ROUND_HALF_UP) <= 0:
            raise ConfigError(
                "XD-CFG-009", entity=f"{r.base}/{r.quote}",
                detail=f"{r.base}/{r.quote} rate {r.rate} on {r.valid_on.isoformat()} does not fit "
                       f"fx_rates.rate (Numeric(18,{RATE_SCALE})); store the inverse pair instead")
        by_key[(r.base, r.quote, r.valid_on)] = {
            "base": r.base, "quote": r.quote, "valid_on": r.valid_on, "rate": r.rate,
            "source": r.source, "loaded_at": now}
    return list(by_key.values())


def load_into(target: _Target, rates: Iterable[FxRate]) -> int:
    """Insert or update ``rates`` (key: base, quote, valid_on). Returns rows written.

    With an Engine the write is one committed transaction; with a Session or
    Connection it joins the caller's transaction and the caller commits.
    """
    rows = _rows(rates)
    if not rows:
        return 0

    def run(conn: Connection) -> int:
        name = conn.dialect.name
        if name in ("sqlite", "postgresql"):
            from sqlalchemy.dialects.postgresql import insert as pg_insert
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = (sqlite_insert if name == "sqlite" else pg_insert)(fx_rates)
            stmt = stmt.on_conflict_do_update(
                index_elements=[fx_rates.c.base, fx_rates.c.quote, fx_rates.c.valid_on],
                set_={"rate": stmt.excluded.rate, "source": stmt.excluded.source,
                      "loaded_at": stmt.excluded.loaded_at})
            conn.execute(stmt, rows)
        else:  # portable fallback: look up, then update or insert
            for row in rows:
                key = ((fx_rates.c.base == row["base"]) & (fx_rates.c.quote == row["quote"])
                       & (fx_rates.c.valid_on == row["valid_on"]))
                found = conn.execute(select(fx_rates.c.id).where(key)).first()
                if found is None:
                    conn.execute(fx_rates.insert(), row)
                else:
                    conn.execute(fx_rates.update().where(fx_rates.c.id == found.id).values(
                        rate=row["rate"], source=row["source"], loaded_at=row["loaded_at"]))
        return len(rows)

    written = _with_connection(target, run)
    log.info("stored %d FX rates in fx_rates", written)
    return written


def rates_from_db(target: _Target, *, until: dt.date | None = None) -> list[FxRate]:
    """Every stored rate (valid on or before ``until`` when given), oldest first."""

    def run(conn: Connection) -> list[FxRate]:
        stmt = select(fx_rates.c.base, fx_rates.c.quote, fx_rates.c.rate, fx_rates.c.valid_on,
                      fx_rates.c.source)
        if until is not None:
            stmt = stmt.where(fx_rates.c.valid_on <= until)
        stmt = stmt.order_by(fx_rates.c.base, fx_rates.c.quote, fx_rates.c.valid_on)
        return [FxRate(r.base, r.quote, r.rate, r.valid_on, r.source) for r in conn.execute(stmt)]

    return _with_connection(target, run)


def table_from_db(target: _Target, *, pivots: Sequence[str] = DEFAULT_PIVOTS,
                  until: dt.date | None = None) -> FxTable:
    """An :class:`FxTable` of the stored rates."""
    return FxTable(rates_from_db(target, until=until), pivots=pivots)


# ---------------------------------------------------------------- crossdock fx load | show
def rates_digest(rates: Iterable[FxRate]) -> str:
    """A short hash of a set of dated rates (order and trailing zeros ignored)."""
    import hashlib

    lines = sorted(f"{r.base}/{r.quote}/{r.valid_on.isoformat()}/{r.rate.normalize()}" for r in rates)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def load_fx_file(db: Any, path: str | Path, *, today: dt.date | None = None,
                 on_change: Callable[[Session, str, str], list[str]] | None = None) -> dict[str, Any]:
    """``crossdock fx load``: read a rate file (every row checked first: a bad
    row is XD-CFG-009 naming the file and line, and nothing is stored; a rate
    too large or too small to store, or dated after ``today`` (UTC by
    default) is a bad row too), then store it in ``fx_rates`` with an
    ``fx.load`` event, in one transaction.

    When the stored rates changed, ``on_change(session, loaded, before)`` runs
    in that same transaction with digests of the loaded rates and of the
    table as it stood before (the engine queues price pushes there) and
    returns the channels it queued prices for; the document then lists them
    in ``prices_enqueued``."""
    from crossdock import audit, synclog
    from crossdock.mapping.fx_files import load_rates

    rates = load_rates(path, latest=today or dt.datetime.now(dt.timezone.utc).date())
    pairs = sorted({f"{r.base}/{r.quote}" for r in rates})
    first, last = min(r.valid_on for r in rates), max(r.valid_on for r in rates)
    loaded = rates_digest(rates)

    def store(s: Session) -> tuple[int, list[str]]:
        before = rates_digest(rates_from_db(s))
        written = load_into(s, rates)
        enqueued: list[str] = []
        if on_change is not None and rates_digest(rates_from_db(s)) != before:
            enqueued = on_change(s, loaded, before)
        synclog.record(s, operation="fx.load", outcome="ok", entity_type="fx", entity=str(path)[-200:],
                       message=f"{written} rates for {len(pairs)} pairs from {first.isoformat()} to "
                               f"{last.isoformat()}"
                               + (f"; prices to push on {', '.join(enqueued)}" if enqueued else ""),
                       details={"file": str(path), "rates": written, "pairs": pairs[:200],
                                "prices_enqueued": enqueued})
        audit.record(s, action="fx.load", subject=f"fx rates from {Path(path).name}"[:255],
                     before={"rates_digest": before},
                     after={"rates_digest": rates_digest(rates_from_db(s)), "rates": written, "pairs": pairs[:200],
                            "from": first.isoformat(), "to": last.isoformat(), "prices_enqueued": enqueued})
        return written, enqueued

    written, enqueued = db.run_write(store)
    doc: dict[str, Any] = {"file": str(path), "rates": written, "pairs": pairs, "from": first.isoformat(),
                           "to": last.isoformat()}
    if on_change is not None:
        doc["prices_enqueued"] = enqueued
    return doc


def fx_rates_doc(db: Any, *, pair: str | None = None, every: bool = False,
                 today: dt.date | None = None) -> dict[str, Any]:
    """``crossdock fx show``: stored rates, the newest per pair (or ``every``
    one), with their age in days."""
    base = quote = None
    if pair:
        parts = pair.upper().replace("-", "/").split("/")
        if len(parts) != 2 or not all(len(p) == 3 and p.isalpha() for p in parts):
            raise ConfigError("XD-CFG-009", detail=f"--pair {pair!r}: write it as BASE/QUOTE, e.g. EUR/USD")
        base, quote = parts
    today = today or dt.datetime.now(dt.timezone.utc).date()
    with db.read() as s:
        rates = rates_from_db(s)
    if base:
        rates = [r for r in rates if r.base == base and r.quote == quote]
    if not every:
        newest: dict[tuple[str, str], FxRate] = {}
        for r in rates:                     # oldest first, so the last one per pair wins
            newest[(r.base, r.quote)] = r
        rates = [newest[k] for k in sorted(newest)]
    rows = [{"base": r.base, "quote": r.quote, "rate": r.rate, "valid_on": r.valid_on.isoformat(),
             "age_days": (today - r.valid_on).days, "source": r.source} for r in rates]
    return {"rates": rows, "count": len(rows), "pairs": len({(r["base"], r["quote"]) for r in rows})}
