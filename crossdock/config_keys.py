"""Every key of crossdock.toml, declared once.

:data:`SCHEMA` drives :func:`crossdock.config.parse` (types, defaults, ranges,
required keys, secret references, unknown keys) and renders the reference
(``crossdock config reference`` → docs/configuration.md). A key the code
reads must be declared here; a key declared here is documented.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crossdock.config_options import PLATFORM_OPTIONS, PLATFORM_URLS
from crossdock.platforms.registry import find as find_platform
from crossdock.platforms.registry import names as platform_names
from crossdock.config_schema import (
    BOOL,
    COUNTRY,
    CURRENCY,
    DECIMAL,
    IDENT,
    INT,
    MONEY,
    NUMBER,
    SECRET,
    TABLE,
    TEXT,
    TEXT_LIST,
    TEXT_OR_TABLE,
    URL,
    Entries,
    Invalid,
    Key,
    Table,
    Validation,
    table_of,
)
from crossdock.config_schema import relative_path as _path
from crossdock.config_keys_events import EVENTS
from crossdock.config_keys_safety import BACKUP, RETENTION
from crossdock.config_keys_worker import WORKER

#: Jobs with a per-channel interval (``[channels.NAME.intervals_s]``).
JOBS = ("orders", "stock", "prices", "listings", "shipments", "reconcile", "tracking", "platform_stock", "returns")
DEFAULT_INTERVALS_S = {"orders": 120, "stock": 30, "prices": 900, "listings": 3600, "shipments": 60,
                       "reconcile": 3600, "tracking": 1800, "platform_stock": 1800,
                       "returns": 3600}
#: Channel keys that hold secret references.
SECRET_KEYS = frozenset({"client_secret", "refresh_token", "trading_token", "aws_access_key_id",
                         "aws_secret_access_key"})

DATABASE_URL = "sqlite:///crossdock.sqlite"
BROKER_URL = "stub://"
RATELIMIT_URL = "sql://"


# ---------------------------------------------------------------- checks
def _database_url(value: str, ctx: Validation) -> str:
    """A relative SQLite path is relative to the configuration file's folder."""
    if value.startswith("sqlite:///") and not value.startswith("sqlite:////") and ctx.base_dir is not None:
        rel = value[len("sqlite:///"):]
        if rel and rel != ":memory:":
            return "sqlite:///" + str((Path(ctx.base_dir) / rel).resolve())
    return value


def _sync_check(values: dict[str, Any], ctx: Validation, path: str) -> None:
    beat, dead = values.get("heartbeat_s"), values.get("worker_dead_after_s")
    if beat is not None and dead is not None and dead <= beat:
        raise Invalid(f"worker_dead_after_s ({dead:g}) must be longer than heartbeat_s ({beat:g})")


def _stock_check(values: dict[str, Any], ctx: Validation, path: str) -> None:
    """Through the rule's own parser (one source for what a stock rule means)."""
    from crossdock.mapping.inventory_rules import stock_rule_from_config

    stock_rule_from_config(values, where=path)


def _price_check(values: dict[str, Any], ctx: Validation, path: str) -> None:
    from crossdock.mapping.pricing import price_rule_from_config

    price_rule_from_config(values, where=path)


# ---------------------------------------------------------------- sections
DATABASE = Table("database", "Where crossdock keeps its data. `CROSSDOCK_DATABASE_URL` overrides it.", (
    Key("url", TEXT, "`sqlite:///PATH` (relative to this file's folder; the embedded default) or "
        "`postgresql://user:password@host:5432/db`.", default=DATABASE_URL, check=_database_url),
))

BROKER = Table("broker", "The message broker `crossdock worker` processes share. `CROSSDOCK_BROKER_URL` "
               "overrides it.", (
    Key("url", TEXT, "`stub://` (in-process: one process runs everything), `redis://host:6379/0` or "
        "`amqp://user:password@host:5672/`.", default=BROKER_URL),
))

