"""The simulated eBay Notification API (``/commerce/notification/v1``) and the
notifications it sends.

- ``GET /topic`` and ``GET /topic/{topic_id}``: ORDER_CONFIRMATION (a seller's
  topic, user token) and MARKETPLACE_ACCOUNT_DELETION (the application's).
- ``POST /destination`` (``deliveryConfig``: ``endpoint`` + ``verificationToken``,
  32–80 of ``[A-Za-z0-9_-]``), ``GET /destination[/{id}]``, ``PUT
  /destination/{id}``. Creating or changing a destination sends the challenge
  ``GET endpoint?challenge_code=…``; the answer must be ``{"challengeResponse":
  hex SHA-256(challengeCode + verificationToken + endpoint)}``, else errorId
  195020 and nothing is stored.
- ``POST /subscription`` (topicId, status, destinationId, payload),
  ``GET /subscription[/{id}]``, ``POST /subscription/{id}/enable|disable``.
- ``GET /public_key/{public_key_id}``: the key notifications are signed with.

Notifications (:mod:`.notify_delivery` signs and delivers them):
ORDER_CONFIRMATION, one per line item of an order placed, to the seller's
enabled subscriptions; MARKETPLACE_ACCOUNT_DELETION to every application's
enabled subscription when a buyer account is deleted (:meth:`Notifications.delete_account`,
or ``POST /sandbox/notifications/account_deletion`` on the eBay port).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crossdock.sandbox.ebay import render
from crossdock.sandbox.ebay.notify_delivery import NotificationDispatcher, Signer, request
from crossdock.sandbox.http import Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.model import Account, SimOrder
    from crossdock.sandbox.ebay.sim import EbaySim

NOTIFY = "/commerce/notification/v1"
DOMAIN = "API_NOTIFICATION"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,80}$")
TOPICS = {
    "ORDER_CONFIRMATION": {"description": "A buyer completed checkout (one notification per line item).",
                           "scope": "USER", "context": "SELLER"},
    "MARKETPLACE_ACCOUNT_DELETION": {"description": "An eBay user asked for their personal data to be deleted.",
                                     "scope": "APPLICATION", "context": "ALL"},
}
PAYLOAD = {"format": ["JSON"], "schemaVersion": "1.0", "deliveryProtocol": "HTTPS", "deprecated": False}


@dataclass
class Destination:
    id: str
    owner: str                      # the application (client id)
    name: str
    status: str
    endpoint: str
    token: str

    def doc(self) -> dict[str, Any]:
        return {"destinationId": self.id, "name": self.name, "status": self.status,
                "deliveryConfig": {"endpoint": self.endpoint, "verificationToken": self.token}}


@dataclass
class Subscription:
    id: str
    owner: str                      # the application (client id)
    username: str                   # the seller who subscribed (user topics)
    topic: str
    status: str
    destination_id: str

    def doc(self) -> dict[str, Any]:
        return {"subscriptionId": self.id, "topicId": self.topic, "status": self.status,
                "creationDate": None, "destinationId": self.destination_id,
                "payload": {"format": "JSON", "schemaVersion": "1.0", "deliveryProtocol": "HTTPS"}}


def _error(status: int, error_id: int, message: str) -> Response:
    return render.rest_error(status, error_id, DOMAIN, message)


def challenge_response(code: str, token: str, endpoint: str) -> str:
    return hashlib.sha256((code + token + endpoint).encode("utf-8")).hexdigest()


class Notifications:
    def __init__(self, sim: EbaySim) -> None:
        self.sim = sim
        self.signer = Signer(str(uuid.UUID(int=sim.rng.getrandbits(128))))
        self.dispatcher = NotificationDispatcher(sim, self.signer)
        self.destinations: dict[str, Destination] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.challenges = 0

    # ------------------------------------------------------------------ what eBay sends
    def _payload(self, topic: str, data: dict[str, Any], now: float) -> dict[str, Any]:
        stamp = dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
        return {"metadata": {"topic": topic, "schemaVersion": "1.0", "deprecated": False},
                "notification": {"notificationId": str(uuid.UUID(int=self.sim.rng.getrandbits(128))),
                                 "eventDate": stamp, "publishDate": stamp, "publishAttemptCount": 1, "data": data}}

    def _send(self, subs: list[Subscription], topic: str, data: dict[str, Any]) -> int:
        now = self.sim.clock.timestamp()
        sent = 0
        for sub in subs:
            dest = self.destinations.get(sub.destination_id)
            if dest is None or dest.status != "ENABLED":
                continue
            self.dispatcher.enqueue(dest.endpoint, self._payload(topic, data, now), now=now)
            sent += 1
        return sent

    def order_confirmed(self, acct: Account, order: SimOrder) -> None:
        """ORDER_CONFIRMATION for each line item (called with the sim's lock held)."""
        subs = [s for s in self.subscriptions.values()
                if s.topic == "ORDER_CONFIRMATION" and s.status == "ENABLED" and s.username == acct.username]
        for line in order.lines:
            self._send(subs, "ORDER_CONFIRMATION", {"orderId": order.order_id, "lineItemId": line.line_item_id,
                                                    "sellerUsername": acct.username})

    def delete_account(self, username: str, *, user_id: str | None = None) -> int:
        """A buyer deleted their eBay account: MARKETPLACE_ACCOUNT_DELETION to every subscribed application."""
        digest = hashlib.sha256(username.encode()).hexdigest()
        data = {"username": username, "userId": user_id or f"{digest[:10]}", "eiasToken": f"nY+sHZ2PrBmdj6wVnY+s{digest[:24]}"}
        with self.sim.lock:
            subs = [s for s in self.subscriptions.values()
                    if s.topic == "MARKETPLACE_ACCOUNT_DELETION" and s.status == "ENABLED"]
            return self._send(subs, "MARKETPLACE_ACCOUNT_DELETION", data)

    # ------------------------------------------------------------------ the challenge
    def _verify(self, endpoint: str, token: str) -> bool:
        code = uuid.UUID(int=self.sim.rng.getrandbits(128)).hex
        sep = "&" if "?" in endpoint else "?"
        self.challenges += 1
        try:
            status, body = request("GET", f"{endpoint}{sep}challenge_code={code}",
                                   headers={"Accept": "application/json"})
            answer = json.loads(body).get("challengeResponse") if status == 200 else None
        except Exception:  # noqa: BLE001 - unreachable, not JSON: the challenge failed
            return False
        return answer == challenge_response(code, token, endpoint)

    def _delivery_config(self, body: dict[str, Any]) -> tuple[str, str] | Response:
        cfg = body.get("deliveryConfig") or {}
        endpoint, token = str(cfg.get("endpoint") or ""), str(cfg.get("verificationToken") or "")
        if not endpoint.startswith(("http://", "https://")):
            return _error(400, 195004, "Invalid or missing endpoint.")
        if not TOKEN_RE.match(token):
            return _error(400, 195005, "Invalid or missing verification token for this endpoint.")
        if not self._verify(endpoint, token):
            return _error(409, 195020, "Challenge verification failed for requested endpoint.")
        return endpoint, token


def register(sim: EbaySim) -> None:
    n = sim.notifications = Notifications(sim)

    def token_of(req: Request):
        return sim.bearer(req)

    def owner(req: Request) -> str | None:
        tok = token_of(req)
        return sim.account(tok.username).client_id if tok is not None else None

    def op(method: str, path: str, operation: str):
        def deco(fn):
            def handler(req: Request) -> Response:
                if token_of(req) is None:
                    return render.invalid_access_token()
                return fn(req)
            sim.op(method, NOTIFY + path, operation, account=sim.rest_username)(handler)
            return fn
        return deco

    @op("GET", "/topic", "getTopics")
    def get_topics(req: Request) -> Response:
        topics = [{"topicId": t, **info, "status": "ENABLED", "authorizationScopes": [],
                   "supportedPayloads": [PAYLOAD], "filterable": False} for t, info in TOPICS.items()]
        return json_response({"topics": topics, "total": len(topics), "limit": 20})

    @op("GET", "/topic/{topic_id}", "getTopic")
    def get_topic(req: Request) -> Response:
        t = req.path_params["topic_id"]
        if t not in TOPICS:
            return _error(404, 195002, "Topic not found.")
        return json_response({"topicId": t, **TOPICS[t], "status": "ENABLED", "supportedPayloads": [PAYLOAD]})

    @op("POST", "/destination", "createDestination")
    def create_destination(req: Request) -> Response:
        body = req.json() or {}
        checked = n._delivery_config(body)
        if isinstance(checked, Response):
            return checked
        with sim.lock:
            dest = Destination(sim.new_unique("9999999999"), owner(req) or "", str(body.get("name") or ""),
                               str(body.get("status") or "ENABLED"), *checked)
            n.destinations[dest.id] = dest
        return Response(201, b"", {"Location": f"{NOTIFY}/destination/{dest.id}"})

    @op("GET", "/destination", "getDestinations")
    def get_destinations(req: Request) -> Response:
        mine = [d.doc() for d in n.destinations.values() if d.owner == owner(req)]
        return json_response({"destinations": mine, "total": len(mine), "limit": 20})

    @op("GET", "/destination/{destination_id}", "getDestination")
    def get_destination(req: Request) -> Response:
        d = n.destinations.get(req.path_params["destination_id"])
        if d is None or d.owner != owner(req):
            return _error(404, 195006, "Destination not found.")
        return json_response(d.doc())

    @op("PUT", "/destination/{destination_id}", "updateDestination")
    def update_destination(req: Request) -> Response:
        d = n.destinations.get(req.path_params["destination_id"])
        if d is None or d.owner != owner(req):
            return _error(404, 195006, "Destination not found.")
        body = req.json() or {}
        checked = n._delivery_config(body)
        if isinstance(checked, Response):
            return checked
        with sim.lock:
            d.endpoint, d.token = checked
            d.name, d.status = str(body.get("name") or d.name), str(body.get("status") or d.status)
        return Response(204)

    @op("POST", "/subscription", "createSubscription")
    def create_subscription(req: Request) -> Response:
        body = req.json() or {}
        topic, dest_id = str(body.get("topicId") or ""), str(body.get("destinationId") or "")
        tok = token_of(req)
        if topic not in TOPICS:
            return _error(400, 195002, "Invalid or missing topic id.")
        if TOPICS[topic]["scope"] == "USER" and tok is not None and tok.app:
            return render.access_denied()
        d = n.destinations.get(dest_id)
        if d is None or d.owner != owner(req):
            return _error(400, 195006, "Invalid or missing destination id.")
        user = tok.username if tok is not None else ""
        with sim.lock:
            if any(s.topic == topic and s.owner == d.owner and s.username == user for s in n.subscriptions.values()):
                return _error(409, 195011, "Subscription already exists.")
            sub = Subscription(sim.new_unique("9999999999"), d.owner, user, topic,
                               str(body.get("status") or "DISABLED"), dest_id)
            n.subscriptions[sub.id] = sub
        return Response(201, b"", {"Location": f"{NOTIFY}/subscription/{sub.id}"})

    @op("GET", "/subscription", "getSubscriptions")
    def get_subscriptions(req: Request) -> Response:
        tok = token_of(req)
        mine = [s.doc() for s in n.subscriptions.values()
                if s.owner == owner(req) and (tok is None or tok.app or s.username in ("", tok.username)
                                              or s.topic != "ORDER_CONFIRMATION")]
        return json_response({"subscriptions": mine, "total": len(mine), "limit": 20})

    def _sub(req: Request) -> Subscription | None:
        s = n.subscriptions.get(req.path_params["subscription_id"])
        return s if s is not None and s.owner == owner(req) else None

    @op("GET", "/subscription/{subscription_id}", "getSubscription")
    def get_subscription(req: Request) -> Response:
        s = _sub(req)
        return json_response(s.doc()) if s else _error(404, 195008, "Subscription not found.")

    def _set_status(status: str):
        def handler(req: Request) -> Response:
            s = _sub(req)
            if s is None:
                return _error(404, 195008, "Subscription not found.")
            s.status = status
            return Response(204)
        return handler

    op("POST", "/subscription/{subscription_id}/enable", "enableSubscription")(_set_status("ENABLED"))
    op("POST", "/subscription/{subscription_id}/disable", "disableSubscription")(_set_status("DISABLED"))

    @op("GET", "/public_key/{public_key_id}", "getPublicKey")
    def get_public_key(req: Request) -> Response:
        if req.path_params["public_key_id"] != n.signer.kid:
            return _error(404, 195001, "Public key not found.")
        return json_response({"algorithm": "ECDSA", "digest": "SHA1", "key": n.signer.public_pem_one_line()})

    @sim.app.route("POST", "/sandbox/notifications/account_deletion")
    def sandbox_account_deletion(req: Request) -> Response:
        body = req.json() or {}
        username = str(body.get("username") or "").strip()
        if not username:
            return json_response({"error": "username is required"}, 400)
        sent = n.delete_account(username, user_id=body.get("userId"))
        return json_response({"ok": True, "notifications": sent})
