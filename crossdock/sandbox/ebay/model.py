"""State of the simulated eBay: configuration, accounts, tokens, listings,
orders, daily call quotas, and the marketplace tables (currencies, FX,
collect-and-remit tax rules, carrier codes) the order generator uses.

Everything is in sandbox time (seconds since the epoch on the sandbox clock).
Figures the eBay documentation does not pin down are :class:`SimConfig`
fields, never constants buried in handlers.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

DAY_S = 86400
CENT = Decimal("0.01")


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def day_index(ts: float) -> int:
    """eBay's "calendar day" for revision counts and daily quotas (UTC in the sandbox)."""
    return int(ts // DAY_S)


def iso_ms(ts: float) -> str:
    """eBay REST / Trading timestamp: ``2024-01-15T10:30:00.000Z``."""
    d = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


@dataclass
class SimConfig:
    """Tunable behaviour; change with :meth:`EbaySim.configure` or ``POST /sandbox/config``."""

    access_token_ttl_s: int = 7200
    refresh_token_ttl_s: int = 47_304_000          # 18 months
    trading_token_ttl_s: int = 47_304_000          # Auth'n'Auth, 18 months
    hard_expiration_warning_s: int = 7 * DAY_S     # HardExpirationWarning window
    trading_daily_limit: int = 5_000               # all Trading calls, per application
    inventory_daily_limit: int = 2_000_000         # (uncertain) sell.inventory
    fulfillment_daily_limit: int = 100_000         # (uncertain) sell.fulfillment
    token_daily_limit: int = 50_000                # refresh grants
    revise_inventory_status_per_15s: int = 6_000   # short-duration limit per seller
    revisions_per_listing_per_day: int = 250
    legacy_ratio: float = 0.0                      # share of newly seeded SKUs that are legacy listings
    pending_payment_probability: float = 0.0       # orders that start unpaid…
    payment_delay_s: int = 600                     # …and are paid this much later
    max_orders_limit: int = 200
    trading_max_entries_per_page: int = 100
    # Codes the public eBay pages do not confirm (uncertain): the daily-revision
    # limit and "Inventory-API listing revised through Trading".
    revision_limit_inventory_error: int = 25019
    revision_limit_trading_error: int = 21919189
    inventory_model_trading_error: int = 21919474
    # Notification API deliveries (fault injection): dropped, duplicated, late (sandbox seconds).
    notification_drop_probability: float = 0.0
    notification_duplicate_probability: float = 0.0
    notification_delay_s: float = 0.0

    def update(self, values: dict) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown eBay sandbox setting {key!r}")
            current = getattr(self, key)
            setattr(self, key, type(current)(value))


@dataclass
class Account:
    username: str
    marketplace_id: str
    country: str
    currency: str
    site_id: int
    client_id: str
    client_secret: str
    refresh_token: str
    trading_token: str
    dev_id: str
    refresh_expires_at: float
    trading_token_expires_at: float
    refresh_revoked: bool = False
    secret_revoked: bool = False
    trading_token_revoked: bool = False
    next_sales_record: int = 1001

    @property
    def channel(self) -> str:
        return f"ebay:{self.username}:{self.marketplace_id}"

    def describe(self) -> dict:
        return {"client_id": self.client_id, "client_secret": self.client_secret,
                "refresh_token": self.refresh_token, "username": self.username,
                "marketplace_id": self.marketplace_id, "trading_token": self.trading_token,
                "dev_id": self.dev_id, "channel": self.channel, "currency": self.currency, "site_id": self.site_id}


@dataclass
class AccessToken:
    token: str
    username: str
    expires_at: float
    app: bool = False      # an application token (client credentials): no user APIs


@dataclass
class Listing:
    """One fixed-price listing. ``kind`` is ``inventory`` (Inventory API: SKU +
    offer) or ``trading`` (created outside the Inventory API: ItemID only)."""

    sku: str
    kind: str
    title: str
    price: Decimal
    currency: str
    quantity: int                       # available to buy (offer availableQuantity / Trading QuantityAvailable)
    item_id: str                        # listingId / legacyItemId / Trading ItemID
    offer_id: str | None = None
    inventory_quantity: int | None = None   # inventory item shipToLocationAvailability.quantity
    sold: int = 0
    published: bool = True
    started_at: float = 0.0
    revisions: dict[int, int] = field(default_factory=dict)   # day -> count
    product: dict = field(default_factory=dict)               # inventory item "product" container
    condition: str = "NEW"
    offer: dict = field(default_factory=dict)                 # createOffer body (policies, category…)
    package: dict | None = None

    def revise(self, now: float, limit: int) -> bool:
        day = day_index(now)
        used = self.revisions.get(day, 0)
        if used >= limit:
            return False
        self.revisions = {day: used + 1}
        return True


@dataclass
class LineTax:
    tax_type: str                 # VAT, GST, STATE_SALES_TAX …
    amount: Decimal               # seller currency
    ref_name: str | None = None   # IOSS, OSS, VOEC, ABN, IRD …
    ref_value: str | None = None


@dataclass
class SimLine:
    line_item_id: str
    item_id: str
    transaction_id: str
    sku: str
    title: str
    quantity: int
    unit_price: Decimal           # seller currency
    delivery: Decimal             # seller currency, this line's share
    kind: str
    tax: LineTax | None = None
    shipped: int = 0


@dataclass
class SimOrder:
    order_id: str
    username: str
    created_at: float
    modified_at: float
    buyer_username: str
    buyer_country: str
    buyer_currency: str
    fx: Decimal                    # buyer currency per 1 seller currency
    purchase_marketplace_id: str
    ship_to: dict
    lines: list[SimLine]
    sales_record: int
    payment_status: str = "PAID"   # PAID, PENDING, FULLY_REFUNDED
    paid_at: float | None = None
    cancel_state: str = "NONE_REQUESTED"
    cancelled_at: float | None = None
    fulfillments: list[dict] = field(default_factory=list)
    #: issue_refund's refunds (sandbox/ebay/refunds.py): refundId, date, amount, lines (line id -> amount or None)
    refunds: list[dict] = field(default_factory=list)

    @property
    def fulfillment_status(self) -> str:
        shipped = sum(min(l.shipped, l.quantity) for l in self.lines)
        if shipped == 0:
            return "NOT_STARTED"
        if all(l.shipped >= l.quantity for l in self.lines):
            return "FULFILLED"
        return "IN_PROGRESS"


class DailyQuota:
    """Fixed daily windows in sandbox time per (account, api), like eBay's
    call limits (the Developer Analytics API reports the same counters)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}   # -> (day, count)

    def take(self, account: str, api: str, limit: int, now: float) -> bool:
        day = day_index(now)
        with self._lock:
            d, n = self._counts.get((account, api), (day, 0))
            if d != day:
                n = 0
            if n >= limit:
                self._counts[(account, api)] = (day, n)
                return False
            self._counts[(account, api)] = (day, n + 1)
            return True

    def used(self, account: str, api: str, now: float) -> int:
        d, n = self._counts.get((account, api), (day_index(now), 0))
        return n if d == day_index(now) else 0

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


# ----------------------------------------------------------------- marketplace tables
EU = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())

#: buyer country -> the eBay site the buyer shops on
COUNTRY_MARKETPLACE = {
    "GB": "EBAY_GB", "DE": "EBAY_DE", "AT": "EBAY_AT", "FR": "EBAY_FR", "IT": "EBAY_IT",
    "ES": "EBAY_ES", "IE": "EBAY_IE", "NL": "EBAY_NL", "BE": "EBAY_BE", "PL": "EBAY_PL",
    "CH": "EBAY_CH", "US": "EBAY_US", "CA": "EBAY_CA", "AU": "EBAY_AU", "NZ": "EBAY_AU",
    "NO": "EBAY_GB",
}

COUNTRY_CURRENCY = {"GB": "GBP", "US": "USD", "CA": "CAD", "AU": "AUD", "NZ": "NZD", "NO": "NOK",
                    "CH": "CHF", "PL": "PLN", "SE": "SEK", "DK": "DKK", "CZ": "CZK", "HU": "HUF"}

#: units of each currency per 1 GBP (fixed, so orders are reproducible)
FX_PER_GBP = {"GBP": Decimal("1"), "EUR": Decimal("1.17"), "USD": Decimal("1.27"),
              "CAD": Decimal("1.72"), "AUD": Decimal("1.93"), "NZD": Decimal("2.10"),
              "NOK": Decimal("13.60"), "CHF": Decimal("1.12"), "PLN": Decimal("5.05"),
              "SEK": Decimal("13.30"), "DKK": Decimal("8.72"), "CZK": Decimal("29.10"),
              "HUF": Decimal("455")}

MARKETPLACE_INFO = {   # marketplace -> (country, currency, site id, Trading site name)
    "EBAY_GB": ("GB", "GBP", 3, "UK"), "EBAY_US": ("US", "USD", 0, "US"),
    "EBAY_DE": ("DE", "EUR", 77, "Germany"), "EBAY_FR": ("FR", "EUR", 71, "France"),
    "EBAY_IT": ("IT", "EUR", 101, "Italy"), "EBAY_ES": ("ES", "EUR", 186, "Spain"),
    "EBAY_AU": ("AU", "AUD", 15, "Australia"), "EBAY_CA": ("CA", "CAD", 2, "Canada"),
    "EBAY_AT": ("AT", "EUR", 16, "Austria"), "EBAY_IE": ("IE", "EUR", 205, "Ireland"),
    "EBAY_NL": ("NL", "EUR", 146, "Netherlands"), "EBAY_BE": ("BE", "EUR", 123, "BelgiumDutch"),
    "EBAY_PL": ("PL", "PLN", 212, "Poland"), "EBAY_CH": ("CH", "CHF", 193, "Switzerland"),
}

EU_VAT_RATE = {"DE": "0.19", "FR": "0.20", "IT": "0.22", "ES": "0.21", "IE": "0.23", "NL": "0.21",
               "AT": "0.20", "BE": "0.21", "PL": "0.23", "SE": "0.25", "DK": "0.25", "PT": "0.23",
               "FI": "0.255", "GR": "0.24", "CZ": "0.21", "HU": "0.27", "LU": "0.17"}


@dataclass(frozen=True)
class TaxRule:
    tax_type: str
    rate: Decimal
    ref_name: str | None
    ref_value: str | None
    threshold: Decimal | None      # goods value limit in ``threshold_currency`` (None = always)
    threshold_currency: str = "EUR"


def tax_rule(buyer_country: str, seller_country: str) -> TaxRule | None:
    """eBay's collect-and-remit scheme for a cross-border sale (sandbox figures:
    the reference values are eBay's published registration numbers where known,
    otherwise placeholders)."""
    if buyer_country == seller_country:
        return None
    if buyer_country in EU and not (seller_country in EU):
        rate = Decimal(EU_VAT_RATE.get(buyer_country, "0.20"))
        return TaxRule("VAT", rate, "IOSS", "IM2760000742", Decimal("150"), "EUR")
    if buyer_country == "GB":
        return TaxRule("VAT", Decimal("0.20"), "IOSS", "370600428", Decimal("135"), "GBP")
    if buyer_country == "NO":
        return TaxRule("VAT", Decimal("0.25"), "VOEC", "2024926", Decimal("3000"), "NOK")
    if buyer_country == "AU":
        return TaxRule("GST", Decimal("0.10"), "ABN", "ARN 3000 1684 4417", Decimal("1000"), "AUD")
    if buyer_country == "NZ":
        return TaxRule("GST", Decimal("0.15"), "IRD", "123-994-582", Decimal("1000"), "NZD")
    if buyer_country == "US":
        return TaxRule("STATE_SALES_TAX", Decimal("0.0725"), None, None, None)
    return None


def fx_rate(seller_currency: str, buyer_currency: str) -> Decimal:
    """Units of ``buyer_currency`` per 1 ``seller_currency``."""
    a = FX_PER_GBP.get(seller_currency, Decimal("1"))
    b = FX_PER_GBP.get(buyer_currency, Decimal("1"))
    return (b / a).quantize(Decimal("0.000001"))


#: Trading ShippingCarrierCodeType values the sandbox accepts for shippingCarrierCode.
CARRIER_CODES = frozenset({
    "RoyalMail", "Parcelforce", "DPD", "DHL", "DHLEXPRESS", "UPS", "FedEx", "USPS", "GLS", "Hermes",
    "Evri", "Yodel", "TNT", "DeutschePost", "ColissimoFR", "Chronopost", "PostNL", "AustraliaPost",
    "CanadaPost", "ChinaPost", "YANWEN", "FourPX", "Other",
})

BUYER_NAMES = ("Alex Morgan", "Sam Taylor", "Jordan Lee", "Chris Walker", "Robin Schmidt",
               "Camille Martin", "Giulia Rossi", "Lucia Garcia", "Sean Murphy", "Emma de Vries",
               "Olivia Smith", "Noah Brown", "Ingrid Hansen", "Liam Wilson", "Mia Nowak")

CITIES = {"GB": ("London", "EC1A 1BB"), "DE": ("Berlin", "10115"), "FR": ("Paris", "75001"),
          "IT": ("Milano", "20121"), "ES": ("Madrid", "28001"), "IE": ("Dublin", "D02 X285"),
          "NL": ("Amsterdam", "1012 AB"), "AT": ("Wien", "1010"), "BE": ("Bruxelles", "1000"),
          "PL": ("Warszawa", "00-001"), "US": ("Portland", "97201"), "CA": ("Toronto", "M5H 2N2"),
          "AU": ("Sydney", "2000"), "NZ": ("Auckland", "1010"), "NO": ("Oslo", "0150"),
          "CH": ("Zürich", "8001")}


#: Country names of the origin aspect ("Country/Region of Manufacture") of the seeded listings, by ISO code
ORIGIN_NAMES = {"CN": "China", "DE": "Germany", "FR": "France", "GB": "United Kingdom", "IN": "India",
                "IT": "Italy", "PT": "Portugal", "PL": "Poland", "TR": "Turkey", "US": "United States",
                "VN": "Vietnam"}
