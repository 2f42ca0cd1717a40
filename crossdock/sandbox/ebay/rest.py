"""REST side of the simulated eBay: OAuth token endpoint, Sell Fulfillment
(orders, shipping fulfillments), Sell Inventory (inventory items, offers,
bulk price/quantity) and Developer Analytics (call-limit counters).

Validation and error ids follow the ``x-response-codes`` of the official
OpenAPI files in ``shared/specs/ebay``.
"""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from crossdock.clock import parse_iso
from crossdock.sandbox.ebay import render
from crossdock.sandbox.ebay.model import CARRIER_CODES, DAY_S, Account, Listing, day_index, iso_ms, money
from crossdock.sandbox.ebay.render import rest_error
from crossdock.sandbox.http import Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.sim import EbaySim

FUL = "/sell/fulfillment/v1"
INV = "/sell/inventory/v1"
ANA = "/developer/analytics/v1_beta"
SCOPE_PREFIX = "https://api.ebay.com/oauth/api_scope"


def _ful_error(status: int, error_id: int, message: str, **kw: Any) -> Response:
    return rest_error(status, error_id, "API_FULFILLMENT", message, **kw)


def _inv_error(status: int, error_id: int, message: str, **kw: Any) -> Response:
    return rest_error(status, error_id, "API_INVENTORY", message, **kw)


def _inv_err(error_id: int, message: str, *params: tuple[str, str]) -> dict:
    err: dict[str, Any] = {"errorId": error_id, "domain": "API_INVENTORY", "category": "REQUEST",
                           "message": message}
    if params:
        err["parameters"] = [{"name": n, "value": v} for n, v in params]
    return err


