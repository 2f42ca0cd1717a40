"""``crossdock auth connect`` for Shopify: the authorisation-code grant of an app.

The merchant approves at ``https://{shop}/admin/oauth/authorize?client_id=…&
scope=…&redirect_uri=…&state=…``; Shopify sends the browser to the redirect
URI with ``code``, ``hmac``, ``shop``, ``state`` and ``timestamp``. The hmac
(hex HMAC-SHA256 with the client secret over the other parameters, sorted,
as a query string) must verify and ``shop`` must be the channel's shop, else
XD-AUTH-012. The code is exchanged at ``https://{shop}/admin/oauth/access_token``
with ``expiring=1`` for an expiring offline token and its rotating refresh token.
The redirect URI must be one the app lists: ``urls.redirect_url`` (forwarding
to the loopback callback), else the loopback URL itself (the sandbox).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping
from typing import Any

from crossdock.connectors.http import CallContext
from crossdock.connectors.oauth_code import post_code
from crossdock.connectors.shopify.mapping import parse_token_response
from crossdock.connectors.shopify.settings import ShopifySettings
from crossdock.errors import AuthError
from crossdock.platforms.connect import Grant

#: What crossdock reads and writes: orders, products, inventory, fulfilments, locations.
SCOPES = ("read_orders", "write_orders", "read_products", "write_products", "read_inventory", "write_inventory",
          "read_fulfillments", "write_fulfillments", "read_merchant_managed_fulfillment_orders",
          "write_merchant_managed_fulfillment_orders", "read_locations")


def callback_hmac(params: Mapping[str, str], secret: str) -> str:
    """Shopify's signature of a redirect, as ShopifyAPI computes it: every parameter but ``hmac`` as
    ``k=v`` (``%`` and ``=`` in a key, ``%`` in a value and ``&`` in the pair escaped), sorted, joined by
    ``&``, hex HMAC-SHA256 with the client secret."""
    pairs = sorted(f"{str(k).replace('%', '%25').replace('=', '%3D')}={str(v).replace('%', '%25')}"
                   .replace("&", "%26") for k, v in params.items() if k != "hmac")
    return hmac.new(secret.encode(), "&".join(pairs).encode(), hashlib.sha256).hexdigest()


class ShopifyConnect:
    def __init__(self, settings: ShopifySettings, redirect_url: str | None = None) -> None:
        self.settings = settings
        self.redirect_url = redirect_url        # registered with the app; forwards to the loopback callback

    def consent_url(self, *, state: str, redirect_uri: str) -> str:
        s = self.settings
        query = {"client_id": s.client_id, "scope": ",".join(SCOPES), "redirect_uri": self.redirect_url or redirect_uri,
                 "state": state}
        return f"{s.base_url}/admin/oauth/authorize?{urllib.parse.urlencode(query)}"

    def code_from_callback(self, params: Mapping[str, str]) -> str:
        s = self.settings
        given = params.get("hmac") or ""
        if not given or not hmac.compare_digest(given.lower(), callback_hmac(params, s.client_secret)):
            raise AuthError("XD-AUTH-012", channel=s.channel,
                            detail="the callback's hmac does not verify with the channel's client secret")
        shop = (params.get("shop") or "").lower()
        if shop != s.shop_domain.lower():
            raise AuthError("XD-AUTH-012", channel=s.channel,
                            detail=f"the callback names shop {shop or '(none)'}, the channel's is {s.shop_domain}")
        code = params.get("code") or ""
        if not code:
            raise AuthError("XD-AUTH-012", channel=s.channel, detail="the callback carries no code")
        return code

    def exchange_code(self, code: str, *, redirect_uri: str, now: dt.datetime) -> Grant:
        s = self.settings
        ctx = CallContext(platform="shopify", account=s.shop, channel=s.channel, operation="codeExchange")
        body = post_code(s.token_url, {"client_id": s.client_id, "client_secret": s.client_secret, "code": code,
                                       "expiring": "1"}, ctx, timeout_s=s.timeout_s)
        result = parse_token_response(body, now=now)
        if not result.refresh_token:
            raise AuthError("XD-AUTH-014", channel=s.channel,
                            detail="Shopify gave no refresh token (an expiring offline token was asked for)")
        return Grant(refresh_token=result.refresh_token, access_token=result.access_token,
                     access_expires_at=result.access_expires_at, refresh_expires_at=result.refresh_expires_at,
                     account=s.shop_domain)


def connect(ch: Any) -> ShopifyConnect:
    """The authorisation flow of channel ``ch`` (a ChannelConfig)."""
    from crossdock.connectors.shopify.platform import settings

    return ShopifyConnect(settings(ch), ch.urls.get("redirect_url"))
