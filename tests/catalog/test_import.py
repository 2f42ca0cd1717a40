"""`crossdock catalog import` / `export`: the file format, all or nothing, what a
re-import pushes. On SQLite and PostgreSQL (``db`` fixture)."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crossdock.catalog import importer
from crossdock.catalog.export import export_catalog
from crossdock.catalog.importer import import_catalog
from crossdock.db.models import OutboxEntry, Product
from crossdock.errors import InventoryError
from crossdock.sync_engine.dirty import DIRTY
from tests.sync_engine.support import seed

HEADER = ("sku,title,description,category,brand,attributes,images,weight_g,hs_code,country_of_origin,"
          "base_price,base_currency,safety_stock")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def products(db) -> dict[str, Product]:
    with db.read() as s:
        return {p.sku: p for p in s.scalars(select(Product))}


def refused(db, path) -> InventoryError:
    with pytest.raises(InventoryError) as info:
        with db.write() as s:
            import_catalog(s, path)
    assert info.value.code == "XD-INV-008"
    return info.value


def export_text(db, fmt: str) -> str:
    buf = io.StringIO()
    with db.read() as s:
        export_catalog(s, buf, fmt=fmt)
    return buf.getvalue()


# ------------------------------------------------------------------ happy path
def test_csv_import_stores_every_column_normalised(db, tmp_path):
    path = write(tmp_path, "catalogue.csv", HEADER + "\n"
                 'MUG-1,Blue mug,"Stoneware,\nhand glazed",Home/Kitchen,Acme,"{""colour"": ""blue"", ""ml"": 350}",'
                 "https://img.example/mug.jpg|https://img.example/mug-2.jpg,420,6912.00.10,uk,12.5,eur,2\n"
                 "TEE-L,T-shirt L,,,,,,,,,,,\n")
    with db.write() as s:
        summary = import_catalog(s, path)
    assert summary.to_dict()["created"] == 2 and summary.format == "csv" and summary.rows == 2
    mug = products(db)["MUG-1"]
    assert (mug.title, mug.description, mug.category, mug.brand) == ("Blue mug", "Stoneware,\nhand glazed",
                                                                     "Home/Kitchen", "Acme")
    assert mug.attributes == {"colour": "blue", "ml": 350}
    assert mug.images == ["https://img.example/mug.jpg", "https://img.example/mug-2.jpg"]
    assert (mug.weight_g, mug.hs_code, mug.country_of_origin) == (420, "69120010", "GB")
    assert (mug.base_price, mug.base_currency, mug.safety_stock) == (Decimal("12.5000"), "EUR", 2)
    tee = products(db)["TEE-L"]
    assert (tee.description, tee.attributes, tee.images, tee.safety_stock, tee.base_price) == ("", {}, [], 0, None)


def test_json_import_and_partial_update_touches_only_the_columns_given(db, tmp_path):
    first = write(tmp_path, "first.json", json.dumps([
        {"sku": "A", "title": "Alpha", "brand": "Acme", "base_price": 10, "base_currency": "GBP",
         "attributes": {"size": 1.5, "tags": ["x"]}, "images": ["https://i.example/a.png"], "weight_g": 100},
        {"sku": "B", "title": "Beta", "base_price": "3.99", "base_currency": "USD"}]))
    with db.write() as s:
        assert import_catalog(s, first).created == 2
    # Given a file with only sku, title and base_price, when it is imported again,
    # then brand, images, weight and attributes stay as they were
    second = write(tmp_path, "second.csv", "sku,title,base_price\nA,Alpha,11.00\nB,Beta,3.99\n")
    with db.write() as s:
        summary = import_catalog(s, second)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 1)
    assert summary.columns_changed == {"base_price": 1}
    a = products(db)["A"]
    assert (a.brand, a.base_price, a.base_currency, a.weight_g) == ("Acme", Decimal("11.0000"), "GBP", 100)
    assert a.attributes == {"size": 1.5, "tags": ["x"]} and a.images == ["https://i.example/a.png"]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_then_import_round_trips_exactly(db, tmp_path, fmt):
    source = write(tmp_path, "source.json", json.dumps([
        {"sku": "ZED", "title": "Zed \"quoted\", with comma", "description": "two\nlines, \"quotes\" and ü",
         "category": "A/B", "brand": "Brånd", "attributes": {"b": [1, 2.25, None, True], "a": {"n": "x|y"}},
         "images": ["https://i.example/1.jpg", "https://i.example/2.jpg?w=100&h=2"], "weight_g": 0,
         "hs_code": "0101210000", "country_of_origin": "CN", "base_price": "0.1234", "base_currency": "JPY",
         "safety_stock": 7},
        {"sku": "ALPHA", "title": "Only a title"},
        {"sku": "MID", "title": "Price", "base_price": "12345678901.2345", "base_currency": "KWD"}]))
    with db.write() as s:
        import_catalog(s, source)
    before = products(db)
    exported = write(tmp_path, f"export.{fmt}", export_text(db, fmt))
    # When the export is imported again, then nothing changes ...
    with db.write() as s:
        summary = import_catalog(s, exported)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 3)
    after = products(db)
    cols = ("title", "description", "category", "brand", "attributes", "images", "weight_g", "hs_code",
            "country_of_origin", "base_price", "base_currency", "safety_stock")
    assert {k: [getattr(p, c) for c in cols] for k, p in after.items()} == \
           {k: [getattr(p, c) for c in cols] for k, p in before.items()}
    # ... and exporting again gives the same file, byte for byte
    assert export_text(db, fmt) == exported.read_text(encoding="utf-8")
    # ... into a new, empty catalogue too
    with db.write() as s:
        s.query(Product).delete()
    with db.write() as s:
        assert import_catalog(s, exported).created == 3
    assert export_text(db, fmt) == exported.read_text(encoding="utf-8")


# ------------------------------------------------------------------ all or nothing
BAD_ROWS = [
    # (CSV row, expected (line, column, code))
    ("GOOD-1,Fine,,,,,,,,,,,", None),
    ("S" * 256 + ",Too long sku,,,,,,,,,,,", ("sku", "XD-INV-009")),
    ("NO-TITLE,,,,,,,,,,,,", ("title", "XD-INV-009")),
    ("W-1,Weight,,,,,,1e30,,,,,", ("weight_g", "XD-INV-009")),
    ("W-2,Weight,,,,,,1099511627776,,,,,", ("weight_g", "XD-INV-009")),          # 2**40
    ("W-3,Weight,,,,,,-5,,,,,", ("weight_g", "XD-INV-009")),
    ("P-1,Price,,,,,,,,,1e30,EUR,", ("base_price", "XD-INV-009")),
    ("P-2,Price,,,,,,,,,1.23456,EUR,", ("base_price", "XD-INV-009")),
    ("P-3,Price,,,,,,,,,-1,EUR,", ("base_price", "XD-INV-009")),
    ("P-4,Price,,,,,,,,,10,,", ("base_currency", "XD-INV-009")),
    ("P-5,Price,,,,,,,,,123456789012.3456,EUR,", ("base_price", "XD-INV-009")),   # 16 significant digits
    ("C-1,Currency,,,,,,,,,10,EURO,", ("base_currency", "XD-INV-009")),
    ("C-2,Currency,,,,,,,,,10,ABC,", ("base_currency", "XD-INV-009")),
    ("O-1,Origin,,,,,,,,DEU,,,", ("country_of_origin", "XD-INV-009")),
    ("H-1,HS,,,,,,,12AB56,,,,", ("hs_code", "XD-INV-009")),
    ("A-1,Attrs,,,,\"[1, 2]\",,,,,,,", ("attributes", "XD-INV-009")),
    ("A-2,Attrs,,,,not json,,,,,,,", ("attributes", "XD-INV-009")),
    ("A-3,Attrs,,,,\"{\"\"x\"\": NaN}\",,,,,,,", ("attributes", "XD-INV-009")),
    ("I-1,Images,,,,,ftp://files.example/a.jpg,,,,,,", ("images", "XD-INV-009")),
    ("S-1,Safety,,,,,,,,,,,-1", ("safety_stock", "XD-INV-009")),
    ("S-2,Safety,,,,,,,,,,,2147483648", ("safety_stock", "XD-INV-009")),
    ("T-1," + "t" * 501 + ",,,,,,,,,,,", ("title", "XD-INV-009")),
    ("K-1,Category,," + "c" * 201 + ",,,,,,,,,", ("category", "XD-INV-009")),
    ("GOOD-1,Same SKU again,,,,,,,,,,,", ("sku", "XD-INV-010")),
    ("F-1,Too,many,fields,,,,,,,,,,,,", (None, "XD-INV-008")),
]


def test_every_bad_row_is_listed_with_its_line_and_code_and_nothing_is_written(db, tmp_path):
    # Given a catalogue with one product, and a file with one good row and many bad ones
    with db.write() as s:
        s.add(Product(sku="KEEP", title="Kept as it was", base_price=Decimal("5"), base_currency="EUR"))
    rows = [r for r, _ in BAD_ROWS] + ["KEEP,Renamed,,,,,,,,,6,EUR,"]
    path = write(tmp_path, "bad.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    # When it is imported, then XD-INV-008 lists every bad row with its line and code ...
    exc = refused(db, path)
    found = {(p["line"], p["column"], p["code"]) for p in exc.context["problems"]}
    expected = {(i + 2, *want) for i, (_, want) in enumerate(BAD_ROWS) if want is not None}
    assert found == expected
    assert "line 3 (" + "S" * 256 not in exc.detail and "line 4 (NO-TITLE): [XD-INV-009] title: is required" in exc.detail
    dup = next(p for p in exc.context["problems"] if p["code"] == "XD-INV-010")
    assert dup["message"] == "SKU GOOD-1 is also on line 2"
    # ... and nothing was written: no new product, the existing one unchanged
    assert set(products(db)) == {"KEEP"}
    assert products(db)["KEEP"].title == "Kept as it was"


def test_a_bad_row_after_written_batches_rolls_everything_back(db, tmp_path, monkeypatch):
    # Given batches of 2 rows, the first two batches good, a duplicate SKU in the third
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    lines = [f"SKU-{i},Title {i}" for i in range(5)] + ["SKU-1,Again", "SKU-9,Fine"]
    path = write(tmp_path, "late.csv", "sku,title\n" + "\n".join(lines) + "\n")
    exc = refused(db, path)
    assert [(p["line"], p["code"]) for p in exc.context["problems"]] == [(7, "XD-INV-010")]
    assert products(db) == {}
    # The temporary table of seen SKUs does not outlive the import
    with db.write() as s:
        assert import_catalog(s, write(tmp_path, "ok.csv", "sku,title\nSKU-1,One\n")).created == 1


def test_header_problems_unknown_and_missing_columns(db, tmp_path):
    exc = refused(db, write(tmp_path, "h.csv", "sku,colour,size\nA,red,L\n"))
    unknown, missing = exc.context["problems"]
    assert (unknown["line"], unknown["code"], missing["line"], missing["code"]) == (1, "XD-INV-008", 1, "XD-INV-008")
    assert "'colour', 'size'" in unknown["message"] and missing["message"] == "required column(s) missing: title"
    exc = refused(db, write(tmp_path, "h2.csv", "title,sku\n"))
    assert exc.context["problems"][0]["message"] == "no product rows"


def test_json_rows_are_named_by_their_index(db, tmp_path):
    path = write(tmp_path, "bad.json", json.dumps([
        {"sku": "OK", "title": "Fine", "weight_g": 12},
        "not an object",
        {"sku": "X", "title": "Unknown key", "colour": "red"},
        {"sku": "Y", "title": "Float weight", "weight_g": 1.5},
        {"sku": "Z", "title": "Big", "safety_stock": 2**40},
        {"sku": "OK", "title": "Twice"},
        {"sku": "P", "title": "Price", "base_price": 1e30, "base_currency": "EUR"}]))
    exc = refused(db, path)
    assert sorted((p["index"], p["code"], p["column"]) for p in exc.context["problems"]) == [
        (1, "XD-INV-008", None), (2, "XD-INV-008", None), (3, "XD-INV-009", "weight_g"),
        (4, "XD-INV-009", "safety_stock"), (5, "XD-INV-010", "sku"), (6, "XD-INV-009", "base_price")]
    assert products(db) == {}
    exc = refused(db, write(tmp_path, "obj.json", '{"sku": "A"}'))
    assert "array of product objects" in exc.context["problems"][0]["message"]
    exc = refused(db, write(tmp_path, "cut.json", '[{"sku": "A", "title": "x"}, {"sku": '))
    assert exc.context["problems"][0]["code"] == "XD-INV-008"


# ------------------------------------------------------------------ what a re-import pushes
def _dirty(db) -> set[tuple[str, str]]:
    with db.read() as s:
        return {(r.channel, r.sku) for r in s.execute(select(DIRTY.c.channel, DIRTY.c.sku))}


def _price_entries(db) -> dict[str, dict]:
    with db.read() as s:
        return {e.channel: e.payload for e in s.scalars(select(OutboxEntry).where(OutboxEntry.kind == "prices"))}


def test_reimport_marks_dirty_and_enqueues_prices_only_for_what_changed(db, tmp_path):
    # Given three products listed on channels (A on two, B on one, C on one)
    seed(db, stock={("A", "DE"): 5, ("B", "DE"): 5, ("C", "DE"): 5},
         listings={"amazon-de": ["A", "B"], "ebay-us": ["A", "C"]})
    base = "sku,title,base_price,base_currency,safety_stock\n"
    same = write(tmp_path, "same.csv", base + "A,Product A,10.00,EUR,0\nB,Product B,10,EUR,0\nC,Product C,10,EUR,\n")
    # When a file repeating what is stored is imported, then nothing is marked or queued
    with db.write() as s:
        summary = import_catalog(s, same)
    assert summary.unchanged == 3 and _dirty(db) == set() and _price_entries(db) == {}
    # When A's safety stock, B's price and C's title change
    changed = write(tmp_path, "changed.csv",
                    base + "A,Product A,10.00,EUR,2\nB,Product B,12.50,EUR,0\nC,Renamed C,10,EUR,0\n")
    with db.write() as s:
        summary = import_catalog(s, changed)
    # Then A is marked dirty on both channels listing it, and only there
    assert _dirty(db) == {("amazon-de", "A"), ("ebay-us", "A")}
    assert summary.stock_marked == 2
    # And one prices entry is queued for the channel listing B, naming B
    assert _price_entries(db) == {"amazon-de": {"skus": ["B"]}}
    assert summary.to_dict()["price_pushes"] == [{"channel": "amazon-de", "skus": 1}]
    assert summary.columns_changed == {"base_price": 1, "safety_stock": 1, "title": 1}
    # And the stock push for A is queued in the same transaction
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEntry)
                        .where(OutboxEntry.kind == "push_stock")) == 2
    # A second import of the same changed file queues no second prices entry
    with db.write() as s:
        import_catalog(s, changed)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.kind == "prices")) == 1
