"""The Amazon connector's only network code: a thin httpx client for SP-API.

Why not python-amazon-sp-api for I/O (a pinned test dependency: the sandbox
tests prove it works against the sandbox; docs/dependencies.md): in 2.1.x

- an HTML 5xx body parses to an empty ``ApiResponse`` instead of an error, so
  a maintenance page reads as "no orders" — an import window would be marked
  complete while orders are missing;
- its access-token cache is global, unlocked, holds 10 entries and ignores
  ``expires_in`` (a fixed 3200 s TTL), so workers for many sellers thrash it
  and nothing coordinates refreshes across processes;
- on a plain-http endpoint it sends ``Host: endpoint[8:]``, a wrong Host header;
- it has no quota budget hook, no per-call timeout by default and no typed
  errors.

This client sends every call through :func:`crossdock.connectors.http.send`
(quota budget, timeout, HTML/5xx and malformed JSON as errors, 429 as
XD-QUOTA-001), takes its access token from :class:`LwaAuth` (TokenStore, one
refresh under a lock), refreshes and retries once when Amazon says the token
expired or was revoked. A 429 is not waited out here: the budget hears it and
the caller gets XD-QUOTA-001 with one token's worth of time at the operation's
published rate (or Amazon's Retry-After) as ``retry_after_s``; the engine runs
the job again then, and no worker thread sleeps for quota. Transient network
failures and 5xx are retried within the call by ``send`` (``sleep=`` is its
back-off seam). The transport is one swappable seam (``transport=``), so tests
use respx or the in-process sandbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from crossdock.clock import Clock
from crossdock.connectors.amazon.auth import LwaAuth
from crossdock.connectors.amazon.errors import error_for
from crossdock.connectors.amazon.mapping import to_json_bytes
from crossdock.connectors.amazon.settings import AmazonSettings
from crossdock.connectors.base import MemoryTokenStore, TokenStore
from crossdock.connectors.http import Budget, CallContext, json_body, send
from crossdock.connectors.jsondoc import Payload
from crossdock.errors import AuthError, CrossdockError, MappingError, PlatformError

log = logging.getLogger(__name__)

USER_AGENT = "crossdock/0.1 (Language=Python)"
_RETRY_AFTER_REFRESH = ("expired", "revoked")


class SpApiClient:
    """One channel's SP-API calls. Methods return parsed JSON bodies."""

    def __init__(self, settings: AmazonSettings, *, store: TokenStore | None = None, clock: Clock | None = None,
                 budget: Budget | None = None, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.budget = budget
        self.store = store or MemoryTokenStore()
        self.http = httpx.Client(transport=transport, headers={"User-Agent": USER_AGENT},
                                 timeout=settings.timeout_s)
        self.auth = LwaAuth(settings, http=self.http, store=self.store, clock=self.clock)
        self._sleep = sleep           # the back-off between attempts of one call (send)

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------ core
    def call(self, operation: str, method: str, path: str, *, params: Mapping[str, str] | None = None,
             body: Any = None, token: str | None = None, entity: str | None = None,
             priority: Any = None) -> httpx.Response:
        """One SP-API call with the channel's access token (or ``token``, a
        Restricted Data Token). Refreshes and retries once on an expired or
        revoked access token."""
        s = self.settings
        ctx = CallContext(platform="amazon", account=s.seller_id, channel=s.channel, operation=operation,
                          priority=priority, entity=entity)
        content = to_json_bytes(body) if body is not None else None
        refreshed = False
        while True:
            access = token or self.auth.access_token()
            headers = {"x-amz-access-token": access, "Accept": "application/json"}
            if content is not None:
                headers["Content-Type"] = "application/json"
            request = self.http.build_request(method, s.endpoint + path, params=params, content=content,
                                              headers=headers)
            try:
                return send(self.http, request, ctx, budget=self.budget, timeout_s=s.timeout_s,
                            platform_error=self._error, sleep=self._sleep)
            except AuthError as exc:
                reason = exc.context.get("reason")
                if token is None and not refreshed and reason in _RETRY_AFTER_REFRESH:
                    log.info("%s %s: access token %s; refreshing once", s.channel, operation, reason)
                    self.auth.refresh(rejected=access)
                    refreshed = True
                    continue
                if refreshed and exc.code == "XD-AUTH-001":
                    raise AuthError("XD-AUTH-001", channel=s.channel, entity=entity,
                                    detail=f"{operation}: a freshly refreshed token was rejected too: {exc.detail}",
                                    operation=operation, reason=reason) from exc
                raise

    def _error(self, resp: httpx.Response, ctx: CallContext) -> CrossdockError | None:
        return error_for(resp, ctx, rate_per_s=self.settings.rate(ctx.operation), clock=self.clock)

    def _json(self, resp: httpx.Response, operation: str) -> Payload:
        """The body of an answer: SP-API answers every call used here with a JSON object."""
        ctx = CallContext(platform="amazon", account=self.settings.seller_id, channel=self.settings.channel,
                          operation=operation)
        body = json_body(resp, ctx)
        if not isinstance(body, dict):
            raise MappingError("XD-MAP-010", channel=self.settings.channel, operation=operation,
                               detail=f"{operation}: the answer is not a JSON object")
        return body

    def _get(self, operation: str, path: str, params: Mapping[str, str] | None = None, *,
             token: str | None = None, entity: str | None = None) -> Payload:
        return self._json(self.call(operation, "GET", path, params=params, token=token, entity=entity), operation)

    # ------------------------------------------------------------ orders
    def get_orders(self, params: Mapping[str, str]) -> Payload:
        return self._get("getOrders", "/orders/v0/orders", params)

    def get_order(self, order_id: str) -> Payload:
        return self._get("getOrder", f"/orders/v0/orders/{order_id}", entity=f"order {order_id}")

    def get_order_items(self, order_id: str, next_token: str | None = None) -> Payload:
        params = {"NextToken": next_token} if next_token else None
        return self._get("getOrderItems", f"/orders/v0/orders/{order_id}/orderItems", params,
                         entity=f"order {order_id}")

    def get_order_address(self, order_id: str, *, rdt: str) -> Payload:
        return self._get("getOrderAddress", f"/orders/v0/orders/{order_id}/address", token=rdt,
                         entity=f"order {order_id}")

    def confirm_shipment(self, order_id: str, body: Mapping[str, Any]) -> None:
        self.call("confirmShipment", "POST", f"/orders/v0/orders/{order_id}/shipmentConfirmation", body=body,
                  entity=f"order {order_id}")

    def create_rdt(self, body: Mapping[str, Any]) -> Payload:
        resp = self.call("createRestrictedDataToken", "POST", "/tokens/2021-03-01/restrictedDataToken", body=body)
        return self._json(resp, "createRestrictedDataToken")

    # ------------------------------------------------------------ listings
    def _item_path(self, sku: str) -> str:
        from urllib.parse import quote

        return f"/listings/2021-08-01/items/{quote(self.settings.seller_id, safe='')}/{quote(sku, safe='')}"

    def get_listing(self, sku: str, params: Mapping[str, str]) -> Payload:
        return self._get("getListingsItem", self._item_path(sku), params, entity=f"sku {sku}")

    def put_listing(self, sku: str, params: Mapping[str, str], body: Mapping[str, Any]) -> Payload:
        resp = self.call("putListingsItem", "PUT", self._item_path(sku), params=params, body=body, entity=f"sku {sku}")
        return self._json(resp, "putListingsItem")

    def patch_listing(self, sku: str, params: Mapping[str, str], body: Mapping[str, Any]) -> Payload:
        resp = self.call("patchListingsItem", "PATCH", self._item_path(sku), params=params, body=body,
                         entity=f"sku {sku}")
        return self._json(resp, "patchListingsItem")

    def search_listings(self, params: Mapping[str, str]) -> Payload:
        from urllib.parse import quote

        return self._get("searchListingsItems", f"/listings/2021-08-01/items/{quote(self.settings.seller_id)}",
                         params)

    # ------------------------------------------------------------ FBA inventory
    def get_inventory_summaries(self, params: Mapping[str, str]) -> Payload:
        return self._get("getInventorySummaries", "/fba/inventory/v1/summaries", params)

    # ------------------------------------------------------------ feeds
    def create_feed_document(self, content_type: str) -> Payload:
        resp = self.call("createFeedDocument", "POST", "/feeds/2021-06-30/documents",
                         body={"contentType": content_type})
        return self._json(resp, "createFeedDocument")

    def upload_document(self, url: str, content: bytes, content_type: str) -> None:
        """PUT a feed document to its pre-signed URL (S3; no SP-API token, no quota)."""
        s = self.settings
        ctx = CallContext(platform="amazon", account=s.seller_id, channel=s.channel, operation="uploadFeedDocument")
        request = self.http.build_request("PUT", url, content=content, headers={"Content-Type": content_type})
        send(self.http, request, ctx, timeout_s=max(s.timeout_s, 120.0), platform_error=_s3_error,
             sleep=self._sleep)

    def download_document(self, url: str) -> bytes:
        s = self.settings
        ctx = CallContext(platform="amazon", account=s.seller_id, channel=s.channel,
                          operation="downloadFeedDocument")
        resp = send(self.http, self.http.build_request("GET", url), ctx, timeout_s=max(s.timeout_s, 120.0),
                    platform_error=_s3_error, sleep=self._sleep)
        return resp.content

    def create_feed(self, body: Mapping[str, Any]) -> Payload:
        return self._json(self.call("createFeed", "POST", "/feeds/2021-06-30/feeds", body=body), "createFeed")

    def get_feed(self, feed_id: str) -> Payload:
        return self._get("getFeed", f"/feeds/2021-06-30/feeds/{feed_id}", entity=f"feed {feed_id}")

    def get_feed_document(self, document_id: str) -> Payload:
        return self._get("getFeedDocument", f"/feeds/2021-06-30/documents/{document_id}",
                         entity=f"feed document {document_id}")

    # ------------------------------------------------------------ reports (the returns report)
    def create_report(self, body: Mapping[str, Any]) -> Payload:
        return self._json(self.call("createReport", "POST", "/reports/2021-06-30/reports", body=body),
                          "createReport")

    def get_report(self, report_id: str) -> Payload:
        return self._get("getReport", f"/reports/2021-06-30/reports/{report_id}", entity=f"report {report_id}")

    def get_report_document(self, document_id: str) -> Payload:
        return self._get("getReportDocument", f"/reports/2021-06-30/documents/{document_id}",
                         entity=f"report document {document_id}")


def _s3_error(resp: httpx.Response, ctx: CallContext) -> PlatformError | None:
    """A pre-signed document URL refused (expired, signature/content type
    mismatch): a platform rejection of this upload, not an SP-API token problem."""
    if resp.status_code in (400, 403, 404):
        return PlatformError("XD-PLATFORM-001", channel=ctx.channel, operation=ctx.operation,
                             detail=f"{ctx.operation}: document URL refused, HTTP {resp.status_code}: "
                                    f"{resp.text[:300]}", status=resp.status_code)
    return None
