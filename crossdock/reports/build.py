"""The four reports (see the package doc).

- ``orders``: per period and channel, orders and units (order lines' quantities).
- ``sales``: per period, channel and currency, orders, revenue (the orders'
  totals), refunded (their refunds that did not fail, issued from crossdock or
  read from the platform; counted in the period the order was bought) and net
  (revenue − refunded), tax (the lines' tax where the platform gives it), and
  revenue and net in the base currency at the FX rate of the order's purchase
  date (``fx_missing`` counts orders without one; they are left out of both).
  crossdock stores no platform fees, so there is no fee column.
- ``stock``: per warehouse, SKUs, on hand, reserved, available, and value at
  the products' base prices converted to the base currency at today's rate.
- ``api-usage``: per channel's account, operation and period, API calls and
  429s as the SQL quota backend records them (:mod:`crossdock.ratelimit.usage`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from crossdock.errors import ConfigError

__all__ = ["COLUMNS", "KINDS", "PERIODS", "Report", "build_report", "period_of"]

KINDS = ("orders", "sales", "stock", "api-usage")
PERIODS = ("day", "week", "month")
#: The columns of each report, in order: the CSV header (README "Reports").
COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("period", "channel", "orders", "units"),
    "sales": ("period", "channel", "currency", "orders", "revenue", "refunded", "net", "tax", "base_currency",
              "revenue_base", "net_base", "fx_missing"),
    "stock": ("warehouse", "skus", "on_hand", "reserved", "available", "base_currency", "value", "value_missing"),
    "api-usage": ("period", "channel", "platform", "account", "operation", "calls", "throttled"),
}


@dataclass
class Report:
    kind: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    filters: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.kind, "columns": list(self.columns), "filters": self.filters, "rows": self.rows}


def period_of(when: dt.datetime | dt.date, by: str) -> str:
    """``2026-12-06`` (day), ``2026-W49`` (ISO week), ``2026-12`` (month)."""
    day = when.astimezone(dt.timezone.utc).date() if isinstance(when, dt.datetime) else when
    if by == "day":
        return day.isoformat()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{day.year}-{day.month:02d}"
    raise ConfigError("XD-CFG-009", detail=f"--by {by!r}: one of {', '.join(PERIODS)}")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _order_rows(s: Any, channel: str | None, start: dt.datetime | None, end: dt.datetime | None) -> list[Any]:
    from crossdock.db.models import Order, OrderLine

    units = (select(OrderLine.order_id, func.sum(OrderLine.quantity).label("units"),
                    func.sum(OrderLine.tax_amount).label("tax"), func.count(OrderLine.tax_amount).label("taxed"))
             .group_by(OrderLine.order_id).subquery())
    stmt = (select(Order.id, Order.channel, Order.purchased_at, Order.currency, Order.total_amount,
                   Order.refunded_amount, func.coalesce(units.c.units, 0).label("units"), units.c.tax, units.c.taxed)
            .outerjoin(units, units.c.order_id == Order.id).order_by(Order.id))
    if channel:
        stmt = stmt.where(Order.channel == channel)
    if start:
        stmt = stmt.where(Order.purchased_at >= start)
    if end:
        stmt = stmt.where(Order.purchased_at < end)
    return list(s.execute(stmt))


def _orders(s: Any, by: str, channel: str | None, start: Any, end: Any) -> list[dict[str, Any]]:
    acc: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in _order_rows(s, channel, start, end):
        row = acc[(period_of(r.purchased_at, by), r.channel)]
        row[0] += 1
        row[1] += int(r.units)
    return [{"period": p, "channel": c, "orders": n, "units": u} for (p, c), (n, u) in sorted(acc.items())]


def _sales(s: Any, by: str, channel: str | None, start: Any, end: Any, base: str) -> list[dict[str, Any]]:
    from crossdock.errors import MappingError
    from crossdock.mapping.fx_store import table_from_db

    fx = table_from_db(s.connection())
    acc: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in _order_rows(s, channel, start, end):
        currency = r.currency or "?"
        row = acc.setdefault((period_of(r.purchased_at, by), r.channel, currency), {
            "orders": 0, "revenue": Decimal(0), "refunded": Decimal(0), "tax": None, "revenue_base": Decimal(0),
            "net_base": Decimal(0), "fx_missing": 0})
        row["orders"] += 1
        total = Decimal(r.total_amount) if r.total_amount is not None else Decimal(0)
        refunded = Decimal(r.refunded_amount or 0)
        row["revenue"] += total
        row["refunded"] += refunded
        if r.taxed:
            row["tax"] = (row["tax"] or Decimal(0)) + Decimal(r.tax)
        try:
            rate = Decimal(1) if currency == base else fx.resolve(currency, base, r.purchased_at.date()).rate
            row["revenue_base"] += total * rate
            row["net_base"] += (total - refunded) * rate
        except (MappingError, ValueError):
            row["fx_missing"] += 1
    return [{"period": p, "channel": c, "currency": cur, "orders": v["orders"], "revenue": _money(v["revenue"]),
             "refunded": _money(v["refunded"]), "net": _money(v["revenue"] - v["refunded"]), "tax": _money(v["tax"]),
             "base_currency": base, "revenue_base": _money(v["revenue_base"]),
             "net_base": _money(v["net_base"]), "fx_missing": v["fx_missing"]}
            for (p, c, cur), v in sorted(acc.items())]


def _stock(s: Any, base: str, today: dt.date) -> list[dict[str, Any]]:
    from crossdock.db.models import Product, StockLevel
    from crossdock.errors import MappingError
    from crossdock.mapping.fx_store import table_from_db
    from crossdock.models import Money

    fx = table_from_db(s.connection())
    acc: dict[str, dict[str, Any]] = {}
    rows = s.execute(select(StockLevel.warehouse, StockLevel.sku, StockLevel.on_hand, StockLevel.reserved,
                            Product.base_price, Product.base_currency)
                     .join(Product, Product.sku == StockLevel.sku).order_by(StockLevel.warehouse, StockLevel.sku))
    for r in rows:
        w = acc.setdefault(r.warehouse, {"skus": set(), "on_hand": 0, "reserved": 0, "value": Decimal(0),
                                         "value_missing": 0})
        w["skus"].add(r.sku)
        w["on_hand"] += int(r.on_hand)
        w["reserved"] += int(r.reserved)
        if r.base_price is None or not r.base_currency:
            w["value_missing"] += 1
            continue
        unit = Money(Decimal(r.base_price), r.base_currency)
        try:
            price = unit.amount if r.base_currency == base else fx.convert(unit, base, today).amount
        except (MappingError, ValueError):
            w["value_missing"] += 1
            continue
        w["value"] += price * int(r.on_hand)
    return [{"warehouse": code, "skus": len(w["skus"]), "on_hand": w["on_hand"], "reserved": w["reserved"],
             "available": w["on_hand"] - w["reserved"], "base_currency": base, "value": _money(w["value"]),
             "value_missing": w["value_missing"]} for code, w in sorted(acc.items())]


def _api_usage(cfg: Any, db: Any, by: str, channel: str | None) -> list[dict[str, Any]]:
    from crossdock.ratelimit.usage import usage_rows

    # channels of one account share its quota (Amazon marketplaces of one seller): named together
    accounts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, ch in sorted(cfg.channels.items()):
        accounts[(ch.platform, ch.account)].append(name)
    acc: dict[tuple[str, str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for platform, account, operation, minute_start, calls, throttled in usage_rows(db):
        names = accounts.get((platform, account), [])
        if channel and channel not in names:
            continue
        name = ",".join(names)
        row = acc[(period_of(minute_start, by), name, platform, account, operation)]
        row[0] += calls
        row[1] += throttled
    return [{"period": p, "channel": c or None, "platform": pl, "account": a, "operation": o, "calls": n,
             "throttled": t} for (p, c, pl, a, o), (n, t) in sorted(acc.items())]


def base_currency_of(s: Any) -> str:
    """The currency most products are priced in (the seller's own), EUR when there are none."""
    from crossdock.db.models import Product

    row = s.execute(select(Product.base_currency, func.count()).where(Product.base_currency.is_not(None))
                    .group_by(Product.base_currency).order_by(func.count().desc(), Product.base_currency)).first()
    return str(row[0]) if row else "EUR"


def build_report(kind: str, cfg: Any, db: Any, *, by: str = "day", channel: str | None = None,
                 start: dt.datetime | None = None, end: dt.datetime | None = None,
                 base_currency: str | None = None, today: dt.date | None = None) -> Report:
    if kind not in KINDS:
        raise ConfigError("XD-CFG-009", detail=f"report {kind!r}: one of {', '.join(KINDS)}")
    period_of(dt.date(2000, 1, 1), by)          # refuses an unknown --by
    if channel:
        cfg.channel(channel)
    with db.read() as s:
        base = (base_currency or base_currency_of(s)).upper()
        if kind == "orders":
            rows = _orders(s, by, channel, start, end)
        elif kind == "sales":
            rows = _sales(s, by, channel, start, end, base)
        elif kind == "stock":
            rows = _stock(s, base, today or dt.date.today())
        else:
            rows = []
    if kind == "api-usage":
        rows = _api_usage(cfg, db, by, channel)
    filters = {"by": by, "channel": channel, "from": start.isoformat() if start else None,
               "to": end.isoformat() if end else None, "base_currency": base}
    return Report(kind, COLUMNS[kind], rows, filters)
