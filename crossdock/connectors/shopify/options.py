"""Shopify's channel keys: ``[channels.NAME.options]`` (the fields of
:class:`~crossdock.connectors.shopify.settings.ShopifySettings` the channel table does not
already set, passed to the settings as they are) and ``[channels.NAME.urls]``.
tests/core/test_config_schema.py checks every key against the settings class."""

from __future__ import annotations

from crossdock.config_schema import BOOL, INT, NUMBER, TEXT, URL, Key, table_of

OPTIONS: tuple[Key, ...] = (
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
    Key("max_throttle_retries", INT, "Not used any more: a THROTTLED answer goes back to the job at once, "
        "which waits without holding a worker. Still accepted so older configs load.", default=3, minimum=0),
    Key("max_throttle_wait_s", NUMBER, "Not used any more (see max_throttle_retries). Still accepted so older "
        "configs load.", default=60.0, minimum=0, unit="platform seconds"),
    Key("inventory_reason", TEXT, "Reason recorded with every quantity crossdock sets.", default="correction"),
    Key("reference_document_uri", TEXT, "Reference document recorded with every quantity crossdock sets.",
        default="gid://crossdock/SyncJob/stock"),
    Key("notify_customer", BOOL, "Shopify e-mails the buyer when crossdock confirms a shipment.", default=True),
    Key("carrier_overrides", table_of(TEXT), "crossdock carrier name = the tracking company name Shopify shows.",
        default=None),
)

#: Settings fields the channel table itself provides (not options).
URLS: tuple[Key, ...] = (
    Key("redirect_url", URL, "`crossdock auth connect`: the redirect URL registered with the app, sent instead of http://127.0.0.1:PORT/callback when the platform accepts only a registered (HTTPS) one; it must "
        "forward the browser, query intact, to that loopback address.", default=None),
)

CHANNEL_PROVIDED = frozenset({"channel", "shop", "client_id", "client_secret", "currency", "shop_url"})
#: Settings fields deliberately not configurable per channel, and why.
NOT_OPTIONS: dict[str, str] = {}
