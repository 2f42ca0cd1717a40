"""Amazon facts the simulated SP-API needs, as data.

The sandbox keeps its own small tables (it simulates the platform and must not
import the connector it is meant to test). Rates and bursts are the published
default usage plans (docs/platform-facts.md#amazon-usage-plans); error texts are
the ones Amazon and Login with Amazon actually return, where known, so clients see
the real wire format (docs/platform-facts.md#amazon-throttling-and-errors).
"""

from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------- marketplaces


@dataclass(frozen=True, slots=True)
class Marketplace:
    marketplace_id: str
    country: str
    currency: str
    sales_channel: str
    language_tag: str
    order_prefix: str          # first digits of AmazonOrderId (3-7-7) for orders of this store
    vat_included: bool         # shelf prices include VAT (EU, UK) or tax is added on top (US)
    tax_rate: str              # default VAT / sales-tax rate used for ItemTax


MARKETPLACES: dict[str, Marketplace] = {m.marketplace_id: m for m in (
    Marketplace("ATVPDKIKX0DER", "US", "USD", "Amazon.com", "en_US", "11", False, "0.0825"),
    Marketplace("A2EUQ1WTGCTBG2", "CA", "CAD", "Amazon.ca", "en_CA", "70", False, "0.13"),
    Marketplace("A1AM78C64UM0Y8", "MX", "MXN", "Amazon.com.mx", "es_MX", "70", True, "0.16"),
    Marketplace("A1PA6795UKMFR9", "DE", "EUR", "Amazon.de", "de_DE", "30", True, "0.19"),
    Marketplace("A1F83G8C2ARO7P", "GB", "GBP", "Amazon.co.uk", "en_GB", "20", True, "0.20"),
    Marketplace("A13V1IB3VIYZZH", "FR", "EUR", "Amazon.fr", "fr_FR", "40", True, "0.20"),
    Marketplace("APJ6JRA9NG5V4", "IT", "EUR", "Amazon.it", "it_IT", "40", True, "0.22"),
    Marketplace("A1RKKUPIHCS9HS", "ES", "EUR", "Amazon.es", "es_ES", "40", True, "0.21"),
    Marketplace("A1805IZSGTT6HS", "NL", "EUR", "Amazon.nl", "nl_NL", "40", True, "0.21"),
    Marketplace("A1VC38T7YXB528", "JP", "JPY", "Amazon.co.jp", "ja_JP", "50", True, "0.10"),
)}

US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
DEFAULT_MARKETPLACES: tuple[str, ...] = (US, DE)

EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())

#: Amazon's own IOSS registration shown on marketplace-facilitated EU imports
#: (a sandbox value in the real format: "IM" + 10 digits).
SANDBOX_IOSS_NUMBER = "IM4420000000"

#: EU low-value-consignment ceiling for IOSS (EUR intrinsic value).
IOSS_CEILING_EUR = "150"

#: Fixed conversion used only to give a sandbox listing a default price in
#: another currency than the catalogue's (the demo lists one catalogue on US
#: and DE). Never used by crossdock's pricing rules.
SANDBOX_FX = {("USD", "EUR"): "0.92", ("EUR", "USD"): "1.09", ("USD", "GBP"): "0.79",
              ("EUR", "GBP"): "0.86", ("GBP", "EUR"): "1.17", ("GBP", "USD"): "1.27"}

# --------------------------------------------------------------- usage plans

#: operation -> (rate per second, burst): the published default usage plans.
USAGE_PLANS: dict[str, tuple[float, float]] = {
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getOrderAddress": (0.5, 30),
    "confirmShipment": (2, 10),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2, 15),
    "cancelFeed": (2, 15),
    "getFeedDocument": (0.0222, 10),
    "getListingsItem": (5, 10),
    "putListingsItem": (5, 10),
    "patchListingsItem": (5, 5),
    "deleteListingsItem": (5, 5),
    "searchListingsItems": (5, 5),
    "getInventorySummaries": (2, 2),
    "createRestrictedDataToken": (1, 10),
}

# --------------------------------------------------------------- tokens and auth

