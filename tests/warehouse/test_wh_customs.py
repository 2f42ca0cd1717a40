from __future__ import annotations

from decimal import Decimal

import pytest

from crossdock.errors import MappingError, ShippingError
from crossdock.models import Address, Money, TaxInfo
from crossdock.warehouse.customs import (
    EU_MEMBER_STATES,
    CustomsCategory,
    build_customs_declaration,
    declaration_if_needed,
    form_for_value,
    is_cross_border,
    normalise_hs_code,
    parcel_is_cross_border,
)


def test_eu_list_has_the_27_member_states_and_not_gb():
    assert len(EU_MEMBER_STATES) == 27
    assert {"DE", "FR", "IE", "GR", "HR", "CY"} <= EU_MEMBER_STATES
    assert "GB" not in EU_MEMBER_STATES


@pytest.mark.parametrize("origin, destination", [
    ("DE", "FR"), ("FR", "DE"), ("DE", "DE"), ("PL", "IE"), ("DE", "EL"), ("FR", "MC"), ("US", "US"),
])
def test_same_country_or_intra_eu_is_not_cross_border(origin, destination):
    assert is_cross_border(origin, destination) is False


@pytest.mark.parametrize("origin, destination", [
    ("CN", "DE"), ("DE", "GB"), ("GB", "DE"), ("GB", "IE"), ("DE", "CH"), ("US", "CA"), ("DE", "NO"),
])
def test_leaving_a_customs_territory_is_cross_border(origin, destination):
    assert is_cross_border(origin, destination) is True


def test_intra_eu_parcel_gets_no_declaration(make_parcel, facilitated):
    parcel = make_parcel("DE", "FR", tax=facilitated)
    assert parcel_is_cross_border(parcel) is False
    assert declaration_if_needed(parcel) is None
    with pytest.raises(ValueError, match="one customs territory"):
        build_customs_declaration(parcel)


def test_cn_to_de_marketplace_order_within_150_eur_quotes_ioss(make_parcel, make_line, facilitated):
    # Given a marketplace-facilitated order of 2 x 20 EUR + 1 x 110 EUR = 150 EUR exactly
    parcel = make_parcel("CN", "DE", tax=facilitated, lines=(
        make_line("TEE", qty=2, value="20.00"),
        make_line("JACKET", value="110.00", hs="6201.40", origin="VN", weight_g=900, title="Rain jacket"),
    ))
    # When the declaration is built
    decl = declaration_if_needed(parcel)
    # Then it is a CN22 for a sale of goods that quotes the IOSS number
    assert decl is not None
    assert decl.form == "CN22"
    assert decl.category is CustomsCategory.SALE_OF_GOODS
    assert decl.ioss_number == "IM2760000742"
    assert decl.total_value == Money("150.00", "EUR")
    assert (decl.origin_country, decl.destination_country) == ("CN", "DE")
    assert [(i.description, i.quantity, i.net_weight_g, i.value, i.hs_code, i.origin_country)
            for i in decl.items] == [
        ("Cotton T-shirt, black, M", 2, 360, Money("40.00", "EUR"), "61091000", "CN"),
        ("Rain jacket", 1, 900, Money("110.00", "EUR"), "620140", "VN"),
    ]
    assert decl.gross_weight_g == 1260
    assert decl.reference == "amazon-de/302-1234567-7654321"
    assert decl.warnings == ()
    assert decl.to_dict()["ioss_number"] == "IM2760000742"


def test_ioss_not_quoted_above_150_eur(make_parcel, make_line, facilitated):
    parcel = make_parcel("CN", "DE", tax=facilitated, lines=(make_line(value="150.01"),))
    decl = build_customs_declaration(parcel)
    assert decl.ioss_number is None
    assert decl.form == "CN22"          # still under the 300 SDR ceiling


def test_ioss_not_quoted_when_not_marketplace_facilitated(make_parcel):
    # Given a shop order (seller collects nothing): an IOSS number alone is not enough
    parcel = make_parcel("CN", "DE", tax=TaxInfo(ioss_number="IM2760000742"))
    assert build_customs_declaration(parcel).ioss_number is None
    assert build_customs_declaration(make_parcel("CN", "DE", tax=None)).ioss_number is None


