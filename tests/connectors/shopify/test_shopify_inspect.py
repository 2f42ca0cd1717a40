"""``crossdock inspect --platform shopify`` on recorded payloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossdock.connectors.shopify import inspect_payload
from crossdock.errors import MappingError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "shopify"


def raw(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_orders_response():
    out = inspect_payload("orders", raw("orders_page.json"))
    assert [o["platform_order_id"] for o in out] == ["6100000000001", "6100000000002", "6100000000003"]
    first = out[0]
    assert first["platform"] == "shopify" and first["status"] == "unshipped"
    assert first["total"] == {"amount": "59.8", "currency": "EUR"}
    assert first["purchased_at"] == "2026-11-20T09:58:11+00:00"
    assert first["lines"][0]["unit_price"] == {"amount": "12.5", "currency": "EUR"}
    assert "raw" not in first
    # what support and customs need: shipping, the buyer's currency beside the shop's, the line's codes
    swiss = out[1]
    assert swiss["shipping"] == {"amount": "24.9", "currency": "EUR"}
    assert swiss["presentment_total"] == {"amount": "61.79", "currency": "CHF"}
    assert swiss["lines"][0]["presentment_unit_price"] == {"amount": "11.88", "currency": "CHF"}
    assert (swiss["lines"][0]["title"], swiss["lines"][0]["hs_code"], swiss["lines"][0]["country_of_origin"]) == (
        "Blue mug", "691200", "PT")
    json.dumps(out)        # JSON-able


def test_orders_from_edges_and_lists():
    page = json.loads(raw("orders_page.json"))
    nodes = page["data"]["orders"]["nodes"]
    as_edges = {"data": {"orders": {"edges": [{"node": n} for n in nodes]}}}
    assert len(inspect_payload("orders", as_edges)) == 3
    assert len(inspect_payload("orders", nodes)) == 3


def test_single_order_shapes():
    node = json.loads(raw("orders_page.json"))["data"]["orders"]["nodes"][1]
    assert inspect_payload("order", node)["buyer_country"] == "CH"
    assert inspect_payload("order", {"data": {"order": node}})["status"] == "partially_shipped"
    webhook = inspect_payload("order", raw("webhook_orders_create.json"))
    assert webhook["platform_order_id"] == "6100000000004" and webhook["buyer_country"] == "SE"
    assert inspect_payload("order", {"order": json.loads(raw("webhook_orders_create.json"))})["status"] == "unshipped"


def test_listing():
    out = inspect_payload("listing", raw("variants.json"))
    assert out == [
        {"sku": "MUG-BLUE", "quantity": 17, "price": {"amount": "12.50", "currency": "EUR"},
         "listing_id": "44400000000001", "status": "ACTIVE", "title": "Blue mug",
         "ids": {"variant_id": "gid://shopify/ProductVariant/44400000000001",
                 "product_id": "gid://shopify/Product/8300000000001",
                 "inventory_item_id": "gid://shopify/InventoryItem/46500000000001"},
         "hs_code": None, "country_of_origin": None, "fulfilled_by_platform": False},
        {"sku": "TEE-L", "quantity": 0, "price": {"amount": "24.90", "currency": "EUR"},
         "listing_id": "44400000000002", "status": "DRAFT", "title": "T-shirt",
         "ids": {"variant_id": "gid://shopify/ProductVariant/44400000000002",
                 "product_id": "gid://shopify/Product/8300000000002",
                 "inventory_item_id": "gid://shopify/InventoryItem/46500000000002"},
         "hs_code": None, "country_of_origin": None, "fulfilled_by_platform": False}]


@pytest.mark.parametrize("kind,payload", [
    ("orders", "not json at all"),
    ("orders", {"data": {"orders": {"something": 1}}}),
    ("order", [1, 2]),
    ("order", {"id": "gid://shopify/Order/1"}),
    ("listing", {"data": {"productVariants": {"nodes": [{"sku": "A"}]}}}),
    ("receipt", {}),
])
def test_unreadable_is_xd_map_010(kind, payload):
    with pytest.raises(MappingError) as e:
        inspect_payload(kind, payload)
    assert e.value.code == "XD-MAP-010"
