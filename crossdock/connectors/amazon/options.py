"""Amazon's channel keys: ``[channels.NAME.options]`` (the fields of
:class:`~crossdock.connectors.amazon.settings.AmazonSettings` the channel table does not
already set, passed to the settings as they are) and ``[channels.NAME.urls]``.
tests/core/test_config_schema.py checks every key against the settings class."""

from __future__ import annotations

from crossdock.config_options import CARRIER_OVERRIDES
from crossdock.config_schema import DATE, INT, NUMBER, TABLE, TEXT, URL, Key

OPTIONS: tuple[Key, ...] = (
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
    Key("max_throttle_retries", INT, "Not used any more: a 429 answer goes back to the job at once, which "
        "waits without holding a worker. Still accepted so older configs load.", default=3, minimum=0),
    CARRIER_OVERRIDES,
    Key("order_status_overrides", TABLE, "Amazon order status = crossdock status, over the built-in map "
        "(crossdock/connectors/amazon/statuses.py).", default=None),
    Key("authorisation_expires_at", DATE, "When the seller's authorisation of the app ends (for XD-AUTH-005 "
        "warnings); or give authorised_at.", default=None),
    Key("authorised_at", DATE, "When the seller authorised the app; the authorisation ends 365 days later.",
        default=None),
    Key("client_secret_expires_at", DATE, "When the LWA client secret expires; or give "
        "client_secret_rotated_at.", default=None),
    Key("client_secret_rotated_at", DATE, "When the LWA client secret was rotated; it expires 180 days later.",
        default=None),
    Key("application_id", TEXT, "`crossdock auth connect`: the app's id in Seller Central "
        "(amzn1.sp.solution.…); default: client_id.", default=None),
    Key("expiry_warning_days", NUMBER, "Log XD-AUTH-005 this many days before a credential end date.",
        default=30.0, minimum=0, unit="days"),
    Key("events_queue_url", URL, "The SQS queue the seller's SP-API notifications (ORDER_CHANGE) go to: "
        "`crossdock worker` reads it and reads each order it names at once; `crossdock events setup` "
        "subscribes the seller to it. Give it a dead-letter queue (redrive policy) so an unreadable message "
        "ends there. AWS keys: the channel's aws_access_key_id / aws_secret_access_key secrets, else "
        "boto3's own chain (environment, instance role).", default=None),
    Key("events_region", TEXT, "The AWS region of events_queue_url.", default="us-east-1"),
    Key("events_endpoint_url", URL, "Another SQS endpoint than AWS's for the region (the sandbox's, a VPC "
        "endpoint).", default=None),
    Key("events_wait_s", INT, "Long polling: how long one ReceiveMessage waits for a message.", default=20,
        minimum=1, maximum=20, unit="real seconds"),
)

URLS: tuple[Key, ...] = (
    Key("consent_url", URL, "`crossdock auth connect`: Seller Central's consent page; default: the marketplace "
        "region's (https://sellercentral.amazon.com/apps/authorize/consent in North America).", default=None),
    Key("redirect_url", URL, "`crossdock auth connect`: the redirect URL registered with the app, sent instead of http://127.0.0.1:PORT/callback when the platform accepts only a registered (HTTPS) one; it must "
        "forward the browser, query intact, to that loopback address.", default=None),
)

#: Settings fields the channel table itself provides (not options).
CHANNEL_PROVIDED = frozenset({"channel", "seller_id", "marketplace_id", "client_id", "client_secret", "refresh_token",
                              "endpoint", "lwa_url", "currency", "aws_access_key_id", "aws_secret_access_key"})
#: Settings fields deliberately not configurable per channel, and why.
NOT_OPTIONS: dict[str, str] = {"usage_plans": "quota plans are set in [ratelimit.plans]"}
