"""Trading API (XML) of the simulated eBay at ``POST /ws/api.dll``.

The call is named by ``X-EBAY-API-CALL-NAME``; ``X-EBAY-API-SITEID`` and
``X-EBAY-API-COMPATIBILITY-LEVEL`` are required as on eBay. Credentials are
either ``RequesterCredentials/eBayAuthToken`` (Auth'n'Auth) or an OAuth user
token in ``X-EBAY-API-IAF-TOKEN``. Failures are HTTP 200 with ``Ack=Failure``
and ``Errors`` (931 invalid token, 932 hard-expired/revoked token, 518 call
usage limit, 21916254 more than four InventoryStatus, 17 unknown item).

Each call is registered with :meth:`PlatformSim.op` under its own path
(``/ws/api.dll/<Call>``) so faults, stats and quotas apply per call name; the
public ``/ws/api.dll`` route dispatches to it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Callable

from crossdock.clock import parse_iso
from crossdock.sandbox.ebay import render
from crossdock.sandbox.ebay.model import DAY_S, Account, money
from crossdock.sandbox.ebay.render import _money_el, _sub, trading_doc, trading_failure, xml_response
from crossdock.sandbox.http import Request, Response

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.sim import EbaySim

ERR_XML = {"code": 5, "short": "XML Parse error.",
           "long": "XML Error Text: The request is not well-formed XML."}


def _invalid(tag: str) -> dict:
    return {"code": 37, "short": "Input data is invalid.",
            "long": f"Input data for tag <{tag}> is invalid or missing. Please check API documentation."}


def _parse(req: Request) -> ET.Element | None:
    """The request's XML document (parsed once: the account check reads it before the call does)."""
    if "xml" in req.memo:
        cached: ET.Element | None = req.memo["xml"]
        return cached
    root: ET.Element | None
    try:
        root = ET.fromstring(req.body or b"")
        for el in root.iter():
            if "}" in el.tag:       # the default parser keeps no comments: every tag is a name
                el.tag = el.tag.split("}", 1)[1]
    except ET.ParseError:
        root = None
    req.memo["xml"] = root
    return root


