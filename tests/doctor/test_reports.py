"""``crossdock report`` (issue 15 §3): on a demo database, every report sums
back exactly to the tables it reads (orders, order lines, stock levels,
quota counters), by day and by month; CSV opens in the csv module with the
header the README documents."""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crossdock.db.engine import Database
from crossdock.db.models import Order, OrderLine, StockLevel
from crossdock.demo import DemoOptions, run_demo
from crossdock.ratelimit.backends.sql import SqlBackend
from crossdock.ratelimit.backends.sql_tables import ratelimit_counters, ratelimit_daily
from crossdock.reports import COLUMNS
from tests.cli_run import crossdock


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    summary = run_demo(DemoOptions(skus=10, minutes=6, time_scale=60, seed=5, folder=folder, orders_per_min=2))
    env = {k: None for k in os.environ if k.startswith("XD_DEMO_")}
    return summary["config"], env


def report(demo, *args: str):
    config, env = demo
    ran = crossdock("--config", config, "report", *args, env=env)
    assert ran.returncode == 0, ran.stderr
    return ran


def _db(demo) -> Database:
    from crossdock import config as config_mod

    return Database(config_mod.load(demo[0]).database_url)


def test_orders_and_units_reconcile_with_the_orders_table(demo):
    db = _db(demo)
    try:
        with db.read() as s:
            orders = s.scalar(select(func.count()).select_from(Order))
            units = s.scalar(select(func.sum(OrderLine.quantity)))
            per_channel = dict(s.execute(select(Order.channel, func.count()).group_by(Order.channel)).all())
    finally:
        db.dispose()
    assert orders > 10
    for by in ("day", "week", "month"):
        rows = report(demo, "orders", "--by", by, "--json").doc["rows"]
        assert sum(r["orders"] for r in rows) == orders and sum(r["units"] for r in rows) == units
    channel = sorted(per_channel)[0]
    rows = report(demo, "orders", "--channel", channel, "--json").doc["rows"]
    assert {r["channel"] for r in rows} == {channel} and sum(r["orders"] for r in rows) == per_channel[channel]
    # the CSV opens in Python's csv module, with the documented header
    text = report(demo, "orders", "--format", "csv").stdout
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert tuple(csv.reader(io.StringIO(text)).__next__()) == COLUMNS["orders"]
    assert sum(int(r["orders"]) for r in parsed) == orders
    assert "orders" in report(demo, "orders").stdout


def test_sales_revenue_reconciles_per_currency(demo):
    db = _db(demo)
    try:
        with db.read() as s:
            totals = {c: Decimal(t) for c, t in s.execute(
                select(Order.currency, func.sum(Order.total_amount)).group_by(Order.currency))}
    finally:
        db.dispose()
    rows = report(demo, "sales", "--by", "month", "--json").doc["rows"]
    got: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        got[r["currency"]] += Decimal(r["revenue"])
    assert dict(got) == totals
    # revenue in the base currency: the orders already in it count as they are
    base = rows[0]["base_currency"]
    for r in rows:
        if r["currency"] == base:
            assert Decimal(r["revenue_base"]) == Decimal(r["revenue"])
    header = next(csv.reader(io.StringIO(report(demo, "sales", "--format", "csv").stdout)))
    assert tuple(header) == COLUMNS["sales"]


def test_stock_and_api_usage_reconcile_with_their_tables(demo):
    db = _db(demo)
    try:
        with db.read() as s:
            on_hand = s.scalar(select(func.sum(StockLevel.on_hand)))
            reserved = s.scalar(select(func.sum(StockLevel.reserved)))
        quota = SqlBackend(db.engine)          # the quota tables: on SQLite in the store's own file
        try:
            with quota.store_engine.connect() as s:
                calls = (s.scalar(select(func.coalesce(func.sum(ratelimit_counters.c.calls), 0)))
                         + s.scalar(select(func.coalesce(func.sum(ratelimit_daily.c.calls), 0))))
        finally:
            quota.close()
    finally:
        db.dispose()
    rows = report(demo, "stock", "--json").doc["rows"]
    assert sum(r["on_hand"] for r in rows) == on_hand and sum(r["reserved"] for r in rows) == reserved
    usage = report(demo, "api-usage", "--json").doc["rows"]
    assert calls > 0 and sum(r["calls"] for r in usage) == calls
    assert all(r["channel"] for r in usage)


def test_bad_report_options_are_usage_errors(demo):
    config, env = demo
    for args in (["nope"], ["orders", "--by", "year"], ["orders", "--format", "xml"], ["orders", "--from", "soon"]):
        ran = crossdock("--config", config, "report", *args, env=env)
        assert ran.returncode == 2 and "XD-CFG-009" in ran.stderr, (args, ran.stderr)
