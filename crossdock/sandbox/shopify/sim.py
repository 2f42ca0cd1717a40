"""The Shopify sandbox: GraphQL Admin API, expiring offline tokens, webhooks.

Endpoints (the shop is named by a path prefix, by a ``<shop>.myshopify.com``
Host header, or — with neither — by the access token, which belongs to exactly
one shop; a token used against another shop is rejected):

* ``POST [/shops/<shop>]/admin/api/<version>/graphql.json`` — GraphQL Admin API,
  header ``X-Shopify-Access-Token``; cost-based throttling per shop;
* ``GET  [/shops/<shop>]/admin/api/<version>/shop.json`` — one legacy REST
  resource (leaky bucket 40 / 2 per second, ``X-Shopify-Shop-Api-Call-Limit``);
* ``POST [/shops/<shop>]/admin/oauth/access_token`` — refresh of expiring
  offline tokens (``grant_type=refresh_token``), rotating the refresh token.

Why the three ways of naming the shop: the connector uses the per-shop prefix
(``base_url + /shops/<shop>`` plays ``https://<shop>.myshopify.com``);
ShopifyAPI 12.7 builds its URL from the shop domain and cannot carry a path, so
it is pointed at ``127.0.0.1:PORT`` (``Session.setup(protocol="http",
myshopify_domain="0.0.1", port=PORT)`` and shop ``"127"``: the SDK keeps the
first DNS label and appends ``.<myshopify_domain>:<port>``) and the sandbox
tells the shop from the token; a local proxy or DNS that keeps the real Host
header works too.

API versions: the current quarterly version and the three before it are
served; an older quarterly version falls forward to the oldest supported one
(the ``X-Shopify-API-Version`` header says which), anything else is 404, as
at Shopify.

Tokens: access tokens expire after ``access_token_ttl_s`` of sandbox time;
each refresh returns a new refresh token. Since August 2026 Shopify keeps the
previous refresh token usable until the app starts using its replacement (the
new access token or the new refresh token), so a lost refresh response can be
recovered; after that the old one answers 400 ``invalid_grant``. Set
``refresh_grace=False`` for strict one-time refresh tokens.

Orders: the sandbox app has no ``read_all_orders`` scope, so ``orders`` shows
the last 60 days (by creation), as Shopify does.

Webhooks: subscriptions are made with the GraphQL mutation
``webhookSubscriptionCreate`` (or :meth:`ShopifySim.subscribe` from Python);
see :mod:`crossdock.sandbox.shopify.webhooks` for delivery.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crossdock.sandbox.consent import AuthCodes
from crossdock.sandbox.core import PlatformSim
from crossdock.sandbox.http import Request, Response, json_response
from crossdock.sandbox.limits import Bucket
from crossdock.sandbox.shopify import admin_graphql, oauth, payloads
from crossdock.sandbox.shopify.markets import FX_PER_EUR, convert
from crossdock.sandbox.shopify.oauth import AccessRec, Creds, RefreshRec
from crossdock.sandbox.shopify.records import IdGen, Level, OrderRec, WebhookSub, gid
from crossdock.sandbox.shopify.store import Shop
from crossdock.sandbox.shopify.views import WEBHOOK_TOPICS

if TYPE_CHECKING:
    from crossdock.sandbox.core import Sandbox

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
REST_LIMIT_BODY = {"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
                             "uninterrupted service."}
_VERSION_RE = re.compile(r"^\d{4}-(01|04|07|10)$")


@dataclass(frozen=True)
class ShopSpec:
    shop: str
    currency: str = "EUR"
    country: str = "DE"
    timezone: str = "Europe/Berlin"


DEFAULT_SHOPS = (ShopSpec("crossdock-eu"),)


def quarterly_versions(current: str, count: int = 4) -> list[str]:
    """``count`` quarterly versions ending at ``current``, oldest first."""
    year, month = (int(x) for x in current.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        month -= 3
        if month <= 0:
            month += 12
            year -= 1
    return sorted(out)


class ShopifySim(PlatformSim):
    """Simulated Shopify (GraphQL Admin API) for one or more shops."""

    name = "shopify"

    CONFIG_KEYS = ("api_version", "maximum_available", "restore_rate", "max_query_cost", "access_token_ttl_s",
                   "refresh_token_ttl_s", "refresh_grace", "search_index_lag_s", "webhook_duplicate_probability",
                   "webhook_out_of_order_probability", "webhook_drop_probability", "pending_payment_probability")

    def __init__(self, sandbox: Sandbox, *, shops: tuple[ShopSpec, ...] | list[ShopSpec] | None = None,
                 api_version: str = "2026-10", maximum_available: float = 2000.0, restore_rate: float = 100.0,
                 max_query_cost: int = 1000, access_token_ttl_s: float = 3600.0,
                 refresh_token_ttl_s: float = 90 * 86400.0, refresh_grace: bool = True,
                 search_index_lag_s: float = 2.0, webhook_duplicate_probability: float = 0.0,
                 webhook_out_of_order_probability: float = 0.0, pending_payment_probability: float = 0.1) -> None:
        super().__init__(sandbox)
        # str seeds are hashed deterministically (hash(str) is not across processes)
        self.rng = random.Random(f"shopify:{sandbox.seed}")
        self.api_version = api_version
        self.maximum_available = float(maximum_available)
        self.restore_rate = float(restore_rate)
        self.max_query_cost = int(max_query_cost)
        self.access_token_ttl_s = float(access_token_ttl_s)
        self.refresh_token_ttl_s = float(refresh_token_ttl_s)
        self.refresh_grace = refresh_grace
        self.search_index_lag_s = float(search_index_lag_s)
        self.webhook_duplicate_probability = float(webhook_duplicate_probability)
        self.webhook_out_of_order_probability = float(webhook_out_of_order_probability)
        self.webhook_drop_probability = 0.0      # fault injection: a webhook never sent (configure() sets it)
        self.pending_payment_probability = float(pending_payment_probability)
        now = self.clock.timestamp()
        self.shops: dict[str, Shop] = {}
        self.creds: dict[str, Creds] = {}
        self.access_tokens: dict[str, AccessRec] = {}
        self.refresh_tokens: dict[str, RefreshRec] = {}
        self.buckets: dict[str, Bucket] = {}
        self.refreshes = 0
        self.auth_codes = AuthCodes(self.clock.timestamp, ttl_s=600)     # `auth connect`: install codes
        self._pending_orders: set[tuple[str, int]] = set()
        self._local = threading.local()
        for i, spec in enumerate(shops or DEFAULT_SHOPS):
            shop = Shop(name=spec.shop, currency=spec.currency, country=spec.country, timezone=spec.timezone,
                        ids=IdGen(offset=(sandbox.seed % 1000) * 1_000_000 + i * 100_000), rng=self.rng, now=now)
            self.shops[spec.shop] = shop
            self.creds[spec.shop] = Creds(client_id=self.random_hex(16),
                                          client_secret="shpss_" + self.random_hex(16))
            oauth.issue_tokens(self, spec.shop, now)
        from crossdock.sandbox.shopify.webhooks import WebhookDispatcher

        self.webhooks = WebhookDispatcher(self)

    # --- configuration ------------------------------------------------------------
    def configure(self, **options: Any) -> None:
        """Change sandbox behaviour at run time (tests, demo, admin scripts)."""
        unknown = set(options) - set(self.CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown Shopify sandbox options: {sorted(unknown)}; known: {self.CONFIG_KEYS}")
        with self.lock:
            for k, v in options.items():
                setattr(self, k, v)
            self.buckets.clear()

    def supported_versions(self) -> list[str]:
        return quarterly_versions(self.api_version)

    def random_hex(self, nbytes: int) -> str:
        return "%0*x" % (nbytes * 2, self.rng.getrandbits(nbytes * 8))

    # --- describe / channels ---------------------------------------------------------
    def describe(self) -> dict:
        base = self.server.url if self.server else None
        out = []
        for name, shop in self.shops.items():
            c = self.creds[name]
            out.append({"shop": name, "access_token": c.access_token, "client_id": c.client_id,
                        "client_secret": c.client_secret, "refresh_token": c.refresh_token,
                        "currency": shop.currency, "location_id": gid("Location", shop.primary_location_id)})
        return {"base_url": base, "api_version": self.api_version, "shops": out}

    def channels(self) -> list[str]:
        return [f"shopify:{name}" for name in self.shops]

    def _shop_of(self, channel: str) -> Shop:
        name = channel.split(":", 1)[1] if channel.startswith("shopify:") else channel
        try:
            return self.shops[name]
        except KeyError:
            raise ValueError(f"unknown Shopify channel {channel!r}; channels: {self.channels()}") from None

    def client_secret_for(self, shop: str) -> str:
        return self.creds[shop].client_secret

    # --- which shop a request is for ----------------------------------------------------
    def shop_hint(self, req: Request) -> str | None:
        """The shop the request names by path prefix or Host header (None: neither)."""
        shop = req.path_params.get("shop")
        if shop:
            return shop
        host = (req.headers.get("Host") or "").split(":")[0].lower()
        if host.endswith(".myshopify.com"):
            return host[: -len(".myshopify.com")]
        return None

    def _account(self, req: Request) -> str:
        self._local.req = req
        hint = self.shop_hint(req)
        if hint:
            return hint
        rec = self.access_tokens.get(req.headers.get("X-Shopify-Access-Token") or "")
        return rec.shop if rec else ""

    # --- app ------------------------------------------------------------------------------
    def build_app(self) -> None:
        for prefix in ("", "/shops/{shop}"):
            self.op("POST", prefix + "/admin/api/{version}/graphql.json", "graphql", account=self._account)(
                self._graphql)
            self.op("GET", prefix + "/admin/api/{version}/shop.json", "rest", account=self._account,
                    rate=2.0, burst=40.0)(self._rest_shop)
            self.op("POST", prefix + "/admin/oauth/access_token", "oauth", account=self._account)(
                functools.partial(oauth.token_endpoint, self))
            self.op("GET", prefix + "/admin/oauth/authorize", "consent", account=self._account)(
                functools.partial(oauth.consent_page, self))

    def unknown_shop(self, hint: str | None) -> Response | None:
        """Shopify's 404 for a shop the sandbox does not have (None: known or not named)."""
        if hint is not None and hint not in self.shops:
            return json_response({"errors": "Not Found"}, 404)
        return None

    def _serve_version(self, version: str) -> str | None:
        supported = self.supported_versions()
        if version in supported or version == "unstable":
            return version
        if _VERSION_RE.match(version) and version < supported[0]:
            return supported[0]          # Shopify falls forward to the oldest supported version
        return None

    # --- GraphQL ----------------------------------------------------------------------------
    def _graphql(self, req: Request) -> Response:
        hint = self.shop_hint(req)
        early = self.unknown_shop(hint)
        if early is not None:
            return early
        version = self._serve_version(req.path_params["version"])
        if version is None:
            return json_response({"errors": "Not Found"}, 404)
        with self.lock:
            shop_name = oauth.authenticate(self, req, hint)
        if shop_name is None:
            return json_response({"errors": INVALID_TOKEN}, 401)
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        query: Any
        try:
            if ctype == "application/graphql":
                query, variables, op_name = req.body.decode("utf-8"), None, None
            else:
                body = req.json() or {}
                query, variables, op_name = body.get("query"), body.get("variables"), body.get("operationName")
        except (ValueError, UnicodeDecodeError, AttributeError):
            return json_response({"errors": {"query": "Required parameter missing or invalid"}}, 400)
        if not isinstance(query, str) or not query.strip():
            return json_response({"errors": {"query": "Required parameter missing or invalid"}}, 400)
        status, payload, throttled = self.execute_graphql(shop_name, version, query, variables, op_name)
        resp = json_response(payload, status, {"X-Shopify-API-Version": version,
                                               "X-Request-Id": str(uuid.uuid4())})
        resp.throttled = throttled
        return resp

    def execute_graphql(self, shop_name: str, version: str, query: str, variables: Any = None,
                        operation_name: str | None = None) -> tuple[int, dict[str, Any], bool]:
        """Run one GraphQL request for ``shop_name``: (HTTP status, body, throttled)."""
        return admin_graphql.execute_graphql(self, shop_name, version, query, variables, operation_name)

    # --- legacy REST and OAuth -------------------------------------------------------------
    def _rest_shop(self, req: Request) -> Response:
        hint = self.shop_hint(req)
        early = self.unknown_shop(hint)
        if early is not None:
            return early
        version = self._serve_version(req.path_params["version"])
        if version is None:
            return json_response({"errors": "Not Found"}, 404)
        with self.lock:
            shop_name = oauth.authenticate(self, req, hint)
            if shop_name is None:
                return json_response({"errors": INVALID_TOKEN}, 401)
            b = self.sandbox.limits.bucket(self.name, shop_name, "rest", 2.0, 40.0)
            used = int(round(b.burst - b.available(self.clock.timestamp())))
            return json_response(payloads.shop_json(self.shops[shop_name]), 200,
                                 {"X-Shopify-API-Version": version,
                                  "X-Shopify-Shop-Api-Call-Limit": f"{max(1, used)}/40"})

    # --- fault formats --------------------------------------------------------------------
    def throttled_response(self, operation: str) -> Response:
        if operation == "graphql":
            req = getattr(self._local, "req", None)
            shop, requested = None, None
            if req is not None:
                with self.lock:
                    shop = self._account(req) or None
                    shop = shop if shop in self.shops else None
                requested = admin_graphql.estimate_cost(self, req)
            resp = json_response(admin_graphql.throttled_body(self, requested, shop), 200,
                                 {"X-Shopify-API-Version": self.api_version})
            resp.throttled = True
            return resp
        return json_response(REST_LIMIT_BODY, 429, {"Retry-After": "2.0", "X-Shopify-Shop-Api-Call-Limit": "40/40"})

    def malformed_response(self, operation: str) -> Response:
        if operation == "graphql":
            return Response(200, b'{"data":{"orders":{"edges":[{"node":{"id":"gid://shopify/Order/',
                            {"Content-Type": "application/json; charset=utf-8"})
        return Response(200, b'{"shop":{"id":', {"Content-Type": "application/json; charset=utf-8"})

    # --- credential scenarios -----------------------------------------------------------------
    def auth_scenario(self, action: str, account: str | None) -> dict[str, Any]:
        """revoke_refresh_token | expire_access_tokens | expire_authorisation | revoke_client_secret |
        reauthorise, for one shop or (``account`` None) all."""
        return oauth.auth_scenario(self, action, account)

    # --- marketplace hooks -------------------------------------------------------------------
    def listed(self, channel: str) -> dict[str, int]:
        with self.lock:
            return self._shop_of(channel).listed()

    def set_listing(self, channel: str, sku: str, qty: int, price: Decimal | None = None) -> None:
        shop = self._shop_of(channel)
        with self.lock:
            now = self.clock.timestamp()
            v = shop.variant_by_sku(sku)
            if v is None:
                cat = self.market.catalogue.get(sku)
                title = cat.title if cat else sku
                if price is None:
                    price = convert(cat.price, cat.currency if cat.currency in FX_PER_EUR else shop.currency,
                                    shop.currency) if cat else Decimal("10.00")
                product = shop.create_product(title=title, now=now, price=price, sku=sku)
                v = shop.variants[product.variant_ids[0]]
                item = shop.items[v.inventory_item_id]
                if cat is not None:
                    item.hs_code, item.country_of_origin = cat.hs_code, cat.country_of_origin
            elif price is not None:
                v.price = price
                v.updated_at = now
            lvl = shop.level(v.inventory_item_id)
            shop.set_available(v.inventory_item_id, shop.primary_location_id, int(qty), now)
            self.emit(shop, "inventory_levels/update", lvl)
            self.record_listed(shop, {sku})

    def place_order(self, channel: str, items: list[tuple[str, int]], *, buyer_country: str) -> str | None:
        shop = self._shop_of(channel)
        with self.lock:
            now = self.clock.timestamp()
            order = shop.place_order(items, buyer_country=buyer_country, now=now,
                                     pending_probability=self.pending_payment_probability)
            if order is None:
                return None
            oid = str(order.id)
            for line in order.lines:
                if line.sku:
                    self.market.record_sale(channel, line.sku, line.quantity, oid)
            self.record_listed(shop, {ln.sku for ln in order.lines if ln.sku})
            self.emit(shop, "orders/create", order)
            if order.financial == "PAID":
                self.emit(shop, "orders/paid", order)
            else:
                self._pending_orders.add((shop.name, order.id))
            for line in order.lines:
                v = shop.variants.get(line.variant_id or -1)
                lvl = shop.level(v.inventory_item_id) if v else None
                if lvl is not None:
                    self.emit(shop, "inventory_levels/update", lvl)
            return oid

    def cancel_random_order(self, channel: str) -> bool:
        shop = self._shop_of(channel)
        with self.lock:
            candidates = [o for o in shop.orders.values()
                          if o.cancelled_at is None and any(ln.unfulfilled for ln in o.lines)]
            if not candidates:
                return False
            order = self.rng.choice(sorted(candidates, key=lambda o: o.id))
            self.cancel_order(shop, order)
            return True

    def cancel_order(self, shop: Shop, order: OrderRec, reason: str = "CUSTOMER") -> None:
        """Cancel with refund and restock (like the admin's "Cancel order")."""
        with self.lock:
            now = self.clock.timestamp()
            restocked = shop.cancel(order, now, reason)
            channel = f"shopify:{shop.name}"
            self._pending_orders.discard((shop.name, order.id))
            for line, qty in restocked:
                if line.sku:
                    self.market.record_cancel(channel, line.sku, qty, str(order.id))
            self.record_listed(shop, {ln.sku for ln, _ in restocked if ln.sku})
            self.emit(shop, "orders/cancelled", order)
            self.emit(shop, "orders/updated", order)
            for line, _ in restocked:
                v = shop.variants.get(line.variant_id or -1)
                lvl = shop.level(v.inventory_item_id) if v else None
                if lvl is not None:
                    self.emit(shop, "inventory_levels/update", lvl)

    def tick(self) -> None:
        if not self._pending_orders:
            return
        with self.lock:
            now = self.clock.timestamp()
            for shop_name, oid in list(self._pending_orders):
                shop = self.shops[shop_name]
                order = shop.orders.get(oid)
                if order is None or order.pay_at is None:
                    self._pending_orders.discard((shop_name, oid))
                    continue
                if order.pay_at <= now:
                    shop.mark_paid(order, now)
                    self._pending_orders.discard((shop_name, oid))
                    self.emit(shop, "orders/paid", order)
                    self.emit(shop, "orders/updated", order)

    def extra_stats(self) -> dict:
        with self.lock:
            return {"webhooks": dict(self.webhooks.stats, pending=self.webhooks.pending()),
                    "token_refreshes": self.refreshes,
                    "throttle": {s: admin_graphql.throttle_status(self, s) for s in self.shops},
                    "orders": {s: len(shop.orders) for s, shop in self.shops.items()}}

    # --- webhooks -------------------------------------------------------------------------------
    def event_faults(self, *, drop_probability: float | None = None, duplicate_probability: float | None = None,
                     reorder_probability: float | None = None) -> dict[str, float]:
        """Webhook faults (admin ``POST /events/shopify``); None keeps a setting."""
        for name, value in (("webhook_drop_probability", drop_probability),
                            ("webhook_duplicate_probability", duplicate_probability),
                            ("webhook_out_of_order_probability", reorder_probability)):
            if value is not None:
                setattr(self, name, min(1.0, max(0.0, float(value))))
        return {"drop_probability": self.webhook_drop_probability,
                "duplicate_probability": self.webhook_duplicate_probability,
                "reorder_probability": self.webhook_out_of_order_probability}

    def subscribe(self, shop: str, topic: str, uri: str) -> str:
        """Python shortcut for ``webhookSubscriptionCreate``: topic as "orders/create" or "ORDERS_CREATE"."""
        enum = topic.upper().replace("/", "_") if "/" in topic else topic
        if enum not in WEBHOOK_TOPICS:
            raise ValueError(f"unknown webhook topic {topic!r}")
        with self.lock:
            s = self.shops[shop]
            now = self.clock.timestamp()
            w = WebhookSub(s.ids.next("WebhookSubscription"), enum, uri, now, now)
            s.subscriptions[w.id] = w
            return gid("WebhookSubscription", w.id)

    def emit(self, shop: Shop, topic: str, obj: Any) -> None:
        """Queue a webhook of ``topic`` about ``obj`` to every subscription of the shop to it."""
        subs = [w for w in shop.subscriptions.values() if WEBHOOK_TOPICS.get(w.topic) == topic]
        if not subs:
            return
        if isinstance(obj, OrderRec):
            payload = payloads.order_json(shop, obj)
        elif isinstance(obj, Level):
            payload = payloads.inventory_level_json(shop, obj)
        else:
            payload = obj
        now = self.clock.timestamp()
        triggered = dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for w in subs:
            self.webhooks.enqueue(shop=shop.name, uri=w.uri, topic=topic, payload=payload, triggered_at=triggered,
                                  now=now)

    def record_listed(self, shop: Shop, skus: set[str]) -> None:
        """Tell the market what the shop now shows for ``skus``."""
        listed = shop.listed()
        channel = f"shopify:{shop.name}"
        for sku in skus:
            self.market.record_listed(channel, sku, listed.get(sku, 0))

    # --- test helpers ----------------------------------------------------------------------------
    def order_count(self, channel: str) -> int:
        with self.lock:
            return len(self._shop_of(channel).orders)
