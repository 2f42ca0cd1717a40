"""Feeds API 2021-06-30 and JSON_LISTINGS_FEED processing in the Amazon sandbox."""

from __future__ import annotations

import gzip
import json

import pytest

US = "ATVPDKIKX0DER"
CTYPE = "application/json; charset=UTF-8"


def _feed_doc(amz, messages, seller=None):
    return json.dumps({"header": {"sellerId": seller or amz.seller, "version": "2.0"}, "messages": messages})


def _qty_msg(mid, sku, qty):
    return {"messageId": mid, "sku": sku, "operationType": "PATCH", "productType": "PRODUCT",
            "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                         "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": qty}]}]}


def _submit(amz, content: str | bytes | None, *, ctype=CTYPE, upload_ctype=None, feed_type="JSON_LISTINGS_FEED"):
    r = amz.post("/feeds/2021-06-30/documents", json={"contentType": ctype})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["url"].startswith(amz.base + "/sandbox-s3/")
    if content is not None:
        up = amz.http.put(doc["url"], content=content, headers={"Content-Type": upload_ctype or ctype})
        assert up.status_code == 200, up.text
    r = amz.post("/feeds/2021-06-30/feeds", json={"feedType": feed_type, "marketplaceIds": [US],
                                                  "inputFeedDocumentId": doc["feedDocumentId"]})
    return r


def _report(amz, feed):
    doc = amz.get(f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}").json()
    assert doc["compressionAlgorithm"] == "GZIP"
    raw = amz.http.get(doc["url"])
    assert raw.status_code == 200
    return json.loads(gzip.decompress(raw.content))


def _wait_done(amz, feed_id):
    for _ in range(50):
        feed = amz.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()
        if feed["processingStatus"] in ("DONE", "FATAL", "CANCELLED"):
            return feed
        amz.settle(30)
    raise AssertionError("feed never finished")


def test_feed_moves_through_its_states_and_reports_per_message(amz):
    amz.list(US, "F-1", 1, "5.00")
    amz.list(US, "F-2", 1, "5.00")
    messages = [_qty_msg(1, "F-1", 40), _qty_msg(2, "F-2", -5), _qty_msg(3, "F-404", 1),
                {"messageId": 4, "sku": "F-2", "operationType": "PATCH", "productType": "PRODUCT",
                 "attributes": {"x": [{"value": 1}]}}]
    r = _submit(amz, _feed_doc(amz, messages))
    assert r.status_code == 202 and r.headers["x-amzn-RateLimit-Limit"] == "0.0083"
    feed_id = r.json()["feedId"]
    feed = amz.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()
    assert feed["processingStatus"] == "IN_QUEUE" and feed["feedType"] == "JSON_LISTINGS_FEED"
    amz.settle(45)
    assert amz.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()["processingStatus"] == "IN_PROGRESS"
    feed = _wait_done(amz, feed_id)
    assert feed["processingStatus"] == "DONE"
    assert feed["processingStartTime"] < feed["processingEndTime"]
    report = _report(amz, feed)
    assert report["header"] == {"sellerId": amz.seller, "version": "2.0", "feedId": feed_id}
    assert report["summary"] == {"errors": 3, "warnings": 0, "messagesProcessed": 4, "messagesAccepted": 1,
                                 "messagesInvalid": 3}
    assert sorted(i["messageId"] for i in report["issues"]) == [2, 3, 4]
    assert {i["sku"] for i in report["issues"]} == {"F-2", "F-404"}
    assert amz.sim.listed(amz.channel(US))["F-1"] == 40 and amz.sim.listed(amz.channel(US))["F-2"] == 1


def test_upload_url_is_presigned_for_content_type_and_time(amz):
    r = amz.post("/feeds/2021-06-30/documents", json={"contentType": CTYPE})
    url = r.json()["url"]
    bad = amz.http.put(url, content=b"{}", headers={"Content-Type": "text/plain"})
    assert bad.status_code == 403 and b"SignatureDoesNotMatch" in bad.content
    forged = amz.http.put(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), content=b"{}",
                          headers={"Content-Type": CTYPE})
    assert forged.status_code == 403
    amz.settle(301)
    late = amz.http.put(url, content=b"{}", headers={"Content-Type": CTYPE})
    assert late.status_code == 403 and b"Request has expired" in late.content