PLAN = Table("PLATFORM.OPERATION", "Override one operation's published usage plan, e.g. "
             "`[ratelimit.plans.\"amazon.getOrders\"]`.", (
    Key("rate_per_s", NUMBER, "Calls restored per second.", required=True, minimum=0, exclusive_minimum=True),
    Key("burst", NUMBER, "Calls that may be made at once (bucket size).", required=True, minimum=0,
        exclusive_minimum=True),
))

RATELIMIT = Table("ratelimit", "The shared quota budget every process asks before a platform call. "
                  "`CROSSDOCK_RATELIMIT_URL` overrides the URL.", (
    Key("url", TEXT, "`sql://` (the database; on SQLite a file of its own beside it, `NAME.quota.sqlite`), "
        "`redis://host:6379/1`, or `memory://` (one process only).",
        default=RATELIMIT_URL),
    Key("time_scale", NUMBER, "Platform seconds per real second: 1 against live platforms; the sandbox's "
        "speed-up when rehearsing against `crossdock sandbox serve --time-scale K`.", default=1.0, minimum=0,
        exclusive_minimum=True),
    Entries("plans", "PLATFORM.OPERATION", PLAN),
))

SECRETS = Table("secrets", "Where the key that encrypts secrets comes from. `CROSSDOCK_SECRET_KEY` (a Fernet "
                "key) wins over the key file; `crossdock config init` writes both the file and this key. "
                "`crossdock config rotate-key` changes the key and re-encrypts everything under it; while it "
                "runs, the file (one key per line) or the variable (comma separated) holds the new key first "
                "and the old one after it: the first encrypts, each decrypts.", (
    Key("key_file", TEXT, "File holding the Fernet key (relative to this file's folder). It must be "
        "readable by its owner only (mode 0600), like an ssh key.", default=None, check=_path),
), example='[secrets]\nkey_file = "crossdock.key"')

LABELS = Table("labels", "Shipping labels written by `warehouse ship` and auto-ship.", (
    Key("dir", TEXT, "Folder for label files (PDF, ZPL), relative to this file's folder.", default="labels"),
))

