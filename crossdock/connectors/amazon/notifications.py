"""SP-API notifications: reading ORDER_CHANGE messages from the seller's SQS
queue (:class:`OrderChangeReader`, pure) and subscribing a seller to them
(:func:`subscribe_order_change`, through the channel's SP-API client).

An ORDER_CHANGE notification names the order (``AmazonOrderId``), its
seller (``SellerId``) and marketplace (``Summary.MarketplaceId``), and carries
a ``NotificationMetadata.NotificationId`` that stays the same when Amazon (or
SQS) delivers it twice: the dedupe key. Nothing else of it is used — the
order is read with getOrder afterwards, so a forged or stale message can at
most cause a read.

Subscribing (Notifications API v1): the destination (the queue's ARN) is
made with a *grantless* token (LWA ``client_credentials``, scope
``sellingpartnerapi::notifications``), the subscription with the seller's
own token. Both are looked up first, so running it again changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from crossdock.connectors.amazon.client import SpApiClient
from crossdock.connectors.amazon.settings import AmazonSettings
from crossdock.connectors.event_queue import QueueAccess, QueueBinding, QueueReader
from crossdock.connectors.events import Delivery
from crossdock.connectors.http import CallContext, json_body, send
from crossdock.errors import AuthError, ConfigError, EventError, PlatformError, QuotaError

log = logging.getLogger(__name__)

__all__ = ["GRANTLESS_SCOPE", "NotificationEvents", "OrderChangeReader", "event_queues", "queue_arn",
           "subscribe_order_change"]

GRANTLESS_SCOPE = "sellingpartnerapi::notifications"
ORDER_CHANGE = "ORDER_CHANGE"
BASE = "/notifications/v1"
#: The notification types read from the queue; others on it are acknowledged and left alone.
READ_TYPES = (ORDER_CHANGE,)
MAX_QUOTA_WAITS = 5


class OrderChangeReader(QueueReader):
    """ORDER_CHANGE messages of the sellers in ``channels`` ((seller id,
    marketplace id) → channel name)."""

    source = "amazon"

    def __init__(self, channels: Mapping[tuple[str, str], str]) -> None:
        self.by_seller_marketplace = dict(channels)
        self.channels = tuple(sorted(set(self.by_seller_marketplace.values())))

    def read(self, body: str) -> list[Delivery]:
        try:
            doc: Any = json.loads(body)
        except ValueError as exc:
            raise EventError("XD-EVT-004", detail="SQS message: the body is not JSON") from exc
        if not isinstance(doc, dict):
            raise EventError("XD-EVT-004", detail="SQS message: the body is not a JSON object")
        kind = doc.get("NotificationType")
        if kind not in READ_TYPES:
            if isinstance(kind, str) and kind:
                return []                      # a notification of another type: nothing to read
            raise EventError("XD-EVT-004", detail="SQS message: no NotificationType (not an SP-API notification)")
        meta = doc.get("NotificationMetadata")
        payload = doc.get("Payload")
        change = payload.get("OrderChangeNotification") if isinstance(payload, dict) else None
        notification_id = meta.get("NotificationId") if isinstance(meta, dict) else None
        if not isinstance(change, dict) or not isinstance(notification_id, str) or not notification_id.strip():
            raise EventError("XD-EVT-004", detail=f"{kind}: no Payload.OrderChangeNotification or NotificationId")
        summary = change.get("Summary")
        seller, order_id = change.get("SellerId"), change.get("AmazonOrderId")
        marketplace = summary.get("MarketplaceId") if isinstance(summary, dict) else None
        if not all(isinstance(v, str) and v.strip() for v in (seller, order_id, marketplace)):
            raise EventError("XD-EVT-004", detail=f"{kind} {notification_id}: no SellerId, AmazonOrderId or "
                                                  "Summary.MarketplaceId")
        channel = self.by_seller_marketplace.get((str(seller), str(marketplace)))
        if channel is None:
            raise EventError("XD-EVT-003", detail=f"{kind} {notification_id}: seller {seller} in marketplace "
                                                  f"{marketplace} is no configured channel's")
        return [Delivery(channel=channel, topic=kind, delivery_id=notification_id.strip(),
                         order_ids=(str(order_id).strip(),))]


def queue_arn(url: str, region: str) -> str:
    """The ARN of the queue at ``url`` (``…/ACCOUNT/NAME``, AWS's or the sandbox's)."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if len(parts) != 2 or not parts[0].isdigit():
        raise ConfigError("XD-CFG-009", detail=f"{url}: an SQS queue URL ends in /ACCOUNT_ID/QUEUE_NAME")
    return f"arn:aws:sqs:{region}:{parts[0]}:{parts[1]}"


def event_queues(channels: Mapping[str, AmazonSettings]) -> list[QueueBinding]:
    """``PlatformSpec.event_queues``: one binding per distinct queue the
    channels name (a seller's marketplaces share one queue and one reader)."""
    grouped: dict[tuple[str, str | None, str | None], tuple[QueueAccess, dict[tuple[str, str], str]]] = {}
    for name, s in sorted(channels.items()):
        if not s.events_queue_url:
            continue
        access = QueueAccess(url=s.events_queue_url, region=s.events_region, endpoint_url=s.events_endpoint_url,
                             wait_s=s.events_wait_s, access_key_id=s.aws_access_key_id, secret_access_key=s.aws_secret_access_key)
        grouped.setdefault(access.key, (access, {}))[1][(s.seller_id, s.marketplace_id)] = name
    return [QueueBinding(access, OrderChangeReader(by)) for access, by in grouped.values()]


# ------------------------------------------------------------------ subscribing


