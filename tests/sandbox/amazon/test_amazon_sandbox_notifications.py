"""Notifications API v1 in the Amazon sandbox: grantless destinations, the
seller's ORDER_CHANGE subscription, and the notifications it puts on the
sandbox's SQS queue when orders change (read back with boto3), shaped as
Amazon documents them; getOrder sees at once what a notification announced."""

from __future__ import annotations

import json

import boto3
import pytest

US = "ATVPDKIKX0DER"
SCOPE = "sellingpartnerapi::notifications"


def _grantless(amz, scope: str = SCOPE) -> str:
    r = amz.http.post(amz.lwa, data={"grant_type": "client_credentials", "scope": scope,
                                     "client_id": amz.acct["client_id"], "client_secret": amz.acct["client_secret"]})
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == scope and r.json()["expires_in"] == 3600
    return r.json()["access_token"]


def _sqs(amz):
    d = amz.sb.describe()["sqs"]
    return boto3.client("sqs", endpoint_url=d["endpoint_url"], region_name=d["region"],
                        aws_access_key_id=d["access_key_id"], aws_secret_access_key=d["secret_access_key"])


def _subscribe(amz) -> tuple[str, str]:
    """(destination id, subscription id): the seller's queue as a destination, ORDER_CHANGE to it."""
    app = _grantless(amz)
    arn = amz.acct["notifications_queue"]["arn"]
    dest = amz.post("/notifications/v1/destinations", token=app,
                    json={"name": "crossdock", "resourceSpecification": {"sqs": {"arn": arn}}})
    assert dest.status_code == 200, dest.text
    dest_id = dest.json()["payload"]["destinationId"]
    assert dest.json()["payload"]["resource"] == {"sqs": {"arn": arn}}
    sub = amz.post("/notifications/v1/subscriptions/ORDER_CHANGE",
                   json={"payloadVersion": "1.0", "destinationId": dest_id})
    assert sub.status_code == 200, sub.text
    return dest_id, sub.json()["payload"]["subscriptionId"]


