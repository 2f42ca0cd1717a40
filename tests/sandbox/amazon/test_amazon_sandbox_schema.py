"""Recorded sandbox responses validate against the official Amazon models.

Each response of a realistic session is checked against the schema the spec
declares for that path, method and status (``$ref`` resolved inside the spec
file). The feed processing report is checked against
listings-feed-processing-report-schema-v2.json. Skips when the specs are absent.
"""

from __future__ import annotations

import gzip
import json

import jsonschema
import pytest

US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
CTYPE = "application/json; charset=UTF-8"

SPEC_FILES = {
    "/orders/v0": "ordersV0.json",
    "/tokens/2021-03-01": "tokens_2021-03-01.json",
    "/listings/2021-08-01": "listingsItems_2021-08-01.json",
    "/feeds/2021-06-30": "feeds_2021-06-30.json",
}


class Recorder:
    def __init__(self, amz):
        self.amz = amz
        self.calls: list[tuple[str, str, int, object]] = []   # (template, method, status, body)

    def __call__(self, method: str, template: str, path: str | None = None, **kw):
        r = self.amz.request(method, path or template, **kw)
        body = r.json() if r.content else None
        self.calls.append((template, method.lower(), r.status_code, body))
        return r


@pytest.fixture(scope="module")
def session(sandbox, amz):
    """Given a seller with listings, orders (US domestic, EU import, export) and a feed."""
    rec = Recorder(amz)
    for m in (US, DE):
        amz.list(m, "S-MUG", 30, "14.99")
    oids = [amz.order(US, "S-MUG", 2), amz.order(DE, "S-MUG", 1, country="IT"), amz.order(DE, "S-MUG", 1, country="NO")]
    pending = amz.order(US, "S-MUG", 1)
    amz.settle(31)
    amz.sim.orders[pending].status = "Pending"          # keep one in Pending for the record
    amz.settle(120)
    orders = "/orders/v0/orders"
    rec("GET", orders, params={"MarketplaceIds": f"{US},{DE}", "CreatedAfter": "2020-01-01T00:00:00Z",
                               "MaxResultsPerPage": "2"})
    token = rec.calls[-1][3]["payload"]["NextToken"]
    rec("GET", orders, params={"MarketplaceIds": US, "NextToken": token})
    rec("GET", orders, params={"MarketplaceIds": US, "CreatedAfter": "2020-01-01T00:00:00Z",
                               "CreatedBefore": amz.now_iso()})
    rec("GET", orders, params={"MarketplaceIds": US}, headers={"x-amz-access-token": "Atza|nope"})
    for oid in oids + [pending]:
        rec("GET", "/orders/v0/orders/{orderId}", f"{orders}/{oid}")
        rec("GET", "/orders/v0/orders/{orderId}/orderItems", f"{orders}/{oid}/orderItems")
    rec("GET", "/orders/v0/orders/{orderId}", f"{orders}/999-0000000-0000000")
    rdt = rec("POST", "/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": [
        {"method": "GET", "path": "/orders/v0/orders/{orderId}/address"}]}).json()["restrictedDataToken"]
    rec("GET", "/orders/v0/orders/{orderId}/address", f"{orders}/{oids[0]}/address",
        headers={"x-amz-access-token": rdt})
    items = amz.get(f"{orders}/{oids[0]}/orderItems").json()["payload"]["OrderItems"]
    pkg = {"packageReferenceId": "1", "carrierCode": "Nope", "trackingNumber": "T", "shipDate": "2026-01-01T00:00:00Z",
           "orderItems": [{"orderItemId": items[0]["OrderItemId"], "quantity": 1}]}
    rec("POST", "/orders/v0/orders/{orderId}/shipmentConfirmation", f"{orders}/{oids[0]}/shipmentConfirmation",
        json={"marketplaceId": US, "packageDetail": pkg})

    base = f"/listings/2021-08-01/items/{amz.seller}"
    tmpl = "/listings/2021-08-01/items/{sellerId}/{sku}"
    rec("GET", tmpl, f"{base}/S-MUG?marketplaceIds={US}&includedData=summaries,attributes,issues,offers,"
                     "fulfillmentAvailability,productTypes,relationships")
    rec("GET", tmpl, f"{base}/S-NONE?marketplaceIds={US}")
    patch = {"productType": "PRODUCT", "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                                                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}]}]}
    rec("PATCH", tmpl, f"{base}/S-MUG?marketplaceIds={US}&includedData=identifiers,issues", json=patch)
    rec("PATCH", tmpl, f"{base}/S-NONE?marketplaceIds={US}", json=patch)
    rec("PUT", tmpl, f"{base}/S-NEW?marketplaceIds={US}", json={"productType": "HOME", "attributes": {
        "item_name": [{"value": "New"}]}})
    rec("GET", "/listings/2021-08-01/items/{sellerId}", f"{base}?marketplaceIds={US}&pageSize=1")

    doc = rec("POST", "/feeds/2021-06-30/documents", json={"contentType": CTYPE}).json()
    feed_doc = {"header": {"sellerId": amz.seller, "version": "2.0"},
                "messages": [{"messageId": 1, "sku": "S-MUG", "operationType": "PATCH", "productType": "PRODUCT",
                              "patches": patch["patches"]},
                             {"messageId": 2, "sku": "S-NONE", "operationType": "DELETE"}]}
    amz.http.put(doc["url"], content=json.dumps(feed_doc), headers={"Content-Type": CTYPE})
    feed_id = rec("POST", "/feeds/2021-06-30/feeds", json={
        "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US], "inputFeedDocumentId": doc["feedDocumentId"]}
    ).json()["feedId"]
    rec("POST", "/feeds/2021-06-30/feeds", json={"feedType": "BOGUS", "marketplaceIds": [US],
                                                 "inputFeedDocumentId": doc["feedDocumentId"]})
    rec("GET", "/feeds/2021-06-30/feeds/{feedId}", f"/feeds/2021-06-30/feeds/{feed_id}")
    amz.settle(120)
    feed = rec("GET", "/feeds/2021-06-30/feeds/{feedId}", f"/feeds/2021-06-30/feeds/{feed_id}").json()
    result = rec("GET", "/feeds/2021-06-30/documents/{feedDocumentId}",
                 f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}").json()
    report = json.loads(gzip.decompress(amz.http.get(result["url"]).content))
    return rec.calls, report, feed_doc


def _spec_for(template: str, specs_dir):
    for prefix, name in SPEC_FILES.items():
        if template.startswith(prefix):
            return json.loads((specs_dir / name).read_text())
    raise KeyError(template)


def _validate_swagger(spec: dict, schema: dict, body) -> None:
    root = {**schema, "definitions": spec["definitions"]}
    jsonschema.Draft4Validator(root).validate(body)


def test_every_recorded_response_matches_the_official_model(session, specs_dir):
    calls, _, _ = session
    statuses = set()
    for template, method, status, body in calls:
        spec = _spec_for(template, specs_dir)
        responses = spec["paths"][template][method]["responses"]
        assert str(status) in responses, f"{method.upper()} {template} answered {status}, not in the model"
        schema = responses[str(status)].get("schema")
        if schema is None:
            assert body in (None, {}), f"{template} {status} has a body but the model declares none"
            continue
        try:
            _validate_swagger(spec, schema, body)
        except jsonschema.ValidationError as exc:
            pytest.fail(f"{method.upper()} {template} -> {status}: {exc.message} at {list(exc.absolute_path)}")
        statuses.add((template, status))
    # the session covered successes and errors of every API family
    assert {s for _, s in statuses} >= {200, 201, 202, 400, 403, 404}
    assert len({t.split("/")[1] for t, _ in statuses}) == 4


def test_processing_report_and_feed_match_the_listings_feed_schemas(session, specs_dir):
    _, report, feed_doc = session
    report_schema = json.loads((specs_dir / "listings-feed-processing-report-schema-v2.json").read_text())
    jsonschema.Draft7Validator(report_schema).validate(report)
    assert report["summary"]["messagesProcessed"] == 2
    feed_schema = json.loads((specs_dir / "listings-feed-schema-v2.json").read_text())
    jsonschema.Draft7Validator(feed_schema).validate(feed_doc)
