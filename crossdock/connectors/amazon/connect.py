"""``crossdock auth connect`` for Amazon: the SP-API website authorisation workflow.

The seller signs in to Seller Central at
``{sellercentral}/apps/authorize/consent?application_id=…&state=…&redirect_uri=…&version=beta``
(``version=beta`` while the app is a draft), approves, and Amazon sends the
browser to the redirect URI with ``spapi_oauth_code``, ``state`` and
``selling_partner_id``. The code is exchanged at Login with Amazon
(``grant_type=authorization_code``) for a refresh token and an access token.
The seller must be the channel's (``account``): another selling partner is
XD-AUTH-012. Seller Central's address is the marketplace region's, unless
``[channels.NAME.urls] consent_url`` says otherwise (the sandbox's). Amazon
takes only a redirect URI registered with the app: ``urls.redirect_url``
names it (it must forward the browser to the loopback callback); without it
the loopback URL itself is sent (the sandbox).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping
from typing import Any

from crossdock.connectors.amazon.marketplaces import find_amazon_marketplace
from crossdock.connectors.amazon.settings import AmazonSettings
from crossdock.connectors.http import CallContext
from crossdock.connectors.oauth_code import post_code
from crossdock.errors import AuthError
from crossdock.platforms.connect import Grant

#: Seller Central per SP-API region (where a seller of that region signs in).
SELLER_CENTRAL = {"NA": "https://sellercentral.amazon.com", "EU": "https://sellercentral-europe.amazon.com",
                  "FE": "https://sellercentral.amazon.co.jp"}
CONSENT_PATH = "/apps/authorize/consent"


class AmazonConnect:
    def __init__(self, settings: AmazonSettings, consent_url: str, redirect_url: str | None = None) -> None:
        self.settings = settings
        self.base = consent_url
        self.redirect_url = redirect_url        # registered with the app; forwards to the loopback callback

    def consent_url(self, *, state: str, redirect_uri: str) -> str:
        s = self.settings
        query = {"application_id": s.application_id or s.client_id, "state": state,
                 "redirect_uri": self.redirect_url or redirect_uri,
                 "version": "beta"}
        return f"{self.base}?{urllib.parse.urlencode(query)}"

    def code_from_callback(self, params: Mapping[str, str]) -> str:
        s = self.settings
        code = params.get("spapi_oauth_code") or ""
        if not code:
            raise AuthError("XD-AUTH-012", channel=s.channel, detail="the callback carries no spapi_oauth_code")
        partner = params.get("selling_partner_id") or ""
        if partner and partner != s.seller_id:
            raise AuthError("XD-AUTH-012", channel=s.channel,
                            detail=f"selling partner {partner} authorised the app, but the channel's account is "
                                   f"{s.seller_id}")
        return code

    def exchange_code(self, code: str, *, redirect_uri: str, now: dt.datetime) -> Grant:
        s = self.settings
        ctx = CallContext(platform="amazon", account=s.seller_id, channel=s.channel, operation="lwaCodeExchange")
        body = post_code(s.lwa_url, {"grant_type": "authorization_code", "code": code,
                                     "redirect_uri": self.redirect_url or redirect_uri,
                                     "client_id": s.client_id, "client_secret": s.client_secret}, ctx,
                         headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
                         timeout_s=s.timeout_s)
        refresh = body.get("refresh_token")
        if not refresh:
            raise AuthError("XD-AUTH-014", channel=s.channel, detail="Login with Amazon gave no refresh token")
        expires_in = float(body.get("expires_in") or 3600)
        return Grant(refresh_token=str(refresh), access_token=str(body.get("access_token") or "") or None,
                     access_expires_at=now + dt.timedelta(seconds=expires_in), account=s.seller_id)


def connect(ch: Any) -> AmazonConnect:
    """The authorisation flow of channel ``ch`` (a ChannelConfig)."""
    from crossdock.connectors.amazon.platform import settings

    s = settings(ch)
    base = ch.urls.get("consent_url")
    if not base:
        mp = find_amazon_marketplace(s.marketplace_id)
        base = SELLER_CENTRAL[mp.region if mp else "NA"] + CONSENT_PATH
    return AmazonConnect(s, base, ch.urls.get("redirect_url"))
