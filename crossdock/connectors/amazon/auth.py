"""Login with Amazon access tokens through the TokenStore.

An access token is refreshed ``refresh_margin_s`` before it expires (platform
time, so the sandbox's time scale applies), under the store's cross-process
lock so one refresh serves every worker. Amazon does not rotate refresh tokens
today; if LWA ever returns a different one it is stored before the new access
token is used (the store does that in ``refresh``).

Failures: a rejected refresh token is XD-AUTH-002, a lapsed seller
authorisation XD-AUTH-003 (known from ``TokenState.authorisation_expires_at``),
a rejected client secret XD-AUTH-004.

Expiry dates: LWA does not say when the seller's authorisation (365 days) or
the app's client secret (180 days) ends, so they come from the settings and
are recorded in the store with every refresh (``RefreshResult``), where
``SqlTokenStore.expiring`` finds them for XD-AUTH-005; inside
``expiry_warning_days`` each refresh also logs XD-AUTH-005.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import httpx

from crossdock.clock import Clock
from crossdock.connectors.amazon.errors import lwa_error
from crossdock.connectors.amazon.mapping import lwa_form
from crossdock.connectors.amazon.settings import AmazonSettings
from crossdock.connectors.base import RefreshResult, TokenState, TokenStore
from crossdock.connectors.http import CallContext, json_body, send
from crossdock.errors import AuthError

log = logging.getLogger(__name__)


class LwaAuth:
    """Access tokens for one channel."""

    def __init__(self, settings: AmazonSettings, *, http: httpx.Client, store: TokenStore, clock: Clock) -> None:
        self.settings = settings
        self.http = http
        self.store = store
        self.clock = clock
        self.refreshes = 0
        self._cached: TokenState | None = None     # saves a store read per call while valid

    def _valid(self, state: TokenState) -> bool:
        return state.access_valid(self.clock.now(), margin_s=self.settings.refresh_margin_s)

    def access_token(self) -> str:
        """A token valid for at least the margin; refreshes when needed."""
        cached = self._cached
        if cached is not None and self._valid(cached):
            assert cached.access_token is not None
            return cached.access_token
        state = self.store.load(self.settings.channel)
        if self._valid(state):
            self._cached = state
            assert state.access_token is not None
            return state.access_token
        return self.refresh()

    def refresh(self, *, rejected: str | None = None) -> str:
        """Refresh now (``rejected``: the token the platform just refused, so a
        token another worker refreshed meanwhile is used instead of a second
        refresh)."""

        def still_needed(state: TokenState) -> bool:
            if rejected is not None and state.access_token == rejected:
                return True
            return not self._valid(state)

        self._cached = None
        state = self.store.refresh(self.settings.channel, self._fetch, still_needed=still_needed)
        self._cached = state
        if not state.access_token:
            raise AuthError("XD-AUTH-002", channel=self.settings.channel, detail="no access token after refresh")
        return state.access_token

    def _fetch(self, state: TokenState) -> RefreshResult:
        s = self.settings
        refresh_token = state.refresh_token or s.refresh_token
        if not refresh_token:
            raise AuthError("XD-AUTH-002", channel=s.channel,
                            detail=f"no refresh token stored or configured: crossdock auth connect {s.channel}")
        state = dataclasses.replace(
            state, authorisation_expires_at=s.authorisation_expires_at or state.authorisation_expires_at,
            client_secret_expires_at=s.client_secret_expires_at or state.client_secret_expires_at)
        self._warn_expiring(state)
        ctx = CallContext(platform="amazon", account=s.seller_id, channel=s.channel, operation="lwaToken")
        request = self.http.build_request(
            "POST", s.lwa_url,
            data=lwa_form(client_id=s.client_id, client_secret=s.client_secret, refresh_token=refresh_token),
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})
        now = self.clock.now()
        resp = send(self.http, request, ctx, timeout_s=s.timeout_s,
                    platform_error=lambda r, c: lwa_error(r, c, state=state, now=now))
        body = json_body(resp, ctx)
        try:
            token = str(body["access_token"])
            expires_in = float(body.get("expires_in", 3600))
        except (KeyError, TypeError, ValueError) as exc:
            raise AuthError("XD-AUTH-002", channel=s.channel,
                            detail="Login with Amazon answered without an access token") from exc
        self.refreshes += 1
        log.info("%s: access token refreshed (expires in %.0f s)", s.channel, expires_in)
        new_refresh = body.get("refresh_token")
        return RefreshResult(
            access_token=token,
            access_expires_at=now + dt.timedelta(seconds=expires_in),
            refresh_token=str(new_refresh) if new_refresh and new_refresh != refresh_token else None,
            authorisation_expires_at=s.authorisation_expires_at,
            client_secret_expires_at=s.client_secret_expires_at,
        )

    def _warn_expiring(self, state: TokenState) -> None:
        now = self.clock.now()
        horizon = now + dt.timedelta(days=self.settings.expiry_warning_days)
        for what, when in (("seller authorisation", state.authorisation_expires_at),
                           ("LWA client secret", state.client_secret_expires_at)):
            if when is not None and now < when <= horizon:
                log.warning("[XD-AUTH-005] %s: the %s expires at %s", self.settings.channel, what,
                            when.isoformat())
