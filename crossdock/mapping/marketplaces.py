"""Marketplace facts: the EU member states, country codes, and a
marketplace's currency and country whatever its platform.

Each platform declares its own marketplaces in its folder
(``crossdock/connectors/<platform>/marketplaces.py``, its
``PlatformSpec.marketplaces``); the functions here find them through the
platform registry. Countries are ISO 3166-1 alpha-2 (``GB``, ``GR``); Amazon
writes the United Kingdom as ``UK``, which :func:`normalise_country` accepts.
Unknown ids are ConfigError XD-CFG-003 (they come from channel configuration).
"""

from __future__ import annotations

from typing import Any

from crossdock.errors import ConfigError

__all__ = [
    "EU_MEMBER_STATES",
    "find_marketplace",
    "is_eu",
    "marketplace",
    "marketplace_country",
    "marketplace_currency",
    "normalise_country",
]

EU_MEMBER_STATES: frozenset[str] = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())

_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}   # Amazon's UK; the EU's VAT prefix for Greece


def normalise_country(country: object) -> str:
    """ISO 3166-1 alpha-2, upper case; ``UK`` → ``GB`` and ``EL`` → ``GR``."""
    if not isinstance(country, str) or len(country.strip()) != 2 or not country.strip().isalpha():
        raise ConfigError("XD-CFG-003", detail=f"{country!r} is not a two-letter country code")
    code = country.strip().upper()
    return _COUNTRY_ALIASES.get(code, code)


def is_eu(country: str) -> bool:
    """True for the 27 EU member states (not GB, CH, NO …)."""
    return normalise_country(country) in EU_MEMBER_STATES


def find_marketplace(platform: str, marketplace_id: str) -> Any | None:
    """The platform's marketplace ``marketplace_id``, or None (unknown id or platform)."""
    from crossdock.platforms import registry

    spec = registry.find(platform)
    return spec.find_marketplace(marketplace_id) if spec is not None else None


def marketplace(platform: str, marketplace_id: str) -> Any:
    """The platform's marketplace ``marketplace_id``; XD-CFG-003 when there is none."""
    from crossdock.platforms import registry

    spec = registry.platform(platform)
    if not spec.marketplaces:
        raise ConfigError("XD-CFG-003", detail=f"{spec.title} has no marketplace ids; a channel's currency "
                                               "comes from the channel configuration")
    found = spec.find_marketplace(marketplace_id)
    if found is None:
        examples = ", ".join(list(spec.marketplaces)[:3])
        raise ConfigError("XD-CFG-003", detail=f"{marketplace_id!r} is not a known {spec.title} marketplace id "
                                               f"(e.g. {examples})")
    return found


def marketplace_currency(platform: str, marketplace_id: str) -> str:
    """The currency a marketplace sells in."""
    return str(marketplace(platform, marketplace_id).currency)


def marketplace_country(platform: str, marketplace_id: str) -> str:
    """The country (ISO alpha-2) of a marketplace."""
    return str(marketplace(platform, marketplace_id).country)