SYNC = Table("sync", "The engine: schedules, leases, workers and housekeeping. Intervals are platform seconds "
             "(they follow `[ratelimit] time_scale` against the sandbox) unless marked real.", (
    Key("coalesce_window_s", NUMBER, "A channel's stock pushes start at most once in this long: a change on a "
        "channel with no push in this window nor the last is pushed at once, later ones wait for the window's "
        "end, so a burst of sales makes one push; a change of 100 SKUs or more of a channel at once (a stock "
        "file) is pushed without waiting.", default=10.0, minimum=0, exclusive_minimum=True,
        unit="platform seconds"),
    Key("initial_lookback_s", NUMBER, "How far back a channel's first order import starts.", default=86_400.0,
        minimum=0, unit="platform seconds"),
    Key("stock_sweep_s", INT, "How often every channel's stock is pushed for SKUs marked dirty.", default=30,
        minimum=1, unit="platform seconds"),
    Key("lease_s", NUMBER, "How long a worker holds a job (and the SKUs of a push) before another may take it "
        "over; must exceed the longest job. A killed worker's work waits this long.", default=300.0, minimum=0,
        exclusive_minimum=True, unit="platform seconds"),
    Key("auto_publish", BOOL, "Publish catalogue products that have no listing on a channel, on the channel's "
        "`intervals_s.listings`.", default=False),
    Key("listings_per_run", INT, "Listings published by one run of the listings job.", default=200, minimum=1),
    Key("auto_ship", BOOL, "Ship orders that are ready (labels from `auto_ship_carrier`); the demo turns it on.",
        default=False),
    Key("auto_ship_s", INT, "How often auto-ship runs.", default=60, minimum=1, unit="platform seconds"),
    Key("auto_ship_carrier", TEXT, "Carrier auto-ship books labels with.", default="sandbox"),
    Key("tracking_s", INT, "How often shipments' tracking is polled.", default=1800, minimum=1,
        unit="platform seconds"),
    Key("tracking_silence_days", NUMBER, "A shipment without tracking news this long is flagged XD-SHIP-002.",
        default=7.0, minimum=0, exclusive_minimum=True, unit="days"),
    Key("oversell_guard", BOOL, "Never list more units of a SKU across channels than are available: each "
        "channel shows its share (in proportion to its stock rule), counting what a channel may still sell "
        "from its last push. Off, every channel lists all its rule gives, and sales made while crossdock has not "
        "seen another channel's sale yet are oversold (docs/overselling.md).", default=True),
    Key("detect_unseen_sales", BOOL, "Before pushing to Amazon, read the SKUs back: units missing from a "
        "listing are a sale not imported yet and are held from every channel until its order arrives.",
        default=True),
    Key("amazon_shared_order_poll", BOOL, "One getOrders call reads all Amazon marketplaces of one seller and "
        "region (they share its quota of one call a minute).", default=True),
    Key("tick_s", NUMBER, "Shortest time between looks of `crossdock worker`'s scheduler loop at due schedules "
        "and outbox entries; with nothing due sooner it sleeps this long or 0.1 real seconds, whichever is "
        "longer. A stock push or an event's read sleeps through a quota wait no longer than this instead of "
        "handing its entry back.", default=0.5, minimum=0,
        exclusive_minimum=True, unit="platform seconds"),
    Key("heartbeat_s", NUMBER, "How often each worker writes its heartbeat.", default=5.0, minimum=0,
        exclusive_minimum=True, unit="real seconds"),
    Key("worker_dead_after_s", NUMBER, "A worker silent this long is declared dead (XD-SYNC-007) and what it "
        "held goes back to the queue.", default=30.0, minimum=0, exclusive_minimum=True, unit="real seconds"),
    Key("housekeeping_s", INT, "How often housekeeping runs: lease expiry, release of unseen sales, "
        "token-expiry warnings.", default=60, minimum=1, unit="platform seconds"),
    Key("reconcile", BOOL, "Reconcile each channel on its `intervals_s.reconcile` and push what drifted.",
        default=True),
    Key("stuck_s", INT, "How often orders are checked for being stuck (XD-ORD-002, XD-ORD-003).", default=900,
        minimum=1, unit="platform seconds"),
    Key("stuck_status_s", NUMBER, "An order whose platform status has disagreed with crossdock's this long is "
        "flagged stuck (XD-ORD-002), e.g. shipped here but never confirmed there.", default=21_600.0, minimum=0,
        exclusive_minimum=True, unit="platform seconds"),
    Key("alerts_s", INT, "How often the worker evaluates doctor's checks and delivers alerts ([alerts]).",
        default=300, minimum=1, unit="platform seconds"),
    Key("token_warning_days", NUMBER, "Warn (XD-AUTH-005) this many days before a credential expires.",
        default=30.0, minimum=0, unit="days"),
), check=_sync_check)

def _alert_url(value: Any, ctx: Any) -> Any:
    """An apprise URL as text, or a secret reference when it holds a password."""
    from crossdock.config_schema import _secret

    return value if isinstance(value, str) else _secret("url", value, ctx.loc("alerts.targets.NAME.url"))


ALERT_TARGET = Table("NAME", "One place alerts go: an apprise URL (`mailto://…`, `json://…`, `slack://…`, "
                     "`msteams://…`, `ntfy://…`) and what it wants.", (
    Key("url", TEXT_OR_TABLE, "The apprise URL; `{env = \"VAR\"}` or `{encrypted = \"…\"}` when it holds a "
        "password.", required=True, check=_alert_url),
    Key("codes", TEXT_LIST, "Only these codes or code prefixes (`XD-AUTH-005`, `XD-AUTH`); none: every code.",
        default=None),
    Key("areas", TEXT_LIST, "Only these areas (AUTH, SYNC, ORD…), besides `codes`.", default=None),
    Key("min_severity", TEXT, "The least severe alert it wants.", default="warn", choices=("warn", "fail")),
))

