"""Country names of the marketplaces' product data read as ISO codes (issue 14: customs needs the code)."""

from __future__ import annotations

import pytest

from crossdock.connectors.ebay.mapping import product_origin
from crossdock.mapping.countries import NAMES, country_code, country_name


@pytest.mark.parametrize("text, code", [
    ("Portugal", "PT"), ("  united   kingdom ", "GB"), ("UK", "GB"), ("uk", "GB"), ("pt", "PT"), ("EL", "GR"),
    ("Czechia", "CZ"), ("Viet Nam", "VN"), ("Unknown", None), ("Atlantis", None), ("", None), (None, None),
    ("P", None)])
def test_a_name_or_code_reads_as_its_iso_code_and_an_unknown_name_as_none(text, code):
    assert country_code(text) == code


def test_every_name_has_a_distinct_two_letter_code_and_reads_back():
    assert len(set(NAMES.values())) == len(NAMES)
    for name, code in NAMES.items():
        assert len(code) == 2 and code.isupper() and country_code(name) == code and country_name(code) == name


def test_an_ebay_inventory_items_country_of_manufacture():
    aspect = "Country/Region of Manufacture"
    assert product_origin({"title": "Mug", "aspects": {aspect: ["China"], "Brand": ["X"]}}) == "CN"
    assert product_origin({"aspects": {aspect: ["Unknown"]}}) is None
    assert product_origin({"aspects": {"Brand": ["X"]}}) is None and product_origin({}) is None
    assert product_origin(None) is None and product_origin({"aspects": {aspect: "China"}}) is None
