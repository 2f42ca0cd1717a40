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


def test_get_my_ebay_selling_pages_every_active_listing_of_the_seller(ebay):
    # Given a seller with 5 listings, 2 of them made outside the Inventory API
    a = ebay.fresh_account()
    skus = ebay.skus(5, qty=4, price="7.50", legacy=2, channel=a["channel"])
    ebay.sim.place_order(a["channel"], [(skus[4], 1)], buyer_country="GB")
    refs = ebay.sim.listing_map(a["channel"])

    def page(n, per_page=2):
        _, root = ebay.trading("GetMyeBaySelling", "<ActiveList><Include>true</Include><Pagination>"
                               f"<EntriesPerPage>{per_page}</EntriesPerPage><PageNumber>{n}</PageNumber>"
                               "</Pagination></ActiveList>", token=a["trading_token"])
        return root

    # When the Active list is read 2 per page
    first = page(1)
    assert first.findtext("Ack") == "Success"
    assert first.findtext("ActiveList/PaginationResult/TotalNumberOfPages") == "3"
    assert first.findtext("ActiveList/PaginationResult/TotalNumberOfEntries") == "5"
    items = [i for n in (1, 2, 3) for i in page(n).findall("ActiveList/ItemArray/Item")]
    # Then every listing comes back once, of both kinds, with eBay's fields
    assert [i.findtext("SKU") for i in items] == skus
    assert [i.findtext("ItemID") for i in items] == [refs[s]["item_id"] for s in skus]
    sold = items[4]
    assert (sold.findtext("Quantity"), sold.findtext("QuantityAvailable"),
            sold.findtext("SellingStatus/QuantitySold")) == ("4", "3", "1")
    assert sold.find("SellingStatus/CurrentPrice").attrib == {"currencyID": "GBP"}
    assert sold.findtext("SellingStatus/CurrentPrice") == "7.50"
    assert sold.findtext("ListingType") == "FixedPriceItem" and sold.findtext("TimeLeft").startswith("P")
    # A page past the last has no ItemArray; more than 200 a page is refused; no Include, no list
    assert page(4).find("ActiveList/ItemArray") is None
    assert err(page(1, per_page=201))["ErrorCode"] == "37"
    _, root = ebay.trading("GetMyeBaySelling", "", token=a["trading_token"])
    assert root.findtext("Ack") == "Success" and root.find("ActiveList") is None


def test_get_my_ebay_selling_through_the_connector_parses(ebay):
    from crossdock.connectors.ebay import mapping as m
    from crossdock.rehearsal import sandbox_connector

    a = ebay.fresh_account()
    skus = ebay.skus(3, qty=2, legacy=3, channel=a["channel"])
    conn = sandbox_connector(ebay.sb.describe(), "ebay", account=a["username"])
    try:
        offers, pages = m.parse_active_list(conn.trading.get_my_ebay_selling(m.active_list_request(1)))
    finally:
        conn.close()
    assert pages == 1 and [(o.sku, o.quantity, o.ids["kind"]) for o in offers] == [(s, 2, "trading") for s in skus]
