"""The simulated Amazon Selling Partner API (plus Login with Amazon).

Operations served (one HTTP server; paths as on Amazon):

- ``POST /auth/o2/token`` — LWA refresh-token grant (3600 s access tokens).
- Orders v0: getOrders, getOrder, getOrderItems, getOrderAddress (needs a
  Restricted Data Token), confirmShipment.
- Tokens 2021-03-01: createRestrictedDataToken.
- Notifications v1: destinations (grantless) and ORDER_CHANGE subscriptions,
  delivered to the sandbox's SQS queues (``notifications.py``); every seller
  has a queue with a dead-letter queue ready (``describe()``).
- Listings Items 2021-08-01: get, put, patch, delete, search.
- Feeds 2021-06-30: createFeedDocument (+ the pre-signed upload/download URL,
  served here), createFeed, getFeed, cancelFeed, getFeedDocument;
  JSON_LISTINGS_FEED processed over sandbox time.
- FBA Inventory v1: getInventorySummaries over each marketplace's FBA stock
  (``fba.py``; seeded with ``set_platform_stock`` / the admin API's ``platform_stock``).

Every SP-API operation has its published token bucket per seller (429
``QuotaExceeded`` when empty) and errors are ``{"errors":[{code, message,
details}]}``. Marketplace behaviour: listings per channel
(``amazon:<seller_id>:<marketplace_id>``), orders that decrement the listed
quantity at purchase (and restore it on cancellation), start ``Pending`` for
``pending_s`` sandbox seconds (no prices shown yet, as on Amazon) and become
``Unshipped``; EU imports carry IOSS / marketplace-facilitator data.

Options (keyword-only): ``sellers`` (how many selling partners, default 1),
``marketplaces`` (default US and DE), ``pending_s``, ``ships_from`` (the
seller's warehouse country, decides IOSS vs UOSS), ``feed_queue_s`` and
``feed_processing_s``. :meth:`AmazonSim.install` puts a sim built with options
into a Sandbox before it starts.
"""

from __future__ import annotations

import collections
import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crossdock.sandbox.amazon import auth, consent, fba, feeds, listings, notifications, orders, reports
from crossdock.sandbox.amazon import constants as C
from crossdock.sandbox.amazon.listings import (
    ISSUE_NOT_FOUND,
    apply_attributes,
    apply_patches,
    check_attributes,
    check_patches,
    issue,
    new_listing,
    sync_attributes,
)
from crossdock.sandbox.amazon.state import Ids, Listing, Order, OrderItem, Seller, Token
from crossdock.sandbox.amazon.wire import iso, sp_json
from crossdock.sandbox.consent import AuthCodes
from crossdock.sandbox.core import PlatformSim, Sandbox
from crossdock.sandbox.http import Request, Response

log = logging.getLogger(__name__)

#: Standard VAT rates of EU destinations (IOSS charges the buyer's country rate).
EU_VAT = {"AT": "0.20", "BE": "0.21", "DE": "0.19", "DK": "0.25", "ES": "0.21", "FI": "0.255", "FR": "0.20",
          "IE": "0.23", "IT": "0.22", "LU": "0.17", "NL": "0.21", "PL": "0.23", "PT": "0.23", "SE": "0.25"}

_PLACES = {
    "US": ("Seattle", "WA", "98109", "+1 206-555-0100"), "CA": ("Toronto", "ON", "M5H 2N2", "+1 416-555-0100"),
    "DE": ("Berlin", "Berlin", "10115", "+49 30 5550100"), "FR": ("Paris", "Ile-de-France", "75001",
                                                                   "+33 1 55 50 01 00"),
    "IT": ("Milano", "MI", "20121", "+39 02 5550100"), "ES": ("Madrid", "Madrid", "28001", "+34 91 555 0100"),
    "NL": ("Amsterdam", "Noord-Holland", "1012 AB", "+31 20 555 0100"),
    "AT": ("Wien", "Wien", "1010", "+43 1 5550100"), "PL": ("Warszawa", "Mazowieckie", "00-001",
                                                           "+48 22 555 01 00"),
    "GB": ("London", "Greater London", "SW1A 1AA", "+44 20 5550 0100"),
    "CH": ("Zurich", "ZH", "8001", "+41 44 555 01 00"), "JP": ("Tokyo", "Tokyo", "100-0001", "+81 3-5550-0100"),
}
PRUNE_EVERY_S = 600.0

