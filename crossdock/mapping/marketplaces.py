"""Marketplace facts as data: Amazon and eBay marketplace ids, countries,
currencies, eBay site ids, and the EU member states.

Countries are ISO 3166-1 alpha-2 (``GB``, ``GR``); Amazon writes the United
Kingdom as ``UK``, which :func:`normalise_country` accepts. Sources: Amazon
SP-API "Marketplace IDs" and eBay "MarketplaceIdEnum" / "Site ID to Global ID"
reference pages. Unknown ids are ConfigError XD-CFG-003 (they come from channel
configuration); use the ``find_…`` variants to test without raising.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crossdock.errors import ConfigError
from crossdock.models import Platform

__all__ = [
    "AMAZON_MARKETPLACES",
    "EBAY_MARKETPLACES",
    "EU_MEMBER_STATES",
    "AmazonMarketplace",
    "EbayMarketplace",
    "amazon_marketplace",
    "amazon_marketplace_for_country",
    "ebay_marketplace",
    "ebay_marketplace_for_site",
    "find_amazon_marketplace",
    "find_ebay_marketplace",
    "is_eu",
    "marketplace_country",
    "marketplace_currency",
    "normalise_country",
]


@dataclass(frozen=True, slots=True)
class AmazonMarketplace:
    marketplace_id: str
    country: str          # ISO 3166-1 alpha-2
    currency: str         # ISO 4217
    name: str
    region: str           # SP-API endpoint region: NA, EU, FE
    domain: str


@dataclass(frozen=True, slots=True)
class EbayMarketplace:
    marketplace_id: str
    site_id: int          # Trading API X-EBAY-API-SITEID
    country: str
    currency: str
    name: str
    other_site_ids: tuple[int, ...] = ()   # second-language sites of the same marketplace


def _index(items, attr):
    return {getattr(i, attr): i for i in items}


_A = AmazonMarketplace
AMAZON_MARKETPLACES: Mapping[str, AmazonMarketplace] = _index((
    _A("A2EUQ1WTGCTBG2", "CA", "CAD", "Canada", "NA", "amazon.ca"),
    _A("ATVPDKIKX0DER", "US", "USD", "United States", "NA", "amazon.com"),
    _A("A1AM78C64UM0Y8", "MX", "MXN", "Mexico", "NA", "amazon.com.mx"),
    _A("A2Q3Y263D00KWC", "BR", "BRL", "Brazil", "NA", "amazon.com.br"),
    _A("A28R8C7NBKEWEA", "IE", "EUR", "Ireland", "EU", "amazon.ie"),
    _A("A1RKKUPIHCS9HS", "ES", "EUR", "Spain", "EU", "amazon.es"),
    _A("A1F83G8C2ARO7P", "GB", "GBP", "United Kingdom", "EU", "amazon.co.uk"),
    _A("A13V1IB3VIYZZH", "FR", "EUR", "France", "EU", "amazon.fr"),
    _A("AMEN7PMS3EDWL", "BE", "EUR", "Belgium", "EU", "amazon.com.be"),
    _A("A1805IZSGTT6HS", "NL", "EUR", "Netherlands", "EU", "amazon.nl"),
    _A("A1PA6795UKMFR9", "DE", "EUR", "Germany", "EU", "amazon.de"),
    _A("APJ6JRA9NG5V4", "IT", "EUR", "Italy", "EU", "amazon.it"),
    _A("A2NODRKZP88ZB9", "SE", "SEK", "Sweden", "EU", "amazon.se"),
    _A("AE08WJ6YKNBMC", "ZA", "ZAR", "South Africa", "EU", "amazon.co.za"),
    _A("A1C3SOZRARQ6R3", "PL", "PLN", "Poland", "EU", "amazon.pl"),
    _A("ARBP9OOSHTCHU", "EG", "EGP", "Egypt", "EU", "amazon.eg"),
    _A("A33AVAJ2PDY3EV", "TR", "TRY", "Turkey", "EU", "amazon.com.tr"),
    _A("A17E79C6D8DWNP", "SA", "SAR", "Saudi Arabia", "EU", "amazon.sa"),
    _A("A2VIGQ35RCS4UG", "AE", "AED", "United Arab Emirates", "EU", "amazon.ae"),
    _A("A21TJRUUN4KGV", "IN", "INR", "India", "EU", "amazon.in"),
    _A("A19VAU5U5O7RUS", "SG", "SGD", "Singapore", "FE", "amazon.sg"),
    _A("A39IBJ37TRP1C6", "AU", "AUD", "Australia", "FE", "amazon.com.au"),
    _A("A1VC38T7YXB528", "JP", "JPY", "Japan", "FE", "amazon.co.jp"),
), "marketplace_id")

_E = EbayMarketplace
EBAY_MARKETPLACES: Mapping[str, EbayMarketplace] = _index((
    _E("EBAY_US", 0, "US", "USD", "eBay United States"),
    _E("EBAY_MOTORS_US", 100, "US", "USD", "eBay Motors US"),
    _E("EBAY_CA", 2, "CA", "CAD", "eBay Canada", (210,)),      # 210 = French Canada
    _E("EBAY_GB", 3, "GB", "GBP", "eBay UK"),
    _E("EBAY_AU", 15, "AU", "AUD", "eBay Australia"),
    _E("EBAY_AT", 16, "AT", "EUR", "eBay Austria"),
    _E("EBAY_BE", 123, "BE", "EUR", "eBay Belgium", (23,)),    # 123 Dutch, 23 French
    _E("EBAY_FR", 71, "FR", "EUR", "eBay France"),
    _E("EBAY_DE", 77, "DE", "EUR", "eBay Germany"),
    _E("EBAY_IT", 101, "IT", "EUR", "eBay Italy"),
    _E("EBAY_NL", 146, "NL", "EUR", "eBay Netherlands"),
    _E("EBAY_ES", 186, "ES", "EUR", "eBay Spain"),
    _E("EBAY_CH", 193, "CH", "CHF", "eBay Switzerland"),
    _E("EBAY_HK", 201, "HK", "HKD", "eBay Hong Kong"),
    _E("EBAY_IE", 205, "IE", "EUR", "eBay Ireland"),
    _E("EBAY_MY", 207, "MY", "MYR", "eBay Malaysia"),
    _E("EBAY_PH", 211, "PH", "PHP", "eBay Philippines"),
    _E("EBAY_PL", 212, "PL", "PLN", "eBay Poland"),
    _E("EBAY_SG", 216, "SG", "SGD", "eBay Singapore"),
), "marketplace_id")

_EBAY_BY_SITE: Mapping[int, EbayMarketplace] = {
    site: m for m in EBAY_MARKETPLACES.values() for site in (m.site_id, *m.other_site_ids)
    if not (m.marketplace_id == "EBAY_MOTORS_US" and site == 0)
}

EU_MEMBER_STATES: frozenset[str] = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())

_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}   # Amazon's UK; the EU's VAT prefix for Greece


def normalise_country(country: str) -> str:
    """ISO 3166-1 alpha-2, upper case; ``UK`` → ``GB`` and ``EL`` → ``GR``."""
    if not isinstance(country, str) or len(country.strip()) != 2 or not country.strip().isalpha():
        raise ConfigError("XD-CFG-003", detail=f"{country!r} is not a two-letter country code")
    code = country.strip().upper()
    return _COUNTRY_ALIASES.get(code, code)


def is_eu(country: str) -> bool:
    """True for the 27 EU member states (not GB, CH, NO …)."""
    return normalise_country(country) in EU_MEMBER_STATES


def find_amazon_marketplace(marketplace_id: str) -> AmazonMarketplace | None:
    return AMAZON_MARKETPLACES.get(marketplace_id.strip()) if isinstance(marketplace_id, str) else None


def amazon_marketplace(marketplace_id: str) -> AmazonMarketplace:
    found = find_amazon_marketplace(marketplace_id)
    if found is None:
        raise ConfigError("XD-CFG-003", detail=f"{marketplace_id!r} is not a known Amazon "
                                               "marketplace id (e.g. ATVPDKIKX0DER for the US, "
                                               "A1PA6795UKMFR9 for Germany)")
    return found


def amazon_marketplace_for_country(country: str) -> AmazonMarketplace:
    code = normalise_country(country)
    for m in AMAZON_MARKETPLACES.values():
        if m.country == code:
            return m
    raise ConfigError("XD-CFG-003", detail=f"Amazon has no marketplace for country {code}")


def find_ebay_marketplace(marketplace_id: str) -> EbayMarketplace | None:
    if not isinstance(marketplace_id, str):
        return None
    return EBAY_MARKETPLACES.get(marketplace_id.strip().upper())


def ebay_marketplace(marketplace_id: str) -> EbayMarketplace:
    found = find_ebay_marketplace(marketplace_id)
    if found is None:
        raise ConfigError("XD-CFG-003", detail=f"{marketplace_id!r} is not a supported eBay "
                                               "marketplace id (e.g. EBAY_US, EBAY_GB, EBAY_DE)")
    return found


def ebay_marketplace_for_site(site_id: int) -> EbayMarketplace:
    found = _EBAY_BY_SITE.get(site_id) if isinstance(site_id, int) else None
    if found is None:
        raise ConfigError("XD-CFG-003", detail=f"{site_id!r} is not a known eBay site id")
    return found


def _lookup(platform: Platform | str, marketplace_id: str) -> AmazonMarketplace | EbayMarketplace:
    try:
        p = Platform(platform)
    except ValueError:
        raise ConfigError("XD-CFG-003", detail=f"unknown platform {platform!r}") from None
    if p is Platform.AMAZON:
        return amazon_marketplace(marketplace_id)
    if p is Platform.EBAY:
        return ebay_marketplace(marketplace_id)
    raise ConfigError("XD-CFG-003", detail="Shopify has no marketplace ids; a shop's currency "
                                           "comes from the channel configuration")


def marketplace_currency(platform: Platform | str, marketplace_id: str) -> str:
    """The currency a marketplace sells in (Amazon or eBay)."""
    return _lookup(platform, marketplace_id).currency


def marketplace_country(platform: Platform | str, marketplace_id: str) -> str:
    """The country (ISO alpha-2) of a marketplace (Amazon or eBay)."""
    return _lookup(platform, marketplace_id).country
