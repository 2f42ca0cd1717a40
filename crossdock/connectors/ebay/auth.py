"""eBay OAuth user tokens through the :class:`~crossdock.connectors.base.TokenStore`.

``POST /identity/v1/oauth2/token`` with ``grant_type=refresh_token`` and HTTP
Basic client credentials gives a user access token for ≈ 7200 s; the refresh
token (≈ 18 months) does not rotate. The access token is refreshed
``refresh_margin_s`` before it expires (platform time, from the connector's
clock), under the store's cross-process lock, so a run never sends an expired
token. Mapping: ``invalid_grant`` → XD-AUTH-002 (revoked or expired refresh
token), a stored refresh-token expiry in the past → XD-AUTH-003 (the seller's
18-month consent lapsed; no call is made), ``invalid_client`` → XD-AUTH-004.
The consent's end date (``settings.refresh_token_expires_at``, or a
``refresh_token_expires_in`` in the answer) is recorded in the store with every
refresh, for XD-AUTH-005 warnings.

ebaysdk has no OAuth code at all, so this is a thin httpx client.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

import httpx

from crossdock.clock import Clock
from crossdock.connectors.base import RefreshResult, TokenState, TokenStore
from crossdock.connectors.ebay.errors import token_error
from crossdock.connectors.ebay.settings import EbaySettings
from crossdock.connectors.http import CallContext, json_body, send
from crossdock.errors import AuthError, NetError

log = logging.getLogger(__name__)

EXPIRY_WARNING_S = 30 * 86400


class EbayAuth:
    def __init__(self, settings: EbaySettings, *, store: TokenStore, clock: Clock, http: httpx.Client) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.http = http
        self.refreshes = 0

    def _valid(self, state: TokenState) -> bool:
        return state.access_valid(self.clock.now(), margin_s=self.settings.refresh_margin_s)

    def access_token(self) -> str:
        """A token valid for at least ``refresh_margin_s`` more seconds."""
        state = self.store.load(self.settings.channel)
        if self._valid(state) and state.access_token:     # valid implies a token; the type does not say so
            return state.access_token
        return self._refresh(lambda s: not self._valid(s))

    def refresh(self, *, rejected: str | None = None) -> str:
        """A new token under the store's lock. ``rejected`` is the token eBay just
        refused (401 / 931): if another worker already replaced it, that token is used."""
        return self._refresh(lambda s: (rejected is not None and s.access_token == rejected) or not self._valid(s))

    def _refresh(self, still_needed: Callable[[TokenState], bool]) -> str:
        state = self.store.refresh(self.settings.channel, self._call_token_endpoint, still_needed=still_needed)
        if not state.access_token:
            raise AuthError("XD-AUTH-001", channel=self.settings.channel, detail="token store returned no token")
        return state.access_token

    def _call_token_endpoint(self, state: TokenState) -> RefreshResult:
        s = self.settings
        now = self.clock.now()
        if s.refresh_token_expires_at is not None:
            state = dataclasses.replace(state, refresh_expires_at=s.refresh_token_expires_at)
        if not state.refresh_token:
            raise AuthError("XD-AUTH-002", channel=s.channel, detail="no eBay refresh token stored for the channel")
        if state.refresh_expires_at is not None and state.refresh_expires_at <= now:
            raise AuthError("XD-AUTH-003", channel=s.channel,
                            detail=f"the seller's eBay consent (refresh token) expired at "
                                   f"{state.refresh_expires_at.isoformat()}")
        if state.refresh_expires_at is not None and (state.refresh_expires_at - now).total_seconds() < EXPIRY_WARNING_S:
            log.warning("[XD-AUTH-005] %s: eBay refresh token expires at %s", s.channel,
                        state.refresh_expires_at.isoformat())
        basic = base64.b64encode(f"{s.client_id}:{s.client_secret}".encode()).decode()
        request = self.http.build_request(
            "POST", s.token_url,
            data={"grant_type": "refresh_token", "refresh_token": state.refresh_token, "scope": " ".join(s.scopes)},
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})
        ctx = CallContext("ebay", s.username, s.channel, "refreshToken")
        # The token endpoint has its own daily limit (50,000 refreshes) that the
        # quota budget does not plan; it is sent without a budget slot.
        resp = send(self.http, request, ctx, timeout_s=s.timeout_s, platform_error=token_error)
        body = json_body(resp, ctx)
        try:
            token = str(body["access_token"])
            expires_in = float(body.get("expires_in", 7200))
        except (KeyError, TypeError, ValueError) as exc:
            raise NetError("XD-NET-004", channel=s.channel, detail="token endpoint answered without access_token",
                           operation="refreshToken") from exc
        self.refreshes += 1
        log.info("%s: eBay access token refreshed (valid %.0f s)", s.channel, expires_in)
        refresh_expires_at = state.refresh_expires_at
        try:
            if body.get("refresh_token_expires_in"):
                refresh_expires_at = now + dt.timedelta(seconds=float(body["refresh_token_expires_in"]))
        except (TypeError, ValueError):
            pass
        return RefreshResult(access_token=token, access_expires_at=now + dt.timedelta(seconds=expires_in),
                             refresh_expires_at=refresh_expires_at)
