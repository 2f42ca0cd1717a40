"""Each platform's channel keys: ``[channels.NAME.options]`` and ``[channels.NAME.urls]``.

One tuple of :class:`~crossdock.config_schema.Key` per platform. The options
are the platform settings (``AmazonSettings``, ``EbaySettings``,
``ShopifySettings``) that the channel table does not already set; the channel
passes them to the settings as they are. tests/core/test_config_schema.py
checks that every declared key is a field of the settings class with the same
default, and that no settings field is left undeclared.

These tuples are the seam for platform folders (issue 12): each
``connectors/<platform>/`` will export its own keys in its ``PlatformSpec``
and the schema will read them from the registry instead of from here.
"""

from __future__ import annotations

from crossdock.config_schema import BOOL, DATE, INT, NUMBER, TABLE, TEXT, TEXT_LIST, URL, Key, table_of

_CARRIERS = Key("carrier_overrides", table_of(TEXT), "crossdock carrier name = the platform's carrier code, for "
                "carriers the built-in table does not know or names differently.", default=None)

AMAZON_OPTIONS: tuple[Key, ...] = (
    Key("language_tag", TEXT, "Language of listing text (en_US, de_DE, …); default: the marketplace's.",
        default=None),
    Key("product_type", TEXT, "Amazon product type for new listings when the product's category maps to none.",
        default="PRODUCT"),
    Key("feed_threshold", INT, "A stock or price push of more SKUs than this goes as one JSON_LISTINGS_FEED; "
        "smaller ones as patchListingsItem calls.", default=10, minimum=0),
    Key("order_changes_every_s", NUMBER, "How often orders are also read by LastUpdated (payments, "
        "cancellations); new orders are read by creation time every poll. 0 = always by LastUpdated.",
        default=900.0, minimum=0, unit="platform seconds"),
    Key("max_feed_messages", INT, "Messages per feed document (Amazon's limit: 25,000).", default=25_000,
        minimum=1, maximum=25_000),
    Key("max_feed_bytes", INT, "Bytes per feed document (Amazon's limit: 10 MB).", default=10 * 1024 * 1024,
        minimum=1),
    Key("feed_poll_s", NUMBER, "How often a submitted feed's processing status is read.", default=30.0,
        minimum=0, exclusive_minimum=True, unit="platform seconds"),
    Key("feed_timeout_s", NUMBER, "A feed not processed after this long fails the push (it is retried).",
        default=3600.0, minimum=0, exclusive_minimum=True, unit="platform seconds"),
    Key("page_size", INT, "Results per page of getOrders and searchListingsItems.", default=100, minimum=1,
        maximum=100),
    Key("timeout_s", NUMBER, "HTTP timeout of one call.", default=30.0, minimum=0, exclusive_minimum=True,
        unit="seconds"),
    Key("refresh_margin_s", NUMBER, "Refresh the LWA access token this long before it expires.", default=300.0,
        minimum=0, unit="platform seconds"),
    Key("max_throttle_retries", INT, "429 answers waited out in one call before XD-QUOTA-001 goes to the job.",
        default=3, minimum=0),
    _CARRIERS,
    Key("order_status_overrides", TABLE, "Amazon order status = crossdock status, over the built-in map "
        "(crossdock.mapping.status).", default=None),
    Key("authorisation_expires_at", DATE, "When the seller's authorisation of the app ends (for XD-AUTH-005 "
        "warnings); or give authorised_at.", default=None),
    Key("authorised_at", DATE, "When the seller authorised the app; the authorisation ends 365 days later.",
        default=None),
    Key("client_secret_expires_at", DATE, "When the LWA client secret expires; or give "
        "client_secret_rotated_at.", default=None),
    Key("client_secret_rotated_at", DATE, "When the LWA client secret was rotated; it expires 180 days later.",
        default=None),
    Key("expiry_warning_days", NUMBER, "Log XD-AUTH-005 this many days before a credential end date.",
        default=30.0, minimum=0, unit="days"),
)

