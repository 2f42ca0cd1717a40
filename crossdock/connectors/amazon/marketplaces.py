"""Amazon marketplaces as data: ids, countries, currencies, SP-API regions.

Source: Amazon SP-API "Marketplace IDs". Countries are ISO 3166-1 alpha-2
(Amazon's ``UK`` is ``GB``). Unknown ids are ConfigError XD-CFG-003 (they come
from channel configuration); :func:`find_amazon_marketplace` tests without raising.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from crossdock.errors import ConfigError
from crossdock.mapping.marketplaces import normalise_country

__all__ = ["AMAZON_MARKETPLACES", "AmazonMarketplace", "amazon_marketplace", "amazon_marketplace_for_country",
           "find_amazon_marketplace"]


@dataclass(frozen=True, slots=True)
class AmazonMarketplace:
    marketplace_id: str
    country: str          # ISO 3166-1 alpha-2
    currency: str         # ISO 4217
    name: str
    region: str           # SP-API endpoint region: NA, EU, FE
    domain: str


def _index(items: Iterable[AmazonMarketplace]) -> dict[str, AmazonMarketplace]:
    return {i.marketplace_id: i for i in items}


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
))


def find_amazon_marketplace(marketplace_id: object) -> AmazonMarketplace | None:
    return AMAZON_MARKETPLACES.get(marketplace_id.strip()) if isinstance(marketplace_id, str) else None


def amazon_marketplace(marketplace_id: object) -> AmazonMarketplace:
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
