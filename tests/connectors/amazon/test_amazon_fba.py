"""Amazon FBA (issue 18): getInventorySummaries as the model defines it, read
paged from the sandbox's FBA stock, and a stock push that never writes an
Amazon-fulfilled offer's quantity."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from crossdock.clock import ScaledClock
from crossdock.connectors.amazon import AmazonConnector
from crossdock.connectors.amazon.mapping import fba as F
from crossdock.connectors.amazon.mapping import parse_listing
from crossdock.connectors.amazon.quota import USAGE_PLANS
from crossdock.connectors.base import MemoryTokenStore
from crossdock.errors import MappingError, PlatformError
from crossdock.models import PlatformStock, StockUpdate
from crossdock.rehearsal import sandbox_settings
from crossdock.sandbox.core import Sandbox

US = "ATVPDKIKX0DER"


# ------------------------------------------------------------------ pure: request and parsing

def _model() -> dict:
    """The official model (specs/amazon beside the repository, or above a worktree of it)."""
    for folder in Path(__file__).resolve().parents:
        path = folder / "shared" / "specs" / "amazon" / "fbaInventory.json"
        if path.is_file():
            return json.loads(path.read_text())
    pytest.skip("official Amazon specs not found (expected ../shared/specs/amazon)")


def test_the_request_names_every_parameter_the_model_requires():
    model = _model()
    op = model["paths"]["/fba/inventory/v1/summaries"]["get"]
    required = {p["name"] for p in op["parameters"] if p.get("required")}
    params = F.summaries_params(marketplace_id=US, skus=["A", "B"], next_token="t1")
    assert required <= set(params)
    assert params == {"granularityType": "Marketplace", "granularityId": US, "marketplaceIds": US,
                      "details": "true", "sellerSkus": "A,B", "nextToken": "t1"}
    assert op["operationId"] == "getInventorySummaries"
    sku_param = next(p for p in op["parameters"] if p["name"] == "sellerSkus")
    assert sku_param["maxItems"] == F.MAX_SELLER_SKUS
    with pytest.raises(ValueError):
        F.summaries_params(marketplace_id=US, skus=[str(n) for n in range(51)])
    # the usage plan the budget draws from (docs/platform-facts.md: 2/s, burst 2)
    assert (USAGE_PLANS["getInventorySummaries"].rate_per_s, USAGE_PLANS["getInventorySummaries"].burst) == (2, 2)


def test_a_summary_page_parses_to_platform_stock():
    body = {"payload": {"granularity": {"granularityType": "Marketplace", "granularityId": US},
                        "inventorySummaries": [{
                            "asin": "B0TEST0001", "fnSku": "X00TEST01", "sellerSku": "MUG-FBA", "condition": "NewItem",
                            "totalQuantity": 57, "inventoryDetails": {
                                "fulfillableQuantity": 40, "inboundWorkingQuantity": 5, "inboundShippedQuantity": 3,
                                "inboundReceivingQuantity": 2,
                                "reservedQuantity": {"totalReservedQuantity": 4, "pendingCustomerOrderQuantity": 4},
                                "unfulfillableQuantity": {"totalUnfulfillableQuantity": 3}}},
                            {"sellerSku": "NO-DETAILS", "totalQuantity": 0}]},
            "pagination": {"nextToken": "next-1"}}
    rows, token = F.parse_summaries_page(body)
    assert token == "next-1"
    assert rows == [PlatformStock(sku="MUG-FBA", fulfillable=40, inbound=10, reserved=4, unfulfillable=3, total=57,
                                  ids={"asin": "B0TEST0001", "fnSku": "X00TEST01", "condition": "NewItem"}),
                    PlatformStock(sku="NO-DETAILS", fulfillable=0, total=0)]
    assert F.parse_summaries_page({"payload": {"inventorySummaries": []}}) == ([], None)


def test_a_malformed_page_is_a_mapping_error():
    for bad in ({}, {"payload": {"inventorySummaries": "x"}},
                {"payload": {"inventorySummaries": [{"sellerSku": "A",
                                                     "inventoryDetails": {"fulfillableQuantity": -1}}]}},
                {"payload": {"inventorySummaries": [{"asin": "B0"}]}}):
        with pytest.raises(MappingError) as err:
            F.parse_summaries_page(bad)
        assert err.value.code == "XD-MAP-010"


def test_a_listing_fulfilled_by_amazon_is_marked_and_bound_as_such():
    item = {"sku": "MUG-FBA", "summaries": [{"marketplaceId": US, "asin": "B0TEST0001", "status": ["BUYABLE"]}],
            "fulfillmentAvailability": [{"fulfillmentChannelCode": "AMAZON_NA", "quantity": 40}]}
    offer = parse_listing(item, marketplace_id=US)
    assert offer.fulfilled_by_platform and offer.quantity is None
    assert offer.ids == {"asin": "B0TEST0001", "fulfillment_channel": "AMAZON_NA"}
    mfn = parse_listing({**item, "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 5}]},
                        marketplace_id=US)
    assert not mfn.fulfilled_by_platform and mfn.quantity == 5 and mfn.ids == {"asin": "B0TEST0001"}


# ------------------------------------------------------------------ against the sandbox

class Env:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.desc = sb.describe()
        self.clock = ScaledClock.from_description(self.desc["clock"])
        self.sim = sb.sims["amazon"]
        self.seller = self.desc["amazon"]["accounts"][0]["seller_id"]
        self.channel = f"amazon:{self.seller}:{US}"

    def connector(self) -> AmazonConnector:
        return AmazonConnector(sandbox_settings(self.desc, "amazon", marketplace=US), store=MemoryTokenStore(),
                               clock=self.clock)

    def calls(self, operation: str, since: int = 0) -> list[dict]:
        return self.sb.requests.since(since, platform="amazon", operation=operation, limit=100_000)


@pytest.fixture
def env():
    with Sandbox(platforms=("amazon",), time_scale=60, seed=88) as sb:
        yield Env(sb)


def test_every_fba_sku_is_read_over_every_page(env):
    env.sb.limits.enabled = False       # paging, not pacing: no budget here (the engine's paces it, 2/s burst 2)
    # Given 120 SKUs with FBA stock, seeded through the admin API (the sandbox pages 50 a page)
    stock = {f"F-{n:03d}": {"fulfillable": n, "inbound_shipped": 1, "reserved": n % 3, "unfulfillable": n % 2}
             for n in range(120)}
    r = httpx.post(env.sb.admin_url + "/seed", json={"platform_stock": {env.channel: stock}}, timeout=10)
    assert r.status_code == 200, r.text
    # When the connector reads the FBA inventory
    with env.connector() as conn:
        assert conn.holds_stock
        rows = conn.read_platform_stock()
        # Then every SKU comes back once, over three pages (three calls), with its quantities
        assert len(env.calls("getInventorySummaries")) == 3
        got = {r.sku: r for r in rows}
        assert set(got) == set(stock)
        assert got["F-077"] == PlatformStock(sku="F-077", fulfillable=77, inbound=1, reserved=2, unfulfillable=1,
                                             total=80, ids=got["F-077"].ids)
        assert got["F-077"].ids["asin"].startswith("B0")
        # and a read of named SKUs asks 50 a call
        named = conn.read_platform_stock([f"F-{n:03d}" for n in range(60)] + ["NOT-FBA"])
        assert sorted(r.sku for r in named) == [f"F-{n:03d}" for n in range(60)]
        assert len(env.calls("getInventorySummaries")) == 5


def test_the_sandbox_refuses_what_the_model_refuses(env):
    env.sb.limits.enabled = False       # four calls at once: validation, not pacing
    with env.connector() as conn:
        good = F.summaries_params(marketplace_id=US)
        for drop in ("granularityType", "granularityId", "marketplaceIds"):
            params = {k: v for k, v in good.items() if k != drop}
            with pytest.raises(PlatformError) as err:
                conn.client.get_inventory_summaries(params)
            assert err.value.code == "XD-PLATFORM-001", drop
        with pytest.raises(PlatformError):
            conn.client.get_inventory_summaries({**good, "sellerSkus": ",".join(str(n) for n in range(51))})


def test_a_push_never_writes_an_amazon_fulfilled_offer(env):
    # Given a merchant-fulfilled listing and an FBA listing (40 units in Amazon's network)
    env.sim.set_listing(env.channel, "MUG", 5, Decimal("12.00"))
    env.sim.set_platform_stock(env.channel, "MUG-FBA", {"fulfillable": 40})
    with env.connector() as conn:
        offers = {o.sku: o for o in conn.read_listings(["MUG", "MUG-FBA"])}
        assert offers["MUG-FBA"].fulfilled_by_platform and not offers["MUG"].fulfilled_by_platform
        before = len(env.calls("patchListingsItem"))
        # When a push names both, each with the binding its listing read gave
        results = conn.push_stock([StockUpdate("MUG", 3, platform_ids=offers["MUG"].ids),
                                   StockUpdate("MUG-FBA", 9, platform_ids=offers["MUG-FBA"].ids)])
    # Then only the merchant-fulfilled offer is written; the FBA one is refused without a call
    assert [(r.sku, r.ok, r.code) for r in results] == [("MUG", True, None), ("MUG-FBA", False, "XD-INV-016")]
    assert len(env.calls("patchListingsItem")) == before + 1
    fba_listing = env.sim.listings[env.channel]["MUG-FBA"]
    assert (fba_listing.fulfillment_channel, fba_listing.quantity) == ("AMAZON_NA", 40)
    assert env.sim.listings[env.channel]["MUG"].quantity == 3
    assert "MUG-FBA" not in env.sim.listed(env.channel)      # Amazon's units: not the seller's listed quantity


def test_a_merchant_quantity_written_to_an_fba_listing_makes_it_merchant_fulfilled(env):
    """The harm the guard prevents, as the sandbox models it (and Amazon does)."""
    env.sim.set_platform_stock(env.channel, "SOLO", 25)
    status, _, listing = env.sim.patch_listing(env.channel, "SOLO", [{
        "op": "replace", "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}]}], apply=True)
    assert status == "ACCEPTED" and listing is not None
    assert (listing.fulfillment_channel, listing.quantity) == ("DEFAULT", 7)
    assert env.sim.fba[env.channel]["SOLO"].fulfillable == 25


def test_the_sandbox_answers_as_the_official_model_says(env):
    import jsonschema

    model = _model()
    op = model["paths"]["/fba/inventory/v1/summaries"]["get"]
    env.sb.limits.enabled = False
    env.sim.set_platform_stock(env.channel, "S-1", {"fulfillable": 3, "inbound_working": 1, "unfulfillable": 2})
    with env.connector() as conn:
        token = conn.client.auth.access_token()
    url = env.desc["amazon"]["base_url"] + "/fba/inventory/v1/summaries"
    for params, status in ((F.summaries_params(marketplace_id=US), 200),
                           ({"granularityType": "Marketplace", "marketplaceIds": US}, 400)):
        resp = httpx.get(url, params=params, headers={"x-amz-access-token": token}, timeout=10)
        assert resp.status_code == status
        schema = {**op["responses"][str(status)]["schema"], "definitions": model["definitions"]}
        jsonschema.Draft4Validator(schema).validate(resp.json())
    assert resp.json()["errors"][0]["code"] == "InvalidInput"
