"""The simulated eBay: OAuth, Sell Fulfillment, Sell Inventory, Developer
Analytics (REST) and the Trading XML API on one port.

Listings come in the two kinds real sellers have: Inventory-API listings (SKU,
inventory item, offer; revised with ``bulk_update_price_quantity``) and
"legacy" listings created outside the Inventory API (Seller Hub, Trading
``AddFixedPriceItem``), known by ItemID and revisable only through Trading
``ReviseInventoryStatus``. :meth:`EbaySim.set_listing` creates Inventory-API
listings unless the SKU was marked legacy (:meth:`EbaySim.mark_legacy`, the
``legacy_ratio`` setting, or ``POST /sandbox/listings`` on the eBay port).

Sandbox-only routes on the eBay port (not eBay API): ``GET /sandbox/listings``
(the listing map a connector needs), ``POST /sandbox/listings`` (kind, quantity,
price of one SKU) and ``POST /sandbox/config`` (:class:`SimConfig` fields).
"""

from __future__ import annotations

import base64
import logging
import random
import zlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable

from crossdock.sandbox.consent import AuthCodes
from crossdock.sandbox.core import PlatformSim, new_id
from crossdock.sandbox.ebay import render
from crossdock.sandbox.ebay.model import (
    BUYER_NAMES,
    CITIES,
    COUNTRY_CURRENCY,
    COUNTRY_MARKETPLACE,
    EU,
    MARKETPLACE_INFO,
    ORIGIN_NAMES,
    AccessToken,
    Account,
    DailyQuota,
    LineTax,
    Listing,
    SimConfig,
    SimLine,
    SimOrder,
    fx_rate,
    money,
    tax_rule,
)
from crossdock.sandbox.http import Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.core import Sandbox

log = logging.getLogger(__name__)

TRADING_CALLS = ("GetOrders", "ReviseInventoryStatus", "GetItem", "GetMyeBaySelling", "GeteBayOfficialTime")
REST_APIS = {"sell.inventory": "inventory_daily_limit", "sell.fulfillment": "fulfillment_daily_limit",
             "trading": "trading_daily_limit", "identity": "token_daily_limit"}


