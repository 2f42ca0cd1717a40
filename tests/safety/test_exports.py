"""``crossdock export``: the documented columns, CSV and JSON, the --from/--to
window, and rows streamed a page at a time (every row once, in key order)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import stat
from pathlib import Path

from crossdock.exports.kinds import KINDS, reference_markdown
from crossdock.exports.write import export
from crossdock.sync_engine.orders import store_orders
from crossdock.clock import Clock
from crossdock.models import Address
from tests.cli_run import crossdock
from tests.sync_engine.support import order, seed

UTC = dt.timezone.utc
REPO = Path(__file__).resolve().parents[2]


def _shop(db, n: int = 7) -> None:
    seed(db, stock={("SKU-1", "DE"): 50, ("SKU-2", "DE"): 50}, listings={"ebay-us": ["SKU-1", "SKU-2"]})
    batch = []
    for i in range(n):
        o = order(f"E-{i}", [("SKU-1", 1), ("SKU-2", 2)],
                  purchased_at=dt.datetime(2026, 3, 1 + i, 9, tzinfo=UTC), updated_at=dt.datetime(2026, 3, 1 + i, 9,
                                                                                                     tzinfo=UTC))
        o.shipping_address = Address(country_code="US", name=f"Buyer {i}", line1="1 Main St", city="Springfield",
                                     postal_code="12345")
        batch.append(o)
    with db.write() as s:
        store_orders(s, "ebay-us", batch, Clock())


def test_orders_stream_in_pages_with_the_documented_columns(db):
    _shop(db)
    # When the orders are exported with a page of 3 rows (14 lines: five pages)
    import crossdock.exports.write as w

    out = io.StringIO()
    original = w.PAGE
    w.PAGE = 3
    try:
        n = export(db, "orders", out, fmt="csv")
    finally:
        w.PAGE = original
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    # Then every line is there once, with the documented columns, amounts as written
    assert n == len(rows) == 14
    assert list(rows[0]) == [c.name for c in KINDS["orders"].columns]
    assert sorted((r["order_id"], r["sku"]) for r in rows) == sorted(
        (f"E-{i}", sku) for i in range(7) for sku in ("SKU-1", "SKU-2"))
    assert {r["unit_price"] for r in rows} == {"9.99"} and {r["quantity"] for r in rows} == {"1", "2"}


def test_order_amounts_and_the_lines_own_tax_and_customs_codes_are_kept_apart(db):
    from crossdock.models import Money, TaxInfo

    # Given an order whose tax, shipping and line tax differ, and a line with the platform's HS code
    seed(db, stock={("SKU-1", "DE"): 5}, listings={"ebay-us": ["SKU-1"]})
    o = order("T-1", [("SKU-1", 1)], purchased_at=dt.datetime(2026, 3, 1, 9, tzinfo=UTC),
              updated_at=dt.datetime(2026, 3, 1, 9, tzinfo=UTC))
    o.tax, o.shipping = TaxInfo(tax_amount=Money("2.50", "USD")), Money("4.99", "USD")
    o.lines[0].tax, o.lines[0].hs_code, o.lines[0].country_of_origin = (
        TaxInfo(tax_amount=Money("1.25", "USD")), "691200", "CN")
    with db.write() as s:
        store_orders(s, "ebay-us", [o], Clock())
    out = io.StringIO()
    export(db, "orders", out, fmt="json")
    [row] = json.loads(out.getvalue())
    # Then the export names each where it belongs (an order column never hides a line's)
    assert (row["order_tax"], row["order_shipping"], row["tax_amount"]) == ("2.50", "4.99", "1.25")
    assert (row["hs_code"], row["country_of_origin"]) == ("691200", "CN")


def test_the_window_the_formats_and_the_file(db, tmp_path):
    _shop(db)
    out = io.StringIO()
    export(db, "customers", out, fmt="json", since=dt.datetime(2026, 3, 3, tzinfo=UTC),
           until=dt.datetime(2026, 3, 5, tzinfo=UTC))
    doc = json.loads(out.getvalue())
    # Then only the orders bought on 3 and 4 March, each with its buyer as the platform gave them
    assert [(c["order_id"], c["name"], c["country"]) for c in doc] == [("E-2", "Buyer 2", "US"),
                                                                       ("E-3", "Buyer 3", "US")]
    stock = io.StringIO()
    export(db, "stock", stock, fmt="json")
    assert {(r["sku"], r["on_hand"], r["reserved"], r["available"]) for r in json.loads(stock.getvalue())} == {
        ("SKU-1", 50, 7, 43), ("SKU-2", 50, 14, 36)}
    products = io.StringIO()
    export(db, "products", products)
    assert [r["base_price"] for r in csv.DictReader(io.StringIO(products.getvalue()))] == ["10.00", "10.00"]
    listings = io.StringIO()
    export(db, "listings", listings)
    assert [r["listing_id"] for r in csv.DictReader(io.StringIO(listings.getvalue()))] == ["ebay-us-SKU-1",
                                                                                          "ebay-us-SKU-2"]


def test_the_command_writes_a_private_file_and_the_columns_are_documented(tmp_path):
    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    (tmp_path / "crossdock.toml").write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    db = Database(url)
    upgrade(db)
    _shop(db)
    db.dispose()
    ran = crossdock("export", "orders", "--from", "2026-03-06", "--out", "orders.csv", "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.doc["rows"] == 4
    path = tmp_path / "orders.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with path.open(encoding="utf-8") as f:
        assert {r["order_id"] for r in csv.DictReader(f)} == {"E-5", "E-6"}
    ran = crossdock("export", "orders", "--format", "xml", cwd=tmp_path)
    assert ran.returncode == 2 and "XD-CFG-009" in ran.stderr
    ran = crossdock("export", "stock", "--out", str(tmp_path / "missing" / "x.csv"), cwd=tmp_path)
    assert ran.returncode == 1 and "XD-DATA-012" in ran.stderr
    assert (REPO / "docs" / "exports.md").read_text(encoding="utf-8") == reference_markdown()