_NAMES = ("Alex Morgan", "Sam Weber", "Jamie Rossi", "Chris Dubois", "Taylor Schmidt", "Jordan Novak",
          "Robin Jansen", "Casey Moreau", "Kim Fischer", "Riley Garcia")


class AmazonSim(PlatformSim):
    name = "amazon"

    def __init__(self, sandbox: Sandbox, *, sellers: int = 1,
                 marketplaces: tuple[str, ...] = C.DEFAULT_MARKETPLACES, pending_s: float = 30.0,
                 ships_from: str = "US", feed_queue_s: float = 30.0, feed_processing_s: float = 60.0) -> None:
        super().__init__(sandbox)
        if sellers < 1:
            raise ValueError("sellers must be >= 1")
        unknown = [m for m in marketplaces if m not in C.MARKETPLACES]
        if unknown:
            raise ValueError(f"unknown marketplace ids {unknown}")
        self.pending_s = float(pending_s)
        self.ships_from = ships_from.upper()
        self.feed_queue_s = float(feed_queue_s)
        self.feed_processing_s = float(feed_processing_s)
        self.ids = Ids(sandbox.seed)
        self.url_secret = self.ids.hex(64).encode()
        self.sellers: dict[str, Seller] = {}
        for i in range(sellers):
            acct = Ids(sandbox.seed * 1000 + i)
            seller = Seller(
                seller_id="A" + acct.alnum(13),
                marketplace_ids=tuple(marketplaces),
                client_id="amzn1.application-oa2-client." + acct.hex(32),
                client_secret="amzn1.oa2-cs.v1." + acct.hex(64),
                refresh_token="Atzr|" + acct.alnum(96, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                   "0123456789-_"),
            )
            self.sellers[seller.seller_id] = seller
        self.tokens: dict[str, Token] = {}
        self.auth_codes = AuthCodes(self.now, prefix="AN")          # website authorisation workflow codes
        self.granted_refresh: dict[str, str] = {}                   # refresh token → seller, from a consent
        self.listings: dict[str, dict[str, Listing]] = {ch: {} for ch in self.channels()}
        self.fba: dict[str, dict[str, fba.FbaStock]] = {ch: {} for ch in self.channels()}   # FBA units
        self.orders: dict[str, Order] = {}
        self._by_seller: dict[str, list[Order]] = {s: [] for s in self.sellers}
        self._pending: list[str] = []
        self.pages: dict[tuple[str, str], dict[str, Any]] = {}
        self.documents: dict = {}
        self.feeds: dict = {}
        self.feed_free_at: dict[str, float] = {}
        self.counters: collections.Counter = collections.Counter()
        self.notifications = notifications.Notifications(sandbox.seed)
        for seller in self.sellers.values():
            sandbox.sqs.queue_with_dead_letter(notifications.queue_name(seller.seller_id))
        self._pruned_at = self.clock.timestamp()

    @classmethod
    def install(cls, sandbox: Sandbox, **options: Any) -> "AmazonSim":
        """Replace ``sandbox``'s Amazon sim by one built with ``options`` (call
        before ``sandbox.start()``), e.g. ``AmazonSim.install(sb, sellers=2)``."""
        if sandbox.servers:
            raise RuntimeError("AmazonSim.install must run before Sandbox.start()")
        sim = cls(sandbox, **options)
        sim.build_app()
        sandbox.sims[cls.name] = sim
        return sim

    # ------------------------------------------------------------ hooks
    def build_app(self) -> None:
        auth.register(self)
        consent.register(self)
        orders.register(self)
        listings.register(self)
        feeds.register(self)
        notifications.register(self)
        fba.register(self)
        reports.register(self)

    def describe(self) -> dict:
        base = self.server.url if self.server is not None else ""
        return {
            "base_url": base,
            "lwa_url": base + "/auth/o2/token",
            "accounts": [{"seller_id": s.seller_id, "marketplace_ids": list(s.marketplace_ids),
                          "client_id": s.client_id, "client_secret": s.client_secret,
                          "refresh_token": s.refresh_token,
                          "notifications_queue": {**notifications.queue_of(self, s.seller_id),
                                                  **self.sandbox.sqs.access()}}
                         for s in self.sellers.values()],
        }

    def channels(self) -> list[str]:
        return [s.channel(m) for s in self.sellers.values() for m in s.marketplace_ids]

    def listed(self, channel: str) -> dict[str, int]:
        with self.lock:
            return {sku: li.quantity for sku, li in self.listings.get(channel, {}).items()
                    if li.price is not None and li.price > 0 and li.fulfillment_channel == "DEFAULT"}

    def set_platform_stock(self, channel: str, sku: str, spec: Any) -> None:
        """FBA units of ``sku`` (admin seeding ``platform_stock``): see fba.set_stock."""
        fba.set_stock(self, channel, sku, spec)

    def set_listing(self, channel: str, sku: str, qty: int, price: Decimal | None = None) -> None:
        seller, mp = self._channel(channel)
        if qty < 0:
            raise ValueError("quantity must be >= 0")
        with self.lock:
            now = self.now()
            listing = self.listings[channel].get(sku)
            if listing is None:
                listing = new_listing(sku, "PRODUCT", mp.currency, now)
                item = self.market.catalogue.get(sku)
                listing.attributes = {
                    "item_name": [{"value": item.title if item else sku, "language_tag": mp.language_tag,
                                   "marketplace_id": mp.marketplace_id}],
                    "brand": [{"value": "crossdock sandbox", "marketplace_id": mp.marketplace_id}],
                    "condition_type": [{"value": "new_new", "marketplace_id": mp.marketplace_id}],
                }
                if item is not None and item.country_of_origin:     # the seller gave it with the product
                    listing.attributes["country_of_origin"] = [{"value": item.country_of_origin,
                                                                "marketplace_id": mp.marketplace_id}]
                self.listings[channel][sku] = listing
            if price is not None:
                listing.price = Decimal(price)
            elif listing.price is None:
                listing.price = self._default_price(sku, mp)
            listing.updated_at = now
            self._set_quantity(channel, listing, qty)
            sync_attributes(listing, mp)

    def place_order(self, channel: str, items: list[tuple[str, int]], *, buyer_country: str) -> str | None:
        seller, mp = self._channel(channel)
        with self.lock:
            self.advance()
            book = self.listings[channel]
            prices: dict[str, Decimal] = {}
            for sku, qty in items:
                li = book.get(sku)
                if li is None or li.price is None or li.price <= 0 or qty < 1 or li.quantity < qty:
                    return None
                prices[sku] = li.price
            now = self.now()
            country = (buyer_country or mp.country).upper()
            value = sum((prices[sku] * qty for sku, qty in items), Decimal("0"))
            oid = self.ids.order_id(mp.order_prefix)
            while oid in self.orders:
                oid = self.ids.order_id(mp.order_prefix)
            lines = []
            for sku, qty in items:
                li = book[sku]
                self._set_quantity(channel, li, li.quantity - qty)
                rate, model, deemed = self._tax(mp, country, value)
                lines.append(OrderItem(
                    order_item_id=self.ids.digits(14), asin=li.asin, sku=sku,
                    title=_first(li.attributes.get("item_name")) or sku, quantity=qty, unit_price=prices[sku],
                    tax_rate=rate, tax_model=model, deemed_reseller=deemed,
                    ioss_number=C.SANDBOX_IOSS_NUMBER if deemed == "IOSS" else None))
            city, region, postal, phone = _PLACES.get(country, ("Capital", "", "1000", "+00 000 0000"))
            name = self.ids.rng.choice(_NAMES)
            order = Order(
                amazon_order_id=oid, seller_id=seller.seller_id, marketplace_id=mp.marketplace_id,
                channel=channel, currency=mp.currency, status="Pending" if self.pending_s > 0 else "Unshipped",
                purchase_date=now, last_update=now, buyer_country=country, items=lines,
                address={"Name": name, "AddressLine1": f"{self.ids.rng.randint(1, 200)} Market Street",
                         "City": city, "StateOrRegion": region, "PostalCode": postal, "CountryCode": country,
                         "Phone": phone, "AddressType": "Residential"},
                buyer_name=name, buyer_email=f"{self.ids.alnum(16).lower()}@marketplace.amazon.com",
                vat_included=mp.vat_included,
                pending_until=now + self.pending_s if self.pending_s > 0 else None)
            self.orders[oid] = order
            self._by_seller[seller.seller_id].append(order)
            if order.pending_until is not None:
                self._pending.append(oid)
            for sku, qty in items:
                self.market.record_sale(channel, sku, qty, oid)
            self.counters["orders_placed"] += 1
            notifications.order_changed(self, order, "New order")
            return oid

    def cancel_random_order(self, channel: str) -> bool:
        with self.lock:
            self.advance()
            candidates = [o.amazon_order_id for o in self.orders.values()
                          if o.channel == channel and o.status in ("Pending", "Unshipped")]
            if not candidates:
                return False
            return self.cancel_order(self.sandbox.rng.choice(sorted(candidates)))

    def cancel_order(self, order_id: str) -> bool:
        """Cancel an order before shipment (buyer or Amazon); the listed
        quantity comes back, as Amazon restores it for seller-fulfilled offers."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None or order.status not in ("Pending", "Unshipped"):
                return False
            order.status = "Canceled"
            order.last_update = self.now()
            book = self.listings[order.channel]
            for item in order.items:
                li = book.get(item.sku)
                if li is not None:
                    self._set_quantity(order.channel, li, li.quantity + item.quantity)
                self.market.record_cancel(order.channel, item.sku, item.quantity, order_id)
            self.counters["orders_cancelled"] += 1
            notifications.order_changed(self, order, "Order canceled")
            return True

    def tick(self) -> None:
        self.advance()

    def throttled_response(self, operation: str) -> Response:
        return sp_json(C.QUOTA_EXCEEDED, 429)

    def malformed_response(self, operation: str) -> Response:
        return Response(200, b'{"payload":{"Orders":[{"AmazonOrderId":"1', {"Content-Type": "application/json"})

    def auth_scenario(self, action: str, account: str | None) -> dict:
        with self.lock:
            seller = self.sellers.get(account) if account else next(iter(self.sellers.values()))
            if seller is None:
                raise ValueError(f"unknown account {account!r}; accounts: {sorted(self.sellers)}")
            now = self.now()
            mine = [t for t in self.tokens.values() if t.seller_id == seller.seller_id]
            out: dict[str, Any] = {"account": seller.seller_id, "action": action}
            if action == "revoke_refresh_token":
                seller.refresh_revoked = True
                for t in mine:
                    t.revoked = True
            elif action == "expire_access_tokens":
                for t in mine:
                    t.expires_at = min(t.expires_at, now)
                out["expired"] = len(mine)
            elif action == "expire_authorisation":
                seller.authorisation_expired_at = now
                out["authorisation_expired_at"] = iso(now)
            elif action == "revoke_client_secret":
                seller.secret_revoked = True
            elif action == "restore":
                seller.refresh_revoked = seller.secret_revoked = False
                seller.authorisation_expired_at = None
            else:
                raise ValueError(f"unknown action {action!r}; one of revoke_refresh_token, expire_access_tokens, "
                                 "expire_authorisation, revoke_client_secret, restore")
            return out

    def extra_stats(self) -> dict:
        with self.lock:
            by_channel: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
            for o in self.orders.values():
                by_channel[o.channel][o.status] += 1
            feeds_by_status = collections.Counter(f.status for f in self.feeds.values())
            return {"orders": {ch: dict(c) for ch, c in by_channel.items()},
                    "feeds": dict(feeds_by_status),
                    "listings": {ch: len(book) for ch, book in self.listings.items()},
                    "counters": dict(self.counters)}

    # ------------------------------------------------------------ helpers used by the handlers
    def now(self) -> float:
        return self.clock.timestamp()

    def account_of(self, req: Request) -> str:
        return auth.account_of(self, req)

    def orders_of(self, seller_id: str) -> list[Order]:
        return self._by_seller.get(seller_id, [])

    def advance(self) -> None:
        """Apply everything that is due by now: payment authorisations and feeds."""
        with self.lock:
            now = self.now()
            if self._pending:
                keep = []
                for oid in self._pending:
                    order = self.orders[oid]
                    if order.status != "Pending":
                        continue
                    if order.pending_until is not None and order.pending_until <= now:
                        order.status = "Unshipped"
                        order.last_update = order.pending_until
                        notifications.order_changed(self, order, "Order status changed from Pending to Unshipped",
                                                    at=order.pending_until)
                    else:
                        keep.append(oid)
                self._pending = keep
            if self.feeds:
                feeds.advance_feeds(self, now)
            if now - self._pruned_at > PRUNE_EVERY_S:
                self._prune(now)

    def _prune(self, now: float) -> None:
        """Forget what no client can use any more, so a long demo stays small:
        tokens expired a day ago (until then they still answer "expired"),
        abandoned NextTokens, and feed documents older than a day (sandbox time)."""
        self._pruned_at = now
        self.tokens = {v: t for v, t in self.tokens.items() if t.expires_at > now - 86400}
        self.pages = {k: p for k, p in self.pages.items() if p["expires_at"] > now}
        self.documents = {k: d for k, d in self.documents.items() if d.created_at > now - 86400}

    def put_listing(self, channel: str, sku: str, product_type: str, attributes: Any, requirements: str, *,
                    apply: bool, at: float | None = None) -> tuple[str, list[dict], Listing | None]:
        _, mp = self._channel(channel)
        required = {"LISTING": C.REQUIRED_LISTING_ATTRIBUTES,
                    "LISTING_OFFER_ONLY": C.REQUIRED_OFFER_ONLY_ATTRIBUTES,
                    "LISTING_PRODUCT_ONLY": ("item_name", "brand")}.get(requirements, C.REQUIRED_LISTING_ATTRIBUTES)
        problems = check_attributes(attributes, mp, required=required)
        listing = self.listings[channel].get(sku)
        if problems:
            return "INVALID", problems, listing
        if not apply:
            return "VALID", [], listing
        now = self.now() if at is None else at
        if listing is None:
            listing = new_listing(sku, product_type, mp.currency, now)
            self.listings[channel][sku] = listing
        listing.product_type = product_type
        if "purchasable_offer" not in attributes:
            listing.price = None
        qty, _ = apply_attributes(listing, dict(attributes), mp, now, replace_all=True)
        self._set_quantity(channel, listing, qty if qty is not None else 0)
        sync_attributes(listing, mp)
        return "ACCEPTED", [], listing

    def partial_update(self, channel: str, sku: str, attributes: Any, *,
                       at: float | None = None) -> tuple[str, list[dict], Listing | None]:
        _, mp = self._channel(channel)
        listing = self.listings[channel].get(sku)
        if listing is None:
            return "INVALID", [self._missing(sku, mp)], None
        problems = check_attributes(attributes, mp)
        if problems:
            return "INVALID", problems, listing
        qty, _ = apply_attributes(listing, dict(attributes), mp, self.now() if at is None else at,
                                  replace_all=False)
        if qty is not None:
            self._set_quantity(channel, listing, qty)
        sync_attributes(listing, mp)
        return "ACCEPTED", [], listing

    def patch_listing(self, channel: str, sku: str, patches: Any, *, apply: bool,
                      at: float | None = None) -> tuple[str, list[dict], Listing | None]:
        _, mp = self._channel(channel)
        listing = self.listings[channel].get(sku)
        if listing is None:
            return "INVALID", [self._missing(sku, mp)], None
        problems = check_patches(patches, mp)
        if problems:
            return "INVALID", problems, listing
        if not apply:
            return "VALID", [], listing
        qty = apply_patches(listing, patches, mp, self.now() if at is None else at)
        if qty is not None:
            self._set_quantity(channel, listing, qty)
        sync_attributes(listing, mp)
        return "ACCEPTED", [], listing

    def delete_listing(self, channel: str, sku: str) -> tuple[str, list[dict]]:
        _, mp = self._channel(channel)
        listing = self.listings[channel].pop(sku, None)
        if listing is None:
            return "INVALID", [self._missing(sku, mp)]
        self.market.record_listed(channel, sku, 0)
        return "ACCEPTED", []

    # ------------------------------------------------------------ internals
    def _channel(self, channel: str) -> tuple[Seller, C.Marketplace]:
        try:
            platform, seller_id, mp_id = channel.split(":")
            seller = self.sellers[seller_id]
        except (ValueError, KeyError):
            raise ValueError(f"unknown channel {channel!r}; channels: {self.channels()}") from None
        if platform != self.name or mp_id not in seller.marketplace_ids:
            raise ValueError(f"unknown channel {channel!r}; channels: {self.channels()}")
        return seller, C.MARKETPLACES[mp_id]

    def _set_quantity(self, channel: str, listing: Listing, qty: int) -> None:
        listing.quantity = max(0, int(qty))
        self.market.record_listed(channel, listing.sku, listing.quantity)

    @staticmethod
    def _missing(sku: str, mp: C.Marketplace) -> dict:
        return issue(ISSUE_NOT_FOUND, f"The listings item with SKU '{sku}' does not exist in marketplace "
                     f"{mp.marketplace_id}; create it with a full listing first.")

    def _default_price(self, sku: str, mp: C.Marketplace) -> Decimal | None:
        item = self.market.catalogue.get(sku)
        if item is None:
            return None
        if item.currency == mp.currency:
            return item.price
        rate = C.SANDBOX_FX.get((item.currency, mp.currency))
        if rate is None:
            return None
        return (item.price * Decimal(rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def _tax(self, mp: C.Marketplace, country: str, order_value: Decimal) -> tuple[Decimal, str | None,
                                                                                    str | None]:
        """(tax rate, TaxCollection.Model, DeemedResellerCategory) for an order."""
        if mp.country == "US":
            return (Decimal(mp.tax_rate), "MarketplaceFacilitator", None) if country == "US" \
                else (Decimal("0"), None, None)
        if mp.country in C.EU_COUNTRIES:
            if country not in C.EU_COUNTRIES:
                return Decimal("0"), None, None          # export outside the EU: zero-rated
            rate = Decimal(EU_VAT.get(country, mp.tax_rate))
            if self.ships_from in C.EU_COUNTRIES:
                return rate, "MarketplaceFacilitator", "UOSS"
            if mp.currency == "EUR" and order_value <= Decimal(C.IOSS_CEILING_EUR):
                return rate, "MarketplaceFacilitator", "IOSS"
            return Decimal("0"), None, None              # > EUR 150: import VAT at the border
        return (Decimal(mp.tax_rate), None, None) if country == mp.country else (Decimal("0"), None, None)


def _first(attr: Any) -> Any:
    if isinstance(attr, list) and attr and isinstance(attr[0], dict):
        return attr[0].get("value")
    return None
