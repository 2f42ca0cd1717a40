"""The error catalogue: the single source of every code's title, meaning,
likely causes and remedy.

Rules: a code is never renamed, never reused, never removed (retire it with
``retired=True``). New codes go at the end of their area. The CLI
(``crossdock errors list|explain``), the sync log and exceptions all read from
here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CODE_RE = re.compile(r"^XD-(?P<area>[A-Z]+)-(?P<num>\d{3})$")

# Exit codes of the CLI (also on ErrorSpec.exit_code).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH_OR_CONNECTION = 3
EXIT_PARTIAL = 4

AREAS = {
    "CFG": "Configuration",
    "AUTH": "Authorisation and tokens",
    "QUOTA": "API quota and throttling",
    "NET": "Network and platform availability",
    "PLATFORM": "Platform rejected a request",
    "MAP": "Mapping, validation, currency and tax",
    "INV": "Inventory, reservations and overselling",
    "ORD": "Order import and order state",
    "SHIP": "Shipments, labels and tracking",
    "WH": "Warehouse operations",
    "DATA": "Storage, migrations and backups",
    "SYNC": "Sync engine, jobs and scheduling",
}

_AREA_EXIT = {"CFG": EXIT_USAGE, "AUTH": EXIT_AUTH_OR_CONNECTION, "NET": EXIT_AUTH_OR_CONNECTION}
# A code whose exit status differs from its area's (the area's stays the rule for every other code).
_CODE_EXIT = {"XD-DATA-001": EXIT_AUTH_OR_CONNECTION}

# What the sync engine does with a job that failed with a code (ErrorSpec.action;
# crossdock.sync_engine.failures applies it, to the engine's runs and to hand runs alike):
ACTION_WAIT = "wait"        # no quota now: try again when the platform or the budget says, no attempt used
ACTION_PAUSE = "pause"      # the channel's credentials fail: pause the channel, its jobs wait for a person
ACTION_RETRY = "retry"      # transient: try again with back-off (an attempt used)
ACTION_FAIL = "fail"        # permanent: fail the job; a person fixes the cause and replays it
ACTIONS = (ACTION_WAIT, ACTION_PAUSE, ACTION_RETRY, ACTION_FAIL)
_AREA_ACTION = {"QUOTA": ACTION_WAIT, "AUTH": ACTION_PAUSE}


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    title: str
    meaning: str
    causes: tuple[str, ...]
    remedy: str
    command: str | None = None
    retryable: bool = False
    retired: bool = False
    action: str | None = None        # the engine's action (ACTIONS); default: by area, then by retryable
    area: str = field(init=False)
    exit_code: int = field(init=False)

    def __post_init__(self) -> None:
        m = CODE_RE.match(self.code)
        if not m or m.group("area") not in AREAS:
            raise ValueError(f"bad error code {self.code!r}")
        object.__setattr__(self, "area", m.group("area"))
        object.__setattr__(self, "exit_code", _CODE_EXIT.get(self.code, _AREA_EXIT.get(self.area, EXIT_FAILED)))
        if self.action is None:
            default = ACTION_RETRY if self.retryable else ACTION_FAIL
            object.__setattr__(self, "action", _AREA_ACTION.get(self.area, default))
        if self.action not in ACTIONS:
            raise ValueError(f"{self.code}: action must be one of {ACTIONS}, got {self.action!r}")

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "area": self.area,
            "area_title": AREAS[self.area],
            "title": self.title,
            "meaning": self.meaning,
            "causes": list(self.causes),
            "remedy": self.remedy,
            "command": self.command,
            "retryable": self.retryable,
            "retired": self.retired,
            "exit_code": self.exit_code,
            "action": self.action,
        }


E = ErrorSpec

_ENTRIES: tuple[ErrorSpec, ...] = (
    # ---------------------------------------------------------------- CFG
    E("XD-CFG-001", "Configuration file not found",
      "crossdock could not find the configuration file it was told to read.",
      ("--config or CROSSDOCK_CONFIG names a path that does not exist",
       "the command runs in a folder without crossdock.toml"),
      "Run the command in the folder of your crossdock.toml, pass --config PATH or set CROSSDOCK_CONFIG; "
      "to start one, `crossdock config init` writes a commented configuration (with --from-sandbox ADMIN_URL, "
      "a working one for every account of a running sandbox). crossdock never runs on guessed defaults.",
      "crossdock config init"),
    E("XD-CFG-002", "Configuration file is not valid TOML",
      "The configuration file could not be parsed; the message names the line and column.",
      ("a missing quote or bracket", "a key written twice"),
      "Fix the file at the line shown, then run the check again.",
      "crossdock config check"),
    E("XD-CFG-003", "Configuration value is invalid",
      "A key in the configuration has a value of the wrong type or outside its allowed range.",
      ("a number written as text", "an unknown platform, currency or country code"),
      "Correct the key named in the message; `crossdock config check` lists every problem at once.",
      "crossdock config check"),
    E("XD-CFG-004", "Required configuration key missing",
      "A key that crossdock needs is absent from the configuration.",
      ("a channel without platform or account", "a warehouse without a country"),
      "Add the key named in the message.",
      "crossdock config check"),
    E("XD-CFG-005", "Secret not available",
      "A secret is referenced from the environment but the variable is not set, or an encrypted "
      "secret or stored token cannot be decrypted with the secret key (CROSSDOCK_SECRET_KEY, else the "
      "configuration's [secrets] key_file), or there is no key at all.",
      ("the environment variable is not exported to the worker", "the key was rotated or the key file replaced",
       "the configuration has no [secrets] key_file and CROSSDOCK_SECRET_KEY is not set"),
      "Export the variable named in the message in the worker's environment, or point [secrets] key_file "
      "(or CROSSDOCK_SECRET_KEY) at the key the secrets were encrypted with, or re-encrypt them with the "
      "current key.",
      "crossdock config check"),
    E("XD-CFG-006", "Plain-text secret in configuration",
      "A secret (token, client secret, password) is written in the configuration file in plain text. "
      "crossdock refuses to read it so it never lands in logs or backups.",
      ("a token pasted directly into crossdock.toml",),
      "Replace the value with {env = \"VAR_NAME\"} and export the variable, or with an encrypted "
      "value made by `crossdock config encrypt`.",
      "crossdock config encrypt"),
    E("XD-CFG-007", "Unknown channel",
      "A command names a channel that is not in the configuration.",
      ("a typo in the channel name", "the channel was removed from the config"),
      "Use one of the channels listed by `crossdock config show`.",
      "crossdock config show"),
    E("XD-CFG-008", "Unsupported database, broker or rate-limit URL",
      "A URL in CROSSDOCK_DATABASE_URL, CROSSDOCK_BROKER_URL or CROSSDOCK_RATELIMIT_URL has a "
      "scheme crossdock does not support.",
      ("a typo in the scheme", "a driver name crossdock does not ship"),
      "Use sqlite:///PATH or postgresql://… for the database; stub://, redis://… or amqp://… for "
      "the broker; memory://, sql:// or redis://… for the rate limiter."),
    E("XD-CFG-009", "Invalid command-line input",
      "A command-line argument or input file has a value crossdock cannot use.",
      ("a malformed date or duration", "a file that is not of the expected kind"),
      "Check the value against `crossdock COMMAND --help`. For a file or folder named in the message: fix every "
      "line listed, or make sure it exists, is a file (or a folder) as expected and can be read (and written, "
      "where crossdock writes), then run the command again."),
    E("XD-CFG-010", "Secret key file is not private",
      "The key file that decrypts crossdock's secrets ([secrets] key_file) may be read or written by "
      "other users (its mode, its owner, or a folder everyone may write to); crossdock refuses to use or "
      "write it, as ssh refuses such a private key.",
      ("the file was copied or created without restricting its mode",
       "the folder is shared and world-writable, such as /tmp"),
      "Make it readable by its owner only (`chmod 600 FILE`) and keep it in a folder others cannot "
      "write to; if others could read it, make a new key and re-encrypt the secrets.",
      "chmod 600 crossdock.key"),
    E("XD-CFG-011", "File already exists",
      "crossdock will not overwrite an existing configuration or key file unless told to.",
      ("`crossdock config init` run a second time in the same folder",),
      "Choose another --out path, or pass --force to replace the configuration (an existing key file is "
      "kept and reused, so stored tokens stay readable).",
      "crossdock config init --out PATH"),
    E("XD-CFG-012", "No sandbox at the given URL",
      "`crossdock config init --from-sandbox` reached the URL, but it did not answer with a sandbox "
      "description (an unreachable URL is XD-NET-001).",
      ("the URL is one of the sandbox's platform URLs, not its admin URL",
       "another service listens on that port"),
      "Start the sandbox and pass the admin_url it prints (the first line of `crossdock sandbox serve "
      "--json`).", "crossdock sandbox serve --json"),
    # ---------------------------------------------------------------- AUTH
    E("XD-AUTH-001", "Access token rejected",
      "The platform rejected the access token on a call. crossdock refreshes once and retries; this "
      "code means the fresh token was rejected too.",
      ("the application's permissions changed", "clock skew on this machine"),
      "Check the channel's authorisation in the platform's seller centre, then refresh the token.",
      "crossdock auth refresh CHANNEL", retryable=True),
    E("XD-AUTH-002", "Refresh token rejected or revoked",
      "The platform refused the refresh token, so no access token can be obtained. The channel is "
      "paused; other channels keep running.",
      ("the seller revoked the app's authorisation", "the refresh token expired (eBay 18 months)",
       "a rotating refresh token (Shopify) was used twice"),
      "Re-authorise the app for this seller account and store the new refresh token.",
      "crossdock auth set CHANNEL --refresh-token-env VAR"),
    E("XD-AUTH-003", "Seller authorisation expired",
      "The seller's authorisation of the application has lapsed (Amazon: every 365 days). Every call "
      "for this seller fails until it is renewed.",
      ("the yearly Amazon re-authorisation was not done in time",),
      "Have the seller renew the authorisation in Seller Central (Apps and Services → Manage Your "
      "Apps), then store the new refresh token.",
      "crossdock auth set CHANNEL --refresh-token-env VAR"),
    E("XD-AUTH-004", "Client secret expired or invalid",
      "The application's client secret was rejected (Amazon LWA secrets must be rotated every 180 days).",
      ("the LWA client secret was not rotated in time", "a new secret was issued but not deployed"),
      "Rotate the client secret in the developer console and update the referenced environment variable.",
      "crossdock auth status"),
    E("XD-AUTH-005", "Credential expiring soon",
      "A refresh token, seller authorisation or client secret expires within the warning window.",
      ("a yearly or 180-day renewal is coming up",),
      "Renew the credential before the date shown to avoid an outage.",
      "crossdock auth status", action=ACTION_FAIL),
    E("XD-AUTH-006", "Restricted Data Token refused",
      "Amazon refused to issue a Restricted Data Token, so buyer addresses cannot be read.",
      ("the app lacks the PII role", "the restricted resource path is wrong"),
      "Check that the app has the Direct-to-Consumer Shipping role in the developer profile.",
      None),
    E("XD-AUTH-007", "Token refresh lock timed out",
      "Another worker held the channel's token-refresh lock for too long.",
      ("a worker died while refreshing", "the database is overloaded"),
      "Usually clears itself; if it repeats, check `crossdock jobs failed` and the database.",
      "crossdock auth status", retryable=True, action=ACTION_RETRY),
    E("XD-AUTH-008", "Webhook signature invalid",
      "A webhook arrived with a signature that does not match the shared secret; it was rejected.",
      ("the client secret in config differs from the app's", "the request was forged or altered"),
      "Check that the channel's client secret matches the app's; do not process the payload.",
      None),
    E("XD-AUTH-009", "Trading API token hard-expired",
      "eBay reported the Auth'n'Auth token as hard-expired or revoked (Trading error 932).",
      ("the 18-month token ran out", "the seller revoked access"),
      "Generate a new token for the seller and store it.",
      "crossdock auth set CHANNEL --token-env VAR"),
    # ---------------------------------------------------------------- QUOTA
    E("XD-QUOTA-001", "Rate limited by the platform",
      "The platform answered 429 / THROTTLED: the request rate exceeded the account's quota. crossdock "
      "empties its local bucket and waits as the platform says; nothing is lost.",
      ("another tool uses the same seller credentials", "the quota is lower than the configured plan"),
      "No action needed if rare. If frequent, lower the rate for the operation in [ratelimit] or stop "
      "the other tool.",
      "crossdock quota", retryable=True),
    E("XD-QUOTA-002", "Daily call limit reached",
      "The account used its daily call allowance (eBay error 518 or the local daily budget).",
      ("a resync pushed far more calls than usual", "the allowance is the low default"),
      "Wait for the daily reset shown, or apply for a higher limit with the platform.",
      "crossdock quota", retryable=True),
    E("XD-QUOTA-003", "Waiting for quota",
      "The local budget has no token for this operation yet; the job is rescheduled at the exact time "
      "one becomes free. This is not a failure.",
      ("normal pacing under load",),
      "None; it resolves on its own.", "crossdock quota", retryable=True),
    E("XD-QUOTA-004", "Listing revision limit reached",
      "eBay allows at most 250 revisions of one listing per calendar day; further updates wait for the "
      "next day.",
      ("a price or stock flip-flop on one listing",),
      "Check for a rule that changes this listing too often; the update is sent after the reset.",
      "crossdock quota", retryable=True),
    E("XD-QUOTA-005", "Query too expensive",
      "A Shopify GraphQL query exceeds the maximum single-query cost of 1,000 points.",
      ("a batch size set too large",),
      "Lower the batch size for the operation.", None, action=ACTION_FAIL),
    E("XD-QUOTA-006", "Rate-limit backend unavailable",
      "The shared quota store (Redis or the database) could not be reached, so calls are held back "
      "rather than risk exceeding the quota.",
      ("Redis is down", "CROSSDOCK_RATELIMIT_URL points to the wrong server"),
      "Start the backend or fix CROSSDOCK_RATELIMIT_URL.", "crossdock quota", retryable=True),
    # ---------------------------------------------------------------- NET
    E("XD-NET-001", "Platform unreachable",
      "The connection to the platform failed (DNS, refused, reset).",
      ("no network", "a firewall or proxy", "the base URL points to a sandbox that is not running"),
      "Check connectivity and the channel's base URL; the job retries with back-off.",
      None, retryable=True),
    E("XD-NET-002", "Platform timed out",
      "The platform did not answer within the timeout.",
      ("platform slowness", "a large page size"),
      "None if occasional; the job retries with back-off.", None, retryable=True),
    E("XD-NET-003", "Platform server error",
      "The platform answered 5xx. The response is treated as an error, never as an empty result.",
      ("platform outage or maintenance",),
      "None if occasional; the job retries with back-off. If it persists, check the platform's status page.",
      None, retryable=True),
    E("XD-NET-004", "Unreadable response",
      "The platform answered with a body that is not what the API promises (HTML instead of JSON, "
      "malformed JSON or XML). It is treated as an error, never as an empty result.",
      ("a proxy or maintenance page", "a truncated response"),
      "None if occasional; the job retries. Capture the payload with the sync log if it persists.",
      None, retryable=True),
    # ---------------------------------------------------------------- PLATFORM
    E("XD-PLATFORM-001", "Request rejected by the platform",
      "The platform refused the request as invalid (4xx). The platform's own code and message are in "
      "the detail.",
      ("a value the platform does not accept", "a rule the local validation does not know yet"),
      "Read the platform message in the detail, fix the data and push again.",
      "crossdock logs --code XD-PLATFORM-001"),
    E("XD-PLATFORM-002", "Resource not found on the platform",
      "The listing, offer, order or variant crossdock refers to does not exist on the platform.",
      ("the listing was deleted in the seller centre", "a stale id in the channel listing map"),
      "Re-link the SKU or run a reconcile to refresh the ids.",
      "crossdock sync reconcile CHANNEL"),
    E("XD-PLATFORM-003", "Listing rejected by platform rules",
      "The platform accepted the request but rejected the listing content (feed or listing issues).",
      ("missing required attributes", "restricted category or brand", "image too small"),
      "Read the platform issue in the detail, fix the product data and publish again.",
      "crossdock sync run --channel CHANNEL --job listings"),
    E("XD-PLATFORM-004", "Feed processing failed",
      "An Amazon feed ended FATAL or CANCELLED; none of its messages were applied.",
      ("malformed feed document", "Amazon-side processing failure"),
      "The changes are retried in a new feed; if FATAL repeats, check the processing report.",
      "crossdock logs --code XD-PLATFORM-004", retryable=True),
    E("XD-PLATFORM-005", "Stock update conflict",
      "The platform's quantity changed between read and write (Shopify CHANGE_FROM_QUANTITY_STALE); "
      "crossdock re-reads and pushes again.",
      ("a sale or manual edit at the same moment",),
      "None; it resolves on its own. If repeated, someone edits stock directly on the platform.",
      None, retryable=True),
    E("XD-PLATFORM-006", "Too many items in one call",
      "A call carried more items than the platform allows (e.g. eBay ReviseInventoryStatus > 4, error "
      "21916254).",
      ("a batch-size override above the platform's limit",),
      "Remove the batch-size override; crossdock batches to the platform limit by default.", None),
    E("XD-PLATFORM-007", "Shipment confirmation rejected",
      "The platform refused the shipment confirmation.",
      ("carrier code unknown to the platform", "order already shipped or cancelled"),
      "Check the carrier mapping and the order's state on the platform.",
      "crossdock logs trace ORDER"),
    E("XD-PLATFORM-008", "Unsupported API version",
      "The platform no longer supports the API version in use.",
      ("a Shopify API version older than 12 months",),
      "Update the channel's api_version in the configuration.", "crossdock config check"),
    # ---------------------------------------------------------------- MAP
    E("XD-MAP-001", "Required attribute missing",
      "The product lacks an attribute the platform requires for its category; nothing was sent.",
      ("a new category with extra required attributes",),
      "Add the attribute to the catalogue or an attribute mapping rule.", None),
    E("XD-MAP-002", "Title too long",
      "The title exceeds the platform's limit (eBay 80, Amazon 200, Shopify 255 characters).",
      ("a long catalogue title without a per-channel title rule",),
      "Shorten the title or add a per-channel title rule.", None),
    E("XD-MAP-003", "Price invalid",
      "The computed price is zero, negative, or outside the configured floor and ceiling.",
      ("a missing base price", "a markup rule that rounds to zero"),
      "Fix the base price or the price rule for this channel.", "crossdock logs --code XD-MAP-003"),
    E("XD-MAP-004", "Currency does not match the marketplace",
      "A price or order is in a currency the marketplace does not use.",
      ("a channel configured with the wrong currency",),
      "Set the channel's currency to the marketplace's currency.", "crossdock config check"),
    E("XD-MAP-005", "No FX rate for the currency pair",
      "There is no exchange rate for the pair on or before the date needed.",
      ("the rate file was not updated",),
      "Load current rates.", "crossdock fx load FILE"),
    E("XD-MAP-006", "FX rate is stale",
      "The newest rate for the pair is older than the allowed age.",
      ("rate file not refreshed",),
      "Load current rates.", "crossdock fx load FILE"),
    E("XD-MAP-007", "No category mapping",
      "The product's category has no mapping to the platform's category.",
      ("a new product category",),
      "Add a category mapping rule for this channel.", None),
    E("XD-MAP-008", "Image invalid",
      "Too many or too few images, or an image below the platform's minimum size.",
      ("missing images", "images smaller than 500 px (eBay) / 1000 px recommended (Amazon)"),
      "Fix the product images.", None),
    E("XD-MAP-009", "Tax or customs data missing",
      "A cross-border order or parcel lacks data needed for tax or customs (IOSS number, HS code, "
      "country of origin).",
      ("catalogue without HS code or origin", "a marketplace-facilitated EU order without IOSS"),
      "Add HS code and country of origin to the product; check the order's tax data.", None),
    E("XD-MAP-010", "Payload cannot be read",
      "A platform payload does not have the shape crossdock expects, so it cannot be normalised.",
      ("a payload from another API or version", "a truncated file"),
      "Check that the file is the body of the named API response.",
      "crossdock inspect --platform P --kind K FILE"),
    E("XD-MAP-011", "Unknown order status",
      "The platform reported an order status crossdock has no mapping for.",
      ("a new platform status",),
      "Add the status to the channel's order status mapping.", None),
    E("XD-MAP-012", "Unknown carrier",
      "A carrier name has no mapping to the platform's carrier code.",
      ("a new carrier",),
      "Add the carrier to the carrier mapping, or use the platform's own code.", None),
    E("XD-MAP-013", "Price drift",
      "The price a channel shows differs from the price crossdock computes for it (base price, the "
      "channel's price rule and today's FX rate).",
      ("a price edited on the platform", "a lost price push", "new FX rates or a changed price rule not pushed yet"),
      "Repair with a reconcile, or push the channel's prices.", "crossdock sync reconcile CHANNEL --apply"),
    E("XD-MAP-014", "FX rate dated in the future",
      "A rate file holds a rate valid from a day after today (UTC). crossdock would start pricing with it on "
      "that day without anyone looking again, so the file was refused; nothing from it was loaded.",
      ("day and month swapped (2026-12-03 for 3 December vs 12 March)", "a forward or planned rate in the file"),
      "Fix the date, or load the rate on or after the day it becomes valid.", "crossdock fx load FILE"),
    # ---------------------------------------------------------------- INV
    E("XD-INV-001", "Insufficient stock to reserve",
      "An imported order asks for more units than are available; the order is imported but flagged, "
      "and the shortfall is not reserved.",
      ("a sale raced a stock push (overselling)", "stock drift between crossdock and a channel"),
      "Cancel or back-order the line; run a reconcile to find the drift.",
      "crossdock sync reconcile CHANNEL"),
    E("XD-INV-002", "Stock drift",
      "The quantity listed on a channel differs from what crossdock computed.",
      ("a manual edit on the platform", "a lost stock push"),
      "Repair with a reconcile.", "crossdock sync reconcile CHANNEL --apply"),
    E("XD-INV-003", "Oversold",
      "More units were sold than physical stock.",
      ("a sale on one channel before the zero reached another",),
      "Cancel or back-order the excess; check propagation delays in `crossdock sync status`.",
      "crossdock sync status"),
    E("XD-INV-004", "Unknown SKU",
      "An order or stock change refers to a SKU that is not in the catalogue or not linked to the channel.",
      ("a listing created outside crossdock",),
      "Add the SKU to the catalogue or link the listing.", None),
    E("XD-INV-005", "Negative stock",
      "A change would make on-hand stock negative; it was refused.",
      ("a count error", "shipping more than was received"),
      "Count the bin and adjust with a reason.", "crossdock stock adjust SKU +N --warehouse W --reason count"),
    E("XD-INV-006", "Reservation not found",
      "A release or consume refers to a reservation that does not exist or was already settled.",
      ("a duplicate cancel or ship event",),
      "None; the duplicate is ignored.", None),
    E("XD-INV-007", "Unexplained drop in a listed quantity",
      "A channel showed fewer units than crossdock pushed, which is how a sale looks before the "
      "channel's order API shows it (Amazon: 2 minutes or more). The units were held from every "
      "channel, but no order explained them in time, so they were released and the SKU pushed again.",
      ("the quantity was edited on the platform (e.g. in Seller Central)",
       "an order the import has not read (check `crossdock sync status` for import lag)"),
      "Check the listing on the platform; make stock changes in crossdock, not on the platform.",
      "crossdock sync reconcile CHANNEL"),
    E("XD-INV-008", "Catalogue file rejected",
      "A catalogue file (CSV or JSON) has rows crossdock cannot import; every bad row is listed with its "
      "line (CSV) or index (JSON) and its own code, and nothing from the file was written.",
      ("a column crossdock does not know", "no sku or title column", "a file that is neither CSV nor a JSON "
       "array of objects"),
      "Fix every row named in the message and import the whole file again.", "crossdock catalog import FILE"),
    E("XD-INV-009", "Invalid product value",
      "A product value does not fit what crossdock stores: too long for its column, a number out of range, "
      "an unknown currency, a country that is not two letters, an HS code that is not digits, attributes "
      "that are not a JSON object, an image that is not an http(s) URL.",
      ("a spreadsheet that reformatted a number or a code", "a column shifted by a stray separator"),
      "Correct the value named in the message (line and column) and import again.",
      "crossdock catalog import FILE"),
    E("XD-INV-010", "SKU twice in one catalogue file",
      "The same SKU appears on more than one row of a catalogue file, so crossdock cannot tell which row "
      "is meant.",
      ("a copied row", "two products given one SKU"),
      "Keep one row per SKU (the message names both lines) and import again.", "crossdock catalog import FILE"),
    E("XD-INV-011", "Listing conflict",
      "A listing on a channel cannot be linked to the catalogue unambiguously: the SKU is listed more than "
      "once on the channel, or crossdock already links the SKU (or the listing) to a different listing "
      "(or SKU). Its quantity is not managed by crossdock until this is resolved, so it can oversell.",
      ("a duplicate listing made in the seller centre", "a listing replaced by a new one with the same SKU",
       "an earlier `listings link` to another listing"),
      "End the duplicate on the platform, or link the right listing explicitly, then pull again.",
      "crossdock listings link SKU --channel CHANNEL --listing-id ID"),
    # ---------------------------------------------------------------- ORD
    E("XD-ORD-001", "Order import gap",
      "An order import window could not be completed; the cursor did not move, so the window is "
      "fetched again on the next run.",
      ("a failed page in the middle of a window",),
      "None; the next run covers the gap. If it repeats, check the failures in `crossdock sync status`.",
      "crossdock sync run --channel CHANNEL --job orders", retryable=True),
    E("XD-ORD-002", "Order stuck: status differs",
      "The platform's and crossdock's status of an order have disagreed for longer than the threshold.",
      ("a lost status change", "a manual change in the seller centre"),
      "Compare both statuses in the trace; re-import the order or confirm the shipment again.",
      "crossdock logs trace ORDER"),
    E("XD-ORD-003", "Order unshipped past handling time",
      "An order is still unshipped after the channel's handling time; the platform may penalise it.",
      ("no stock in the routed warehouse", "the pick list was not worked"),
      "Ship the order or cancel it on the platform.", "crossdock warehouse picklist"),
    E("XD-ORD-004", "Order line without SKU",
      "An order line has no SKU crossdock knows, so no stock could be reserved.",
      ("a listing not linked to the catalogue",),
      "Link the listing to a SKU and re-import the order.", None),
    E("XD-ORD-005", "Order not found",
      "No order with that id exists in crossdock.",
      ("a typo", "the order was not imported yet"),
      "Check the id; run an order import for the channel.",
      "crossdock sync run --channel CHANNEL --job orders"),
    E("XD-ORD-006", "Illegal order status change",
      "An order cannot move from its current status to the requested one (e.g. ship a cancelled order).",
      ("the order was cancelled on the platform",),
      "Check the order's state on the platform.", "crossdock logs trace ORDER"),
    E("XD-ORD-007", "Order cancelled after it shipped",
      "The order was cancelled on the channel after crossdock had booked its parcel and taken its units "
      "out of stock, before the shipment confirmation reached the channel; the channel refused the "
      "confirmation. The parcel is on its way to a buyer who no longer pays for it.",
      ("the buyer cancelled between label printing and the confirmation",
       "the platform cancelled the order (payment failed, fraud check)"),
      "Ask the carrier to intercept the parcel (tracking number in the trace) or expect it back as a "
      "return; when the goods are back on the shelf, restock them with `crossdock stock adjust SKU +N "
      "--warehouse WH --reason return`.",
      "crossdock warehouse flagged"),
    # ---------------------------------------------------------------- SHIP
    E("XD-SHIP-001", "Carrier rejected the shipment",
      "The carrier could not create the shipment; the order stays ready to ship and its reservation is kept.",
      ("invalid address", "carrier outage", "unsupported service"),
      "Fix the address or choose another service, then ship again.",
      "crossdock warehouse ship ORDER", retryable=True),
    E("XD-SHIP-002", "Tracking not updating",
      "A parcel has had no tracking event for longer than the threshold.",
      ("parcel lost", "the label was printed but the parcel not handed over"),
      "Contact the carrier with the tracking number.", "crossdock logs trace ORDER"),
    E("XD-SHIP-003", "Label could not be written",
      "The label file or printer could not be written.",
      ("folder not writable", "printer offline"),
      "Check the label folder or printer address and print again.", None, retryable=True),
    E("XD-SHIP-004", "Customs data incomplete",
      "A cross-border parcel lacks customs data (HS code, origin, declared value).",
      ("product without HS code or origin",),
      "Add the missing data to the product and ship again.", None),
    E("XD-SHIP-005", "Already shipped",
      "The order already has a shipment; a second one was not created.",
      ("a repeated ship command",),
      "None; use `crossdock logs trace ORDER` to see the existing shipment.", "crossdock logs trace ORDER"),
    E("XD-SHIP-006", "Printer unreachable",
      "The network label printer did not accept the connection.",
      ("printer off or address wrong",),
      "Check the printer's address (TCP 9100) and that it is on.", None, retryable=True),
    E("XD-SHIP-007", "Tracking number invalid",
      "A tracking number given for a manual (non-integrated) carrier is missing or not 6-40 letters "
      "and digits; no shipment was recorded and the order stays ready to ship.",
      ("a typo or a pasted label text", "the reference number was given instead of the tracking number"),
      "Copy the tracking number from the carrier's receipt and ship again.",
      "crossdock warehouse ship ORDER --carrier NAME --tracking NUMBER"),
    # ---------------------------------------------------------------- WH
    E("XD-WH-001", "Unknown warehouse",
      "A command names a warehouse that is not configured.",
      ("a typo",), "Use a warehouse from the configuration.", "crossdock config show"),
    E("XD-WH-002", "No warehouse can fill the order",
      "No single warehouse has enough stock for every line of the order.",
      ("stock split across warehouses",),
      "Transfer stock or receive more, then route again.", "crossdock stock show"),
    E("XD-WH-003", "Bad stock file",
      "A stock import file has a row crossdock cannot read; nothing from the file was applied.",
      ("a missing column", "a non-numeric quantity"),
      "Fix the row named in the message and import again.", "crossdock stock import FILE.csv"),
    E("XD-WH-004", "Unknown bin",
      "A stock movement names a bin that does not exist in the warehouse.",
      ("a typo",), "Use an existing bin or create it.", None),
    E("XD-WH-005", "Stock quantity out of range",
      "A quantity, a change or the on-hand figure it would lead to is beyond 2,147,483,647 units, the most "
      "crossdock stores for one SKU in one warehouse; nothing was changed.",
      ("a typo (extra digits, a barcode pasted into the quantity column)", "a spreadsheet formula gone wrong"),
      "Correct the quantity and run the command again.", "crossdock stock show SKU"),
    E("XD-WH-006", "SKU counted twice in a stock file",
      "A stock file gives a counted quantity (on_hand) for a SKU in a warehouse and has another row for the "
      "same SKU and warehouse (a second count, or a delta), so which figure is right is ambiguous; nothing from "
      "the file was applied. Several delta rows for one SKU are fine: they add up, each with its reason.",
      ("two count sheets of one shelf pasted into one file", "a count row copied twice",
       "a count and a receipt of the same SKU in one file"),
      "Keep one count per SKU and warehouse (or put the receipt in a separate file, imported after the "
      "count), then import again.",
      "crossdock stock import FILE.csv"),
    # ---------------------------------------------------------------- DATA
    E("XD-DATA-001", "Database unreachable",
      "crossdock could not connect to its database, or lost the connection in the middle of a transaction "
      "(which was rolled back). The message shows the URL it used, password masked.",
      ("PostgreSQL not running, or not on that host and port", "wrong CROSSDOCK_DATABASE_URL or [database] url",
       "the database or the user named in the URL does not exist", "the SQLite folder does not exist, or the path "
       "is a folder"),
      "Check the database URL (`crossdock config show`) and that the server is running and accepts the user; "
      "for SQLite, that the folder exists. A worker retries on its own once the database is back.",
      "crossdock db current", retryable=True),
    E("XD-DATA-002", "Database schema out of date",
      "The database has not been upgraded to this version of crossdock.",
      ("crossdock was upgraded without migrating",),
      "Run the migrations.", "crossdock db upgrade"),
    E("XD-DATA-003", "Database busy",
      "The database stayed locked longer than the busy timeout.",
      ("a long transaction in another process",),
      "Retry; if it repeats, look for a stuck process holding the database.", None, retryable=True),
    E("XD-DATA-004", "Duplicate record",
      "A record with the same natural key already exists; the duplicate was not stored.",
      ("an order imported twice (harmless)",),
      "None; duplicates are ignored by design.", None),
    E("XD-DATA-005", "Backup missing or stale",
      "No recent backup of the database exists.",
      ("backups not scheduled",),
      "Take a backup now and schedule it.", "crossdock db backup"),
    E("XD-DATA-006", "Integrity check failed",
      "A consistency check found data that contradicts itself (e.g. reserved more than on hand), or the "
      "SQLite file itself is damaged or not a database at all.",
      ("a manual database edit", "a bug", "a SQLite file truncated, overwritten or copied while it was written"),
      "Keep the database as is, take a backup, and report the check output. A damaged SQLite file cannot be "
      "repaired in place: stop the workers and restore the newest backup (`db backup` writes them).",
      "crossdock db check"),
    E("XD-DATA-007", "Backup could not be made",
      "crossdock could not write a backup of the database; no new backup exists.",
      ("pg_dump is not installed or not on PATH (PostgreSQL)", "the backup folder is not writable or full",
       "pg_dump's version is older than the server's"),
      "Install the PostgreSQL client tools matching the server (pg_dump), or pick a writable folder "
      "with --to, then back up again.", "crossdock db backup --to PATH"),
    E("XD-DATA-008", "Database cannot be written",
      "The database refused a write: it can be read but not changed. Nothing of the command was stored.",
      ("the SQLite file or its folder is read-only (SQLite also writes -wal and -shm files beside the database)",
       "the disk is full", "PostgreSQL is a read-only standby, or default_transaction_read_only is on"),
      "Make the SQLite file and its folder writable by the user running crossdock (or move the database to a "
      "writable folder and update the URL), free disk space, or point the URL at the primary PostgreSQL server.",
      "crossdock config show"),
    # ---------------------------------------------------------------- SYNC
    E("XD-SYNC-001", "Job failed after retries",
      "A sync job used up its retries. It stays in the failed list and can be replayed.",
      ("a persistent platform or data error (see the cause's code)",),
      "Fix the cause shown, then replay the job.", "crossdock jobs retry ID"),
    E("XD-SYNC-002", "Channel paused",
      "The channel is paused after an authorisation failure; its jobs wait until it is resumed.",
      ("see the XD-AUTH code that paused it",),
      "Fix the authorisation, then resume the channel.", "crossdock auth status"),
    E("XD-SYNC-003", "Job skipped: already done",
      "A job with the same idempotency key already completed; it was not repeated.",
      ("a duplicate wake-up message (harmless)",),
      "None.", None),
    E("XD-SYNC-004", "Scheduler behind",
      "Scheduled runs are later than their interval.",
      ("no worker running", "workers overloaded"),
      "Start workers or reduce the job frequency.", "crossdock worker"),
    E("XD-SYNC-005", "Outbox backlog",
      "Outbox entries have been waiting longer than the threshold.",
      ("no worker running", "broker unreachable"),
      "Start workers; check CROSSDOCK_BROKER_URL.", "crossdock sync status"),
    E("XD-SYNC-006", "Broker unreachable",
      "The message broker could not be reached; work is kept in the outbox and sent when it returns.",
      ("Redis or RabbitMQ down", "wrong CROSSDOCK_BROKER_URL"),
      "Start the broker or fix CROSSDOCK_BROKER_URL.", None, retryable=True),
    E("XD-SYNC-007", "Worker stopped sending heartbeats",
      "A `crossdock worker` process stopped writing its heartbeat; another worker declared it dead and "
      "handed the jobs and stock pushes it held back to the queue, where the live workers take them.",
      ("the process was killed, crashed or its machine went down", "the process was frozen (stopped, "
       "swapped out) longer than [sync] worker_dead_after_s", "it lost its database connection"),
      "Nothing is lost. Restart the worker (or find why it died in its own log); `crossdock sync status` "
      "lists the live workers.", "crossdock sync status"),
    E("XD-SYNC-008", "No worker running",
      "No `crossdock worker` has sent a heartbeat recently: schedules do not fire and queued jobs wait.",
      ("no worker was started", "every worker stopped or lost its database connection"),
      "Start a worker with the same configuration.", "crossdock worker"),
)

CATALOGUE: dict[str, ErrorSpec] = {}
for _spec in _ENTRIES:
    if _spec.code in CATALOGUE:
        raise RuntimeError(f"duplicate error code {_spec.code}")
    CATALOGUE[_spec.code] = _spec
del _spec


def lookup(code: str) -> ErrorSpec:
    """Return the spec of ``code``; raises KeyError for an unknown code."""
    try:
        return CATALOGUE[code.upper()]
    except KeyError:
        raise KeyError(f"unknown error code {code!r}") from None