def test_deemed_reseller_category_counts_as_facilitated(make_parcel):
    tax = TaxInfo(deemed_reseller_category="IOSS", ioss_number="IM1234567890")
    assert build_customs_declaration(make_parcel("CN", "FR", tax=tax)).ioss_number == "IM1234567890"


def test_ioss_only_for_eu_destinations(make_parcel, facilitated):
    for destination in ("GB", "US"):
        assert build_customs_declaration(make_parcel("CN", destination, tax=facilitated)).ioss_number is None


def test_non_eur_parcel_needs_a_rate_for_the_ioss_ceiling(make_parcel, make_line, facilitated):
    parcel = make_parcel("CN", "DE", tax=facilitated, lines=(make_line(value="150.00", currency="USD"),))
    with pytest.raises(MappingError) as err:
        build_customs_declaration(parcel)
    assert err.value.code == "XD-MAP-005"
    # 150 USD at 0.92 EUR/USD = 138 EUR: within the ceiling
    decl = build_customs_declaration(parcel, to_eur=lambda m: m.amount * Decimal("0.92"))
    assert decl.ioss_number == "IM2760000742"
    assert decl.total_value == Money("150.00", "USD")
    # at 1.10 EUR/USD = 165 EUR: above it
    assert build_customs_declaration(parcel, to_eur=lambda m: m.amount * Decimal("1.10")).ioss_number is None


def test_facilitated_eu_order_without_ioss_number_is_flagged(make_parcel):
    parcel = make_parcel("CN", "DE", tax=TaxInfo(model="MarketplaceFacilitator"))
    decl = build_customs_declaration(parcel)
    assert decl.ioss_number is None
    assert len(decl.warnings) == 1 and decl.warnings[0].startswith("XD-MAP-009")
    with pytest.raises(MappingError) as err:
        build_customs_declaration(parcel, require_ioss=True)
    assert err.value.code == "XD-MAP-009"


def test_cn23_above_the_cn22_ceiling(make_parcel, make_line):
    parcel = make_parcel("CN", "GB", lines=(make_line(value="180.00", currency="GBP", qty=2),))
    assert build_customs_declaration(parcel).form == "CN23"          # 360 GBP > 270 GBP
    assert build_customs_declaration(parcel, cn22_thresholds={"GBP": Decimal("400")}).form == "CN22"


@pytest.mark.parametrize("amount, currency, form", [
    ("350.00", "EUR", "CN22"), ("350.01", "EUR", "CN23"), ("400", "USD", "CN22"),
    ("55000", "JPY", "CN22"), ("55001", "JPY", "CN23"), ("10", "CHF", "CN23"),   # no CHF default
])
def test_form_for_value_uses_the_currency_table(amount, currency, form):
    assert form_for_value(Money(amount, currency)) == form


def test_missing_customs_data_lists_every_missing_field(make_parcel, make_line):
    # Given two lines with four problems between them
    parcel = make_parcel("CN", "US", lines=(
        make_line("MUG", hs=None, origin=None),
        make_line("CAP", hs="12AB", weight_g=None),
    ))
    # When the declaration is built
    with pytest.raises(ShippingError) as err:
        build_customs_declaration(parcel)
    # Then one XD-SHIP-004 names all of them
    assert err.value.code == "XD-SHIP-004"
    missing = err.value.context["missing"]
    assert missing == [
        "line 1 (MUG): hs_code missing",
        "line 1 (MUG): country_of_origin missing",
        "line 2 (CAP): hs_code '12AB' is not 6-10 digits",
        "line 2 (CAP): weight_g missing",
    ]
    for problem in missing:
        assert problem in err.value.message


def test_destination_without_country_is_incomplete(make_parcel):
    parcel = make_parcel("CN", "DE", ship_to=Address(name="No Country", postal_code="10115"))
    with pytest.raises(ShippingError) as err:
        declaration_if_needed(parcel)
    assert err.value.code == "XD-SHIP-004"


@pytest.mark.parametrize("raw, expected", [
    ("6109.10.00", "61091000"), ("610910", "610910"), ("6109 10 0010", "6109100010"),
    ("61091", None), ("61091000001", None), ("6109AB", None), ("", None), (None, None),
])
def test_hs_code_must_be_6_to_10_digits(raw, expected):
    assert normalise_hs_code(raw) == expected