def _messages(amz, sqs, n: int) -> list[dict]:
    url = amz.acct["notifications_queue"]["url"]
    out: list[dict] = []
    while len(out) < n:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
        assert "Messages" in got, f"expected {n} messages, got {len(out)}"
        for m in got["Messages"]:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def test_destinations_are_grantless_and_subscriptions_are_the_sellers(fresh):
    amz = fresh
    app = _grantless(amz)
    body = {"name": "q", "resourceSpecification": {"sqs": {"arn": amz.acct["notifications_queue"]["arn"]}}}
    # a seller's token is refused for a grantless operation, and a grantless token for a seller's one
    assert amz.post("/notifications/v1/destinations", json=body).status_code == 403
    assert amz.get("/orders/v0/orders", token=app, params={"MarketplaceIds": US}).status_code == 403
    assert amz.post("/notifications/v1/subscriptions/ORDER_CHANGE", token=app,
                    json={"payloadVersion": "1.0", "destinationId": "x"}).status_code == 403
    # a queue that does not exist, a wrong scope, an unsupported type
    bad = {"name": "q", "resourceSpecification": {"sqs": {"arn": "arn:aws:sqs:us-east-1:1:nope"}}}
    assert amz.post("/notifications/v1/destinations", token=app, json=bad).status_code == 400
    r = amz.http.post(amz.lwa, data={"grant_type": "client_credentials", "scope": "sellingpartnerapi::orders",
                                     "client_id": amz.acct["client_id"], "client_secret": amz.acct["client_secret"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    dest_id, sub_id = _subscribe(amz)
    assert amz.post("/notifications/v1/destinations", token=app, json=body).status_code == 409
    listed = amz.get("/notifications/v1/destinations", token=app).json()["payload"]
    assert [d["destinationId"] for d in listed] == [dest_id]
    again = amz.post("/notifications/v1/subscriptions/ORDER_CHANGE",
                     json={"payloadVersion": "1.0", "destinationId": dest_id})
    assert again.status_code == 409 and sub_id in again.json()["errors"][0]["details"]
    assert amz.get("/notifications/v1/subscriptions/ORDER_CHANGE").json()["payload"] == {
        "subscriptionId": sub_id, "payloadVersion": "1.0", "destinationId": dest_id}
    assert amz.get("/notifications/v1/subscriptions/ANY_OFFER_CHANGED").status_code == 400
    by_id = f"/notifications/v1/subscriptions/ORDER_CHANGE/{sub_id}"
    assert amz.get(by_id).status_code == 403                                   # grantless only
    assert amz.get(by_id, token=app).json()["payload"]["destinationId"] == dest_id
    assert amz.request("DELETE", f"/notifications/v1/destinations/{dest_id}", token=app).status_code == 409
    assert amz.request("DELETE", by_id, token=app).status_code == 200
    assert amz.get("/notifications/v1/subscriptions/ORDER_CHANGE").status_code == 404
    assert amz.request("DELETE", f"/notifications/v1/destinations/{dest_id}", token=app).status_code == 200


def test_an_order_placed_paid_and_cancelled_sends_order_change_notifications_as_amazon_shapes_them(fresh,
                                                                                                 monkeypatch):
    amz = fresh
    sqs = _sqs(amz)
    _, sub_id = _subscribe(amz)
    monkeypatch.setattr(amz.sim, "pending_s", 300.0)          # half a real second at this scale
    amz.list(US, "N-MUG", 10, "12.00")
    # When an order is placed
    oid = amz.order(US, "N-MUG", 2)
    (placed,) = _messages(amz, sqs, 1)
    # Then its notification names it, with the order's summary, at once
    assert placed["NotificationType"] == "ORDER_CHANGE" and placed["NotificationVersion"] == "1.0"
    assert placed["PayloadVersion"] == "1.0"
    change = placed["Payload"]["OrderChangeNotification"]
    assert change["AmazonOrderId"] == oid and change["SellerId"] == amz.seller
    assert change["OrderChangeType"] == "OrderStatusChange"
    assert set(change["OrderChangeTrigger"]) == {"TimeOfOrderChange", "ChangeReason"}
    summary = change["Summary"]
    assert (summary["MarketplaceId"], summary["OrderStatus"], summary["FulfillmentType"]) == (US, "Pending", "MFN")
    assert [(i["SellerSKU"], i["Quantity"]) for i in summary["OrderItems"]] == [("N-MUG", 2)]
    meta = placed["NotificationMetadata"]
    assert meta["SubscriptionId"] == sub_id and meta["ApplicationId"].startswith("amzn1.sellerapps.app.")
    assert len(meta["NotificationId"]) == 36 and meta["PublishTime"].endswith("Z")
    # and a targeted read sees the order now, though getOrders shows it only two minutes later
    assert amz.get(f"/orders/v0/orders/{oid}").json()["payload"]["OrderStatus"] == "Pending"
    listed = amz.get("/orders/v0/orders", params={"MarketplaceIds": US, "CreatedAfter": amz.now_iso(-600)})
    assert oid not in [o["AmazonOrderId"] for o in listed.json()["payload"]["Orders"]]
    # When the payment clears, and when the order is cancelled: one notification each
    amz.settle(301)
    assert amz.sim.cancel_order(oid)
    paid, cancelled = _messages(amz, sqs, 2)
    assert paid["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"] == "Unshipped"
    assert cancelled["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"] == "Canceled"
    ids = {m["NotificationMetadata"]["NotificationId"] for m in (placed, paid, cancelled)}
    assert len(ids) == 3


def test_a_seller_without_a_subscription_gets_no_notifications(fresh):
    amz = fresh
    amz.list(US, "N-CAP", 3, "5.00")
    amz.order(US, "N-CAP", 1)
    queue = amz.admin("GET", "/sqs/" + amz.acct["notifications_queue"]["url"].rsplit("/", 1)[-1]).json()
    assert queue["messages"] == [] and amz.sim.notifications.sent == 0


@pytest.mark.parametrize("kind, expected", [("event_drop", 0), ("event_duplicate", 2)])
def test_event_faults_drop_or_duplicate_amazons_queue_messages(fresh, kind, expected):
    amz = fresh
    _subscribe(amz)
    r = amz.admin("POST", "/faults", json={"kind": kind, "platform": "amazon", "operation": "ORDER_CHANGE",
                                           "count": 1})
    assert r.status_code == 201, r.text
    amz.list(US, "N-PEN", 5, "2.00")
    amz.order(US, "N-PEN", 1)
    name = amz.acct["notifications_queue"]["url"].rsplit("/", 1)[-1]
    messages = amz.admin("GET", f"/sqs/{name}").json()["messages"]
    assert len(messages) == expected
    # a duplicate is the same notification twice (the consumer dedupes by NotificationId)
    assert len({json.loads(m["Body"])["NotificationMetadata"]["NotificationId"] for m in messages}) == min(1, expected)