ALERTS = Table("alerts", "Alerts raised by the worker from `crossdock doctor`'s checks (every `[sync] alerts_s`): "
               "one per code, channel and subject until it clears, a reminder, a resolved message.", (
    Key("reminder_h", NUMBER, "Remind of an alert still open and not acknowledged after this long.",
        default=24.0, minimum=0, exclusive_minimum=True, unit="real hours"),
    Key("lag_factor", NUMBER, "Order import lag over this many order intervals is a warning (XD-ORD-009); "
        "three times that, a failure.", default=3.0, minimum=1),
    Key("drop_window_h", NUMBER, "Orders-drop hint (XD-ORD-011): the window compared with the same window of the "
        "same weekday over four weeks (or the day before, for a young shop).", default=1.0, minimum=0,
        exclusive_minimum=True, unit="platform hours"),
    Key("drop_fraction", NUMBER, "A hint when a window brings fewer orders than this share of what was expected.",
        default=0.3, minimum=0, maximum=1),
    Key("drop_min_expected", NUMBER, "No hint unless at least this many orders were expected in the window.",
        default=3.0, minimum=0),
    Entries("targets", "NAME", ALERT_TARGET),
), example='[alerts.targets.ops]\nurl = "mailto://smtp.example.com?from=crossdock@example.com&to=ops@example.com"\n'
           'min_severity = "warn"')


SERVE = Table("serve", "The support console (`crossdock serve`): how it is reached and how logins are guarded.", (
    Key("behind_proxy", BOOL, "A TLS-terminating reverse proxy sits in front of the console (it sets "
        "X-Forwarded-Proto): with `--allow-remote`, the console may then listen on a non-loopback address.",
        default=False),
    Key("tls_cert_file", TEXT, "Certificate (PEM) the console serves HTTPS with, relative to this file's "
        "folder; with `tls_key_file`.", default=None, check=_path),
    Key("tls_key_file", TEXT, "Private key (PEM) of `tls_cert_file`.", default=None, check=_path),
    Key("session_h", NUMBER, "A console login lasts this long.", default=12.0, minimum=0, exclusive_minimum=True,
        unit="real hours"),
    Key("login_failures", INT, "Failed logins of one user name that lock it (an address gets four times as "
        "many).", default=5, minimum=1),
    Key("lockout_s", NUMBER, "How long a locked user name or address is refused (XD-ACCESS-003); also the "
        "window failures are counted in.", default=900.0, minimum=1, unit="real seconds"),
), example='[serve]\nbehind_proxy = true')


SANDBOX = Table("sandbox", "Only when rehearsing against the built-in sandbox (`crossdock sandbox serve`); "
                "`crossdock config init --from-sandbox` writes it.", (
    Table("clock", "The sandbox's scaled clock, so crossdock's \"now\" is the platforms' now.", (
        Key("time_scale", NUMBER, "Platform seconds per real second.", required=True, minimum=0,
            exclusive_minimum=True),
        Key("origin_real", NUMBER, "Real Unix time at which the clocks were equal.", required=True),
        Key("origin_platform", NUMBER, "Platform Unix time at that moment.", required=True),
    ), fill=False),
    Table("carrier", "The sandbox carrier (`auto_ship_carrier = \"sandbox\"`).", (
        Key("seed", INT, "Random seed of failures, stalls and tracking numbers.", default=0),
        Key("failure_rate", NUMBER, "Share of bookings the carrier refuses.", default=0.0, minimum=0, maximum=1),
        Key("stall_rate", NUMBER, "Share of parcels whose tracking stops moving.", default=0.0, minimum=0,
            maximum=1),
        Key("time_scale", NUMBER, "Speed of tracking stages.", default=1.0, minimum=0, exclusive_minimum=True),
        Key("stage_hours", table_of(NUMBER), "Hours after booking of each stage (label_created, picked_up, "
            "in_transit, out_for_delivery, delivered).", default=None),
        Key("currency", CURRENCY, "Currency of the carrier's rates.", default="EUR"),
        Key("max_weight_g", INT, "Heaviest parcel accepted.", default=30_000, minimum=1, unit="grams"),
    ), fill=False),
), fill=False)

