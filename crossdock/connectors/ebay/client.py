"""I/O for eBay, nothing else.

REST (Fulfillment, Inventory): a thin httpx client; every call goes through
:func:`crossdock.connectors.http.send` (quota budget, timeout, 5xx/HTML/429
classification). ebaysdk covers only the XML APIs and has no OAuth, so it
cannot serve these.

Trading (``ReviseInventoryStatus``, ``GetItem``): through ebaysdk 2.2.0
(``ebaysdk.trading.Connection``) as the project standard for the XML API.
ebaysdk uses ``requests``, not httpx, so ``send`` does not apply; this client
does the same duties itself: it takes quota before the call (``take_quota``: a
wait is raised as ``QuotaWait``, never slept), reports
the status to ``budget.on_response`` after it, sets a timeout, and mounts a
transport adapter (the swappable seam, as an httpx transport is for REST) that
refuses 5xx, HTML and unparsable XML *before* ebaysdk reads them (ebaysdk
would otherwise fail with AttributeError on an HTML maintenance page).
ebaysdk's ``ConnectionError`` + ``api.response_codes()`` are translated here,
at the boundary, through :mod:`crossdock.connectors.ebay.errors`.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from crossdock.connectors.ebay import mapping
from crossdock.connectors.ebay.auth import EbayAuth
from crossdock.connectors.ebay.errors import TRADING_REFRESH_CODES, rest_platform_error, trading_call_error
from crossdock.connectors.ebay.mapping import as_list
from crossdock.connectors.ebay.mapping.shapes import (
    BulkPriceQuantity,
    GetMyeBaySellingRequest,
    InventoryItem,
    OfferDetails,
    ReviseInventoryStatusRequest,
    ShippingFulfillmentDetails,
)
from crossdock.connectors.ebay.settings import EbaySettings
from crossdock.connectors.http import Budget, CallContext, json_body, send, take_quota
from crossdock.connectors.jsondoc import Payload
from crossdock.errors import AuthError, CrossdockError, MappingError, NetError, PlatformError, QuotaError

if TYPE_CHECKING:
    from ebaysdk.trading import Connection

log = logging.getLogger(__name__)


class _NoSdkDebug(logging.Filter):
    """ebaysdk logs full request headers and XML bodies at DEBUG — the Auth'n'Auth
    token and the Cert ID included. Those records never pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_sdk_log = logging.getLogger("ebaysdk")
if not any(isinstance(f, _NoSdkDebug) for f in _sdk_log.filters):
    _sdk_log.addFilter(_NoSdkDebug())

FULFILLMENT = "/sell/fulfillment/v1"
INVENTORY = "/sell/inventory/v1"
ANALYTICS = "/developer/analytics/v1_beta"
#: path prefix -> (api_context, api_name) in the Developer Analytics API
ANALYTICS_APIS = ((FULFILLMENT, ("sell", "fulfillment")), (INVENTORY, ("sell", "inventory")))
TRADING_API = ("TradingAPI", "TradingAPI")
#: The data of one Trading call, as ebaysdk turns it into XML.
TradingRequest = ReviseInventoryStatusRequest | GetMyeBaySellingRequest | Mapping[str, str]


class QuotaWait(Protocol):
    """:meth:`EbayRestClient.quota_wait`: real seconds to wait after a call-limit refusal."""

    def __call__(self, api_context: str, api_name: str, *, resource: str | None = None, daily: bool,
                 lookup: bool = True) -> float: ...