EBAY_OPTIONS: tuple[Key, ...] = (
    Key("dev_id", TEXT, "Dev ID of the eBay application (Trading API header X-EBAY-API-DEV-NAME).", default=""),
    Key("site_id", INT, "Trading API site id; default: the marketplace's (EBAY_GB = 3).", default=None,
        minimum=0),
    Key("content_language", TEXT, "Content-Language of Inventory API calls; default: the marketplace's.",
        default=None),
    Key("compatibility_level", TEXT, "Trading API compatibility level.", default="1349"),
    Key("scopes", TEXT_LIST, "OAuth scopes asked for on every refresh.",
        default=["https://api.ebay.com/oauth/api_scope", "https://api.ebay.com/oauth/api_scope/sell.inventory",
                 "https://api.ebay.com/oauth/api_scope/sell.fulfillment"]),
    Key("timeout_s", NUMBER, "HTTP timeout of one call.", default=30.0, minimum=0, exclusive_minimum=True,
        unit="seconds"),
    Key("refresh_margin_s", NUMBER, "Refresh the access token this long before it expires.", default=300.0,
        minimum=0, unit="platform seconds"),
    Key("orders_page_size", INT, "Orders per getOrders page (eBay's maximum: 200).", default=200, minimum=1,
        maximum=200),
    Key("inventory_batch_size", INT, "Offers per bulk_update_price_quantity call (eBay's maximum: 25).",
        default=25, minimum=1, maximum=25),
    Key("trading_batch_size", INT, "Items per ReviseInventoryStatus call (eBay's maximum: 4).", default=4,
        minimum=1, maximum=4),
    Key("merchant_location_key", TEXT, "Business policy: the inventory location new offers ship from "
        "(needed to publish listings).", default=None),
    Key("fulfillment_policy_id", TEXT, "Business policy: shipping (fulfillment) policy of new offers.",
        default=None),
    Key("payment_policy_id", TEXT, "Business policy: payment policy of new offers.", default=None),
    Key("return_policy_id", TEXT, "Business policy: return policy of new offers.", default=None),
    Key("default_category_id", TEXT, "eBay category of new listings whose product names none.", default=None),
    _CARRIERS,
    Key("refresh_token_expires_at", DATE, "When the seller's consent (the refresh token, about 18 months) "
        "ends, for XD-AUTH-005 warnings.", default=None),
    Key("quota_reset_timezone", TEXT, "Time zone of eBay's daily call limits (their day is Pacific time).",
        default="America/Los_Angeles"),
    Key("throttle_wait_s", NUMBER, "Wait after a call-limit answer while calls remain (short-term limit).",
        default=60.0, minimum=0, unit="platform seconds"),
)

SHOPIFY_OPTIONS: tuple[Key, ...] = (
    Key("api_version", TEXT, "Admin GraphQL API version.", default="2026-10"),
    Key("location_id", TEXT, "Location (gid://shopify/Location/…) whose stock crossdock sets; default: the "
        "shop's first active location.", default=None),
    Key("timeout_s", NUMBER, "HTTP timeout of one call.", default=30.0, minimum=0, exclusive_minimum=True,
        unit="seconds"),
    Key("refresh_margin_s", NUMBER, "Refresh the access token this long before it expires.", default=300.0,
        minimum=0, unit="platform seconds"),
    Key("orders_page_size", INT, "Orders per page (query cost grows with it).", default=10, minimum=1,
        maximum=250),
    Key("line_items_page_size", INT, "Order lines fetched with each order; more are paged per order.",
        default=5, minimum=1, maximum=250),
    Key("stock_batch_size", INT, "Quantities per inventorySetQuantities call.", default=250, minimum=1,
        maximum=250),
    Key("sku_batch_size", INT, "SKUs resolved per productVariants query.", default=50, minimum=1, maximum=250),
    Key("price_mutations_per_request", INT, "productVariantsBulkUpdate calls aliased in one request.",
        default=20, minimum=1, maximum=100),
    Key("sku_cache_ttl_s", NUMBER, "How long a SKU → variant ids mapping is trusted.", default=3600.0,
        minimum=0, unit="platform seconds"),
    Key("max_throttle_retries", INT, "THROTTLED answers waited out before XD-QUOTA-001 goes to the job.",
        default=3, minimum=0),
    Key("max_throttle_wait_s", NUMBER, "Longest throttle wait inside one call; a longer one goes back to the "
        "job.", default=60.0, minimum=0, unit="platform seconds"),
    Key("inventory_reason", TEXT, "Reason recorded with every quantity crossdock sets.", default="correction"),
    Key("reference_document_uri", TEXT, "Reference document recorded with every quantity crossdock sets.",
        default="gid://crossdock/SyncJob/stock"),
    Key("notify_customer", BOOL, "Shopify e-mails the buyer when crossdock confirms a shipment.", default=True),
    Key("carrier_overrides", table_of(TEXT), "crossdock carrier name = the tracking company name Shopify shows.",
        default=None),
)

PLATFORM_OPTIONS: dict[str, tuple[Key, ...]] = {
    "amazon": AMAZON_OPTIONS, "ebay": EBAY_OPTIONS, "shopify": SHOPIFY_OPTIONS,
}

#: ``[channels.NAME.urls]``: endpoints besides ``base_url`` and ``auth_url``.
PLATFORM_URLS: dict[str, tuple[Key, ...]] = {
    "amazon": (),
    "ebay": (
        Key("trading_url", URL, "Trading API endpoint (listings made outside the Inventory API).",
            default="https://api.ebay.com/ws/api.dll"),
        Key("token_url", URL, "OAuth token endpoint (auth_url, when given, wins).",
            default="https://api.ebay.com/identity/v1/oauth2/token"),
    ),
    "shopify": (),
}

#: Settings fields the channel table itself provides (not options), per platform.
CHANNEL_PROVIDED: dict[str, frozenset[str]] = {
    "amazon": frozenset({"channel", "seller_id", "marketplace_id", "client_id", "client_secret", "refresh_token",
                         "endpoint", "lwa_url", "currency"}),
    "ebay": frozenset({"channel", "username", "client_id", "client_secret", "trading_token", "marketplace_id",
                       "currency", "base_url", "trading_url", "token_url"}),
    "shopify": frozenset({"channel", "shop", "client_id", "client_secret", "currency", "shop_url"}),
}
#: Settings fields deliberately not configurable per channel, and why.
NOT_OPTIONS: dict[str, dict[str, str]] = {
    "amazon": {"usage_plans": "quota plans are set in [ratelimit.plans]"},
    "ebay": {},
    "shopify": {},
}