ADDRESS = Table("address", "Ship-from address on labels and customs forms (the country is the warehouse's).", (
    Key("name", TEXT, "Sender name; default: the warehouse name.", default=None),
    Key("line1", TEXT, "Street and number.", default=None),
    Key("line2", TEXT, "Second address line.", default=None),
    Key("city", TEXT, "City.", default=None),
    Key("region", TEXT, "State, province or region.", default=None),
    Key("postal_code", TEXT, "Postal code.", default=None),
    Key("phone", TEXT, "Phone number for the carrier.", default=None),
), fill=False)

WAREHOUSE = Table("CODE", "One stock location; CODE is the warehouse code used in stock files and commands "
                  "(`--warehouse DE`).", (
    Key("name", TEXT, "Display name; default: the code.", default=None),
    Key("country", COUNTRY, "Where it ships from (routing, customs).", required=True),
    Key("bins", TEXT_LIST, "Bin locations for stock and pick lists.", default=[]),
    ADDRESS,
), example='[warehouses.DE]\nname = "Leipzig"\ncountry = "DE"\nbins = ["A-01", "A-02"]\n'
           'address = { line1 = "Lagerstrasse 4", city = "Leipzig", postal_code = "04109" }')

INTERVALS = Table("intervals_s", "How often each job runs for this channel (platform seconds). Today the "
                  "scheduler uses `orders`, `prices`, `listings`, `reconcile`, `platform_stock` and `returns` per "
                  "channel; stock pushes, "
                  "auto-ship and tracking run on `[sync]` `stock_sweep_s`, `auto_ship_s` and `tracking_s`.",
                  tuple(Key(job, INT, {
                      "orders": "Import orders.", "stock": "Push stock (reserved: see `[sync] stock_sweep_s`).",
                      "prices": "Push prices.", "listings": "Publish listings (with `[sync] auto_publish`).",
                      "shipments": "Confirm shipments (reserved: see `[sync] auto_ship_s`).",
                      "reconcile": "Compare listed quantities and prices with crossdock's (with `[sync] "
                                   "reconcile`).",
                      "tracking": "Poll tracking (reserved: see `[sync] tracking_s`).",
                      "platform_stock": "Read the stock the platform holds itself (Amazon FBA) into its own "
                                        "location (only for platforms that hold stock).",
                      "returns": "Read the returns buyers opened on the platform into RMAs (only for platforms "
                                 "that give them)."}[job],
                      default=DEFAULT_INTERVALS_S[job], minimum=1) for job in JOBS))

STOCK = Table("stock", "How much of the shared stock pool this channel shows: "
              "`min(max_listed, floor((available − buffer) × share))` (crossdock.mapping.inventory_rules).", (
    Key("buffer", INT, "Units kept back from this channel.", default=0, minimum=0),
    Key("max_listed", INT, "Never show more than this.", default=None, minimum=0),
    Key("share", DECIMAL, "Share of what is left to show, 0 to 1 (write it in quotes: \"0.5\").", default="1"),
), fill=False, check=_stock_check, example='[channels.ebay-gb.stock]\nbuffer = 2\nmax_listed = 50\nshare = "0.5"')

