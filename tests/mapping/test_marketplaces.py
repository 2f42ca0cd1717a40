from __future__ import annotations

import pytest

from crossdock.errors import ConfigError
from crossdock.connectors.amazon.marketplaces import (
    AMAZON_MARKETPLACES,
    amazon_marketplace,
    amazon_marketplace_for_country,
    find_amazon_marketplace,
)
from crossdock.connectors.ebay.marketplaces import ebay_marketplace, ebay_marketplace_for_site
from crossdock.mapping.marketplaces import (
    EU_MEMBER_STATES,
    is_eu,
    marketplace_country,
    marketplace_currency,
    normalise_country,
)
from crossdock.mapping.money import is_known_currency


@pytest.mark.parametrize(("mid", "country", "currency"), [
    ("ATVPDKIKX0DER", "US", "USD"),
    ("A1PA6795UKMFR9", "DE", "EUR"),
    ("A1F83G8C2ARO7P", "GB", "GBP"),
    ("A1VC38T7YXB528", "JP", "JPY"),
    ("A13V1IB3VIYZZH", "FR", "EUR"),
    ("APJ6JRA9NG5V4", "IT", "EUR"),
    ("A1RKKUPIHCS9HS", "ES", "EUR"),
    ("A1805IZSGTT6HS", "NL", "EUR"),
    ("A2EUQ1WTGCTBG2", "CA", "CAD"),
    ("A2NODRKZP88ZB9", "SE", "SEK"),
    ("A1C3SOZRARQ6R3", "PL", "PLN"),
])
def test_amazon_marketplaces(mid, country, currency):
    m = amazon_marketplace(mid)
    assert (m.country, m.currency) == (country, currency)
    assert marketplace_currency("amazon", mid) == currency
    assert marketplace_country("amazon", mid) == country


@pytest.mark.parametrize(("mid", "site", "country", "currency"), [
    ("EBAY_US", 0, "US", "USD"), ("EBAY_GB", 3, "GB", "GBP"), ("EBAY_DE", 77, "DE", "EUR"),
    ("EBAY_FR", 71, "FR", "EUR"), ("EBAY_IT", 101, "IT", "EUR"), ("EBAY_ES", 186, "ES", "EUR"),
    ("EBAY_AU", 15, "AU", "AUD"), ("EBAY_CA", 2, "CA", "CAD"), ("EBAY_CH", 193, "CH", "CHF"),
    ("ebay_at", 16, "AT", "EUR"),
])
def test_ebay_marketplaces(mid, site, country, currency):
    m = ebay_marketplace(mid)
    assert (m.site_id, m.country, m.currency) == (site, country, currency)
    assert ebay_marketplace_for_site(site) is m
    assert marketplace_currency("ebay", mid) == currency


def test_second_language_sites():
    assert ebay_marketplace_for_site(23).marketplace_id == "EBAY_BE"     # Belgium (French)
    assert ebay_marketplace_for_site(210).marketplace_id == "EBAY_CA"    # Canada (French)
    assert ebay_marketplace_for_site(100).marketplace_id == "EBAY_MOTORS_US"


def test_every_currency_is_known():
    assert all(is_known_currency(m.currency) for m in AMAZON_MARKETPLACES.values())


def test_eu_members():
    assert len(EU_MEMBER_STATES) == 27
    assert is_eu("de") and is_eu("EL") and is_eu("IE")
    assert not is_eu("GB") and not is_eu("UK") and not is_eu("CH") and not is_eu("NO")


def test_country_aliases_and_lookup_by_country():
    assert normalise_country("uk") == "GB"
    assert amazon_marketplace_for_country("UK").marketplace_id == "A1F83G8C2ARO7P"


@pytest.mark.parametrize(("call", "words"), [
    (lambda: amazon_marketplace("AXXXXXXXX"), "Amazon marketplace id"),
    (lambda: ebay_marketplace("EBAY_XX"), "eBay marketplace id"),
    (lambda: ebay_marketplace_for_site(999), "site id"),
    (lambda: amazon_marketplace_for_country("CH"), "no marketplace for country CH"),
    (lambda: normalise_country("Germany"), "two-letter"),
    (lambda: marketplace_currency("shopify", "x"), "Shopify"),
    (lambda: marketplace_currency("etsy", "x"), "platform"),
])
def test_clear_errors(call, words):
    with pytest.raises(ConfigError) as err:
        call()
    assert err.value.code == "XD-CFG-003" and words in err.value.detail
    assert find_amazon_marketplace("nope") is None
