from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import re

import pytest
from pypdf import PdfReader

from crossdock.errors import ShippingError
from crossdock.models import Address
from crossdock.warehouse.customs import build_customs_declaration
from crossdock.warehouse.labels import (
    LabelData,
    PickItem,
    PickRow,
    aggregate_pick_rows,
    picklist_pdf,
    render_pdf,
    render_zpl,
    write_label,
)
from crossdock.warehouse.labels.zpl import escape_field

TRACKING = "XD473124829CN"


def _label(parcel, *, customs=None, tracking=TRACKING) -> LabelData:
    return LabelData.from_parcel(parcel, tracking_number=tracking, carrier="sandbox", service="standard",
                                 customs=customs, shipped_on=dt.date(2026, 3, 2))


@pytest.fixture
def domestic(make_parcel) -> LabelData:
    return _label(make_parcel("DE", "DE"))


@pytest.fixture
def cross_border(make_parcel, facilitated) -> LabelData:
    parcel = make_parcel("CN", "DE", tax=facilitated)
    return _label(parcel, customs=build_customs_declaration(parcel))


# ------------------------------------------------------------------ ZPL

_FIELD = re.compile(r"\^FD(.*?)\^FS", re.S)


def _hex_decode(data: str) -> str:
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == "_":
            out.append(int(data[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(data[i]))
            i += 1
    return out.decode("utf-8")


def assert_well_formed_zpl(zpl: bytes, *, dpi: int) -> str:
    text = zpl.decode("ascii")                      # pure ASCII: everything else is escaped
    commands = text.strip().splitlines()
    assert commands[0] == "^XA" and commands[-1] == "^XZ"
    assert text.count("^XA") == 1 and text.count("^XZ") == 1
    assert f"^PW{round(4 * dpi)}" in commands and f"^LL{round(6 * dpi)}" in commands
    assert text.count("^FD") == text.count("^FS") - text.count("^GB")    # every field is closed
    for data in _FIELD.findall(text):
        assert "^" not in data and "~" not in data
        assert "\n" not in data
    assert "^FH" in text
    return text


@pytest.mark.parametrize("dpi", [203, 300])
def test_zpl_is_well_formed_with_a_code128_of_the_tracking_number(domestic, dpi):
    text = assert_well_formed_zpl(render_zpl(domestic, dpi=dpi), dpi=dpi)
    barcode = re.search(r"\^BY(\d+),3,(\d+)\n\^FO(\d+),(\d+)\^BCN,(\d+),Y,N,N,A\^FH\^FD([^^]+)\^FS", text)
    assert barcode, text
    assert barcode.group(6) == TRACKING
    module, x = int(barcode.group(1)), int(barcode.group(3))
    width = (11 * len(TRACKING) + 35) * module
    assert 0 <= x and x + width <= 4 * dpi           # the barcode fits on the label
    assert "ORDER amazon-de/302-1234567-7654321" in text
    assert "CUSTOMS" not in text


def test_zpl_layout_is_the_same_size_at_both_resolutions(domestic):
    # (the barcode is left out: whole-dot module widths make it slightly narrower at 300 dpi)
    def positions(dpi: int) -> list[tuple[int, int]]:
        zpl = render_zpl(domestic, dpi=dpi).decode()
        return [(int(x), int(y)) for x, y in re.findall(r"\^FO(\d+),(\d+)\^(?!BC)", zpl)]
    low, high = positions(203), positions(300)
    assert len(low) == len(high)
    for (x1, y1), (x2, y2) in zip(low, high):
        assert abs(x1 / 203 - x2 / 300) < 0.02 and abs(y1 / 203 - y2 / 300) < 0.02   # inches


def test_zpl_escapes_control_characters_in_data(make_parcel):
    # Given a buyer whose address contains ZPL command characters and non-ASCII letters
    evil = Address(country_code="DE", name="Jörg ^XZ~JA", line1="Weg_1 ^FS", city="Köln", postal_code="50667")
    label = _label(make_parcel("DE", "DE", ship_to=evil))
    text = assert_well_formed_zpl(render_zpl(label), dpi=203)
    fields = [_hex_decode(d) for d in _FIELD.findall(text)]
    # Then the data survives intact and cannot end the label early
    assert "Jörg ^XZ~JA" in fields and "Weg_1 ^FS" in fields and "50667 Köln" in fields
    assert escape_field("a^b~c_d") == "a_5Eb_7Ec_5Fd"


def test_zpl_marks_customs_and_ioss_on_cross_border_labels(cross_border):
    text = assert_well_formed_zpl(render_zpl(cross_border, dpi=300), dpi=300)
    assert "CUSTOMS CN22 - SALE OF GOODS - 20.00 EUR" in text
    assert "IOSS IM2760000742" in text


def test_zpl_fits_a_long_manual_tracking_number(domestic):
    long_label = dataclasses.replace(domestic, tracking_number="1Z" + "9" * 38)
    text = assert_well_formed_zpl(render_zpl(long_label, dpi=203), dpi=203)
    module = int(re.search(r"\^BY(\d+)", text).group(1))
    assert module >= 1 and (11 * 40 + 35) * module <= 4 * 203


def test_zpl_rejects_unsupported_dpi(domestic):
    with pytest.raises(ValueError):
        render_zpl(domestic, dpi=150)


# ------------------------------------------------------------------ PDF

def _pages(pdf: bytes) -> list[str]:
    assert pdf.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_pdf_label_opens_and_holds_the_tracking_number_as_text(domestic):
    pages = _pages(render_pdf(domestic))
    assert len(pages) == 1
    assert TRACKING in pages[0]
    assert "Jürgen Müller" in pages[0] and "10115 Berlin" in pages[0]
    assert "Order amazon-de/302-1234567-7654321" in pages[0]


def test_pdf_cross_border_label_has_a_customs_page(cross_border):
    pages = _pages(render_pdf(cross_border))
    assert len(pages) == 2
    assert TRACKING in pages[0] and "CUSTOMS CN22" in pages[0]
    customs = pages[1]
    for expected in ("CN 22 - CUSTOMS DECLARATION", "[X] Sale of goods", "61091000", "Cotton T-shirt",
                     "IOSS number: IM2760000742", "From CN to DE", "20.00"):
        assert expected in customs
    assert "深圳" in pages[0]          # CJK sender name printed with a CID font


@pytest.mark.parametrize("buyer", [
    Address(country_code="JP", name="山田太郎", line1="千代田1-1 ヤマト", city="東京", postal_code="100-0001"),
    Address(country_code="KR", name="김민수", line1="세종대로 110", city="서울", postal_code="04524"),
    Address(country_code="UA", name="Олена Петренко", line1="вул. Хрещатик 1", city="Київ", postal_code="01001"),
])
def test_pdf_prints_non_latin_addresses(make_parcel, buyer):
    page = _pages(render_pdf(_label(make_parcel("CN", "DE", ship_to=buyer))))[0]
    assert buyer.name in page and buyer.line1 in page and TRACKING in page


def test_pdf_customs_table_continues_over_pages(make_parcel, make_line):
    parcel = make_parcel("CN", "US", lines=tuple(
        make_line(f"SKU-{n:02d}", value="3.00", title=f"Sticker sheet design {n:02d}") for n in range(40)))
    decl = build_customs_declaration(parcel)
    pages = _pages(render_pdf(_label(parcel, customs=decl)))
    assert len(pages) > 2
    text = "\n".join(pages[1:])
    assert all(f"Sticker sheet design {n:02d}" in text for n in range(40))


def test_pdf_output_is_reproducible(cross_border):
    assert render_pdf(cross_border) == render_pdf(cross_border)


def test_pick_list_is_sorted_by_bin():
    rows = [
        PickRow("B-01-01", "MUG", "Mug", 1, ("o3",)),
        PickRow(None, "LOOSE", "Unbinned item", 1, ("o4",)),
        PickRow("A-02-10", "CAP", "Cap", 2, ("o1", "o2")),
        PickRow("A-02-9", "TEE", "T-shirt", 3, ("o1",)),
    ]
    text = _pages(picklist_pdf(rows, warehouse="DE", batch_id="B42",
                               created_at=dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)))[0]
    order = [text.index(s) for s in ("A-02-9", "A-02-10", "B-01-01", "LOOSE")]
    assert order == sorted(order)
    assert "warehouse DE" in text and "batch B42" in text
    assert "4 lines, 7 units, 4 orders" in text
    assert "o1, o2" in text


def test_pick_items_merge_per_bin_and_sku():
    rows = aggregate_pick_rows([
        PickItem("o1", "TEE", 1, "A-1", "T-shirt"),
        PickItem("o2", "TEE", 2, "A-1", "T-shirt"),
        PickItem("o2", "TEE", 1, "C-3", "T-shirt"),
        PickItem("o3", "CAP", 1, "A-1", "Cap"),
        PickItem("o4", "CAP", 0, "A-1", "Cap"),
    ])
    assert rows == [
        PickRow("A-1", "CAP", "Cap", 1, ("o3",)),
        PickRow("A-1", "TEE", "T-shirt", 3, ("o1", "o2")),
        PickRow("C-3", "TEE", "T-shirt", 1, ("o2",)),
    ]


# ------------------------------------------------------------------ files

def test_write_label_writes_atomically(tmp_path, domestic):
    data = render_zpl(domestic)
    path = write_label(data, folder=tmp_path / "labels", tracking_number=TRACKING, fmt="zpl")
    assert path == tmp_path / "labels" / f"{TRACKING}.zpl"
    assert path.read_bytes() == data
    # writing again replaces the file and leaves no temporary file behind
    pdf = render_pdf(domestic)
    write_label(pdf, folder=tmp_path / "labels", tracking_number=TRACKING, fmt="pdf")
    assert sorted(p.name for p in (tmp_path / "labels").iterdir()) == [f"{TRACKING}.pdf", f"{TRACKING}.zpl"]


def test_write_label_failure_is_xd_ship_003(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(ShippingError) as err:
        write_label(b"^XA^XZ", folder=not_a_folder, tracking_number=TRACKING, fmt="zpl")
    assert err.value.code == "XD-SHIP-003" and err.value.retryable
    with pytest.raises(ShippingError) as err:
        write_label(b"^XA^XZ", folder=tmp_path, tracking_number="../escape", fmt="zpl")
    assert err.value.code == "XD-SHIP-003"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_write_label_leaves_no_temp_file_when_the_rename_fails(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ShippingError) as err:
        write_label(b"%PDF-", folder=tmp_path, tracking_number=TRACKING, fmt="pdf")
    assert err.value.code == "XD-SHIP-003" and "Permission denied" in err.value.detail
    assert list(tmp_path.iterdir()) == []
