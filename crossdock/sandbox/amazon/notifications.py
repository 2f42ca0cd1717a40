"""Notifications API v1 and the ORDER_CHANGE notifications it delivers.

Operations, with the grant Amazon asks for each: createDestination,
getDestinations, getDestination, deleteDestination, getSubscriptionById and
deleteSubscriptionById are *grantless* (an LWA ``client_credentials`` token
with scope ``sellingpartnerapi::notifications``, the application's, no
seller); createSubscription and getSubscription take the seller's token.
Destinations belong to the application (its LWA client id); a subscription
is one per seller and notification type (409 ``Conflict`` for a second).
Only SQS destinations (``resourceSpecification.sqs.arn``) on a queue of the
sandbox's SQS, and only ORDER_CHANGE, are offered.

Delivery: when an order changes (placed, Pending → Unshipped, cancelled,
shipped) the seller's ORDER_CHANGE subscription gets one message on its
destination's queue, shaped as Amazon documents the notification
(NotificationVersion, NotificationType, PayloadVersion, EventTime,
Payload.OrderChangeNotification, NotificationMetadata), through the
sandbox's event faults. getOrder sees the change at once (only getOrders
lags two minutes), so a consumer's targeted read finds what the message
announced.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crossdock.sandbox.amazon import constants as C
from crossdock.sandbox.amazon.auth import authenticate
from crossdock.sandbox.amazon.state import Order
from crossdock.sandbox.amazon.wire import iso, iso_ms, sp_error, sp_json
from crossdock.sandbox.http import Request, Response

if TYPE_CHECKING:
    from crossdock.sandbox.amazon.sim import AmazonSim

SCOPE = "sellingpartnerapi::notifications"
TYPES = ("ORDER_CHANGE",)
CHANGE_TYPES = ("OrderStatusChange", "BuyerRequestedChange")
RATE, BURST = 1.0, 5.0          # every Notifications API operation: 1 request/s, burst 5
BASE = "/notifications/v1"


@dataclass
class Destination:
    destination_id: str
    name: str
    arn: str
    client_id: str


@dataclass
class Subscription:
    subscription_id: str
    seller_id: str
    notification_type: str
    destination_id: str
    payload_version: str
    directive: dict[str, Any] | None = None


@dataclass
class Notifications:
    """What the Notifications API holds, and the generator of its ids (its
    own, so subscribing does not change the sandbox's order ids)."""

    seed: int
    destinations: dict[str, Destination] = field(default_factory=dict)
    subscriptions: dict[tuple[str, str], Subscription] = field(default_factory=dict)
    sent: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(f"crossdock-amazon-notifications:{self.seed}")

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def _bad(details: str, status: int = 400, code: str = "InvalidInput", message: str = C.INVALID_INPUT) -> Response:
    return sp_error(status, code, message, details, rate=RATE)


def _render_destination(d: Destination) -> dict[str, Any]:
    return {"name": d.name, "destinationId": d.destination_id, "resource": {"sqs": {"arn": d.arn}}}


def _render_subscription(s: Subscription) -> dict[str, Any]:
    out: dict[str, Any] = {"subscriptionId": s.subscription_id, "payloadVersion": s.payload_version,
                           "destinationId": s.destination_id}
    if s.directive is not None:
        out["processingDirective"] = s.directive
    return out


def _type(req: Request) -> str | Response:
    kind = req.path_params["notificationType"]
    if kind not in TYPES:
        return _bad(f"notificationType {kind} is not supported by the sandbox; supported: {', '.join(TYPES)}.")
    return kind


def _seller_and_type(sim: "AmazonSim", req: Request) -> tuple[Any, str] | Response:
    """The seller's authorisation and the path's notification type (a subscription's calls)."""
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    kind = _type(req)
    return kind if isinstance(kind, Response) else (auth, kind)


def _grantless_client(sim: "AmazonSim", req: Request) -> str | Response:
    auth = authenticate(sim, req, grantless=SCOPE)
    return auth if isinstance(auth, Response) else auth.seller.client_id


# ------------------------------------------------------------------ destinations (grantless)


def create_destination(sim: "AmazonSim", req: Request) -> Response:
    client = _grantless_client(sim, req)
    if isinstance(client, Response):
        return client
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        return _bad("Request body is not valid JSON.")
    spec = body.get("resourceSpecification") if isinstance(body, dict) else None
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name or not isinstance(spec, dict):
        return _bad("name and resourceSpecification are required.")
    if "eventBridge" in spec:
        return _bad("The sandbox offers SQS destinations only (resourceSpecification.sqs.arn).")
    arn = (spec.get("sqs") or {}).get("arn") if isinstance(spec.get("sqs"), dict) else None
    if not isinstance(arn, str) or not arn.startswith("arn:aws:sqs:"):
        return _bad("resourceSpecification.sqs.arn must be an SQS queue ARN.")
    if sim.sandbox.sqs.queues.by_arn(arn) is None:
        return _bad(f"Unable to send a test message to {arn}: the queue does not exist or does not allow "
                    "sellingpartnerapi to send messages.")
    state = sim.notifications
    with sim.lock:
        same = next((d for d in state.destinations.values() if d.client_id == client and d.arn == arn), None)
        if same is not None:
            return _bad(f"destinationId {same.destination_id}", 409, "Conflict",
                        "A destination for this resource already exists.")
        d = Destination(state.new_id(), name, arn, client)
        state.destinations[d.destination_id] = d
    return sp_json({"payload": _render_destination(d)}, rate=RATE)


def get_destinations(sim: "AmazonSim", req: Request) -> Response:
    client = _grantless_client(sim, req)
    if isinstance(client, Response):
        return client
    with sim.lock:
        mine = [_render_destination(d) for d in sim.notifications.destinations.values() if d.client_id == client]
    return sp_json({"payload": mine}, rate=RATE)


def _destination(sim: "AmazonSim", client: str, destination_id: str) -> Destination | Response:
    d = sim.notifications.destinations.get(destination_id)
    if d is None or d.client_id != client:
        return _bad(f"destinationId {destination_id}", 404, "NotFound", "The resource was not found.")
    return d


def get_destination(sim: "AmazonSim", req: Request) -> Response:
    client = _grantless_client(sim, req)
    if isinstance(client, Response):
        return client
    with sim.lock:
        d = _destination(sim, client, req.path_params["destinationId"])
    return d if isinstance(d, Response) else sp_json({"payload": _render_destination(d)}, rate=RATE)


def delete_destination(sim: "AmazonSim", req: Request) -> Response:
    client = _grantless_client(sim, req)
    if isinstance(client, Response):
        return client
    with sim.lock:
        d = _destination(sim, client, req.path_params["destinationId"])
        if isinstance(d, Response):
            return d
        if any(s.destination_id == d.destination_id for s in sim.notifications.subscriptions.values()):
            return _bad(f"destinationId {d.destination_id} has subscriptions; delete them first.", 409, "Conflict",
                        "The destination is in use.")
        del sim.notifications.destinations[d.destination_id]
    return sp_json({}, rate=RATE)


# ------------------------------------------------------------------ subscriptions


def create_subscription(sim: "AmazonSim", req: Request) -> Response:
    found = _seller_and_type(sim, req)
    if isinstance(found, Response):
        return found
    auth, kind = found
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        return _bad("Request body is not valid JSON.")
    if not isinstance(body, dict) or body.get("payloadVersion") != "1.0" or not body.get("destinationId"):
        return _bad("payloadVersion \"1.0\" and destinationId are required.")
    directive = body.get("processingDirective")
    if directive is not None:
        flt = directive.get("eventFilter") if isinstance(directive, dict) else None
        changes = flt.get("orderChangeTypes", []) if isinstance(flt, dict) else None
        if not isinstance(flt, dict) or flt.get("eventFilterType") != kind or not isinstance(changes, list) \
                or not set(changes) <= set(CHANGE_TYPES) or "marketplaceIds" in flt:
            return _bad("processingDirective.eventFilter must have eventFilterType ORDER_CHANGE and "
                        f"orderChangeTypes among {', '.join(CHANGE_TYPES)} (marketplaceIds are not supported "
                        "for ORDER_CHANGE).")
    state = sim.notifications
    with sim.lock:
        d = _destination(sim, auth.seller.client_id, str(body["destinationId"]))
        if isinstance(d, Response):
            return d
        key = (auth.seller.seller_id, kind)
        existing = state.subscriptions.get(key)
        if existing is not None:
            return _bad(f"subscriptionId {existing.subscription_id}", 409, "Conflict",
                        f"A subscription for {kind} already exists for this selling partner.")
        s = Subscription(state.new_id(), auth.seller.seller_id, kind, d.destination_id, "1.0", directive)
        state.subscriptions[key] = s
    return sp_json({"payload": _render_subscription(s)}, rate=RATE)


def get_subscription(sim: "AmazonSim", req: Request) -> Response:
    found = _seller_and_type(sim, req)
    if isinstance(found, Response):
        return found
    auth, kind = found
    with sim.lock:
        s = sim.notifications.subscriptions.get((auth.seller.seller_id, kind))
    if s is None:
        return _bad(f"No subscription for {kind}.", 404, "NotFound", "The resource was not found.")
    return sp_json({"payload": _render_subscription(s)}, rate=RATE)


def _by_id(sim: "AmazonSim", req: Request) -> tuple[Subscription, str] | Response:
    client = _grantless_client(sim, req)
    if isinstance(client, Response):
        return client
    kind = _type(req)
    if isinstance(kind, Response):
        return kind
    wanted = req.path_params["subscriptionId"]
    for key, s in sim.notifications.subscriptions.items():
        if s.subscription_id == wanted and s.notification_type == kind \
                and sim.sellers[s.seller_id].client_id == client:
            return s, key[0]
    return _bad(f"subscriptionId {wanted}", 404, "NotFound", "The resource was not found.")


def get_subscription_by_id(sim: "AmazonSim", req: Request) -> Response:
    with sim.lock:
        found = _by_id(sim, req)
    return found if isinstance(found, Response) else sp_json({"payload": _render_subscription(found[0])}, rate=RATE)


def delete_subscription_by_id(sim: "AmazonSim", req: Request) -> Response:
    with sim.lock:
        found = _by_id(sim, req)
        if isinstance(found, Response):
            return found
        del sim.notifications.subscriptions[(found[1], found[0].notification_type)]
    return sp_json({}, rate=RATE)


# ------------------------------------------------------------------ delivery


def queue_name(seller_id: str) -> str:
    """The SQS queue the sandbox makes ready for a seller's notifications (its dead-letter queue: ``NAME-dlq``)."""
    return f"sp-api-notifications-{seller_id.lower()}"


def queue_of(sim: "AmazonSim", seller_id: str) -> dict[str, str]:
    queues = sim.sandbox.sqs.queues
    q = queues.by_name(queue_name(seller_id))
    dlq = queues.by_name(queue_name(seller_id) + "-dlq")
    return {"url": queues.url(q), "arn": q.arn, "dead_letter_url": queues.url(dlq)}


def order_change(sim: "AmazonSim", order: Order, sub: Subscription, *, change_type: str, reason: str,
                 at: float, notification_id: str) -> dict[str, Any]:
    """The ORDER_CHANGE notification for ``order`` as it is now."""
    seller = sim.sellers[order.seller_id]
    app_id = "amzn1.sellerapps.app." + str(uuid.uuid5(uuid.NAMESPACE_URL, seller.client_id))
    items = [{"OrderItemId": i.order_item_id, "SellerSKU": i.sku, "SupplySourceId": None,
              "Quantity": i.quantity, "QuantityShipped": i.quantity_shipped,
              "IsBuyerRequestedCancel": "false"} for i in order.items]
    return {
        "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
        "EventTime": iso_ms(at),
        "Payload": {"OrderChangeNotification": {
            "NotificationLevel": "OrderLevel", "SellerId": order.seller_id,
            "AmazonOrderId": order.amazon_order_id, "OrderChangeType": change_type,
            "OrderChangeTrigger": {"TimeOfOrderChange": iso_ms(at), "ChangeReason": reason},
            "Summary": {"MarketplaceId": order.marketplace_id, "OrderStatus": order.status,
                        "PurchaseDate": iso(order.purchase_date), "DestinationPostalCode": None,
                        "FulfillmentType": "MFN", "OrderType": "StandardOrder", "OrderPrograms": [],
                        "ShippingPrograms": [], "EasyShipShipmentStatus": None, "ElectronicInvoiceStatus": None,
                        "OrderItems": items}}},
        "NotificationMetadata": {"ApplicationId": app_id, "SubscriptionId": sub.subscription_id,
                                 "PublishTime": iso_ms(sim.now()), "NotificationId": notification_id},
    }


def order_changed(sim: "AmazonSim", order: Order, reason: str, *, change_type: str = "OrderStatusChange",
                  at: float | None = None) -> None:
    """Tell the seller's ORDER_CHANGE subscriber (if any) that ``order``
    changed; called by the simulator with its lock held."""
    state = sim.notifications
    sub = state.subscriptions.get((order.seller_id, "ORDER_CHANGE"))
    if sub is None:
        return
    flt = (sub.directive or {}).get("eventFilter") or {}
    if flt.get("orderChangeTypes") and change_type not in flt["orderChangeTypes"]:
        return
    dest = state.destinations.get(sub.destination_id)
    if dest is None:
        return
    body = order_change(sim, order, sub, change_type=change_type, reason=reason,
                        at=sim.now() if at is None else at, notification_id=state.new_id())
    state.sent += sim.sandbox.sqs.deliver(dest.arn, json.dumps(body, separators=(",", ":")),
                                          platform="amazon", topic="ORDER_CHANGE")


def register(sim: "AmazonSim") -> None:
    routes = (
        ("POST", f"{BASE}/destinations", "createDestination", create_destination),
        ("GET", f"{BASE}/destinations", "getDestinations", get_destinations),
        ("GET", f"{BASE}/destinations/{{destinationId}}", "getDestination", get_destination),
        ("DELETE", f"{BASE}/destinations/{{destinationId}}", "deleteDestination", delete_destination),
        ("POST", f"{BASE}/subscriptions/{{notificationType}}", "createSubscription", create_subscription),
        ("GET", f"{BASE}/subscriptions/{{notificationType}}", "getSubscription", get_subscription),
        ("GET", f"{BASE}/subscriptions/{{notificationType}}/{{subscriptionId}}", "getSubscriptionById",
         get_subscription_by_id),
        ("DELETE", f"{BASE}/subscriptions/{{notificationType}}/{{subscriptionId}}", "deleteSubscriptionById",
         delete_subscription_by_id),
    )
    for method, path, op, fn in routes:
        sim.op(method, path, op, account=sim.account_of, rate=RATE, burst=BURST)(
            (lambda f: lambda req: f(sim, req))(fn))
