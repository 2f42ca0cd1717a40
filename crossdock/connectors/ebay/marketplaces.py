"""eBay marketplaces as data: ids, Trading API site ids, countries, currencies.

Source: eBay "MarketplaceIdEnum" / "Site ID to Global ID". Unknown ids are
ConfigError XD-CFG-003; :func:`find_ebay_marketplace` tests without raising.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from crossdock.errors import ConfigError

__all__ = ["EBAY_MARKETPLACES", "EbayMarketplace", "ebay_marketplace", "ebay_marketplace_for_site",
           "find_ebay_marketplace"]


@dataclass(frozen=True, slots=True)
class EbayMarketplace:
    marketplace_id: str
    site_id: int          # Trading API X-EBAY-API-SITEID
    country: str
    currency: str
    name: str
    other_site_ids: tuple[int, ...] = ()   # second-language sites of the same marketplace


def _index(items: Iterable[EbayMarketplace]) -> dict[str, EbayMarketplace]:
    return {i.marketplace_id: i for i in items}


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
))

_EBAY_BY_SITE: Mapping[int, EbayMarketplace] = {
    site: m for m in EBAY_MARKETPLACES.values() for site in (m.site_id, *m.other_site_ids)
    if not (m.marketplace_id == "EBAY_MOTORS_US" and site == 0)
}


def find_ebay_marketplace(marketplace_id: object) -> EbayMarketplace | None:
    if not isinstance(marketplace_id, str):
        return None
    return EBAY_MARKETPLACES.get(marketplace_id.strip().upper())


def ebay_marketplace(marketplace_id: object) -> EbayMarketplace:
    found = find_ebay_marketplace(marketplace_id)
    if found is None:
        raise ConfigError("XD-CFG-003", detail=f"{marketplace_id!r} is not a supported eBay "
                                               "marketplace id (e.g. EBAY_US, EBAY_GB, EBAY_DE)")
    return found


def ebay_marketplace_for_site(site_id: object) -> EbayMarketplace:
    found = _EBAY_BY_SITE.get(site_id) if isinstance(site_id, int) else None
    if found is None:
        raise ConfigError("XD-CFG-003", detail=f"{site_id!r} is not a known eBay site id")
    return found