def register(sim: "EbaySim") -> None:  # noqa: C901 - one registration function for the Trading calls
    clock = sim.clock
    app = sim.app

    def authenticate(req: Request, call: str) -> tuple[Account, float | None] | Response:
        now = clock.timestamp()
        iaf = req.headers.get("X-EBAY-API-IAF-TOKEN")
        if iaf:
            tok = sim.tokens.get(iaf.strip())
            if tok is None or tok.expires_at <= now:
                return trading_failure(call, now, [render.ERR_INVALID_TOKEN])
            return sim.account(tok.username), None
        root = _parse(req)
        token = (root.findtext("RequesterCredentials/eBayAuthToken") or "").strip() if root is not None else ""
        acct = next((a for a in sim.accounts if token and a.trading_token == token), None)
        if acct is None:
            return trading_failure(call, now, [render.ERR_INVALID_TOKEN])
        if acct.trading_token_revoked or acct.trading_token_expires_at <= now:
            return trading_failure(call, now, [render.ERR_HARD_EXPIRED])
        warn = acct.trading_token_expires_at if (
            acct.trading_token_expires_at - now <= sim.config.hard_expiration_warning_s) else None
        return acct, warn

    def username(req: Request) -> str:
        res = authenticate(req, "x")
        return "" if isinstance(res, Response) else res[0].username

    def call_op(call: str, *, rate: float | None = None, burst: float | None = None) -> Callable:
        def deco(fn: Callable[[Request, ET.Element, Account, float | None], Response]) -> Callable:
            def handler(req: Request) -> Response:
                now = clock.timestamp()
                root = _parse(req)
                if root is None:
                    return trading_failure(call, now, [ERR_XML])
                auth = authenticate(req, call)
                if isinstance(auth, Response):
                    return auth
                acct, warn = auth
                if not sim.quota.take(acct.username, "trading", sim.api_limit("trading"), now):
                    return trading_failure(call, now, [render.ERR_USAGE_LIMIT], throttled=True)
                return fn(req, root, acct, warn)

            sim.op("POST", f"/ws/api.dll/{call}", call, account=username, rate=rate, burst=burst)(handler)
            return fn

        return deco

    @app.route("POST", "/ws/api.dll")
    def dispatch(req: Request) -> Response:
        call = (req.headers.get("X-EBAY-API-CALL-NAME") or "").strip()
        now = clock.timestamp()
        from crossdock.sandbox.ebay.sim import TRADING_CALLS

        if call not in TRADING_CALLS:
            return trading_failure(call or "Generic", now, [{
                "code": 2, "short": "Unsupported API call.",
                "long": f'The API call "{call}" is invalid or not supported in this release.'}])
        for header in ("X-EBAY-API-SITEID", "X-EBAY-API-COMPATIBILITY-LEVEL"):
            if not (req.headers.get(header) or "").strip():
                return trading_failure(call, now, [{"code": 37, "short": "Input data is invalid.",
                                                    "long": f"Header {header} is missing or empty."}])
        try:
            int(req.headers.get("X-EBAY-API-SITEID"))
        except ValueError:
            return trading_failure(call, now, [{"code": 10012, "short": "Invalid value.",
                                                "long": "Invalid value for header X-EBAY-API-SITEID."}])
        req.path = f"/ws/api.dll/{call}"
        return app.handle(req)

    # ------------------------------------------------------------------ GetOrders
    @call_op("GetOrders")
    def get_orders(req: Request, root: ET.Element, acct: Account, warn: float | None) -> Response:
        now = clock.timestamp()
        try:
            per_page = int(root.findtext("Pagination/EntriesPerPage") or 100)
            page = int(root.findtext("Pagination/PageNumber") or 1)
        except ValueError:
            return trading_failure("GetOrders", now, [_invalid("Pagination")])
        if not 1 <= per_page <= sim.config.trading_max_entries_per_page or page < 1:
            return trading_failure("GetOrders", now, [_invalid("Pagination.EntriesPerPage")])

        def when(tag: str) -> float | None:
            text = root.findtext(tag)
            return parse_iso(text).timestamp() if text else None

        try:
            c_from, c_to, m_from, m_to = (when(t) for t in ("CreateTimeFrom", "CreateTimeTo",
                                                               "ModTimeFrom", "ModTimeTo"))
        except ValueError:
            return trading_failure("GetOrders", now, [_invalid("CreateTimeFrom")])
        status = root.findtext("OrderStatus") or "All"
        ids = [e.text for e in root.findall("OrderIDArray/OrderID") if e.text]
        with sim.lock:
            orders = list(sim.orders[acct.username].values())
            if ids:
                orders = [o for o in orders if o.order_id in ids]
            elif c_from is not None or c_to is not None:
                if c_from is None:
                    return trading_failure("GetOrders", now, [_invalid("CreateTimeFrom")])
                orders = [o for o in orders if c_from <= o.created_at <= (c_to or now)]
            elif m_from is not None or m_to is not None:
                if m_from is None:
                    return trading_failure("GetOrders", now, [_invalid("ModTimeFrom")])
                orders = [o for o in orders if m_from <= o.modified_at <= (m_to or now)]
            else:
                try:
                    days = int(root.findtext("NumberOfDays") or 90)
                except ValueError:
                    return trading_failure("GetOrders", now, [_invalid("NumberOfDays")])
                orders = [o for o in orders if o.modified_at >= now - days * DAY_S]
            if status != "All":
                trading_status = lambda o: ("Cancelled" if o.cancel_state == "CANCELED" else  # noqa: E731
                                            "Active" if o.payment_status == "PENDING" else "Completed")
                orders = [o for o in orders if trading_status(o) == status]
            orders.sort(key=lambda o: (o.created_at, o.order_id))
            total = len(orders)
            pages = -(-total // per_page)
            chunk = orders[(page - 1) * per_page:page * per_page]
            doc = trading_doc("GetOrders", now, hard_expiration=warn)
            pr = _sub(doc, "PaginationResult")
            _sub(pr, "TotalNumberOfPages", pages)
            _sub(pr, "TotalNumberOfEntries", total)
            _sub(doc, "HasMoreOrders", "true" if page < pages else "false")
            arr = _sub(doc, "OrderArray")
            for o in chunk:
                render.trading_order(arr, o, acct)
        _sub(doc, "OrdersPerPage", per_page)
        _sub(doc, "PageNumber", page)
        _sub(doc, "ReturnedOrderCountActual", len(chunk))
        return xml_response(doc)

    # ------------------------------------------------------------------ ReviseInventoryStatus
    per_15s = sim.config.revise_inventory_status_per_15s

    @call_op("ReviseInventoryStatus", rate=per_15s / 15.0, burst=per_15s)
    def revise_inventory_status(req: Request, root: ET.Element, acct: Account, warn: float | None) -> Response:
        now = clock.timestamp()
        statuses = root.findall("InventoryStatus")
        if len(statuses) > 4:
            return trading_failure("ReviseInventoryStatus", now, [render.ERR_TOO_MANY_ITEMS])
        if not statuses:
            return trading_failure("ReviseInventoryStatus", now, [_invalid("InventoryStatus")])
        errors: list[dict] = []
        done = []
        if any(st.find("Quantity") is not None for st in statuses):
            sim.market.record_stock_request(acct.channel)
        with sim.lock:
            listings = sim.listings[acct.channel]
            for st in statuses:
                item_id = (st.findtext("ItemID") or "").strip()
                sku = (st.findtext("SKU") or "").strip()
                l = next((x for x in listings.values() if item_id and x.item_id == item_id), None)
                if l is None and sku and not item_id:
                    l = listings.get(sku) if listings.get(sku) and listings[sku].kind == "trading" else None
                ref = item_id or sku
                if l is None or not l.published:
                    errors.append({"code": 17, "short": "Item cannot be accessed.",
                                   "long": "This item cannot be accessed because the listing has been deleted, "
                                           "is a Half.com listing, or you are not the seller.", "params": [ref]})
                    continue
                if l.kind != "trading":
                    errors.append({"code": sim.config.inventory_model_trading_error,
                                   "short": "Listing created with the Inventory API.",
                                   "long": f"Item {l.item_id} was created with the Inventory API and cannot be "
                                           "revised with Trading calls; use the Inventory API.",
                                   "params": [l.item_id]})
                    continue
                qty_text, price_text = st.findtext("Quantity"), st.findtext("StartPrice")
                if qty_text is None and price_text is None:
                    errors.append({**_invalid("InventoryStatus.Quantity"), "params": [ref]})
                    continue
                try:
                    qty = int(qty_text) if qty_text is not None else None
                    if qty is not None and qty < 0:
                        raise ValueError
                except ValueError:
                    errors.append({**_invalid("InventoryStatus.Quantity"), "params": [ref]})
                    continue
                try:
                    price = money(Decimal(price_text)) if price_text is not None else None
                    if price is not None and price <= 0:
                        raise InvalidOperation
                except InvalidOperation:
                    errors.append({**_invalid("InventoryStatus.StartPrice"), "params": [ref]})
                    continue
                if not l.revise(now, sim.config.revisions_per_listing_per_day):
                    sim.revision_limit_hits += 1
                    errors.append({"code": sim.config.revision_limit_trading_error,
                                   "short": "Revision limit reached.",
                                   "long": f"Item {l.item_id} has been revised the maximum number of times "
                                           f"({sim.config.revisions_per_listing_per_day}) today.",
                                   "params": [l.item_id]})
                    continue
                if qty is not None:
                    l.quantity = qty
                    sim.market.record_listed(acct.channel, l.sku, qty)
                if price is not None:
                    l.price = price
                done.append(l)
            doc = trading_doc("ReviseInventoryStatus", now, ack="Failure" if errors else "Success",
                              errors=errors, hard_expiration=warn)
            for l in done:
                inv = _sub(doc, "InventoryStatus")
                _sub(inv, "SKU", l.sku)
                _sub(inv, "ItemID", l.item_id)
                _money_el(inv, "StartPrice", l.price, l.currency)
                _sub(inv, "Quantity", l.quantity + l.sold)
            for l in done:
                fees = _sub(doc, "Fees")
                _sub(fees, "ItemID", l.item_id)
                fee = _sub(fees, "Fee")
                _sub(fee, "Name", "ListingFee")
                _money_el(fee, "Fee", Decimal("0"), l.currency)
        return xml_response(doc)

    # ------------------------------------------------------------------ GetItem
    @call_op("GetItem")
    def get_item(req: Request, root: ET.Element, acct: Account, warn: float | None) -> Response:
        now = clock.timestamp()
        item_id = (root.findtext("ItemID") or "").strip()
        with sim.lock:
            l = next((x for x in sim.listings[acct.channel].values() if item_id and x.item_id == item_id), None)
            if l is None:
                return trading_failure("GetItem", now, [{
                    "code": 17, "short": "Item cannot be accessed.",
                    "long": "This item cannot be accessed because the listing has been deleted, is a Half.com "
                            "listing, or you are not the seller.", "params": [item_id]}])
            doc = trading_doc("GetItem", now, hard_expiration=warn)
            render.trading_item(doc, l, acct, now)
        return xml_response(doc)

    # ------------------------------------------------------------------ GetMyeBaySelling
    # eBay: at most 300 GetMyeBaySelling calls per seller in any 15 seconds.
    @call_op("GetMyeBaySelling", rate=300 / 15.0, burst=300)
    def get_my_ebay_selling(req: Request, root: ET.Element, acct: Account, warn: float | None) -> Response:
        """The Active list of My eBay Selling: every published listing of the
        seller, whatever created it (Inventory API or not), paged. Only
        ``ActiveList`` is simulated; it is returned when ``ActiveList/Include``
        is true or ``DetailLevel`` is ReturnAll."""
        now = clock.timestamp()
        active = root.find("ActiveList")
        include = (active.findtext("Include") or "").strip().lower() if active is not None else ""
        wanted = include == "true" or (root.findtext("DetailLevel") or "").strip() == "ReturnAll"
        doc = trading_doc("GetMyeBaySelling", now, hard_expiration=warn)
        if not wanted or include == "false":
            return xml_response(doc)
        try:
            per_page = int((active.findtext("Pagination/EntriesPerPage") if active is not None else None) or 200)
            page = int((active.findtext("Pagination/PageNumber") if active is not None else None) or 1)
        except ValueError:
            return trading_failure("GetMyeBaySelling", now, [_invalid("ActiveList.Pagination")])
        if not 1 <= per_page <= 200 or page < 1:
            return trading_failure("GetMyeBaySelling", now, [_invalid("ActiveList.Pagination.EntriesPerPage")])
        with sim.lock:
            listings = sorted((x for x in sim.listings[acct.channel].values() if x.published),
                              key=lambda x: (x.started_at, x.item_id))
            total = len(listings)
            pages = -(-total // per_page)
            chunk = listings[(page - 1) * per_page:page * per_page]
            node = _sub(doc, "ActiveList")
            if chunk:
                arr = _sub(node, "ItemArray")
                for listing in chunk:
                    render.active_list_item(arr, listing, now)
            pr = _sub(node, "PaginationResult")
            _sub(pr, "TotalNumberOfPages", pages)
            _sub(pr, "TotalNumberOfEntries", total)
        return xml_response(doc)

    # ------------------------------------------------------------------ GeteBayOfficialTime
    @call_op("GeteBayOfficialTime")
    def official_time(req: Request, root: ET.Element, acct: Account, warn: float | None) -> Response:
        return xml_response(trading_doc("GeteBayOfficialTime", clock.timestamp(), hard_expiration=warn))
