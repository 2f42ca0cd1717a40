"""The simulated FBA Inventory API v1: ``getInventorySummaries`` (GET
/fba/inventory/v1/summaries, specs/amazon/fbaInventory.json; 2 requests/s,
burst 2) over the stock Amazon's fulfilment network holds for each seller
and marketplace, set through the admin API's seeding
(``POST /seed {"platform_stock": {channel: {sku: qty | {...}}}}``) or
:meth:`AmazonSim.set_platform_stock`.

A SKU given FBA stock gets an Amazon-fulfilled listing (fulfilment channel
``AMAZON_NA`` / ``AMAZON_EU`` / ``AMAZON_FE``) showing its fulfillable units,
unless it already has a merchant-fulfilled one: on Amazon a dual offer is two
seller SKUs. Writing a ``DEFAULT`` quantity to an Amazon-fulfilled listing
makes it merchant-fulfilled, as Amazon does; the FBA stock itself stays.

Query rules from the model: ``granularityType`` (Marketplace), ``granularityId``
and ``marketplaceIds`` (exactly one, the same) are required; ``sellerSkus`` at
most 50 (ignored with ``startDateTime``); pages of ``PAGE_SIZE`` summaries
with ``pagination.nextToken`` (expires after 30 s in the model; here it names
the next offset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crossdock.sandbox.amazon import constants as C
from crossdock.sandbox.amazon.auth import authenticate, denied
from crossdock.sandbox.amazon.state import asin_for
from crossdock.sandbox.amazon.wire import iso, sp_error, sp_json
from crossdock.sandbox.http import Request, Response

if TYPE_CHECKING:
    from crossdock.sandbox.amazon.sim import AmazonSim

OPERATION = "getInventorySummaries"
PAGE_SIZE = 50
MAX_SELLER_SKUS = 50
#: Marketplace country → the fulfilment network an FBA listing names.
_NETWORKS = {"US": "AMAZON_NA", "CA": "AMAZON_NA", "MX": "AMAZON_NA", "BR": "AMAZON_NA",
             "JP": "AMAZON_JP", "AU": "AMAZON_FE", "SG": "AMAZON_FE", "IN": "AMAZON_IN"}
QUANTITIES = ("fulfillable", "inbound_working", "inbound_shipped", "inbound_receiving", "reserved",
              "unfulfillable")


@dataclass
class FbaStock:
    """One SKU's units in Amazon's fulfilment network for one marketplace."""

    sku: str
    fnsku: str
    fulfillable: int = 0
    inbound_working: int = 0
    inbound_shipped: int = 0
    inbound_receiving: int = 0
    reserved: int = 0
    unfulfillable: int = 0
    updated_at: float = 0.0

    @property
    def total(self) -> int:
        return self.fulfillable + self.inbound_receiving + self.reserved + self.unfulfillable

    def render(self, details: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"asin": asin_for(self.sku), "fnSku": self.fnsku, "sellerSku": self.sku,
                               "condition": "NewItem", "lastUpdatedTime": iso(self.updated_at),
                               "productName": self.sku, "totalQuantity": self.total}
        if details:
            out["inventoryDetails"] = {
                "fulfillableQuantity": self.fulfillable, "inboundWorkingQuantity": self.inbound_working,
                "inboundShippedQuantity": self.inbound_shipped, "inboundReceivingQuantity": self.inbound_receiving,
                "reservedQuantity": {"totalReservedQuantity": self.reserved, "pendingCustomerOrderQuantity": 0,
                                     "pendingTransshipmentQuantity": 0, "fcProcessingQuantity": self.reserved},
                "researchingQuantity": {"totalResearchingQuantity": 0, "researchingQuantityBreakdown": []},
                "unfulfillableQuantity": {"totalUnfulfillableQuantity": self.unfulfillable,
                                          "customerDamagedQuantity": 0, "warehouseDamagedQuantity": 0,
                                          "distributorDamagedQuantity": 0, "carrierDamagedQuantity": 0,
                                          "defectiveQuantity": self.unfulfillable, "expiredQuantity": 0}}
        return out


def network(mp: C.Marketplace) -> str:
    """The fulfilment channel code of an FBA listing in ``mp`` (Europe: AMAZON_EU)."""
    return _NETWORKS.get(mp.country, "AMAZON_EU")


def quantities(spec: Any) -> dict[str, int]:
    """A seed's ``qty`` (fulfillable units) or ``{fulfillable, inbound_working, …}`` as whole numbers >= 0."""
    raw = {"fulfillable": spec} if not isinstance(spec, dict) else spec
    unknown = set(raw) - set(QUANTITIES)
    if unknown:
        raise ValueError(f"unknown FBA quantities {sorted(unknown)}; known: {', '.join(QUANTITIES)}")
    out = {k: int(raw.get(k, 0)) for k in QUANTITIES}
    if any(v < 0 for v in out.values()):
        raise ValueError("FBA quantities must be >= 0")
    return out


