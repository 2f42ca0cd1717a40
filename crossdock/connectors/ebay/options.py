"""eBay's channel keys: ``[channels.NAME.options]`` (the fields of
:class:`~crossdock.connectors.ebay.settings.EbaySettings` the channel table does not
already set, passed to the settings as they are) and ``[channels.NAME.urls]``.
tests/core/test_config_schema.py checks every key against the settings class."""

from __future__ import annotations

from crossdock.config_options import CARRIER_OVERRIDES
from crossdock.config_schema import DATE, INT, NUMBER, TEXT, TEXT_LIST, URL, Key

OPTIONS: tuple[Key, ...] = (
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
    CARRIER_OVERRIDES,
    Key("refresh_token_expires_at", DATE, "When the seller's consent (the refresh token, about 18 months) "
        "ends, for XD-AUTH-005 warnings.", default=None),
    Key("runame", TEXT, "`crossdock auth connect`: the app's RuName (eBay's redirect_uri); its auth accepted URL "
        "must lead to http://127.0.0.1:PORT/callback. None: the loopback URL itself (the sandbox).", default=None),
    Key("quota_reset_timezone", TEXT, "Time zone of eBay's daily call limits (their day is Pacific time).",
        default="America/Los_Angeles"),
    Key("throttle_wait_s", NUMBER, "Wait after a call-limit answer while calls remain (short-term limit).",
        default=60.0, minimum=0, unit="platform seconds"),
)

URLS: tuple[Key, ...] = (
    Key("trading_url", URL, "Trading API endpoint (listings made outside the Inventory API).",
        default="https://api.ebay.com/ws/api.dll"),
    Key("token_url", URL, "OAuth token endpoint (auth_url, when given, wins).",
        default="https://api.ebay.com/identity/v1/oauth2/token"),
    Key("consent_url", URL, "`crossdock auth connect`: the page where the seller grants consent.",
        default="https://auth.ebay.com/oauth2/authorize"),
)

#: Settings fields the channel table itself provides (not options).
CHANNEL_PROVIDED = frozenset({"channel", "username", "client_id", "client_secret", "trading_token", "marketplace_id",
                              "currency", "base_url", "trading_url", "token_url"})
#: Settings fields deliberately not configurable per channel, and why.
NOT_OPTIONS: dict[str, str] = {}