def _int_arg(req: Request, name: str, default: int) -> int | None:
    raw = req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def _split_filter(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if cur:
        parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_order_filter(text: str, now: float) -> dict | Response:
    """``creationdate:[a..b]``, ``lastmodifieddate:[a..]``, ``orderfulfillmentstatus:{A|B}``."""
    out: dict[str, Any] = {}
    for crit in _split_filter(text):
        name, _, value = crit.partition(":")
        name = name.strip()
        if name in ("creationdate", "lastmodifieddate"):
            m = re.fullmatch(r"\[(.*)\.\.(.*)\]", value.strip())
            if not m:
                return _ful_error(400, 30800, f"Invalid filter value {value} for filter {name}",
                                  parameters=[("fieldvalue", value), ("fieldname", name)])
            start_s, end_s = m.group(1).strip(), m.group(2).strip()
            if not start_s:
                return _ful_error(400, 30820, "Start date is missing")
            try:
                start = parse_iso(start_s).timestamp()
                end = parse_iso(end_s).timestamp() if end_s else None
            except ValueError:
                return _ful_error(400, 30810, "Invalid date format")
            if end is not None and start > end:
                return _ful_error(400, 30840, "Start date should be before end date")
            if start > now or (end is not None and end > now):
                return _ful_error(400, 30850, "Start and end dates can't be in the future")
            if end is not None and end - start > 2 * 365 * DAY_S:
                return _ful_error(400, 30830, "Time range between start date and end date must be within "
                                              "'2' years.", parameters=[("allowedTime", "2")])
            out[name] = (start, end)
        elif name == "orderfulfillmentstatus":
            m = re.fullmatch(r"\{(.*)\}", value.strip())
            statuses = set(m.group(1).split("|")) if m else set()
            if not statuses or not statuses <= {"NOT_STARTED", "IN_PROGRESS", "FULFILLED"}:
                return _ful_error(400, 30800, f"Invalid filter value {value} for filter {name}",
                                  parameters=[("fieldvalue", value), ("fieldname", name)])
            out[name] = statuses
        else:
            return _ful_error(400, 30700, f"Invalid filter name: {name}", parameters=[("fieldname", name)])
    return out


def _basic_client(req: Request) -> tuple[str, str] | None:
    header = req.headers.get("Authorization") or ""
    if not header.startswith("Basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    cid, sep, secret = raw.partition(":")
    return (cid, secret) if sep else None


def register(sim: "EbaySim") -> None:  # noqa: C901 - one registration function per API family
    clock = sim.clock

    def base(req: Request) -> str:
        host = req.headers.get("Host")
        return f"http://{host}" if host else (sim.server.url if sim.server else "")

    # ================================================================ OAuth
    def token_account(req: Request) -> str:
        pair = _basic_client(req)
        if pair is None:
            return ""
        try:
            return sim.account(pair[0]).username
        except ValueError:
            return ""

    @sim.op("POST", "/identity/v1/oauth2/token", "token", account=token_account)
    def token(req: Request) -> Response:
        pair = _basic_client(req)
        acct = None
        if pair is not None:
            try:
                acct = sim.account(pair[0])
            except ValueError:
                acct = None
        if acct is None or acct.client_secret != pair[1] or acct.secret_revoked:
            return render.oauth_error(401, "invalid_client", "client authentication failed")
        form = req.form()
        grant = form.get("grant_type", "")
        scope = form.get("scope", "")
        if scope and any(not s.startswith(SCOPE_PREFIX) for s in scope.split()):
            return render.oauth_error(400, "invalid_scope", "The requested scope is invalid, unknown, malformed, "
                                                            "or exceeds the scope granted to the client")
        now = clock.timestamp()
        if not sim.quota.take(acct.username, "identity", sim.api_limit("identity"), now):
            return render.too_many_requests()
        if grant == "client_credentials":
            tok = sim.issue_access_token(acct, app=True)
            return json_response({"access_token": tok.token, "expires_in": sim.config.access_token_ttl_s,
                                  "token_type": "Application Access Token"})
        if grant != "refresh_token":
            return render.oauth_error(400, "unsupported_grant_type",
                                      "grant type in request is not supported by the authorization server")
        refresh = form.get("refresh_token")
        if not refresh:
            return render.oauth_error(400, "invalid_request", "request is missing a required parameter or "
                                                              "malformed.")
        if refresh != acct.refresh_token or acct.refresh_revoked or acct.refresh_expires_at <= now:
            return render.oauth_error(400, "invalid_grant", "the provided authorization refresh token is "
                                                            "invalid or was issued to another client")
        tok = sim.issue_access_token(acct)
        return json_response({"access_token": tok.token, "expires_in": sim.config.access_token_ttl_s,
                              "token_type": "User Access Token"})

    # ================================================================ Fulfillment
    def find_order(acct: Account, order_id: str):
        return sim.orders[acct.username].get(order_id)

    @sim.rest_op("GET", FUL + "/order", "getOrders", "sell.fulfillment")
    def get_orders(req: Request, acct: Account) -> Response:
        now = clock.timestamp()
        for fg in req.args("fieldGroups"):
            if fg != "TAX_BREAKDOWN":
                return _ful_error(400, 32800, f"Invalid field group: {fg}", parameters=[("fieldGroup", fg)])
        limit = _int_arg(req, "limit", 50)
        if limit is None or not 1 <= limit <= sim.config.max_orders_limit:
            return _ful_error(400, 31100, f"Invalid limit: {req.arg('limit')}",
                              parameters=[("limitvalue", str(req.arg("limit")))])
        offset = _int_arg(req, "offset", 0)
        if offset is None or offset < 0:
            return _ful_error(400, 31000, f"Invalid offset: {req.arg('offset')}",
                              parameters=[("offsetvalue", str(req.arg("offset")))])
        with sim.lock:
            mine = list(sim.orders[acct.username].values())
            ids = req.args("orderIds")
            if ids:
                if len(ids) > 50:
                    return _ful_error(400, 30900, "Exceeded maximum number of order IDs (the current limit "
                                                  "is 50)")
                wanted = set(ids)
                selected = [o for o in mine if o.order_id in wanted]
            else:
                flt = parse_order_filter(req.arg("filter") or "", now)
                if isinstance(flt, Response):
                    return flt
                if "creationdate" in flt:
                    field, (start, end) = "created_at", flt["creationdate"]
                elif "lastmodifieddate" in flt:
                    field, (start, end) = "modified_at", flt["lastmodifieddate"]
                else:
                    field, start, end = "created_at", now - 90 * DAY_S, None
                selected = [o for o in mine if getattr(o, field) >= start
                            and (end is None or getattr(o, field) <= end)]
                if "orderfulfillmentstatus" in flt:
                    selected = [o for o in selected if o.fulfillment_status in flt["orderfulfillmentstatus"]]
            selected.sort(key=lambda o: (-o.created_at, o.order_id))
            page = selected[offset:offset + limit]
            b = base(req)
            orders = [render.order_json(o, acct, b) for o in page]
        params = {k: v[0] for k, v in req.query.items() if k not in ("limit", "offset")}

        def url(off: int) -> str:
            return b + FUL + "/order?" + urlencode({**params, "limit": limit, "offset": off})

        body: dict[str, Any] = {"href": url(offset), "total": len(selected), "limit": limit, "offset": offset,
                                "orders": orders}
        if offset + limit < len(selected):
            body["next"] = url(offset + limit)
        if offset > 0:
            body["prev"] = url(max(0, offset - limit))
        return json_response(body)

    @sim.rest_op("GET", FUL + "/order/{orderId}", "getOrder", "sell.fulfillment")
    def get_order(req: Request, acct: Account) -> Response:
        oid = req.path_params["orderId"]
        with sim.lock:
            o = find_order(acct, oid)
            if o is None:
                return _ful_error(404, 32100, f"Invalid order ID: {oid}", parameters=[("orderId", oid)])
            return json_response(render.order_json(o, acct, base(req)))

    @sim.rest_op("GET", FUL + "/order/{orderId}/shipping_fulfillment", "getShippingFulfillments",
                 "sell.fulfillment")
    def get_fulfillments(req: Request, acct: Account) -> Response:
        oid = req.path_params["orderId"]
        with sim.lock:
            o = find_order(acct, oid)
            if o is None:
                return _ful_error(400, 32100, f"Invalid Order Id: {oid}", parameters=[("orderId", oid)])
            items = [render.fulfillment_json(f) for f in o.fulfillments]
        return json_response({"fulfillments": items, "total": len(items)})

    @sim.rest_op("GET", FUL + "/order/{orderId}/shipping_fulfillment/{fulfillmentId}", "getShippingFulfillment",
                 "sell.fulfillment")
    def get_fulfillment(req: Request, acct: Account) -> Response:
        oid, fid = req.path_params["orderId"], req.path_params["fulfillmentId"]
        with sim.lock:
            o = find_order(acct, oid)
            f = next((f for f in (o.fulfillments if o else []) if f["fulfillmentId"] == fid), None)
            if f is None:
                return _ful_error(404, 32100, f"Invalid Order Id: {oid}", parameters=[("orderId", oid)])
            return json_response(render.fulfillment_json(f))

    @sim.rest_op("POST", FUL + "/order/{orderId}/shipping_fulfillment", "createShippingFulfillment",
                 "sell.fulfillment")
    def create_fulfillment(req: Request, acct: Account) -> Response:  # noqa: C901
        oid = req.path_params["orderId"]
        invalid = lambda detail: _ful_error(400, 32600, "Invalid input data", long_message=detail)  # noqa: E731
        try:
            body = req.json()
        except ValueError:
            return invalid("The request body is not valid JSON.")
        if not isinstance(body, dict):
            return invalid("The request body must be a JSON object.")
        now = clock.timestamp()
        with sim.lock:
            o = find_order(acct, oid)
            if o is None:
                return _ful_error(400, 32100, f"Invalid Order Id: {oid}", parameters=[("orderId", oid)])
            if o.cancel_state == "CANCELED":
                return _ful_error(409, 32100, f"Invalid Order Id: {oid}",
                                  long_message="The order was cancelled; it cannot be marked as shipped.",
                                  parameters=[("orderId", oid)])
            refs = body.get("lineItems")
            if not isinstance(refs, list) or not refs:
                return invalid("lineItems is required.")
            by_id = {l.line_item_id: l for l in o.lines}
            seen: set[str] = set()
            plan: list[tuple[Any, int]] = []
            for ref in refs:
                lid = str((ref or {}).get("lineItemId", ""))
                line = by_id.get(lid)
                if line is None:
                    return _ful_error(400, 32200, f"Invalid line item id: {lid}", parameters=[("lineItemId", lid)])
                if lid in seen:
                    return _ful_error(400, 32210, "Duplicate line item in the request")
                seen.add(lid)
                qty = ref.get("quantity", line.quantity - line.shipped)
                if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= line.quantity:
                    return invalid(f"quantity {qty!r} is not valid for line item {lid}.")
                plan.append((line, qty))
            carrier, tracking = body.get("shippingCarrierCode"), body.get("trackingNumber")
            if bool(carrier) != bool(tracking) or (carrier and carrier not in CARRIER_CODES) or (
                    tracking and not re.fullmatch(r"[A-Za-z0-9]{4,40}", str(tracking))):
                return _ful_error(400, 32300, "Invalid shipment tracking number or carrier")
            shipped_raw = body.get("shippedDate")
            shipped_at = now
            if shipped_raw is not None:
                try:
                    shipped_at = parse_iso(str(shipped_raw)).timestamp()
                except ValueError:
                    return _ful_error(400, 32500, "Invalid shipped date")
                if shipped_at > now + 300 or shipped_at < o.created_at - 86400:
                    return _ful_error(400, 32500, "Invalid shipped date")
            if tracking and any(f.get("trackingNumber") == tracking and f.get("shippingCarrierCode") == carrier
                                for f in o.fulfillments):
                return _ful_error(400, 34500, "Please use PUT operation for updating shipping fulfillment")
            if len(o.fulfillments) >= 10:
                return _ful_error(400, 34100, "Maximum tracking number for order is exceeded")
            fid = str(tracking) if tracking else sim.new_unique("9999999999999999")
            for line, qty in plan:
                line.shipped = min(line.quantity, line.shipped + qty)
            o.fulfillments.append({"fulfillmentId": fid, "shippedDate": iso_ms(shipped_at),
                                   "lineItems": [{"lineItemId": l.line_item_id, "quantity": q} for l, q in plan],
                                   "shippingCarrierCode": carrier, "trackingNumber": tracking, "_at": now})
            o.modified_at = now
        location = base(req) + f"{FUL}/order/{oid}/shipping_fulfillment/{fid}"
        return json_response({}, 201, {"Location": location})

    # ================================================================ Inventory
    def inventory_listings(acct: Account) -> dict[str, Listing]:
        return {s: l for s, l in sim.listings[acct.channel].items() if l.kind == "inventory"}

    def by_offer(acct: Account, offer_id: str) -> Listing | None:
        return next((l for l in sim.listings[acct.channel].values() if l.offer_id == offer_id), None)

    def locale(req: Request, acct: Account) -> str:
        return (req.headers.get("Content-Language") or {"EBAY_GB": "en-GB", "EBAY_US": "en-US",
                                                         "EBAY_DE": "de-DE"}.get(acct.marketplace_id, "en-US")
                ).replace("-", "_")

    def set_listed(acct: Account, l: Listing, qty: int) -> None:
        l.quantity = qty
        sim.market.record_listed(acct.channel, l.sku, qty)

    def revise(l: Listing) -> bool:
        if not l.published:
            return True
        if l.revise(clock.timestamp(), sim.config.revisions_per_listing_per_day):
            return True
        sim.revision_limit_hits += 1
        return False

    def revision_error(l: Listing) -> dict:
        return _inv_err(sim.config.revision_limit_inventory_error,
                        f"The listing {l.item_id} has been revised the maximum number of times "
                        f"({sim.config.revisions_per_listing_per_day}) today. You can revise it again "
                        "tomorrow.", ("listingId", l.item_id))

    @sim.rest_op("POST", INV + "/bulk_update_price_quantity", "bulkUpdatePriceQuantity", "sell.inventory")
    def bulk_update(req: Request, acct: Account) -> Response:  # noqa: C901
        try:
            body = req.json()
        except ValueError:
            body = None
        reqs = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(reqs, list) or not reqs or len(reqs) > 25:
            return _inv_error(400, 25709, "Invalid value for requests. Provide between 1 and 25 requests.",
                              parameters=[("fieldName", "requests")])
        out: list[dict] = []
        with sim.lock:
            listings = inventory_listings(acct)
            for r in reqs:
                r = r if isinstance(r, dict) else {}
                sku = r.get("sku")
                offers = r.get("offers") or []
                avail = r.get("shipToLocationAvailability")
                l = listings.get(sku) if sku else None
                if sku and l is None:
                    out.append({"sku": sku, "statusCode": 400, "errors": [_inv_err(
                        25702, f"{sku} could not be found or is not available in the system.",
                        ("skuValue", str(sku)))]})
                    continue
                if not offers and avail is None:
                    out.append({"sku": sku, "statusCode": 400, "errors": [_inv_err(
                        25709, "Invalid value for offers. Either offers or shipToLocationAvailability is "
                               "required.", ("fieldName", "offers"))]})
                    continue
                new_total = None
                if avail is not None:
                    q = avail.get("quantity") if isinstance(avail, dict) else None
                    if not isinstance(q, int) or isinstance(q, bool) or q < 0:
                        out.append({"sku": sku, "statusCode": 400, "errors": [_inv_err(
                            25709, "Invalid value for shipToLocationAvailability.quantity.",
                            ("fieldName", "quantity"))]})
                        continue
                    new_total = q
                offer_results, offer_changes = [], []
                for off in offers:
                    off = off if isinstance(off, dict) else {}
                    oid = str(off.get("offerId", ""))
                    target = by_offer(acct, oid)
                    if target is None or (l is not None and target is not l) or target.kind != "inventory":
                        offer_results.append({"offerId": oid, "sku": sku or "", "statusCode": 400, "errors": [
                            _inv_err(25713, f"This Offer is not available : {oid}.", ("offerId", oid))]})
                        continue
                    qty, price = off.get("availableQuantity"), off.get("price")
                    bad = None
                    if qty is not None and (not isinstance(qty, int) or isinstance(qty, bool) or qty < 0):
                        bad = "availableQuantity"
                    new_price = None
                    if price is not None:
                        try:
                            new_price = money(Decimal(str(price.get("value"))))
                            if new_price <= 0 or price.get("currency", target.currency) != target.currency:
                                bad = "price"
                        except (InvalidOperation, AttributeError, TypeError):
                            bad = "price"
                    if qty is None and price is None:
                        bad = "offers"
                    if bad:
                        offer_results.append({"offerId": oid, "sku": target.sku, "statusCode": 400, "errors": [
                            _inv_err(25709, f"Invalid value for {bad}.", ("fieldName", bad))]})
                        continue
                    offer_changes.append((target, oid, qty, new_price))
                touched = {id(t): t for t, *_ in offer_changes}
                if l is not None:
                    touched[id(l)] = l
                blocked = {k for k, t in touched.items() if not revise(t)}
                for target, oid, qty, new_price in offer_changes:
                    if id(target) in blocked:
                        offer_results.append({"offerId": oid, "sku": target.sku, "statusCode": 400,
                                              "errors": [revision_error(target)]})
                        continue
                    if qty is not None:
                        set_listed(acct, target, qty)
                    if new_price is not None:
                        target.price = new_price
                    offer_results.append({"offerId": oid, "sku": target.sku, "statusCode": 200})
                if l is not None and new_total is not None:
                    if id(l) in blocked:
                        if not offers:
                            out.append({"sku": sku, "statusCode": 400, "errors": [revision_error(l)]})
                            continue
                    else:
                        l.inventory_quantity = new_total
                        if not any(t is l and q is not None for t, _, q, _ in offer_changes):
                            set_listed(acct, l, new_total)   # the published offer follows the item total
                        if not offers:
                            out.append({"sku": sku, "statusCode": 200})
                out.extend(offer_results)
        status = 200 if all(r["statusCode"] == 200 for r in out) else 207
        return json_response({"responses": out}, status)

    @sim.rest_op("GET", INV + "/inventory_item", "getInventoryItems", "sell.inventory")
    def get_inventory_items(req: Request, acct: Account) -> Response:
        limit = _int_arg(req, "limit", 25)
        page = _int_arg(req, "offset", 0)
        if limit is None or page is None or not 1 <= limit <= 200 or page < 0:
            return _inv_error(400, 25706, "You have provided invalid pagination values.  .")
        loc = locale(req, acct)
        with sim.lock:
            items = sorted(inventory_listings(acct).values(), key=lambda l: l.sku)
            chunk = items[page * limit:(page + 1) * limit]
            rows = [render.inventory_item_json(l, loc) for l in chunk]
        pages = max(1, -(-len(items) // limit))
        url = lambda p: base(req) + INV + "/inventory_item?" + urlencode({"limit": limit, "offset": p})  # noqa: E731
        body: dict[str, Any] = {"href": url(page), "limit": limit, "size": pages, "total": len(items),
                                "inventoryItems": rows}
        if page + 1 < pages:
            body["next"] = url(page + 1)
        if page > 0:
            body["prev"] = url(page - 1)
        return json_response(body)

    @sim.rest_op("GET", INV + "/inventory_item/{sku}", "getInventoryItem", "sell.inventory")
    def get_inventory_item(req: Request, acct: Account) -> Response:
        sku = req.path_params["sku"]
        with sim.lock:
            l = inventory_listings(acct).get(sku)
            if l is None:
                return _inv_error(404, 25710, "We didn't find the resource/entity you are requesting. Please "
                                              "verify the request")
            return json_response(render.inventory_item_json(l, locale(req, acct)))

    @sim.rest_op("PUT", INV + "/inventory_item/{sku}", "createOrReplaceInventoryItem", "sell.inventory")
    def put_inventory_item(req: Request, acct: Account) -> Response:
        sku = req.path_params["sku"]
        if not req.headers.get("Content-Language"):
            return _inv_error(400, 25709, "Invalid value for header Content-Language.",
                              parameters=[("fieldName", "Content-Language")])
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or len(sku) > 50:
            return _inv_error(400, 25002, "A user error has occurred. The request body or SKU is not valid.")
        product = body.get("product") or {}
        title = str(product.get("title") or "")
        if len(title) > 80:
            return _inv_error(400, 25002, "A user error has occurred. The title may not exceed 80 characters.")
        qty = ((body.get("availability") or {}).get("shipToLocationAvailability") or {}).get("quantity", 0)
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 0:
            return _inv_error(400, 25004, "The eBay listing associated with the inventory item, or the "
                                          "unpublished offer has an invalid quantity.")
        with sim.lock:
            l = sim.listings[acct.channel].get(sku)
            if l is not None and l.kind != "inventory":
                return _inv_error(400, 25002, f"A user error has occurred. SKU {sku} belongs to a listing "
                                              "created outside the Inventory API; migrate it first.")
            created = l is None
            if created:
                l = Listing(sku=sku, kind="inventory", title=title or sku, price=Decimal("0"),
                            currency=acct.currency, quantity=0, item_id="", offer_id=None,
                            inventory_quantity=qty, published=False, started_at=clock.timestamp())
                sim.listings[acct.channel][sku] = l
            elif l.published and not revise(l):
                return json_response({"errors": [revision_error(l)]}, 400)
            l.title = title or l.title
            l.product = {k: v for k, v in product.items() if k != "title"}
            l.condition = str(body.get("condition") or "")
            l.package = body.get("packageWeightAndSize")
            l.inventory_quantity = qty
            if l.published:
                set_listed(acct, l, qty)
        return json_response({}, 201) if created else Response(204)

    @sim.rest_op("GET", INV + "/offer", "getOffers", "sell.inventory")
    def get_offers(req: Request, acct: Account) -> Response:
        limit = _int_arg(req, "limit", 100)
        page = _int_arg(req, "offset", 0)
        if limit is None or page is None or limit < 1 or page < 0:
            return _inv_error(400, 25706, "You have provided invalid pagination values.  .")
        mp = req.arg("marketplace_id")
        sku = req.arg("sku")
        with sim.lock:
            offers = [l for l in inventory_listings(acct).values() if l.offer_id and (not sku or l.sku == sku)]
            if mp and mp != acct.marketplace_id:
                offers = []
            if sku and not offers:
                return _inv_error(404, 25713, f"This Offer is not available : {sku}.",
                                  parameters=[("sku", sku)])
            offers.sort(key=lambda l: l.sku)
            chunk = [render.offer_json(l, acct) for l in offers[page * limit:(page + 1) * limit]]
        q = {k: v[0] for k, v in req.query.items() if k not in ("limit", "offset")}
        url = lambda p: base(req) + INV + "/offer?" + urlencode({**q, "limit": limit, "offset": p})  # noqa: E731
        body: dict[str, Any] = {"href": url(page), "limit": limit, "size": len(chunk), "total": len(offers),
                                "offers": chunk}
        if (page + 1) * limit < len(offers):
            body["next"] = url(page + 1)
        return json_response(body)

    @sim.rest_op("GET", INV + "/offer/{offerId}", "getOffer", "sell.inventory")
    def get_offer(req: Request, acct: Account) -> Response:
        with sim.lock:
            l = by_offer(acct, req.path_params["offerId"])
            if l is None:
                return _inv_error(404, 25713, f"This Offer is not available : {req.path_params['offerId']}.")
            return json_response(render.offer_json(l, acct))

    def apply_offer_body(l: Listing, body: dict) -> Response | None:
        price = (body.get("pricingSummary") or {}).get("price")
        if price is not None:
            try:
                value = money(Decimal(str(price.get("value"))))
            except (InvalidOperation, AttributeError, TypeError):
                return _inv_error(400, 25709, "Invalid value for price.", parameters=[("fieldName", "price")])
            if price.get("currency") and price["currency"] != l.currency:
                return _inv_error(400, 25709, "Invalid value for currency.",
                                  parameters=[("fieldName", "pricingSummary.price.currency")])
            l.price = value
        qty = body.get("availableQuantity")
        if qty is not None:
            if not isinstance(qty, int) or isinstance(qty, bool) or qty < 0:
                return _inv_error(400, 25709, "Invalid value for availableQuantity.")
            l.quantity = qty
        l.offer = {k: v for k, v in body.items() if k not in ("pricingSummary", "availableQuantity", "sku")}
        return None

    @sim.rest_op("POST", INV + "/offer", "createOffer", "sell.inventory")
    def create_offer(req: Request, acct: Account) -> Response:
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _inv_error(400, 25709, "Invalid value for offer.")
        sku = str(body.get("sku") or "")
        if body.get("marketplaceId") != acct.marketplace_id:
            return _inv_error(400, 25709, "Invalid value for marketplaceId.",
                              parameters=[("fieldName", "marketplaceId")])
        if body.get("format") != "FIXED_PRICE":
            return _inv_error(400, 25709, "Invalid value for format.", parameters=[("fieldName", "format")])
        with sim.lock:
            l = inventory_listings(acct).get(sku)
            if l is None:
                return _inv_error(400, 25702, f"{sku} could not be found or is not available in the system.",
                                  parameters=[("skuValue", sku)])
            if l.offer_id:
                return _inv_error(400, 25002, "A user error has occurred. Offer entity already exists.",
                                  parameters=[("offerId", l.offer_id)])
            err = apply_offer_body(l, body)
            if err is not None:
                return err
            if body.get("availableQuantity") is None:
                l.quantity = l.inventory_quantity or 0
            l.offer_id = sim.new_unique("5999999999")
            return json_response({"offerId": l.offer_id}, 201)

    @sim.rest_op("PUT", INV + "/offer/{offerId}", "updateOffer", "sell.inventory")
    def update_offer(req: Request, acct: Account) -> Response:
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _inv_error(400, 25709, "Invalid value for offer.")
        with sim.lock:
            l = by_offer(acct, req.path_params["offerId"])
            if l is None:
                return _inv_error(404, 25713, f"This Offer is not available : {req.path_params['offerId']}.")
            if l.published and not revise(l):
                return json_response({"errors": [revision_error(l)]}, 400)
            err = apply_offer_body(l, body)
            if err is not None:
                return err
            if l.published:
                sim.market.record_listed(acct.channel, l.sku, l.quantity)
        return Response(204)

    @sim.rest_op("POST", INV + "/offer/{offerId}/publish", "publishOffer", "sell.inventory")
    def publish_offer(req: Request, acct: Account) -> Response:
        with sim.lock:
            l = by_offer(acct, req.path_params["offerId"])
            if l is None:
                return _inv_error(404, 25713, f"This Offer is not available : {req.path_params['offerId']}.")
            errors = []
            o = l.offer
            if not l.title or len(l.title) > 80:
                errors.append(_inv_err(25002, "A user error has occurred. The title is missing or longer than "
                                              "80 characters.", ("fieldName", "product.title")))
            if l.price <= 0:
                errors.append(_inv_err(25003, "The eBay listing associated with the inventory item, or the "
                                              "unpublished offer has an invalid price."))
            if not str(o.get("categoryId") or "").isdigit():
                errors.append(_inv_err(25005, "The eBay listing associated with the inventory item, or the "
                                              "unpublished offer has an invalid category ID."))
            policies = o.get("listingPolicies") or {}
            for key, code in (("fulfillmentPolicyId", 25007), ("paymentPolicyId", 25008),
                              ("returnPolicyId", 25009)):
                if not policies.get(key):
                    errors.append(_inv_err(code, f"The eBay listing associated with the inventory item, or the "
                                                 f"unpublished offer has invalid data in the associated "
                                                 f"{key[:-8].capitalize()} policy.", ("fieldName", key)))
            if not o.get("merchantLocationKey"):
                errors.append(_inv_err(25012, "Invalid inventory location.", ("fieldName", "merchantLocationKey")))
            if not l.product.get("imageUrls"):
                errors.append(_inv_err(25014, "The eBay listing associated with the inventory item, or the "
                                              "unpublished offer has invalid pictures."))
            if not l.condition:
                errors.append(_inv_err(25021, "The eBay listing associated with the inventory item, or the "
                                              "unpublished offer has invalid item condition information."))
            if errors:
                return json_response({"errors": errors}, 400)
            if l.published and not revise(l):
                return json_response({"errors": [revision_error(l)]}, 400)
            if not l.item_id:
                l.item_id = sim.new_unique("399999999999")
                l.started_at = clock.timestamp()
            l.published = True
            sim.market.record_listed(acct.channel, l.sku, l.quantity)
            return json_response({"listingId": l.item_id})

    # ================================================================ Developer Analytics
    def analytics(req: Request, user: bool) -> Response:
        tok = sim.bearer(req)
        if tok is None:
            return render.invalid_access_token()
        if user and getattr(tok, "app", False):
            return render.rest_error(403, 1100, "ACCESS", "Access denied",
                                     long_message="Insufficient permissions to fulfill the request.")
        now = clock.timestamp()
        reset = iso_ms((day_index(now) + 1) * DAY_S)
        rows = []
        for ctx, name, version, api in (("sell", "inventory", "v1", "sell.inventory"),
                                        ("sell", "fulfillment", "v1", "sell.fulfillment"),
                                        ("TradingAPI", "TradingAPI", "", "trading")):
            if req.arg("api_context") and req.arg("api_context", "").lower() != ctx.lower():
                continue
            if req.arg("api_name") and req.arg("api_name", "").lower() != name.lower():
                continue
            limit = sim.api_limit(api)
            used = sim.quota.used(tok.username, api, now)
            rows.append({"apiContext": ctx, "apiName": name, "apiVersion": version, "resources": [
                {"name": api if api != "trading" else "TradingAPI",
                 "rates": [{"count": used, "limit": limit, "remaining": max(0, limit - used), "reset": reset,
                            "timeWindow": DAY_S}]}]})
        if not rows:
            return rest_error(404, 90001, "API_ANALYTICS", "No rate limits found for the given api_context "
                                                           "and api_name.")
        return json_response({"rateLimits": rows})

    @sim.op("GET", ANA + "/rate_limit/", "getRateLimits", account=sim.rest_username)
    def get_rate_limits(req: Request) -> Response:
        return analytics(req, user=False)

    @sim.op("GET", ANA + "/user_rate_limit/", "getUserRateLimits", account=sim.rest_username)
    def get_user_rate_limits(req: Request) -> Response:
        return analytics(req, user=True)