PRICE = Table("price", "The channel's price from the product's base price (crossdock.mapping.pricing): "
              "converted with the stored FX rates, times `markup`, plus `add`, rounded, kept between "
              "`floor` and `ceiling`.", (
    Key("markup", DECIMAL, "Multiplier after conversion (1.15 = 15 % more).", default="1"),
    Key("add", MONEY, "Amount added after the markup (\"0.99 EUR\"; converted).", default=None),
    Key("rounding", TEXT_OR_TABLE, "Rounding: `nearest`, `charm` / `charm:0.99` (price endings), "
        "`up_to:0.05` (up to a step); a table gives one per currency plus `default`.", default="nearest"),
    Key("floor", MONEY, "Lowest price (\"5.00 EUR\").", default=None),
    Key("ceiling", MONEY, "Highest price.", default=None),
    Key("fx_max_age_days", INT, "An FX rate older than this is stale (XD-MAP-006); none = any age.",
        default=None, minimum=0, unit="days"),
), fill=False, check=_price_check, example='[channels.amazon-de.price]\nmarkup = "1.15"\nrounding = "charm:0.99"\nfloor = "9.99 EUR"')

URLS = Table("urls", "Extra endpoints of the platform (production values are the defaults).", (),
             fill=False, variant_by="platform", variants=PLATFORM_URLS)

OPTIONS = Table("options", "Platform settings passed to the channel's connector.", (), fill=False,
                variant_by="platform", variants=PLATFORM_OPTIONS)

CHANNEL = Table("NAME", "One platform account in one marketplace. NAME is how commands name the channel "
                "(`--channel amazon-de`).", (
    Key("platform", TEXT, "The platform.", required=True, choices=platform_names),
    Key("account", TEXT, "Amazon: the seller (merchant) id; eBay: the seller's user name; Shopify: the shop "
        "name (`NAME.myshopify.com`).", required=True),
    Key("currency", CURRENCY, "Currency prices are pushed in.", required=True),
    Key("marketplace", TEXT, "Amazon: the marketplace id (ATVPDKIKX0DER, A1PA6795UKMFR9, …), required; eBay: "
        "the marketplace (EBAY_GB, EBAY_DE, …), default EBAY_GB; Shopify: not used.", default=None),
    Key("country", COUNTRY, "The marketplace's country.", default=None),
    Key("client_id", TEXT, "The application's client id (Amazon LWA, eBay App ID, Shopify API key); "
        "required to connect.", default=None),
    Key("client_secret", SECRET, "The application's client secret (Amazon LWA, eBay Cert ID, Shopify API "
        "secret).", default=None),
    Key("refresh_token", SECRET, "The seller's refresh token; crossdock stores the rotated ones itself. eBay: "
        "optional when trading_token is given.", default=None),
    Key("trading_token", SECRET, "eBay only: the Auth'n'Auth token of the Trading API.", default=None),
    Key("aws_access_key_id", SECRET, "Amazon only: the AWS access key that reads the SP-API notifications "
        "queue (options.events_queue_url); with aws_secret_access_key. Unset: boto3's own credential chain.",
        default=None),
    Key("aws_secret_access_key", SECRET, "Amazon only: the secret of aws_access_key_id.", default=None),
    Key("base_url", URL, "API endpoint; default: the platform's production endpoint for the marketplace "
        "(Shopify: https://NAME.myshopify.com).", default=None),
    Key("auth_url", URL, "Token endpoint (Amazon: the LWA URL; eBay: the OAuth token URL); default: "
        "production.", default=None),
    Key("handling_time_h", INT, "Hours an order may wait unshipped before it is reported stuck (XD-ORD-003).",
        default=48, minimum=1, unit="hours"),
    Key("safety_lag_s", NUMBER, "Order import windows end this far behind now; default per platform (Amazon "
        "120, eBay 5, Shopify 2; Amazon never less than its 120).", default=None, minimum=0,
        unit="platform seconds"),
    Key("overlap_s", NUMBER, "Each order import window starts this far before the last one ended; default per "
        "platform (Amazon 60, eBay 180, Shopify 60).", default=None, minimum=0, unit="platform seconds"),
    URLS, INTERVALS, STOCK, PRICE, OPTIONS,
), example=(
    '[channels.amazon-de]\nplatform = "amazon"\naccount = "A1SELLERID"\nmarketplace = "A1PA6795UKMFR9"\n'
    'currency = "EUR"\ncountry = "DE"\nclient_id = "amzn1.application-oa2-client.…"\n'
    'client_secret = {env = "AMAZON_LWA_CLIENT_SECRET"}\nrefresh_token = {encrypted = "gAAAAA…"}'))

