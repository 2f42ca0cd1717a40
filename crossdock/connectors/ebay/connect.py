"""``crossdock auth connect`` for eBay: the OAuth authorisation-code grant.

The seller signs in at ``https://auth.ebay.com/oauth2/authorize?client_id=…&
redirect_uri=<RuName>&response_type=code&scope=…&state=…``, approves, and
eBay sends the browser to the RuName's "auth accepted" URL with ``code``,
``state`` and ``expires_in`` (of the code). The code is exchanged at
``/identity/v1/oauth2/token`` (``grant_type=authorization_code``, HTTP Basic
client credentials, the same ``redirect_uri``) for a user access token and a
refresh token whose life (``refresh_token_expires_in``, about 18 months) is
recorded. ``redirect_uri`` is the channel's ``runame`` option; its accepted
URL must lead to crossdock's loopback callback. Without a RuName (the
sandbox) the loopback URL itself is sent. The consent page is
``[channels.NAME.urls] consent_url`` when set.
"""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse
from collections.abc import Mapping
from typing import Any

from crossdock.connectors.ebay.settings import EbaySettings
from crossdock.connectors.http import CallContext
from crossdock.connectors.oauth_code import post_code
from crossdock.errors import AuthError
from crossdock.platforms.connect import Grant

CONSENT_URL = "https://auth.ebay.com/oauth2/authorize"


class EbayConnect:
    def __init__(self, settings: EbaySettings, consent_url: str) -> None:
        self.settings = settings
        self.base = consent_url

    def _redirect(self, redirect_uri: str) -> str:
        return self.settings.runame or redirect_uri

    def consent_url(self, *, state: str, redirect_uri: str) -> str:
        s = self.settings
        query = {"client_id": s.client_id, "redirect_uri": self._redirect(redirect_uri), "response_type": "code",
                 "scope": " ".join(s.scopes), "state": state}
        return f"{self.base}?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}"

    def code_from_callback(self, params: Mapping[str, str]) -> str:
        code = params.get("code") or ""
        if not code:
            raise AuthError("XD-AUTH-012", channel=self.settings.channel, detail="the callback carries no code")
        return code

    def exchange_code(self, code: str, *, redirect_uri: str, now: dt.datetime) -> Grant:
        s = self.settings
        basic = base64.b64encode(f"{s.client_id}:{s.client_secret}".encode()).decode()
        ctx = CallContext("ebay", s.username, s.channel, "codeExchange")
        body = post_code(s.token_url, {"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": self._redirect(redirect_uri)}, ctx,
                         headers={"Authorization": f"Basic {basic}"}, timeout_s=s.timeout_s)
        refresh = body.get("refresh_token")
        if not refresh:
            raise AuthError("XD-AUTH-014", channel=s.channel, detail="eBay gave no refresh token")
        try:
            refresh_in = float(body.get("refresh_token_expires_in") or 0)
            expires_in = float(body.get("expires_in") or 7200)
        except (TypeError, ValueError):
            refresh_in, expires_in = 0.0, 7200.0
        return Grant(refresh_token=str(refresh), access_token=str(body.get("access_token") or "") or None,
                     access_expires_at=now + dt.timedelta(seconds=expires_in),
                     refresh_expires_at=now + dt.timedelta(seconds=refresh_in) if refresh_in > 0 else None,
                     account=s.username)


def connect(ch: Any) -> EbayConnect:
    """The authorisation flow of channel ``ch`` (a ChannelConfig)."""
    from crossdock.connectors.ebay.platform import settings

    return EbayConnect(settings(ch), ch.urls.get("consent_url") or CONSENT_URL)
