"""Acceptance: ebaysdk 2.2.0, unmodified except endpoint settings, runs
GetOrders and ReviseInventoryStatus against the sandbox."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from ebaysdk.exception import ConnectionError as EbaySdkError
from ebaysdk.trading import Connection


def sdk(ebay, token: str | None = None) -> Connection:
    url = urlsplit(ebay.block["trading_url"])
    a = ebay.acct
    api = Connection(domain=url.netloc, uri=url.path, appid=a["client_id"], devid=a["dev_id"],
                     certid=a["client_secret"], token=token or a["trading_token"], siteid="3", config_file=None)
    api.config.set("https", False, force=True)      # plain http: docs/platform-facts.md#platform-sdks
    return api


def test_sdk_get_orders_pages_through_the_window(ebay):
    skus = ebay.skus(2)
    start = ebay.now_iso()
    ids = [ebay.sim.place_order(ebay.channel, [(skus[i % 2], 1)], buyer_country=c)
           for i, c in enumerate(["DE", "GB", "FR"])]
    api = sdk(ebay)
    got, page = [], 1
    while True:
        resp = api.execute("GetOrders", {"ModTimeFrom": start, "ModTimeTo": ebay.now_iso(), "OrderRole": "Seller",
                                         "Pagination": {"EntriesPerPage": 2, "PageNumber": page}})
        assert resp.reply.Ack == "Success"
        got += [o.OrderID for o in resp.reply.OrderArray.Order]
        if resp.reply.HasMoreOrders != "true":
            break
        page += 1
    assert got == ids and int(resp.reply.PaginationResult.TotalNumberOfPages) == 2
    first = sdk(ebay).execute("GetOrders", {"OrderIDArray": {"OrderID": ids[0]}}).reply.OrderArray.Order[0]
    tx = first.TransactionArray.Transaction[0]
    assert tx.eBayCollectAndRemitTaxes.eBayReference.value == "IM2760000742"
    assert first.Total._currencyID == "GBP" and first.ShippingAddress.Country == "DE"


def test_sdk_revise_inventory_status(ebay):
    skus = ebay.skus(5, legacy=5)
    refs = ebay.sim.listing_map(ebay.channel)
    api = sdk(ebay)
    resp = api.execute("ReviseInventoryStatus", {"InventoryStatus": [
        {"ItemID": refs[s]["item_id"], "Quantity": 3} for s in skus[:4]]})
    assert resp.reply.Ack == "Success" and len(resp.reply.InventoryStatus) == 4
    assert all(ebay.sim.listed(ebay.channel)[s] == 3 for s in skus[:4])
    # More than four InventoryStatus: ebaysdk raises ConnectionError and reports eBay's code
    with pytest.raises(EbaySdkError):
        api.execute("ReviseInventoryStatus", {"InventoryStatus": [
            {"ItemID": refs[s]["item_id"], "Quantity": 1} for s in skus]})
    assert api.response_codes() == [21916254]


def test_sdk_sees_invalid_token_as_931(ebay):
    api = sdk(ebay, token="AgAAAA**revoked")
    with pytest.raises(EbaySdkError) as info:
        api.execute("GetOrders", {"NumberOfDays": 1})
    assert api.response_codes() == [931]
    assert "Auth token is invalid" in str(info.value)