CATEGORIES = Table("categories", "Catalogue category → platform category (crossdock.mapping.categories).", (
    Key("map", table_of(IDENT), "\"Catalogue/Path\" = \"platform category\"; a path without its own entry uses "
        "its parent's.", default=None),
    Key("default", IDENT, "Platform category when nothing matches (else XD-MAP-007).", default=None),
    Key("separator", TEXT, "Separator of catalogue category paths.", default="/"),
), fill=False)

ATTRIBUTES = Table("attributes", "Product attributes → the platform's attributes "
                   "(crossdock.mapping.attributes).", (
    Key("passthrough", BOOL, "Start from the product's own attributes.", default=True),
    Key("rules", TABLE, "target = {rename = \"field\"} | {constant = value} | {template = \"{brand} {title}\"}, "
        "each optionally with default and required.", default=None),
), fill=False)

VALIDATION = Table("validation", "Listing checks before publishing, over the platform's defaults "
                   "(crossdock.mapping.validation).", (
    Key("title_max_chars", INT, "Longest title.", default=None, minimum=0),
    Key("min_images", INT, "Fewest images.", default=None, minimum=0),
    Key("max_images", INT, "Most images.", default=None, minimum=0),
    Key("min_image_px", INT, "Smallest image side.", default=None, minimum=0, unit="pixels"),
    Key("required_attributes", TEXT_LIST, "Attributes every listing needs.", default=None),
    Key("required_by_category", table_of(TEXT_LIST), "Platform category id = [attributes it needs].",
        default=None),
    Key("category_attribute", TEXT, "Attribute that receives the mapped platform category.", default=None),
), fill=False)

LISTING_RULES = Table("CHANNEL", "Listing rules of one configured channel (used by the listings job).",
                      (CATEGORIES, ATTRIBUTES, VALIDATION), fill=False,
                      example='[rules.listings.ebay-gb.categories]\ndefault = "29223"\n'
                              'map = {"Clothing/Shirts" = "57990"}\n'
                              '[rules.listings.ebay-gb.validation]\ntitle_max_chars = 80')

SHIPPING = Table("shipping", "Defaults of `warehouse ship` and auto-ship.", (
    Key("carrier", TEXT, "Carrier for `warehouse ship`.", default="sandbox"),
    Key("service", TEXT, "Carrier service.", default="standard"),
    Key("packaging_weight_g", INT, "Added to the line weights.", default=0, minimum=0, unit="grams"),
    Key("printer", TEXT, "Label printer host:port (none: files only).", default=None),
    Key("printer_dpi", INT, "Printer resolution.", default=203, choices=(203, 300)),
    Key("require_ioss", BOOL, "Refuse EU parcels a marketplace facilitates without an IOSS number "
        "(XD-MAP-009).", default=False),
    Key("customs_category", TEXT, "CN22/CN23 category.", default="sale_of_goods",
        choices=("gift", "documents", "commercial_sample", "returned_goods", "sale_of_goods", "other")),
    Key("cn22_thresholds", table_of(DECIMAL), "Currency = value above which a CN23 replaces the CN22.",
        default=None),
    Key("stale_after_days", NUMBER, "Tracking silent this long is XD-SHIP-002.", default=7.0, minimum=0,
        exclusive_minimum=True, unit="days"),
), fill=False)

