"""eBay's Notification API (``/commerce/notification/v1``): the destination
crossdock's endpoint is, the subscriptions that send to it, and the public
keys notifications are signed with.

Destinations and subscriptions go with the seller's user token (the REST
client's: ORDER_CONFIRMATION is a seller's topic); ``getPublicKey`` with an
application token (client credentials), kept until it expires. What the
calls send and how their answers read are the pure functions here; the I/O is
:class:`EbayNotifications`.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx

from crossdock.connectors.ebay.client import EbayRestClient
from crossdock.connectors.ebay.errors import rest_platform_error, token_error
from crossdock.connectors.http import CallContext, json_body, send

__all__ = ["NOTIFY", "TOPICS", "EbayNotifications", "destination_body", "one_line_pem", "subscription_body"]

NOTIFY = "/commerce/notification/v1"
#: The topics ``crossdock events setup`` subscribes an eBay channel to.
TOPICS = ("ORDER_CONFIRMATION", "MARKETPLACE_ACCOUNT_DELETION")
APP_SCOPE = "https://api.ebay.com/oauth/api_scope"


def destination_body(name: str, endpoint: str, token: str) -> dict[str, Any]:
    return {"name": name, "status": "ENABLED", "deliveryConfig": {"endpoint": endpoint, "verificationToken": token}}


def subscription_body(topic: str, destination_id: str) -> dict[str, Any]:
    return {"topicId": topic, "status": "ENABLED", "destinationId": destination_id,
            "payload": {"format": "JSON", "schemaVersion": "1.0", "deliveryProtocol": "HTTPS"}}


def one_line_pem(key: str) -> str:
    """``getPublicKey``'s ``key`` (PEM on one line, as eBay returns it) as a PEM file reads."""
    head, tail = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
    body = key.replace(head, "").replace(tail, "").replace("\n", "").replace("\r", "").strip()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([head, *lines, tail]) + "\n"


def _id_from_location(resp: httpx.Response) -> str:
    return str(resp.headers.get("Location", "")).rstrip("/").rsplit("/", 1)[-1]


class EbayNotifications:
    """The Notification API for one channel (its REST client, its HTTP client)."""

    def __init__(self, rest: EbayRestClient, http: httpx.Client) -> None:
        self.rest = rest
        self.http = http
        self.settings = rest.settings
        self._app_token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ keys
    def app_token(self) -> str:
        with self._lock:
            if self._app_token is not None and self._app_token[1] > time.monotonic() + 60:
                return str(self._app_token[0])
            s = self.settings
            basic = base64.b64encode(f"{s.client_id}:{s.client_secret}".encode()).decode()
            request = self.http.build_request("POST", s.token_url, data={"grant_type": "client_credentials",
                                                                         "scope": APP_SCOPE},
                                              headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})
            ctx = CallContext("ebay", s.username, s.channel, "applicationToken")
            body = json_body(send(self.http, request, ctx, timeout_s=s.timeout_s, platform_error=token_error), ctx)
            token = str(body.get("access_token") or "")
            self._app_token = (token, time.monotonic() + float(body.get("expires_in") or 7200))
            return token

    def public_key(self, kid: str) -> str:
        """The PEM of the key ``kid`` (XD-PLATFORM-002 when eBay has no such key)."""
        s = self.settings
        ctx = CallContext("ebay", s.username, s.channel, "getPublicKey", entity=f"key {kid}", idempotent=True)
        request = self.http.build_request("GET", f"{s.base_url.rstrip('/')}{NOTIFY}/public_key/{kid}",
                                          headers={"Authorization": f"Bearer {self.app_token()}",
                                                   "Accept": "application/json"})
        body = json_body(send(self.http, request, ctx, timeout_s=min(s.timeout_s, 5.0),
                              platform_error=rest_platform_error), ctx)
        return one_line_pem(str(body.get("key") or ""))

    # ------------------------------------------------------------------ destination and subscriptions
    def _json(self, method: str, path: str, operation: str, **kw: Any) -> Any:
        resp = self.rest.call(method, NOTIFY + path, operation, **kw)
        return resp.json() if resp.content else {}

    def setup(self, *, name: str, endpoint: str, token: str) -> list[dict[str, Any]]:
        """The destination ``endpoint`` (created, or updated when its token
        changed; eBay sends its challenge either way) and an enabled
        subscription of each of :data:`TOPICS` to it. Returns the subscriptions."""
        dests = self._json("GET", "/destination", "getDestinations").get("destinations") or []
        dest = next((d for d in dests if (d.get("deliveryConfig") or {}).get("endpoint") == endpoint), None)
        if dest is None:
            resp = self.rest.call("POST", NOTIFY + "/destination", "createDestination",
                                  json=destination_body(name, endpoint, token))
            dest_id = _id_from_location(resp)
        else:
            dest_id = str(dest["destinationId"])
            if (dest.get("deliveryConfig") or {}).get("verificationToken") != token or dest.get("status") != "ENABLED":
                self.rest.call("PUT", f"{NOTIFY}/destination/{dest_id}", "updateDestination",
                               json=destination_body(name, endpoint, token))
        subs = self.subscriptions()
        for topic in TOPICS:
            mine = next((x for x in subs if x.get("topicId") == topic and x.get("destinationId") == dest_id), None)
            if mine is None:
                self.rest.call("POST", NOTIFY + "/subscription", "createSubscription",
                               json=subscription_body(topic, dest_id))
            elif mine.get("status") != "ENABLED":
                self.rest.call("POST", f"{NOTIFY}/subscription/{mine['subscriptionId']}/enable",
                               "enableSubscription")
        return [dict(x, endpoint=endpoint) for x in self.subscriptions() if x.get("destinationId") == dest_id]

    def subscriptions(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/subscription", "getSubscriptions").get("subscriptions") or [])

    def destinations(self) -> Mapping[str, dict[str, Any]]:
        dests = self._json("GET", "/destination", "getDestinations").get("destinations") or []
        return {str(d.get("destinationId")): d for d in dests}
