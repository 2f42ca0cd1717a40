"""Where the simulated shop's buyers live and what they pay: sandbox FX rates,
VAT by destination (EU OSS, UK), duties collected at checkout (DDP through
Shopify Markets), and the addresses and names scripted buyers use."""

from __future__ import annotations

from decimal import Decimal

from crossdock.sandbox.shopify.records import money

# Sandbox FX (units per 1 EUR). Only used to show buyers local prices.
FX_PER_EUR: dict[str, Decimal] = {
    "EUR": Decimal("1"), "USD": Decimal("1.08"), "GBP": Decimal("0.85"), "CHF": Decimal("0.95"),
    "SEK": Decimal("11.20"), "DKK": Decimal("7.46"), "NOK": Decimal("11.50"), "PLN": Decimal("4.30"),
    "CZK": Decimal("25.00"), "HUF": Decimal("395.00"), "CAD": Decimal("1.47"), "AUD": Decimal("1.64"),
    "JPY": Decimal("165.00"),
}

EUROZONE = {"AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT",
            "NL", "PT", "SI", "SK"}
EU = EUROZONE | {"BG", "CZ", "DK", "HU", "PL", "RO", "SE"}
COUNTRY_CURRENCY = {"GB": "GBP", "CH": "CHF", "LI": "CHF", "SE": "SEK", "DK": "DKK", "NO": "NOK", "PL": "PLN",
                    "CZ": "CZK", "HU": "HUF", "US": "USD", "CA": "CAD", "AU": "AUD", "JP": "JPY"}

# Standard VAT rates, destination principle (EU OSS) and UK VAT (<= GBP 135).
VAT_RATE: dict[str, Decimal] = {k: Decimal(v) for k, v in {
    "AT": "0.20", "BE": "0.21", "BG": "0.20", "CY": "0.19", "CZ": "0.21", "DE": "0.19", "DK": "0.25",
    "EE": "0.22", "ES": "0.21", "FI": "0.255", "FR": "0.20", "GR": "0.24", "HR": "0.25", "HU": "0.27",
    "IE": "0.23", "IT": "0.22", "LT": "0.21", "LU": "0.17", "LV": "0.21", "MT": "0.18", "NL": "0.21",
    "PL": "0.23", "PT": "0.23", "RO": "0.19", "SE": "0.25", "SI": "0.22", "SK": "0.23", "GB": "0.20",
}.items()}
VAT_TITLE = {"DE": "DE MwSt.", "AT": "AT USt.", "FR": "FR TVA", "BE": "BE TVA", "IT": "IT IVA", "ES": "ES IVA",
             "NL": "NL btw", "PL": "PL VAT", "GB": "GB VAT"}
# Buyers' countries where the shop collects duties at checkout (DDP through Markets).
DDP_COUNTRIES = {"CH", "NO", "US", "CA", "AU"}
DUTY_RATE = Decimal("0.05")

ADDRESSES: dict[str, tuple[str, str, str | None]] = {   # city, zip, province code
    "DE": ("Berlin", "10115", "BE"), "FR": ("Paris", "75001", None), "IT": ("Milano", "20121", "MI"),
    "ES": ("Madrid", "28001", "M"), "NL": ("Amsterdam", "1012 JS", None), "AT": ("Wien", "1010", None),
    "BE": ("Bruxelles", "1000", None), "IE": ("Dublin", "D01 F5P2", "D"), "PL": ("Warszawa", "00-001", None),
    "SE": ("Stockholm", "111 22", None), "DK": ("København", "1050", None), "GB": ("London", "SW1A 1AA", None),
    "CH": ("Zürich", "8001", "ZH"), "NO": ("Oslo", "0150", None), "US": ("New York", "10001", "NY"),
    "CA": ("Toronto", "M5H 2N2", "ON"), "AU": ("Sydney", "2000", "NSW"), "CZ": ("Praha", "110 00", None),
}
COUNTRY_NAMES = {"DE": "Germany", "FR": "France", "IT": "Italy", "ES": "Spain", "NL": "Netherlands",
                 "AT": "Austria", "BE": "Belgium", "IE": "Ireland", "PL": "Poland", "SE": "Sweden",
                 "DK": "Denmark", "GB": "United Kingdom", "CH": "Switzerland", "NO": "Norway",
                 "US": "United States", "CA": "Canada", "AU": "Australia", "CZ": "Czechia"}
FIRST_NAMES = ("Anna", "Jonas", "Marie", "Luca", "Sofia", "Liam", "Emma", "Noah", "Lea", "Hugo", "Elin", "Oskar")
LAST_NAMES = ("Müller", "Martin", "Rossi", "García", "de Vries", "Nowak", "Andersson", "Smith", "Meier", "Dubois")

def convert(amount: Decimal, src: str, dst: str) -> Decimal:
    if src == dst:
        return amount
    eur = amount / FX_PER_EUR.get(src, Decimal("1"))
    return money(eur * FX_PER_EUR.get(dst, Decimal("1")))
