"""The only module of the Shopify connector that does I/O: one httpx.Client.

Why not ShopifyAPI for I/O (a test dependency: the sandbox test proves it
works against the sandbox; docs/dependencies.md): its GraphQL call is a bare ``urllib`` request with
no timeout, no handling of the cost-based throttle (``extensions.cost``,
THROTTLED with HTTP 200) and no refresh of expiring offline tokens; its
session state is thread-local with a global fallback, which is wrong for
workers serving several shops. This client sends every call through
:func:`crossdock.connectors.http.send` (quota budget first, a timeout on every
call, network failures and HTML/5xx bodies turned into XD-NET errors) and
tells the budget each response's ``extensions.cost``.

The transport is the one seam for tests (``transport=httpx.MockTransport`` or
respx); the sandbox is reached by ``settings.shop_url``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from crossdock.clock import Clock
from crossdock.connectors.base import TokenStore
from crossdock.connectors.http import Budget, CallContext, json_body, send
from crossdock.connectors.jsondoc import Payload
from crossdock.connectors.shopify.auth import ShopifyAuth
from crossdock.connectors.shopify.errors import (
    graphql_error,
    platform_error,
    unreadable,
)
from crossdock.connectors.shopify.mapping import estimate_cost
from crossdock.connectors.shopify.settings import ShopifySettings
from crossdock.errors import AuthError, QuotaError
from crossdock.ratelimit.budget import Priority
from crossdock.ratelimit.waits import QuotaWait, wait_or_raise

log = logging.getLogger(__name__)

USER_AGENT = "crossdock/0.1 (+https://github.com/crossdock)"


def shopify_cost(resp: httpx.Response) -> Mapping[str, Any] | None:
    """``extensions.cost`` of a GraphQL response, for the quota budget."""
    if "json" not in resp.headers.get("content-type", ""):
        return None
    try:
        payload = resp.json()
    except ValueError:
        return None
    if not isinstance(payload, Mapping):
        return None
    cost = (payload.get("extensions") or {}).get("cost")
    return cost if isinstance(cost, Mapping) else None


def _is_mutation(query: str) -> bool:
    """A GraphQL document that changes data (a query may be sent twice, a mutation not)."""
    return query.lstrip().startswith("mutation")


class ShopifyClient:
    def __init__(self, settings: ShopifySettings, *, store: TokenStore, clock: Clock, budget: Budget | None = None,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.clock = clock
        self.budget = budget
        self.http = httpx.Client(transport=transport, headers={"User-Agent": USER_AGENT}, follow_redirects=False)
        self.auth = ShopifyAuth(settings, http=self.http, store=store, clock=clock, budget=budget)
        self.calls = 0
        self.throttled = 0
        self.last_cost: Mapping[str, Any] | None = None
        self._bucket: tuple[float, float, float, float] | None = None   # available, rate, size, platform ts
        self._sleep = sleep           # the back-off between attempts of one call (send)
        self._version_warned = False

    def close(self) -> None:
        self.http.close()

    def graphql(self, request: Mapping[str, Any], *, priority: Priority = Priority.NORMAL,
                entity: str | None = None) -> Payload:
        """POST one ``{"query", "variables"}`` body; returns ``data`` or raises the crossdock error.

        Waiting for points is not a failure, and no thread sleeps for it:
        when the shop's bucket (as the last ``throttleStatus`` described it)
        cannot hold the query's cost yet, :class:`QuotaWait` says how long;
        a THROTTLED answer is XD-QUOTA-001 with the wait it implies as
        ``retry_after_s`` (real seconds). The job runs again then.
        """
        cost = estimate_cost(request["query"], request.get("variables"))
        self._pace(cost, entity=entity)
        try:
            return self._send(request, cost=cost, priority=priority, entity=entity)
        except QuotaError as exc:
            if exc.code == "XD-QUOTA-001":
                self.throttled += 1
                wait = exc.retry_after_s if exc.retry_after_s is not None else 1.0
                exc.retry_after_s = self.clock.to_real_s(wait)    # the caller waits in real seconds
            raise

    def _pace(self, cost: float, *, entity: str | None) -> None:
        if self._bucket is None:
            return
        available, rate, size, at = self._bucket
        if rate <= 0:
            return
        now = self.clock.timestamp()
        est = min(size, available + max(0.0, now - at) * rate)
        if est >= cost:
            return
        wait = (cost - est) / rate
        log.debug("%s: %.2f s until %s points (about %.0f available)", self.settings.channel, wait, cost, est)
        wait_or_raise(QuotaWait(self.clock.to_real_s(wait), platform="shopify", account=self.settings.shop,
                                operation="graphql", channel=self.settings.channel, entity=entity))

    def _remember_bucket(self, cost: Mapping[str, Any] | None) -> None:
        status = (cost or {}).get("throttleStatus") or {}
        try:
            self._bucket = (float(status["currentlyAvailable"]), float(status["restoreRate"]),
                            float(status["maximumAvailable"]), self.clock.timestamp())
        except (KeyError, TypeError, ValueError):
            pass

    def _send(self, request: Mapping[str, Any], *, cost: float, priority: Priority,
              entity: str | None) -> Payload:
        for attempt in (1, 2):
            token = self.auth.access_token()
            ctx = CallContext(platform="shopify", account=self.settings.shop, channel=self.settings.channel,
                              operation="graphql", priority=priority, cost=cost, entity=entity,
                              idempotent=not _is_mutation(str(request["query"])))
            http_request = self.http.build_request(
                "POST", self.settings.graphql_url, json=dict(request),
                headers={"X-Shopify-Access-Token": token, "Accept": "application/json"})
            try:
                self.calls += 1
                resp = send(self.http, http_request, ctx, budget=self.budget, timeout_s=self.settings.timeout_s,
                            platform_error=platform_error, cost_report=shopify_cost, sleep=self._sleep)
            except AuthError as exc:
                if exc.code == "XD-AUTH-001" and attempt == 1:
                    log.info("%s: access token rejected; refreshing once and retrying", self.settings.channel)
                    self.auth.refresh(rejected=token)
                    continue
                raise
            self._check_version(resp)
            payload = json_body(resp, ctx)
            if not isinstance(payload, Mapping):
                raise unreadable(ctx, "GraphQL body is not a JSON object")
            self.last_cost = (payload.get("extensions") or {}).get("cost")
            self._remember_bucket(self.last_cost)
            err = graphql_error(payload, ctx)
            if err is not None:
                raise err
            data = payload.get("data")
            if not isinstance(data, Mapping):
                raise unreadable(ctx, "GraphQL body without data")
            return dict(data)
        raise AssertionError("unreachable")   # the second attempt returns or raises

    def _check_version(self, resp: httpx.Response) -> None:
        served = resp.headers.get("x-shopify-api-version")
        if served and served != self.settings.api_version and not self._version_warned:
            self._version_warned = True
            log.warning("XD-PLATFORM-008: %s asked for Shopify API %s but was served %s (the version is no "
                        "longer supported and Shopify fell forward); update api_version",
                        self.settings.channel, self.settings.api_version, served)