def grantless_token(client: SpApiClient, scope: str = GRANTLESS_SCOPE) -> str:
    """An application token for grantless operations (LWA client_credentials)."""
    s = client.settings
    ctx = CallContext(platform="amazon", account=s.seller_id, channel=s.channel, operation="lwaToken")
    request = client.http.build_request(
        "POST", s.lwa_url, data={"grant_type": "client_credentials", "scope": scope, "client_id": s.client_id,
                                 "client_secret": s.client_secret},
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})
    body = json_body(send(client.http, request, ctx, timeout_s=s.timeout_s), ctx)
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise AuthError("XD-AUTH-002", channel=s.channel, detail="Login with Amazon gave no grantless token")
    return token


def _payload(client: SpApiClient, operation: str, method: str, path: str, *, token: str | None = None,
             body: Any = None, sleep: Callable[[float], None] = time.sleep) -> Any:
    """One Notifications API call. Subscribing runs in a command, not a worker, so a quota wait
    (1 call/s per operation) is waited out here, a few times at most."""
    for attempt in range(MAX_QUOTA_WAITS + 1):
        try:
            resp = client.call(operation, method, path, token=token, body=body)
            return client._json(resp, operation).get("payload")
        except QuotaError as exc:
            if exc.retry_after_s is None or attempt == MAX_QUOTA_WAITS:
                raise
            sleep(min(exc.retry_after_s, 10.0))
    raise AssertionError("unreachable")


def subscribe_order_change(client: SpApiClient, *, queue_url: str, region: str,
                           name: str = "crossdock") -> dict[str, Any]:
    """Make the channel's seller send ORDER_CHANGE to the queue: the
    destination for its ARN (found, or created), then the seller's
    subscription to it (found; replaced when it points elsewhere; or
    created). Returns ``{"destination_id", "subscription_id", "queue_arn",
    "created": [what was made]}``."""
    arn = queue_arn(queue_url, region)
    app = grantless_token(client)
    created: list[str] = []
    dests = _payload(client, "getDestinations", "GET", f"{BASE}/destinations", token=app) or []
    dest = next((d for d in dests if isinstance(d, dict)
                 and ((d.get("resource") or {}).get("sqs") or {}).get("arn") == arn), None)
    if dest is None:
        dest = _payload(client, "createDestination", "POST", f"{BASE}/destinations", token=app,
                        body={"name": name, "resourceSpecification": {"sqs": {"arn": arn}}})
        created.append("destination")
    dest_id = str(dest["destinationId"])
    try:
        sub = _payload(client, "getSubscription", "GET", f"{BASE}/subscriptions/{ORDER_CHANGE}")
    except PlatformError as exc:
        if exc.context.get("status") != 404:
            raise
        sub = None
    if isinstance(sub, dict) and sub.get("destinationId") != dest_id:
        _payload(client, "deleteSubscriptionById", "DELETE",
                 f"{BASE}/subscriptions/{ORDER_CHANGE}/{sub['subscriptionId']}", token=app)
        log.info("%s: ORDER_CHANGE subscription %s pointed elsewhere; replaced", client.settings.channel,
                 sub.get("subscriptionId"))
        sub = None
    if not isinstance(sub, dict):
        sub = _payload(client, "createSubscription", "POST", f"{BASE}/subscriptions/{ORDER_CHANGE}",
                       body={"payloadVersion": "1.0", "destinationId": dest_id})
        created.append("subscription")
    return {"destination_id": dest_id, "subscription_id": str(sub["subscriptionId"]), "queue_arn": arn,
            "created": created}


def order_change_subscription(client: SpApiClient) -> dict[str, Any] | None:
    """The seller's ORDER_CHANGE subscription with its destination's queue ARN; None: not subscribed."""
    try:
        sub = _payload(client, "getSubscription", "GET", f"{BASE}/subscriptions/{ORDER_CHANGE}")
    except PlatformError as exc:
        if exc.context.get("status") != 404:
            raise
        return None
    if not isinstance(sub, dict):
        return None
    dests = _payload(client, "getDestinations", "GET", f"{BASE}/destinations", token=grantless_token(client)) or []
    dest = next((d for d in dests if isinstance(d, dict) and d.get("destinationId") == sub.get("destinationId")), {})
    return {**sub, "queue_arn": ((dest.get("resource") or {}).get("sqs") or {}).get("arn")}


class NotificationEvents:
    """The Amazon connector's side of the events contract
    (``Connector.setup_events`` / ``event_subscriptions``): Amazon delivers
    to the seller's SQS queue (``options.events_queue_url``), not to
    crossdock's public URL, so ``endpoint`` and ``secret`` are not used."""

    settings: AmazonSettings
    client: SpApiClient

    def setup_events(self, *, endpoint: str, secret: str) -> list[dict[str, Any]]:
        s = self.settings
        if not s.events_queue_url:
            raise EventError("XD-EVT-009", channel=s.channel,
                             detail="Amazon sends notifications to an SQS queue: set the channel's "
                                    "options.events_queue_url (and the aws_access_key_id / aws_secret_access_key "
                                    "secrets) first")
        subscribe_order_change(self.client, queue_url=s.events_queue_url, region=s.events_region)
        return self.event_subscriptions()

    def event_subscriptions(self) -> list[dict[str, Any]]:
        sub = order_change_subscription(self.client)
        if sub is None:
            return []
        mine = self.settings.events_queue_url and sub["queue_arn"] == queue_arn(self.settings.events_queue_url,
                                                                                 self.settings.events_region)
        return [{"topic": ORDER_CHANGE, "status": "ENABLED" if mine else "ELSEWHERE",
                 "endpoint": sub["queue_arn"] or "", "subscription_id": sub.get("subscriptionId"),
                 "destination_id": sub.get("destinationId")}]
