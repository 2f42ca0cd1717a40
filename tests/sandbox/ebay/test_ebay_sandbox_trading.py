"""The Trading XML endpoint over raw HTTP: headers, credentials, call limits,
ReviseInventoryStatus rules and GetOrders paging."""

from __future__ import annotations

from decimal import Decimal


def err(root):
    e = root.find("Errors")
    return {c.tag: c.text for c in e} if e is not None else None


def test_headers_and_call_names_are_checked(ebay):
    r, root = ebay.trading("GetOrders", headers={"X-EBAY-API-SITEID": ""})
    assert r.status_code == 200 and root.findtext("Ack") == "Failure"
    r, root = ebay.trading("AddFixedPriceItem")
    assert err(root)["ErrorCode"] == "2" and err(root)["ShortMessage"] == "Unsupported API call."
    r, root = ebay.trading("GeteBayOfficialTime")
    assert root.tag == "GeteBayOfficialTimeResponse" and root.findtext("Ack") == "Success"


def test_token_errors_931_932_and_hard_expiration_warning(ebay):
    _, root = ebay.trading("GetOrders", token="AgAAAA**not-a-token")
    e = err(root)
    assert (e["ErrorCode"], e["SeverityCode"], e["ErrorClassification"]) == ("931", "Error", "RequestError")
    assert e["ShortMessage"] == "Auth token is invalid."
    a = ebay.fresh_account()
    admin = ebay.sb.admin_url
    # Within the last 7 days of the Auth'n'Auth token eBay adds HardExpirationWarning
    ebay.http.post(admin + "/auth/ebay/warn_trading_token", json={"account": a["username"]})
    _, root = ebay.trading("GeteBayOfficialTime", token=a["trading_token"])
    assert root.findtext("Ack") == "Success" and root.findtext("HardExpirationWarning")
    ebay.http.post(admin + "/auth/ebay/expire_trading_token", json={"account": a["username"]})
    _, root = ebay.trading("GetOrders", token=a["trading_token"])
    assert err(root)["ErrorCode"] == "932"
    # An OAuth user token in X-EBAY-API-IAF-TOKEN is accepted instead
    _, root = ebay.trading("GetOrders", "<NumberOfDays>1</NumberOfDays>", iaf=ebay.token(a))
    assert root.findtext("Ack") == "Success"


def test_daily_trading_limit_is_error_518(ebay):
    a = ebay.fresh_account()
    ebay.sim.configure(trading_daily_limit=2)
    try:
        acks = [ebay.trading("GeteBayOfficialTime", token=a["trading_token"])[1] for _ in range(3)]
        assert [r.findtext("Ack") for r in acks] == ["Success", "Success", "Failure"]
        assert err(acks[2])["ErrorCode"] == "518"
    finally:
        ebay.sim.configure(trading_daily_limit=5000)


def test_revise_inventory_status_rules(ebay):
    skus = ebay.skus(6, legacy=5)
    refs = ebay.sim.listing_map(ebay.channel)
    legacy = [refs[s]["item_id"] for s in skus[1:]]

    def status(item_id, qty=None, price=None):
        inner = f"<ItemID>{item_id}</ItemID>"
        inner += f"<Quantity>{qty}</Quantity>" if qty is not None else ""
        inner += f"<StartPrice>{price}</StartPrice>" if price is not None else ""
        return f"<InventoryStatus>{inner}</InventoryStatus>"

    # More than four: the whole call fails with 21916254 and nothing changes
    _, root = ebay.trading("ReviseInventoryStatus", "".join(status(i, 1) for i in legacy))
    assert err(root)["ErrorCode"] == "21916254"
    assert all(ebay.sim.listed(ebay.channel)[s] == 10 for s in skus[1:])
    # Four at once: all applied; the response echoes each with Quantity = available + sold
    _, root = ebay.trading("ReviseInventoryStatus", "".join(status(i, 7, "9.50") for i in legacy[:4]))
    assert root.findtext("Ack") == "Success"
    assert [x.findtext("ItemID") for x in root.findall("InventoryStatus")] == legacy[:4]
    assert ebay.sim.listed(ebay.channel)[skus[1]] == 7
    assert ebay.sim.listings[ebay.channel][skus[1]].price == Decimal("9.50")
    # An Inventory-API listing cannot be revised through Trading; unknown ids are error 17
    _, root = ebay.trading("ReviseInventoryStatus", status(refs[skus[0]]["item_id"], 1) + status("1", 1)
                           + status(legacy[4], 2))
    assert root.findtext("Ack") == "Failure"
    codes = {e.findtext("ErrorParameters/Value"): e.findtext("ErrorCode") for e in root.findall("Errors")}
    assert codes["1"] == "17" and codes[refs[skus[0]]["item_id"]] == "21919474"
    assert [x.findtext("ItemID") for x in root.findall("InventoryStatus")] == [legacy[4]]
    assert ebay.sim.listed(ebay.channel)[skus[5]] == 2 and ebay.sim.listed(ebay.channel)[skus[0]] == 10


def test_get_orders_mod_time_window_and_pages(ebay):
    a = ebay.fresh_account()
    skus = ebay.skus(1, qty=50, channel=a["channel"])
    start = ebay.now_iso()
    ids = [ebay.sim.place_order(a["channel"], [(skus[0], 1)], buyer_country="NO") for _ in range(5)]
    pages, got = 0, []
    while True:
        pages += 1
        _, root = ebay.trading("GetOrders", f"<ModTimeFrom>{start}</ModTimeFrom><ModTimeTo>{ebay.now_iso()}</ModTimeTo>"
                                            f"<Pagination><EntriesPerPage>2</EntriesPerPage><PageNumber>{pages}"
                                            "</PageNumber></Pagination>", token=a["trading_token"])
        assert root.findtext("PaginationResult/TotalNumberOfEntries") == "5"
        got += [o.findtext("OrderID") for o in root.findall("OrderArray/Order")]
        if root.findtext("HasMoreOrders") != "true":
            break
    assert pages == 3 and got == ids
    _, root = ebay.trading("GetOrders", f"<OrderIDArray><OrderID>{ids[0]}</OrderID></OrderIDArray>",
                           token=a["trading_token"])
    order = root.find("OrderArray/Order")
    ref = order.find("TransactionArray/Transaction/eBayCollectAndRemitTaxes/eBayReference")
    assert ref.get("name") == "VOEC" and order.findtext("ShippingAddress/Country") == "NO"
    _, root = ebay.trading("GetItem", f"<ItemID>{ebay.sim.listing_map(a['channel'])[skus[0]]['item_id']}</ItemID>",
                           token=a["trading_token"])
    assert root.findtext("Item/SellingStatus/QuantitySold") == "5" and root.findtext("Item/Quantity") == "50"
