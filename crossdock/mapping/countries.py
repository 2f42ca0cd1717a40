"""Country names as marketplaces write them in product data, and their ISO
3166-1 alpha-2 codes (customs forms need the code).

Some platforms give a product's country of manufacture as a name in an item
specific (``China``, ``United Kingdom``). :func:`country_code` reads such a
name, or a two-letter code; a name not in :data:`NAMES` reads as unknown
(None: the catalogue's value is used), never as a guess.
"""

from __future__ import annotations

__all__ = ["NAMES", "country_code", "country_name"]

#: English names (as the marketplaces' item specifics spell them) → ISO alpha-2: the countries goods sold
#: cross-border are most often made in, and every EU member.
NAMES: dict[str, str] = {
    "Australia": "AU", "Austria": "AT", "Bangladesh": "BD", "Belgium": "BE", "Brazil": "BR", "Bulgaria": "BG",
    "Cambodia": "KH", "Canada": "CA", "China": "CN", "Croatia": "HR", "Cyprus": "CY", "Czech Republic": "CZ",
    "Denmark": "DK", "Estonia": "EE", "Finland": "FI", "France": "FR", "Germany": "DE", "Greece": "GR",
    "Hong Kong": "HK", "Hungary": "HU", "India": "IN", "Indonesia": "ID", "Ireland": "IE", "Israel": "IL",
    "Italy": "IT", "Japan": "JP", "Latvia": "LV", "Lithuania": "LT", "Luxembourg": "LU", "Malaysia": "MY",
    "Malta": "MT", "Mexico": "MX", "Morocco": "MA", "Netherlands": "NL", "New Zealand": "NZ", "Norway": "NO",
    "Pakistan": "PK", "Philippines": "PH", "Poland": "PL", "Portugal": "PT", "Romania": "RO", "Slovakia": "SK",
    "Slovenia": "SI", "South Korea": "KR", "Spain": "ES", "Sri Lanka": "LK", "Sweden": "SE", "Switzerland": "CH",
    "Taiwan": "TW", "Thailand": "TH", "Tunisia": "TN", "Turkey": "TR", "United Kingdom": "GB",
    "United States": "US", "Vietnam": "VN",
}
_ALIASES = {"czechia": "CZ", "korea, republic of": "KR", "türkiye": "TR", "uk": "GB", "great britain": "GB",
            "usa": "US", "united states of america": "US", "viet nam": "VN", "the netherlands": "NL",
            "holland": "NL"}
_BY_NAME = {**{name.lower(): code for name, code in NAMES.items()}, **_ALIASES}
_BY_CODE = {code: name for name, code in NAMES.items()}


def country_code(text: object) -> str | None:
    """The ISO alpha-2 code of a country name or code, or None when it is not one we know."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = " ".join(text.split())
    if len(value) == 2 and value.isalpha():
        code = value.upper()
        return {"UK": "GB", "EL": "GR"}.get(code, code)
    return _BY_NAME.get(value.lower())


def country_name(code: str) -> str | None:
    """The name :data:`NAMES` gives a code (None when it has none)."""
    return _BY_CODE.get(code.upper())