def get_inventory_summaries(sim: "AmazonSim", req: Request) -> Response:
    rate = C.USAGE_PLANS[OPERATION][0]

    def bad(detail: str) -> Response:
        return sp_error(400, "InvalidInput", "Invalid input", detail, rate=rate)

    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    if auth.token.kind == "rdt":
        return denied()
    if req.arg("granularityType") != "Marketplace":
        return bad("granularityType is required and must be Marketplace.")
    gid = req.arg("granularityId")
    marketplaces = req.args("marketplaceIds")
    if not gid or len(marketplaces) != 1:
        return bad("granularityId and exactly one marketplaceIds are required.")
    if marketplaces[0] not in auth.seller.marketplace_ids or gid != marketplaces[0]:
        return bad(f"Invalid marketplaceIds: {marketplaces[0]}.")
    skus = req.args("sellerSkus")
    if len(skus) > MAX_SELLER_SKUS:
        return bad(f"sellerSkus accepts at most {MAX_SELLER_SKUS} values.")
    details = (req.arg("details") or "false").lower() == "true"
    token = req.arg("nextToken")
    start = 0
    if token:
        try:
            start = int(token.removeprefix("fba"))
        except ValueError:
            return bad("Invalid nextToken.")
    mp = C.MARKETPLACES[marketplaces[0]]
    with sim.lock:
        book = sim.fba.get(auth.seller.channel(mp.marketplace_id), {})
        rows = sorted(book.values(), key=lambda r: r.sku)
        if skus and not req.arg("startDateTime"):
            wanted = set(skus)
            rows = [r for r in rows if r.sku in wanted]
        page = rows[start:start + PAGE_SIZE]
        body: dict[str, Any] = {"payload": {"granularity": {"granularityType": "Marketplace",
                                                            "granularityId": mp.marketplace_id},
                                            "inventorySummaries": [r.render(details) for r in page]}}
    if start + PAGE_SIZE < len(rows):
        body["pagination"] = {"nextToken": f"fba{start + PAGE_SIZE}"}
    return sp_json(body, rate=rate)


def register(sim: "AmazonSim") -> None:
    rate, burst = C.USAGE_PLANS[OPERATION]
    sim.op("GET", "/fba/inventory/v1/summaries", OPERATION, account=sim.account_of, rate=rate, burst=burst)(
        lambda req: get_inventory_summaries(sim, req))


def set_stock(sim: "AmazonSim", channel: str, sku: str, spec: Any) -> FbaStock:
    """Put ``spec`` (see :func:`quantities`) in ``channel``'s FBA stock of ``sku``; the SKU's
    listing becomes (or is created as) Amazon-fulfilled unless it is merchant-fulfilled."""
    from crossdock.sandbox.amazon.listings import new_listing, sync_attributes

    _, mp = sim._channel(channel)
    values = quantities(spec)
    with sim.lock:
        now = sim.now()
        book = sim.fba.setdefault(channel, {})
        row = book.get(sku)
        if row is None:
            row = book[sku] = FbaStock(sku=sku, fnsku="X00" + asin_for(sku)[2:] + "F")
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = now
        listing = sim.listings[channel].get(sku)
        if listing is None:
            listing = new_listing(sku, "PRODUCT", mp.currency, now)
            listing.fulfillment_channel = network(mp)
            listing.price = sim._default_price(sku, mp)
            listing.attributes = {"item_name": [{"value": sku, "language_tag": mp.language_tag,
                                                 "marketplace_id": mp.marketplace_id}]}
            sim.listings[channel][sku] = listing
        if listing.fulfillment_channel != "DEFAULT":
            listing.quantity = row.fulfillable        # Amazon's units: never the market's listed quantity
            listing.updated_at = now
            sync_attributes(listing, mp)
        return row