ACCESS_TOKEN_TTL_S = 3600
#: LWA scopes of grantless (client_credentials) tokens.
GRANTLESS_SCOPES = frozenset({"sellingpartnerapi::notifications", "sellingpartnerapi::client_credential:rotation"})
RDT_TTL_S = 3600
FEED_URL_TTL_S = 300          # pre-signed document URLs expire after 5 minutes

LWA_INVALID_GRANT = "The request has an invalid grant parameter : refresh_token"
LWA_INVALID_CLIENT = "Client authentication failed"
LWA_UNSUPPORTED_GRANT = "The authorization grant type is not supported by the authorization server"
LWA_MISSING_PARAM = "The request is missing a required parameter : {name}"

DENIED = "Access to requested resource is denied."
DETAIL_EXPIRED = "The access token you provided has expired."
DETAIL_REVOKED = "The access token you provided is revoked, malformed or invalid."

QUOTA_EXCEEDED = {"errors": [{"code": "QuotaExceeded",
                              "message": "You exceeded your quota for the requested resource.",
                              "details": ""}]}

#: The 400 Amazon answers when CreatedBefore / LastUpdatedBefore is within two
#: minutes of the request time (the text Amazon sends since 2024).
TWO_MINUTE_RULE = (
    "The input you have submitted is not valid. Note that the error may be due to a systematic delay "
    "in data retrieval. The most updated data is 2 minutes after an order is created or last updated. "
    "If you set the CreatedBefore or LastUpdatedBefore parameters, please provide a date that is at "
    "least 2 minutes before current time and try again.")
INVALID_INPUT = "The input you have submitted is not valid. Please check your input and try again."
TWO_MINUTES_S = 120

# --------------------------------------------------------------- orders

#: Restricted resources: (method, path pattern) -> operation, for RDTs.
RESTRICTED = {
    ("GET", "/orders/v0/orders"): "getOrders",
    ("GET", "/orders/v0/orders/{orderId}"): "getOrder",
    ("GET", "/orders/v0/orders/{orderId}/orderItems"): "getOrderItems",
    ("GET", "/orders/v0/orders/{orderId}/address"): "getOrderAddress",
    ("GET", "/orders/v0/orders/{orderId}/buyerInfo"): "getOrderBuyerInfo",
}
RESTRICTED_ADDRESS = "/orders/v0/orders/{orderId}/address"
DATA_ELEMENTS = frozenset({"buyerInfo", "shippingAddress", "buyerTaxInformation"})

#: Values of Amazon's CarrierCode list accepted by confirmShipment in the
#: sandbox (a representative part of the published list; matched exactly).
CARRIER_CODES = frozenset({
    "USPS", "UPS", "UPSMI", "FedEx", "FedEx SmartPost", "DHL", "DHL eCommerce", "DHL Express",
    "DHL Global Mail", "Deutsche Post", "DPD", "GLS", "Hermes", "Hermes Logistik Gruppe", "Evri",
    "Royal Mail", "Parcelforce", "Yodel", "TNT", "Chronopost", "Colissimo", "La Poste", "Correos",
    "SEUR", "Poste Italiane", "BRT", "SDA", "PostNL", "Bpost", "Canada Post", "Purolator",
    "Australia Post", "Japan Post", "YamatoTransport", "SagawaExpress", "China Post", "Yanwen",
    "YunExpress", "4PX", "SF Express", "OnTrac", "LaserShip", "Amazon Shipping", "Asendia",
    "Landmark Global", "Spring GDS", "Other",
})

SHIPPABLE = frozenset({"Unshipped", "PartiallyShipped"})

# --------------------------------------------------------------- listings and feeds

MAX_FEED_MESSAGES = 25_000
MAX_FEED_BYTES = 10 * 1024 * 1024
MAX_TITLE_CHARS = 200
FEED_TYPES = frozenset({"JSON_LISTINGS_FEED", "POST_ORDER_ACKNOWLEDGEMENT_DATA", "POST_PAYMENT_ADJUSTMENT_DATA"})
#: Attributes a LISTING submission must carry in the sandbox's product-type model.
REQUIRED_LISTING_ATTRIBUTES = ("item_name", "brand", "condition_type", "purchasable_offer")
REQUIRED_OFFER_ONLY_ATTRIBUTES = ("condition_type", "purchasable_offer")