class EbaySim(PlatformSim):
    name = "ebay"

    def __init__(self, sandbox: "Sandbox") -> None:
        super().__init__(sandbox)
        # PlatformSim seeds with hash(name), which changes per process; eBay ids and
        # credentials must be reproducible from the seed alone.
        self.rng = random.Random(f"crossdock-ebay-{sandbox.seed}")
        self._cred_rng = random.Random(f"crossdock-ebay-credentials-{sandbox.seed}")
        self.config = SimConfig()
        self.accounts: list[Account] = []
        self.tokens: dict[str, AccessToken] = {}
        self.auth_codes = AuthCodes(lambda: self.clock.timestamp(), ttl_s=299, prefix="v^1.1#i^1#f^0#I^3#r^1#p^3#t^")
        self.granted_refresh: dict[str, str] = {}      # refresh token → username, from a consent
        self.listings: dict[str, dict[str, Listing]] = {}       # channel -> sku -> listing
        self.orders: dict[str, dict[str, SimOrder]] = {}        # username -> order id -> order
        self.quota = DailyQuota()
        self.legacy_marks: dict[str, set[str]] = {}
        self.revision_limit_hits = 0
        self._ids: set[str] = set()
        self.notifications: Any = None      # the Notification API (.notification), set by build_app
        self.add_account("EBAY_GB")

    # ------------------------------------------------------------------ accounts
    def add_account(self, marketplace_id: str = "EBAY_GB", *, username: str | None = None) -> Account:
        """Another seller account (deterministic from the seed and the call order)."""
        country, currency, site_id, _ = MARKETPLACE_INFO[marketplace_id]
        r = self._cred_rng
        hexs = lambda n: "".join(r.choice("0123456789abcdef") for _ in range(n))  # noqa: E731
        b64 = lambda n: base64.b64encode(bytes(r.randrange(256) for _ in range(n))).decode()  # noqa: E731
        now = self.clock.timestamp()
        acct = Account(
            username=username or f"xdseller_{country.lower()}{r.randint(100, 999)}",
            marketplace_id=marketplace_id, country=country, currency=currency, site_id=site_id,
            client_id=f"Crossdoc-xdsync-PRD-{hexs(9)}-{hexs(8)}",
            client_secret=f"PRD-{hexs(12)}-{hexs(4)}-{hexs(4)}-{hexs(4)}-{hexs(4)}",
            refresh_token="v^1.1#i^1#r^1#f^0#p^3#I^3#t^" + b64(72),
            trading_token="AgAAAA**AQAAAA**aAAAAA**" + b64(96).replace("/", "*"),
            dev_id=f"{hexs(8)}-{hexs(4)}-{hexs(4)}-{hexs(4)}-{hexs(12)}",
            refresh_expires_at=now + self.config.refresh_token_ttl_s,
            trading_token_expires_at=now + self.config.trading_token_ttl_s,
        )
        with self.lock:
            self.accounts.append(acct)
            self.listings.setdefault(acct.channel, {})
            self.orders.setdefault(acct.username, {})
        return acct

    def account(self, key: str | None = None) -> Account:
        """By username, channel or client id; None = the first account."""
        if key is None:
            return self.accounts[0]
        for a in self.accounts:
            if key in (a.username, a.channel, a.client_id):
                return a
        raise ValueError(f"unknown eBay sandbox account {key!r}")

    def account_for_channel(self, channel: str) -> Account:
        for a in self.accounts:
            if a.channel == channel:
                return a
        raise ValueError(f"unknown eBay channel {channel!r}; channels: {self.channels()}")

    def configure(self, **values: Any) -> None:
        with self.lock:
            self.config.update(values)

    def event_faults(self, *, drop_probability: float | None = None, duplicate_probability: float | None = None,
                     delay_s: float | None = None) -> dict[str, float]:
        """Notification faults (admin ``POST /events/ebay``); None keeps a setting."""
        self.configure(**{k: v for k, v in (("notification_drop_probability", drop_probability),
                                            ("notification_duplicate_probability", duplicate_probability),
                                            ("notification_delay_s", delay_s)) if v is not None})
        c = self.config
        return {"drop_probability": c.notification_drop_probability,
                "duplicate_probability": c.notification_duplicate_probability, "delay_s": c.notification_delay_s}

    # ------------------------------------------------------------------ tokens
    def issue_access_token(self, acct: Account, *, app: bool = False) -> AccessToken:
        raw = base64.b64encode(bytes(self.rng.randrange(256) for _ in range(48))).decode()
        prefix = "v^1.1#i^1#p^1#I^3#r^0#f^0#t^" if app else "v^1.1#i^1#p^3#r^1#I^3#f^0#t^"
        tok = AccessToken(prefix + raw, acct.username, self.clock.timestamp() + self.config.access_token_ttl_s,
                          app=app)
        with self.lock:
            self.tokens[tok.token] = tok
        return tok

    def bearer(self, req: Request, scheme: str = "Bearer") -> AccessToken | None:
        """The OAuth user token of ``Authorization: <scheme> <token>`` (the Post-Order API's scheme is IAF)."""
        header = req.headers.get("Authorization") or ""
        if not header.startswith(scheme + " "):
            return None
        tok = self.tokens.get(header[len(scheme) + 1:].strip())
        if tok is None or tok.expires_at <= self.clock.timestamp():
            return None
        return tok

    def rest_username(self, req: Request) -> str:
        tok = self.bearer(req) or self.bearer(req, "IAF")
        return tok.username if tok else ""

    # ------------------------------------------------------------------ registration helpers
    def api_limit(self, api: str) -> int:
        return int(getattr(self.config, REST_APIS[api]))

    def rest_op(self, method: str, path: str, operation: str, api: str, *,
                user_token: bool = True, scheme: str = "Bearer") -> Callable:
        """Register a REST operation: token check (401 errorId 1001), the daily
        call limit (429 errorId 2001), then ``fn(req, account)``."""

        def deco(fn: Callable[[Request, Account], Response]) -> Callable:
            def handler(req: Request) -> Response:
                tok = self.bearer(req, scheme)
                if tok is None:
                    return render.invalid_access_token()
                if user_token and tok.app:
                    return render.access_denied()
                acct = self.account(tok.username)
                if not self.quota.take(acct.username, api, self.api_limit(api), self.clock.timestamp()):
                    return render.too_many_requests()
                return fn(req, acct)

            self.op(method, path, operation, account=self.rest_username)(handler)
            return fn

        return deco

    def build_app(self) -> None:
        from crossdock.sandbox.ebay import (analytics, fulfillment, inventory, notification, oauth, postorder, refunds,
                                            returns, trading)

        for family in (oauth, fulfillment, inventory, analytics, trading, notification, postorder, returns, refunds):
            family.register(self)
        self._register_sandbox_routes()

    # ------------------------------------------------------------------ PlatformSim hooks
    def describe(self) -> dict:
        base = self.server.url if self.server else ""
        return {"base_url": base, "trading_url": base + "/ws/api.dll",
                "token_url": base + "/identity/v1/oauth2/token", "consent_url": base + "/oauth2/authorize",
                "analytics_url": base + "/developer/analytics/v1_beta",
                "accounts": [a.describe() for a in self.accounts]}

    def channels(self) -> list[str]:
        return [a.channel for a in self.accounts]

    def listed(self, channel: str) -> dict[str, int]:
        with self.lock:
            return {sku: l.quantity for sku, l in self.listings.get(channel, {}).items() if l.published}

    def set_listing(self, channel: str, sku: str, qty: int, price: Decimal | None = None, *,
                    kind: str | None = None) -> Listing:
        """Admin seeding: create or overwrite one listing (not counted as a revision)."""
        acct = self.account_for_channel(channel)
        if qty < 0:
            raise ValueError("quantity must be >= 0")
        with self.lock:
            listings = self.listings[channel]
            l = listings.get(sku)
            if l is None:
                item = self.market.catalogue.get(sku)
                new_kind = kind or ("trading" if self._is_legacy(channel, sku) else "inventory")
                if price is None:
                    price = item.price if item is not None else Decimal("10.00")
                l = Listing(sku=sku, kind="inventory", title=(item.title if item else sku)[:80],
                            price=money(price), currency=acct.currency, quantity=qty,
                            item_id=self.new_unique("399999999999"), started_at=self.clock.timestamp(),
                            product={"description": item.title if item else sku,
                                     "imageUrls": [f"https://i.ebayimg.com/images/g/{sku}/s-l1600.jpg"]})
                if item is not None and item.weight_g:
                    l.package = {"weight": {"value": item.weight_g, "unit": "GRAM"}}
                origin = ORIGIN_NAMES.get(item.country_of_origin or "") if item is not None else None
                if origin:
                    l.product["aspects"] = {"Country/Region of Manufacture": [origin]}
                listings[sku] = l
                self._set_kind(l, new_kind)
            else:
                l.quantity = qty
                if price is not None:
                    l.price = money(price)
                if kind is not None:
                    self._set_kind(l, kind)
            if l.kind == "inventory":
                l.inventory_quantity = qty
            self.market.record_listed(channel, sku, qty)
            return l

    def mark_legacy(self, channel: str, sku: str, legacy: bool = True) -> None:
        """Make ``sku`` a listing created outside the Inventory API (or back)."""
        with self.lock:
            marks = self.legacy_marks.setdefault(channel, set())
            (marks.add if legacy else marks.discard)(sku)
            l = self.listings.get(channel, {}).get(sku)
            if l is not None:
                self._set_kind(l, "trading" if legacy else "inventory")

    def listing_map(self, channel: str) -> dict[str, dict]:
        """``sku -> {"kind": "inventory", "offer_id", "item_id"} | {"kind": "trading", "item_id"}``:
        the shape :class:`crossdock.connectors.ebay.EbayConnector` takes as its listing map."""
        with self.lock:
            out = {}
            for sku, l in self.listings.get(channel, {}).items():
                if l.kind == "inventory":
                    out[sku] = {"kind": "inventory", "offer_id": l.offer_id, "item_id": l.item_id}
                else:
                    out[sku] = {"kind": "trading", "item_id": l.item_id}
            return out

    def place_order(self, channel: str, items: list[tuple[str, int]], *, buyer_country: str) -> str | None:
        acct = self.account_for_channel(channel)
        with self.lock:
            listings = self.listings[channel]
            wanted: dict[str, int] = {}
            for sku, qty in items:
                wanted[sku] = wanted.get(sku, 0) + qty
            for sku, qty in wanted.items():
                l = listings.get(sku)
                if l is None or not l.published or qty <= 0 or qty > l.quantity:
                    return None
            now = self.clock.timestamp()
            country = (buyer_country or acct.country).upper()
            buyer_currency = COUNTRY_CURRENCY.get(country, "EUR" if country in EU else "USD")
            fx = fx_rate(acct.currency, buyer_currency)
            to_seller = fx_rate("GBP", acct.currency)
            delivery_total = money((Decimal("2.99") if country == acct.country else Decimal("9.99")) * to_seller)
            goods = sum((listings[s].price * q for s, q in wanted.items()), Decimal("0"))
            rule = tax_rule(country, acct.country)
            if rule is not None and rule.threshold is not None:
                if goods * fx_rate(acct.currency, rule.threshold_currency) > rule.threshold:
                    rule = None   # above the scheme's limit: the buyer pays import VAT at the border
            order_id = self.new_unique("99-99999-99999")
            lines = []
            for i, (sku, qty) in enumerate(wanted.items()):
                l = listings[sku]
                delivery = delivery_total if i == 0 else Decimal("0.00")
                tax = None
                if rule is not None:
                    tax = LineTax(rule.tax_type, money((l.price * qty + delivery) * rule.rate),
                                  rule.ref_name, rule.ref_value)
                lines.append(SimLine(line_item_id=self.new_unique("1999999999999"),
                                     item_id=l.item_id, transaction_id=self.new_unique("2999999999999"),
                                     sku=sku, title=l.title, quantity=qty, unit_price=l.price,
                                     delivery=delivery, kind=l.kind, tax=tax))
                l.quantity -= qty
                l.sold += qty
                if l.inventory_quantity is not None:
                    l.inventory_quantity = max(0, l.inventory_quantity - qty)
            name = self.rng.choice(BUYER_NAMES)
            city, postcode = CITIES.get(country, ("Springfield", "00000"))
            pending = self.rng.random() < self.config.pending_payment_probability
            order = SimOrder(
                order_id=order_id, username=acct.username, created_at=now, modified_at=now,
                buyer_username=name.split()[0].lower() + "_" + new_id(self.rng, "AAA99").lower(),
                buyer_country=country, buyer_currency=buyer_currency, fx=fx,
                purchase_marketplace_id=COUNTRY_MARKETPLACE.get(country, "EBAY_US"),
                ship_to={"name": name, "line1": f"{self.rng.randint(1, 240)} Market Street", "city": city,
                         "postal_code": postcode, "country": country,
                         "phone": "+" + new_id(self.rng, "99 9999 999999"),
                         "email": new_id(self.rng, "AAAA9999").lower() + "@members.ebay.com"},
                lines=lines, sales_record=acct.next_sales_record,
                payment_status="PENDING" if pending else "PAID", paid_at=None if pending else now)
            acct.next_sales_record += 1
            self.orders[acct.username][order_id] = order
            self.notifications.order_confirmed(acct, order)
            for line in lines:
                self.market.record_sale(channel, line.sku, line.quantity, order_id)
                self.market.record_listed(channel, line.sku, listings[line.sku].quantity)
            log.debug("ebay sandbox: order %s on %s (%s)", order_id, channel, country)
            return order_id

    def cancel_random_order(self, channel: str) -> bool:
        acct = self.account_for_channel(channel)
        with self.lock:
            open_orders = sorted(oid for oid, o in self.orders[acct.username].items()
                                 if o.cancel_state == "NONE_REQUESTED" and o.fulfillment_status == "NOT_STARTED")
            if not open_orders:
                return False
            self.cancel_order(channel, self.rng.choice(open_orders))
            return True

    def cancel_order(self, channel: str, order_id: str) -> None:
        """The buyer cancels: refund, restore the listed quantity (as eBay does)."""
        acct = self.account_for_channel(channel)
        with self.lock:
            o = self.orders[acct.username][order_id]
            now = self.clock.timestamp()
            o.cancel_state = "CANCELED"
            o.payment_status = "FULLY_REFUNDED" if o.paid_at else o.payment_status
            o.cancelled_at = now
            o.modified_at = now
            listings = self.listings[channel]
            for line in o.lines:
                self.market.record_cancel(channel, line.sku, line.quantity, order_id)
                l = listings.get(line.sku)
                if l is not None:
                    l.quantity += line.quantity
                    l.sold = max(0, l.sold - line.quantity)
                    if l.inventory_quantity is not None:
                        l.inventory_quantity += line.quantity
                    self.market.record_listed(channel, line.sku, l.quantity)

    def tick(self) -> None:
        if self.config.pending_payment_probability <= 0:
            return
        now = self.clock.timestamp()
        with self.lock:
            for orders in self.orders.values():
                for o in orders.values():
                    if (o.payment_status == "PENDING" and o.cancel_state == "NONE_REQUESTED"
                            and now - o.created_at >= self.config.payment_delay_s):
                        o.payment_status, o.paid_at, o.modified_at = "PAID", now, now

    def throttled_response(self, operation: str) -> Response:
        if operation in TRADING_CALLS:
            return render.trading_failure(operation, self.clock.timestamp(), [render.ERR_USAGE_LIMIT],
                                          throttled=True)
        return render.too_many_requests()

    def malformed_response(self, operation: str) -> Response:
        if operation in TRADING_CALLS:
            return Response(200, (f'<?xml version="1.0" encoding="UTF-8"?>\n<{operation}Response '
                                  f'xmlns="{render.TRADING_NS}"><Ack>Success</Ack><OrderArray><Order>'
                                  '<OrderID>').encode(), {"Content-Type": "text/xml;charset=utf-8"})
        return Response(200, b'{"href":"","total":3,"orders":[{"orderId":"12-', {"Content-Type": "application/json"})

    def auth_scenario(self, action: str, account: str | None) -> dict:
        """revoke_refresh_token | expire_access_tokens | expire_authorisation (the
        18-month consent lapses: refresh token and Auth'n'Auth token both dead) |
        revoke_client_secret | expire_trading_token (Trading 932) |
        warn_trading_token (HardExpirationWarning from now on) | restore."""
        acct = self.account(account)
        now = self.clock.timestamp()
        with self.lock:
            if action == "revoke_refresh_token":
                acct.refresh_revoked = True
            elif action == "expire_access_tokens":
                for tok in self.tokens.values():
                    if tok.username == acct.username:
                        tok.expires_at = now - 1
            elif action == "expire_authorisation":
                acct.refresh_expires_at = now - 1
                acct.trading_token_expires_at = now - 1
            elif action == "revoke_client_secret":
                acct.secret_revoked = True
            elif action == "expire_trading_token":
                acct.trading_token_revoked = True
            elif action == "warn_trading_token":
                acct.trading_token_expires_at = now + self.config.hard_expiration_warning_s / 2
            elif action == "restore":
                acct.refresh_revoked = acct.secret_revoked = acct.trading_token_revoked = False
                acct.refresh_expires_at = now + self.config.refresh_token_ttl_s
                acct.trading_token_expires_at = now + self.config.trading_token_ttl_s
            else:
                raise ValueError(f"unknown eBay auth scenario {action!r}")
        return {"account": acct.username, "action": action}

    def extra_stats(self) -> dict:
        now = self.clock.timestamp()
        with self.lock:
            accounts = {}
            for a in self.accounts:
                kinds = [l.kind for l in self.listings[a.channel].values()]
                accounts[a.username] = {
                    "calls_today": {api: self.quota.used(a.username, api, now) for api in REST_APIS},
                    "orders": len(self.orders[a.username]),
                    "listings": {"inventory": kinds.count("inventory"), "trading": kinds.count("trading")},
                }
            return {"accounts": accounts, "revision_limit_hits": self.revision_limit_hits}

    # ------------------------------------------------------------------ internals
    def new_unique(self, pattern: str) -> str:
        while True:
            value = new_id(self.rng, pattern)
            if value not in self._ids:
                self._ids.add(value)
                return value

    def _is_legacy(self, channel: str, sku: str) -> bool:
        if sku in self.legacy_marks.get(channel, set()):
            return True
        ratio = self.config.legacy_ratio
        return ratio > 0 and (zlib.crc32(sku.encode()) % 10_000) < ratio * 10_000

    def _set_kind(self, l: Listing, kind: str) -> None:
        if kind not in ("inventory", "trading"):
            raise ValueError(f"listing kind must be 'inventory' or 'trading', not {kind!r}")
        l.kind = kind
        if kind == "inventory":
            l.offer_id = l.offer_id or self.new_unique("5999999999")
            l.inventory_quantity = l.quantity if l.inventory_quantity is None else l.inventory_quantity
        else:
            l.offer_id = None
            l.inventory_quantity = None

    def _register_sandbox_routes(self) -> None:
        app = self.app

        @app.route("GET", "/sandbox/listings")
        def sandbox_listings(req: Request) -> Response:
            channel = req.arg("channel") or self.accounts[0].channel
            try:
                self.account_for_channel(channel)
            except ValueError as exc:
                return json_response({"error": str(exc)}, 400)
            with self.lock:
                rows = {sku: {**ref, "quantity": self.listings[channel][sku].quantity,
                              "price": str(self.listings[channel][sku].price)}
                        for sku, ref in self.listing_map(channel).items()}
            return json_response({"channel": channel, "listings": rows})

        @app.route("POST", "/sandbox/listings")
        def sandbox_set_listing(req: Request) -> Response:
            body = req.json() or {}
            try:
                channel = body.get("channel") or self.accounts[0].channel
                sku = str(body["sku"])
                kind = body.get("kind")
                existing = self.listings.get(channel, {}).get(sku)
                qty = int(body.get("quantity", existing.quantity if existing else 0))
                price = Decimal(str(body["price"])) if body.get("price") is not None else None
                if kind == "trading":
                    self.mark_legacy(channel, sku)
                elif kind == "inventory":
                    self.mark_legacy(channel, sku, legacy=False)
                self.set_listing(channel, sku, qty, price, kind=kind)
            except (KeyError, ValueError, ArithmeticError) as exc:
                return json_response({"error": f"bad listing body: {exc}"}, 400)
            return json_response({"ok": True, "listing": self.listing_map(channel)[sku]})

        @app.route("POST", "/sandbox/config")
        def sandbox_config(req: Request) -> Response:
            try:
                self.configure(**(req.json() or {}))
            except (ValueError, TypeError) as exc:
                return json_response({"error": str(exc)}, 400)
            return json_response({"ok": True, "config": vars(self.config)})