class EbayRestClient:
    def __init__(self, settings: EbaySettings, auth: EbayAuth, http: httpx.Client, *,
                 budget: Budget | None = None) -> None:
        self.settings = settings
        self.auth = auth
        self.http = http
        self.budget = budget

    def call(self, method: str, path: str, operation: str, *, params: Mapping[str, str] | None = None,
             json: Any = None, entity: str | None = None, content_language: bool = False,
             scheme: str = "Bearer", marketplace: str | None = None) -> httpx.Response:
        """One REST call; a 401 errorId 1001 refreshes the token once and retries. ``scheme``:
        the Authorization scheme (the Post-Order API's is IAF); ``marketplace``: its site id."""
        s = self.settings
        ctx = CallContext("ebay", s.username, s.channel, operation, entity=entity)
        token = self.auth.access_token()
        for attempt in (1, 2):
            headers = {"Authorization": f"{scheme} {token}", "Accept": "application/json",
                       "X-EBAY-C-MARKETPLACE-ID": marketplace or s.marketplace_id}
            if content_language:
                headers["Content-Language"] = s.content_language or "en-US"
            request = self.http.build_request(method, s.base_url.rstrip("/") + path, params=params, json=json,
                                              headers=headers)
            try:
                return send(self.http, request, ctx, budget=self.budget, timeout_s=s.timeout_s,
                            platform_error=rest_platform_error)
            except AuthError as exc:
                if attempt == 1 and exc.context.get("error_id") == 1001:
                    log.info("%s: %s answered 1001 (invalid token); refreshing once", s.channel, operation)
                    token = self.auth.refresh(rejected=token)
                    continue
                raise
            except QuotaError as exc:
                api = next((a for prefix, a in ANALYTICS_APIS if path.startswith(prefix)), None)
                if exc.retry_after_s is not None and exc.context.get("status") == 429:
                    # a Retry-After from eBay is platform time; the caller waits in real seconds
                    exc.retry_after_s = self.auth.clock.to_real_s(exc.retry_after_s)
                elif exc.retry_after_s is None and api is not None:
                    # eBay's call-limit answers carry no wait; a per-listing revision limit
                    # (XD-QUOTA-004) lasts the calendar day, which the analytics do not cover.
                    exc.retry_after_s = self.quota_wait(*api, daily=exc.code != "XD-QUOTA-001",
                                                        lookup=exc.code != "XD-QUOTA-004")
                raise
        raise AssertionError("unreachable")

    def quota_wait(self, api_context: str, api_name: str, *, resource: str | None = None, daily: bool,
                   lookup: bool = True) -> float:
        """Real seconds to wait after eBay refused a call for its call limit:
        until the limit's ``reset`` (Developer Analytics getUserRateLimits) when
        it is used up or ``daily``; ``throttle_wait_s`` when calls remain (a
        short-term limit); without an analytics answer, until the next midnight
        in ``quota_reset_timezone`` for a daily limit, else ``throttle_wait_s``."""
        s = self.settings
        now = self.auth.clock.now()
        reset = remaining = None
        if lookup:
            try:
                payload = self.get_user_rate_limits(api_context, api_name)
                reset, remaining = mapping.rate_limit_reset(payload, api_context=api_context, api_name=api_name,
                                                            resource=resource)
            except CrossdockError as exc:
                log.info("%s: Developer Analytics gave no call-limit reset (%s)", s.channel, exc.code)
        if reset is not None and (daily or remaining == 0):
            wait_s = (reset - now).total_seconds()
        elif remaining is not None and remaining > 0:
            wait_s = s.throttle_wait_s
        elif daily:
            wait_s = (mapping.next_local_midnight(now, s.quota_reset_timezone) - now).total_seconds()
        else:
            wait_s = s.throttle_wait_s
        wait_s = max(1.0, wait_s)
        log.warning("%s: eBay %s/%s call limit reached; next call in %.0f s (platform time)", s.channel,
                    api_context, api_name, wait_s)
        return self.auth.clock.to_real_s(wait_s)

    def get_user_rate_limits(self, api_context: str, api_name: str) -> Payload:
        resp = self.call("GET", ANALYTICS + "/user_rate_limit/", "getUserRateLimits",
                         params=mapping.rate_limit_params(api_context, api_name))
        return self.json(resp, "getUserRateLimits")

    def json(self, resp: httpx.Response, operation: str) -> Payload:
        """The body of a REST answer: eBay answers every call used here with a JSON object."""
        body = json_body(resp, CallContext("ebay", self.settings.username, self.settings.channel, operation))
        if not isinstance(body, dict):
            raise MappingError("XD-MAP-010", channel=self.settings.channel, operation=operation,
                               detail=f"{operation}: the answer is not a JSON object")
        return body

    # --- Fulfillment
    def get_orders(self, params: Mapping[str, str]) -> Payload:
        return self.json(self.call("GET", FULFILLMENT + "/order", "getOrders", params=params), "getOrders")

    def get_order(self, order_id: str) -> Payload:
        return self.json(self.call("GET", f"{FULFILLMENT}/order/{order_id}", "getOrder", entity=f"order {order_id}"),
                         "getOrder")

    def create_shipping_fulfillment(self, order_id: str, body: ShippingFulfillmentDetails) -> httpx.Response:
        return self.call("POST", f"{FULFILLMENT}/order/{order_id}/shipping_fulfillment",
                         "createShippingFulfillment", json=body, entity=f"order {order_id}")

    # --- Inventory
    def bulk_update_price_quantity(self, body: BulkPriceQuantity) -> Payload:
        return self.json(self.call("POST", INVENTORY + "/bulk_update_price_quantity", "bulkUpdatePriceQuantity",
                                   json=body), "bulkUpdatePriceQuantity")

    def get_inventory_items(self, *, limit: int, offset: int) -> Payload:
        return self.json(self.call("GET", INVENTORY + "/inventory_item", "getInventoryItems",
                                   params={"limit": str(limit), "offset": str(offset)}), "getInventoryItems")

    def get_offers(self, sku: str) -> Payload:
        return self.json(self.call("GET", INVENTORY + "/offer", "getOffers",
                                   params={"sku": sku, "marketplace_id": self.settings.marketplace_id},
                                   entity=f"sku {sku}"), "getOffers")

    def put_inventory_item(self, sku: str, body: InventoryItem) -> None:
        from urllib.parse import quote

        self.call("PUT", f"{INVENTORY}/inventory_item/{quote(sku, safe='')}", "createOrReplaceInventoryItem",
                  json=body, entity=f"sku {sku}", content_language=True)

    def create_offer(self, body: OfferDetails) -> str:
        resp = self.call("POST", INVENTORY + "/offer", "createOffer", json=body, entity=f"sku {body['sku']}",
                         content_language=True)
        return str(self.json(resp, "createOffer")["offerId"])

    def update_offer(self, offer_id: str, body: OfferDetails) -> None:
        self.call("PUT", f"{INVENTORY}/offer/{offer_id}", "updateOffer", json=body, entity=f"offer {offer_id}",
                  content_language=True)

    def publish_offer(self, offer_id: str) -> str:
        resp = self.call("POST", f"{INVENTORY}/offer/{offer_id}/publish", "publishOffer", entity=f"offer {offer_id}")
        return str(self.json(resp, "publishOffer")["listingId"])


