"""Expiring offline access tokens with rotating refresh tokens, via the TokenStore.

Shopify's expiring offline tokens last 3600 s and every refresh returns a new
refresh token (the old one stops working once the replacement is in use). So:

* the access token is refreshed ``refresh_margin_s`` before it expires
  (platform time: the sandbox's time scale applies), so no call is made with a
  token about to lapse;
* the refresh runs inside ``store.refresh`` — the store's cross-process lock,
  re-reading the state first — so exactly one worker refreshes and the rotated
  refresh token is stored *before* anyone uses the new access token;
* a token the platform rejects (401) is refreshed once (unless another worker
  already did) and the call retried once; a second 401 is XD-AUTH-001.

Failures: a refused refresh token (expired, revoked, already rotated away, app
uninstalled) is XD-AUTH-002; a refused client secret XD-AUTH-004.
"""

from __future__ import annotations

import logging

import httpx

from crossdock.clock import Clock
from crossdock.connectors.base import RefreshResult, TokenState, TokenStore
from crossdock.connectors.http import Budget, CallContext, json_body, send
from crossdock.connectors.shopify.errors import token_error
from crossdock.connectors.shopify.mapping import parse_token_response, token_refresh_form
from crossdock.connectors.shopify.settings import ShopifySettings
from crossdock.errors import AuthError
from crossdock.ratelimit.budget import Priority

log = logging.getLogger(__name__)


class ShopifyAuth:
    """Access tokens for one channel."""

    def __init__(self, settings: ShopifySettings, *, http: httpx.Client, store: TokenStore, clock: Clock,
                 budget: Budget | None = None) -> None:
        self.settings = settings
        self.http = http
        self.store = store
        self.clock = clock
        self.budget = budget
        self.refreshes = 0

    def _valid(self, state: TokenState) -> bool:
        return state.access_valid(self.clock.now(), margin_s=self.settings.refresh_margin_s)

    def access_token(self) -> str:
        """A token valid for at least the margin; refreshes first when needed."""
        state = self.store.load(self.settings.channel)
        if self._valid(state):
            assert state.access_token is not None
            return state.access_token
        return self.refresh()

    def refresh(self, *, rejected: str | None = None) -> str:
        """Refresh under the store's lock. ``rejected`` is the token Shopify just
        refused: if another worker already replaced it, that token is used."""

        def still_needed(state: TokenState) -> bool:
            if rejected is not None and state.access_token == rejected:
                return True
            return not self._valid(state)

        state = self.store.refresh(self.settings.channel, self._exchange, still_needed=still_needed)
        if not state.access_token:
            raise AuthError("XD-AUTH-002", channel=self.settings.channel, detail="no access token after refresh")
        return state.access_token

    def _exchange(self, state: TokenState) -> RefreshResult:
        if not state.refresh_token:
            raise AuthError("XD-AUTH-002", channel=self.settings.channel,
                            detail="no refresh token stored for this shop; install the app again")
        ctx = CallContext(platform="shopify", account=self.settings.shop, channel=self.settings.channel,
                          operation="token", priority=Priority.CRITICAL)   # every call waits for it
        form = token_refresh_form(client_id=self.settings.client_id, client_secret=self.settings.client_secret,
                                  refresh_token=state.refresh_token)
        request = self.http.build_request("POST", self.settings.token_url, data=form,
                                          headers={"Accept": "application/json"})
        resp = send(self.http, request, ctx, budget=self.budget, timeout_s=self.settings.timeout_s,
                    platform_error=lambda r, c: token_error(r, c) if 400 <= r.status_code < 500
                    and r.status_code != 429 else None)
        result = parse_token_response(json_body(resp, ctx), now=self.clock.now())
        self.refreshes += 1
        log.info("%s: Shopify access token refreshed (rotated refresh token: %s), valid until %s",
                 self.settings.channel, bool(result.refresh_token), result.access_expires_at.isoformat())
        return result
