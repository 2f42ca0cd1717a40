"""The typed request bodies (crossdock/connectors/ebay/mapping/shapes.py) name
only fields that eBay's official OpenAPI schemas define, so a misspelt key is a
test failure rather than a field eBay silently ignores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossdock.connectors.ebay.mapping import shapes

SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "ebay"
INVENTORY, FULFILLMENT = "sell_inventory_v1_oas3.json", "sell_fulfillment_v1_oas3.json"

#: typed dict -> (spec file, schema name)
SCHEMAS = {
    shapes.Amount: (INVENTORY, "Amount"),
    shapes.ShipToLocationAvailability: (INVENTORY, "ShipToLocationAvailability"),
    shapes.OfferPriceQuantity: (INVENTORY, "OfferPriceQuantity"),
    shapes.PriceQuantity: (INVENTORY, "PriceQuantity"),
    shapes.BulkPriceQuantity: (INVENTORY, "BulkPriceQuantity"),
    shapes.Weight: (INVENTORY, "Weight"),
    shapes.PackageWeightAndSize: (INVENTORY, "PackageWeightAndSize"),
    shapes.Availability: (INVENTORY, "Availability"),
    shapes.InventoryProduct: (INVENTORY, "Product"),
    shapes.InventoryItem: (INVENTORY, "InventoryItem"),
    shapes.ListingPolicies: (INVENTORY, "ListingPolicies"),
    shapes.PricingSummary: (INVENTORY, "PricingSummary"),
    shapes.OfferDetails: (INVENTORY, "EbayOfferDetailsWithKeys"),
    shapes.LineItemReference: (FULFILLMENT, "LineItemReference"),
    shapes.ShippingFulfillmentDetails: (FULFILLMENT, "ShippingFulfillmentDetails"),
}


@pytest.mark.parametrize("shape", list(SCHEMAS), ids=lambda s: s.__name__)
def test_every_field_of_a_request_body_is_in_the_official_schema(shape):
    spec_file, schema = SCHEMAS[shape]
    path = SPECS / spec_file
    if not path.exists():
        pytest.skip(f"official eBay spec not found at {path}")
    properties = json.loads(path.read_text())["components"]["schemas"][schema]["properties"]
    # Given the keys crossdock may send, When compared with the schema, Then none is unknown to eBay
    assert sorted(set(shape.__annotations__) - set(properties)) == []