# ====================================================================== Trading
class _GuardAdapter(HTTPAdapter):
    """Sends through ``inner`` (or plain requests), reports each response, and
    refuses bodies ebaysdk cannot read as data."""

    def __init__(self, inner: BaseAdapter | None, check: Callable[[requests.Response], None]) -> None:
        super().__init__(max_retries=0)   # retries are the engine's decision, not a hidden loop
        self.inner = inner
        self.check = check

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: float | tuple[float | None, float | None] | None = None, verify: bool | str = True,
             cert: str | tuple[str, str] | None = None, proxies: dict[str, str] | None = None) -> requests.Response:
        if self.inner is not None:
            resp = self.inner.send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        else:
            resp = super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        self.check(resp)
        return resp

    def close(self) -> None:
        # ebaysdk closes its session after every response; keep a shared inner adapter alive.
        super().close()


class EbayTradingClient:
    def __init__(self, settings: EbaySettings, auth: EbayAuth, *, budget: Budget | None = None,
                 adapter: BaseAdapter | None = None,
                 quota_wait: QuotaWait | None = None) -> None:
        self.settings = settings
        self.auth = auth
        self.budget = budget
        self.adapter = adapter          # the transport seam: a requests adapter (tests swap in a fake)
        self.quota_wait = quota_wait    # EbayRestClient.quota_wait: the wait after 518 / 429
        self.hard_expiration_warning: str | None = None

    def _with_wait(self, exc: CrossdockError, call: str) -> CrossdockError:
        if isinstance(exc, QuotaError) and exc.retry_after_s is None and self.quota_wait is not None:
            exc.retry_after_s = self.quota_wait(*TRADING_API, resource=call, daily=exc.code != "XD-QUOTA-001",
                                                lookup=exc.code != "XD-QUOTA-004")
        return exc

    def _check(self, ctx: CallContext) -> Callable[[requests.Response], None]:
        def check(resp: requests.Response) -> None:
            if self.budget is not None:
                self.budget.on_response("ebay", ctx.account, ctx.operation, status=resp.status_code,
                                        headers=dict(resp.headers))
            ctype = resp.headers.get("Content-Type", "")
            head = resp.content[:64].lstrip().lower()
            html = "html" in ctype or head.startswith(b"<!doctype html") or head.startswith(b"<html")
            if resp.status_code >= 500:
                raise NetError("XD-NET-003", channel=ctx.channel, entity=ctx.entity, operation=ctx.operation,
                               status=resp.status_code,
                               detail=f"{ctx.operation}: HTTP {resp.status_code} ({'HTML' if html else 'error'} body)")
            if resp.status_code == 429:
                raise QuotaError("XD-QUOTA-001", channel=ctx.channel, operation=ctx.operation, status=429,
                                 detail=f"{ctx.operation}: HTTP 429")
            if resp.status_code != 200:
                raise PlatformError("XD-PLATFORM-001", channel=ctx.channel, operation=ctx.operation,
                                    status=resp.status_code, detail=f"{ctx.operation}: HTTP {resp.status_code}")
            if html:
                raise NetError("XD-NET-004", channel=ctx.channel, operation=ctx.operation,
                               detail=f"{ctx.operation}: HTML body with status 200")
            try:
                ET.fromstring(resp.content)
            except ET.ParseError as exc:
                raise NetError("XD-NET-004", channel=ctx.channel, operation=ctx.operation,
                               detail=f"{ctx.operation}: malformed XML: {exc}") from exc

        return check

    def _connection(self, ctx: CallContext, iaf_token: str | None) -> Connection:
        from ebaysdk.trading import Connection

        s = self.settings
        url = urlsplit(s.trading_url)
        api = Connection(domain=url.netloc, uri=url.path or "/ws/api.dll", appid=s.client_id, devid=s.dev_id,
                         certid=s.client_secret, token=None if iaf_token else s.trading_token,
                         iaf_token=iaf_token, siteid=str(s.site_id), compatibility=s.compatibility_level,
                         timeout=s.timeout_s, config_file=None, escape_xml=True, warnings=False)
        api.config.set("https", url.scheme == "https", force=True)
        guard = _GuardAdapter(self.adapter, self._check(ctx))
        api.session.mount("http://", guard)
        api.session.mount("https://", guard)
        return api

    def execute(self, call: str, data: TradingRequest, *, entity: str | None = None,
                per_item: bool = False) -> Payload:
        """The reply dict of one Trading call. Failures raise, except — with
        ``per_item`` (batch calls) — errors that name an item in ``ErrorParameters``,
        which stay in the reply for the caller to map item by item."""
        from ebaysdk.exception import ConnectionError as EbaySdkError

        s = self.settings
        ctx = CallContext("ebay", s.username, s.channel, call, entity=entity)
        iaf = None if s.trading_token else self.auth.access_token()
        for attempt in (1, 2):
            api = self._connection(ctx, iaf)
            if self.budget is not None:
                take_quota(self.budget, ctx)       # no quota now: QuotaWait, nothing sleeps
            try:
                response = api.execute(call, data)
                reply: Payload = response.dict()
            except EbaySdkError as exc:
                codes = list(api.response_codes())
                reply = exc.response.dict() if exc.response is not None and hasattr(exc.response, "dict") else {}
                errors = [e for e in as_list(reply.get("Errors")) if isinstance(e, Mapping)]
                if iaf and attempt == 1 and TRADING_REFRESH_CODES & set(codes):
                    iaf = self.auth.refresh(rejected=iaf)
                    continue
                call_level = [e for e in errors if e.get("SeverityCode") != "Warning"
                              and not (per_item and e.get("ErrorParameters"))]
                if call_level or not errors:
                    raise self._with_wait(trading_call_error(codes, call_level or errors, ctx), call) from exc
            except requests.exceptions.Timeout as exc:
                raise NetError("XD-NET-002", channel=s.channel, entity=entity, operation=call,
                               detail=f"{call}: {type(exc).__name__}: {exc}") from exc
            except requests.exceptions.RequestException as exc:
                raise NetError("XD-NET-001", channel=s.channel, entity=entity, operation=call,
                               detail=f"{call}: {type(exc).__name__}: {exc}") from exc
            except CrossdockError as exc:
                raise self._with_wait(exc, call)
            except (AttributeError, ValueError) as exc:   # ebaysdk choking on an unexpected document
                raise NetError("XD-NET-004", channel=s.channel, entity=entity, operation=call,
                               detail=f"{call}: unreadable Trading response ({type(exc).__name__})") from exc
            warning = reply.get("HardExpirationWarning")
            if warning:
                self.hard_expiration_warning = str(warning)
                log.warning("[XD-AUTH-005] %s: eBay Auth'n'Auth token hard-expires at %s", s.channel, warning)
            return reply
        raise AssertionError("unreachable")

    def revise_inventory_status(self, data: ReviseInventoryStatusRequest) -> Payload:
        return self.execute("ReviseInventoryStatus", data, per_item=True)

    def get_item(self, item_id: str) -> Payload:
        return self.execute("GetItem", {"ItemID": item_id}, entity=f"item {item_id}")

    def get_my_ebay_selling(self, data: GetMyeBaySellingRequest) -> Payload:
        """One page of ``GetMyeBaySelling`` (``mapping.active_list_request``)."""
        return self.execute("GetMyeBaySelling", data)