@pytest.mark.parametrize("content,why", [
    (None, "not uploaded"),
    (b"{not json", "not valid JSON"),
    (json.dumps({"header": {"sellerId": "ASOMEONEELSE01", "version": "2.0"},
                 "messages": [{"messageId": 1, "sku": "A", "operationType": "DELETE"}]}), "sellerId"),
    (json.dumps({"header": {"version": "2.0"}, "messages": []}), "sellerId"),
])
def test_unreadable_feeds_end_fatal_with_a_report(amz, content, why):
    r = _submit(amz, content)
    feed = _wait_done(amz, r.json()["feedId"])
    assert feed["processingStatus"] == "FATAL"
    report = _report(amz, feed)
    assert why in report["issues"][0]["message"]


def test_create_feed_input_checks_and_cancel(amz):
    assert _submit(amz, "{}", feed_type="POST_PRODUCT_DATA").status_code == 400
    r = amz.post("/feeds/2021-06-30/feeds", json={"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US],
                                                  "inputFeedDocumentId": "nope"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput"
    assert amz.post("/feeds/2021-06-30/documents", json={}).status_code == 400
    feed_id = _submit(amz, _feed_doc(amz, [_qty_msg(1, "F-1", 2)])).json()["feedId"]
    assert amz.request("DELETE", f"/feeds/2021-06-30/feeds/{feed_id}").status_code == 200
    assert amz.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()["processingStatus"] == "CANCELLED"
    assert amz.request("DELETE", f"/feeds/2021-06-30/feeds/{feed_id}").status_code == 400
    assert amz.get("/feeds/2021-06-30/feeds/0000").status_code == 404


def test_one_feed_in_progress_per_seller(fresh):
    amz = fresh
    amz.list(US, "Q-1", 1, "1.00")
    ids = [_submit(amz, _feed_doc(amz, [_qty_msg(1, "Q-1", n)])).json()["feedId"] for n in (5, 6)]
    amz.settle(45)
    states = [amz.get(f"/feeds/2021-06-30/feeds/{i}").json()["processingStatus"] for i in ids]
    assert states == ["IN_PROGRESS", "IN_QUEUE"]
    first = _wait_done(amz, ids[0])
    second = _wait_done(amz, ids[1])
    assert second["processingStartTime"] >= first["processingEndTime"]
    assert amz.sim.listed(amz.channel(US))["Q-1"] == 6          # applied in order


def test_the_sandbox_counts_every_request_that_sets_a_quantity(amz):
    """The push floor's denominator comes from the sandbox's own record: a
    quantity feed counts every request of its flow (document, upload, feed,
    each status poll, the report's two), a quantity patch one, and price
    changes none."""
    amz.list(US, "C-1", 3, "5.00")
    counted = amz.sb.market.stock_requests
    before = counted[amz.channel(US)]
    feed_id = _submit(amz, _feed_doc(amz, [_qty_msg(1, "C-1", 7)])).json()["feedId"]
    polls = 0
    while True:
        polls += 1
        feed = amz.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()
        if feed["processingStatus"] == "DONE":
            break
        amz.settle(30)
    _report(amz, feed)
    assert counted[amz.channel(US)] - before == 3 + polls + 2
    price = {"messageId": 1, "sku": "C-1", "operationType": "PATCH", "productType": "PRODUCT",
             "patches": [{"op": "replace", "path": "/attributes/purchasable_offer", "value": [{"currency": "USD"}]}]}
    _submit(amz, _feed_doc(amz, [price]))
    path = f"/listings/2021-08-01/items/{amz.seller}/C-1?marketplaceIds={US}"
    amz.request("PATCH", path, json={"productType": "PRODUCT", "patches": price["patches"]})
    assert counted[amz.channel(US)] - before == 3 + polls + 2
    amz.request("PATCH", path, json={"productType": "PRODUCT", "patches": _qty_msg(1, "C-1", 2)["patches"]})
    assert counted[amz.channel(US)] - before == 3 + polls + 3