ROUTING = Table("routing", "Which warehouse ships an order (crossdock.warehouse.routing).", (
    Key("fallback", TEXT_LIST, "Warehouse codes in order of preference.", default=None),
    Key("by_destination", table_of(TEXT_LIST), "Buyer country = [warehouse codes] tried first.", default=None),
    Key("only_listed", BOOL, "Only route to warehouses named above.", default=False),
), fill=False)

RULES = Table("rules", "The seller's rules.", (
    Entries("listings", "CHANNEL", LISTING_RULES),
    SHIPPING, ROUTING,
), fill=False)


def _root_check(values: dict[str, Any], ctx: Validation, path: str) -> None:
    """Listing rules name configured channels and parse for their platform."""
    from crossdock.errors import ConfigError

    channels = values.get("channels") or {}
    listings = (values.get("rules") or {}).get("listings") or {}
    for name, conf in listings.items():
        where = f"rules.listings.{name}"
        if name not in channels:
            ctx.problem("XD-CFG-003", f"{ctx.loc(where)}: no channel {name!r} (known: "
                                      f"{', '.join(sorted(channels)) or 'none configured'})", key=where)
            continue
        platform = channels[name].get("platform")
        if find_platform(platform) is None:
            continue
        from crossdock.mapping.attributes import attribute_mapping_from_config
        from crossdock.mapping.categories import category_mapping_from_config
        from crossdock.mapping.validation import platform_rules_from_config

        for key, parse in (("categories", lambda d, w: category_mapping_from_config(d, channel=name, where=w)),
                           ("attributes", lambda d, w: attribute_mapping_from_config(d, where=w)),
                           ("validation", lambda d, w: platform_rules_from_config(platform, d, where=w))):
            if key in conf:
                try:
                    parse(conf[key], f"{where}.{key}")
                except ConfigError as exc:
                    ctx.problem(exc.code, f"{ctx.file}: {exc.detail}", key=f"{where}.{key}")


SCHEMA = Table("", "crossdock.toml", (
    DATABASE, BROKER, RATELIMIT, SECRETS,
    Entries("channels", "NAME", CHANNEL),
    Entries("warehouses", "CODE", WAREHOUSE),
    RULES, SYNC, WORKER, LABELS, BACKUP, RETENTION, ALERTS, SERVE, EVENTS, SANDBOX,
), check=_root_check)


REFERENCE_TITLE = "crossdock configuration reference"
REFERENCE_INTRO = """
Generated by `crossdock config reference` from the schema that validates the configuration
(`crossdock/config_keys.py`); a test fails when this file and the schema differ. Do not edit by hand.

crossdock reads one TOML file: `--config PATH`, else `CROSSDOCK_CONFIG`, else `crossdock.toml` in the
current folder. Without one, commands stop with XD-CFG-001: `crossdock config init` writes a commented
configuration (`--from-sandbox ADMIN_URL`: a working one for every account of a running sandbox).
`CROSSDOCK_DATABASE_URL`, `CROSSDOCK_BROKER_URL` and `CROSSDOCK_RATELIMIT_URL` override the file's URLs.
`crossdock config check` lists every problem at once, with its code.

- Unknown sections and keys are errors (XD-CFG-003) that name the known keys; a missing required key is
  XD-CFG-004.
- A **secret reference** is `{env = "VAR"}` (read from the environment) or `{encrypted = "…"}` (made by
  `crossdock config encrypt --from-env VAR`, decrypted with the key of `[secrets]`). A secret written
  in plain text is refused (XD-CFG-006).
- *Platform seconds* follow the platforms' clock: against the sandbox they pass `time_scale` times faster
  than real seconds.
- Keys marked "when `platform = …`" apply to channels of that platform only.
"""


def reference_markdown() -> str:
    """docs/configuration.md: the key reference of :data:`SCHEMA`."""
    from crossdock.config_schema import render_markdown

    return render_markdown(SCHEMA, title=REFERENCE_TITLE, intro=REFERENCE_INTRO)
