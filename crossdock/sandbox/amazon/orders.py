"""Orders API v0: getOrders, getOrder, getOrderItems, getOrderAddress and
confirmShipment, with Amazon's rules: the CreatedAfter / LastUpdatedAfter
families don't mix, ``*Before`` must be at least two minutes old, pages of
1..100 with NextToken, at most 50 MarketplaceIds, addresses only with a
Restricted Data Token, shipment confirmation only for shippable orders and
known carrier codes."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any

from crossdock.clock import parse_iso
from crossdock.sandbox.amazon import constants as C
from crossdock.sandbox.amazon import notifications
from crossdock.sandbox.amazon.auth import AuthResult, authenticate
from crossdock.sandbox.amazon.state import Order, Package
from crossdock.sandbox.amazon.wire import iso, render_address, render_items, render_order, sp_error, sp_json
from crossdock.sandbox.http import Request, Response

if TYPE_CHECKING:
    from crossdock.sandbox.amazon.sim import AmazonSim

ORDER_STATUSES = frozenset({"Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled",
                            "Unfulfillable", "InvoiceUnconfirmed", "PendingAvailability"})
PAGE_TTL_S = 3600 * 24


def _rate(op: str) -> float:
    return C.USAGE_PLANS[op][0]


def _bad(op: str, details: str, message: str = C.INVALID_INPUT) -> Response:
    return sp_error(400, "InvalidInput", message, details, rate=_rate(op))


def _date(req: Request, name: str) -> tuple[float | None, Response | None]:
    raw = req.arg(name)
    if raw is None or raw == "":
        return None, None
    try:
        return parse_iso(raw).timestamp(), None
    except ValueError:
        return None, _bad("getOrders", f"Invalid date-time field(s) [{name[0].lower() + name[1:]}].",
                          "This is an invalid input")


def get_orders(sim: "AmazonSim", req: Request) -> Response:
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    op = "getOrders"
    seller = auth.seller
    sim.advance()
    token = req.arg("NextToken")
    if token:
        with sim.lock:
            page = sim.pages.get((seller.seller_id, token))
            if page is None or page["expires_at"] < sim.now():
                return _bad(op, "Invalid NextToken.")
            del sim.pages[(seller.seller_id, token)]
        return _orders_page(sim, auth, page["ids"], page["size"], page["bound_name"], page["bound"])

    marketplaces = req.args("MarketplaceIds")
    if not marketplaces:
        return _bad(op, "MarketplaceIds is required.")
    if len(marketplaces) > 50:
        return _bad(op, "The maximum number of MarketplaceIds is 50.")
    unknown = [m for m in marketplaces if m not in seller.marketplace_ids]
    if unknown:
        return _bad(op, f"Invalid MarketplaceIds: {', '.join(unknown)}.")
    values: dict[str, float | None] = {}
    for name in ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore"):
        values[name], err = _date(req, name)
        if err is not None:
            return err
    created = values["CreatedAfter"] is not None or values["CreatedBefore"] is not None
    updated = values["LastUpdatedAfter"] is not None or values["LastUpdatedBefore"] is not None
    if created and updated:
        return _bad(op, "CreatedAfter/CreatedBefore and LastUpdatedAfter/LastUpdatedBefore cannot be combined.")
    family = "Created" if created else "LastUpdated"
    after, before = values[f"{family}After"], values[f"{family}Before"]
    if after is None:
        return _bad(op, "Either CreatedAfter or LastUpdatedAfter must be specified.")
    now = sim.now()
    if before is not None and before > now - C.TWO_MINUTES_S:
        return sp_error(400, "InvalidInput", C.TWO_MINUTE_RULE, "", rate=_rate(op))
    if before is None:
        before = now - C.TWO_MINUTES_S
    if before < after:
        return _bad(op, f"{family}Before must be later than {family}After.")
    size_raw = req.arg("MaxResultsPerPage", "100")
    try:
        size = int(size_raw or "100")
    except ValueError:
        size = 0
    if not 1 <= size <= 100:
        return _bad(op, "MaxResultsPerPage must be between 1 and 100.")
    statuses = req.args("OrderStatuses")
    if any(s not in ORDER_STATUSES for s in statuses):
        return _bad(op, f"Invalid OrderStatuses: {', '.join(statuses)}.")
    channels = req.args("FulfillmentChannels")
    if any(c not in ("MFN", "AFN") for c in channels):
        return _bad(op, f"Invalid FulfillmentChannels: {', '.join(channels)}.")
    wanted_ids = req.args("AmazonOrderIds")
    if len(wanted_ids) > 50:
        return _bad(op, "The maximum number of AmazonOrderIds is 50.")

    lo, hi = int(after), int(before)
    with sim.lock:
        rows = []
        for order in sim.orders_of(seller.seller_id):
            if order.marketplace_id not in marketplaces:
                continue
            ts = int(order.purchase_date if family == "Created" else order.last_update)
            if not lo <= ts <= hi:
                continue
            if statuses and order.status not in statuses:
                continue
            if channels and "MFN" not in channels:
                continue
            if wanted_ids and order.amazon_order_id not in wanted_ids:
                continue
            rows.append((ts, order.amazon_order_id))
    rows.sort()
    return _orders_page(sim, auth, [oid for _, oid in rows], size, f"{family}Before", iso(hi))


def _orders_page(sim: "AmazonSim", auth: AuthResult, ids: list[str], size: int, bound_name: str,
                 bound: str) -> Response:
    head, rest = ids[:size], ids[size:]
    with sim.lock:
        orders = [render_order(sim.orders[i], pii=auth.pii) for i in head if i in sim.orders]
        payload: dict[str, Any] = {"Orders": orders}
        if rest:
            token = secrets.token_urlsafe(24)
            sim.pages[(auth.seller.seller_id, token)] = {
                "ids": rest, "size": size, "bound_name": bound_name, "bound": bound,
                "expires_at": sim.now() + PAGE_TTL_S}
            payload["NextToken"] = token
        payload[bound_name] = bound
    return sp_json({"payload": payload}, rate=_rate("getOrders"))


def _order_for(sim: "AmazonSim", auth: AuthResult, order_id: str, op: str) -> Order | Response:
    order = sim.orders.get(order_id)
    if order is None or order.seller_id != auth.seller.seller_id:
        return sp_error(404, "NotFound", "The requested order was not found.", f"AmazonOrderId {order_id}",
                        rate=_rate(op))
    return order


def get_order(sim: "AmazonSim", req: Request) -> Response:
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    sim.advance()
    with sim.lock:
        order = _order_for(sim, auth, req.path_params["orderId"], "getOrder")
        if isinstance(order, Response):
            return order
        return sp_json({"payload": render_order(order, pii=auth.pii)}, rate=_rate("getOrder"))


def get_order_items(sim: "AmazonSim", req: Request) -> Response:
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    sim.advance()
    if req.arg("NextToken"):
        return _bad("getOrderItems", "Invalid NextToken.")
    with sim.lock:
        order = _order_for(sim, auth, req.path_params["orderId"], "getOrderItems")
        if isinstance(order, Response):
            return order
        payload = {"AmazonOrderId": order.amazon_order_id, "OrderItems": render_items(order, pii=auth.pii)}
        return sp_json({"payload": payload}, rate=_rate("getOrderItems"))


def get_order_address(sim: "AmazonSim", req: Request) -> Response:
    auth = authenticate(sim, req, restricted_only=True)
    if isinstance(auth, Response):
        return auth
    sim.advance()
    with sim.lock:
        order = _order_for(sim, auth, req.path_params["orderId"], "getOrderAddress")
        if isinstance(order, Response):
            return order
        payload: dict[str, Any] = {"AmazonOrderId": order.amazon_order_id}
        if order.status in ("Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"):
            payload["ShippingAddress"] = render_address(order, full=True)
        return sp_json({"payload": payload}, rate=_rate("getOrderAddress"))


def confirm_shipment(sim: "AmazonSim", req: Request) -> Response:
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    op = "confirmShipment"
    sim.advance()
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        return _bad(op, "Request body is not valid JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("packageDetail"), dict) \
            or not body.get("marketplaceId"):
        return _bad(op, "marketplaceId and packageDetail are required.")
    pkg = body["packageDetail"]
    missing = [k for k in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")
               if pkg.get(k) in (None, "", [])]
    if missing:
        return _bad(op, f"Missing required field(s): {', '.join(missing)}.")
    ref = str(pkg["packageReferenceId"])
    if not ref.isdigit() or int(ref) <= 0:
        return _bad(op, "packageReferenceId must be a positive number.")
    code = pkg["carrierCode"]
    if code not in C.CARRIER_CODES:
        return _bad(op, f"Invalid carrierCode '{code}'.")
    if code == "Other" and not pkg.get("carrierName"):
        return _bad(op, "carrierName is required when carrierCode is Other.")
    try:
        ship_date = parse_iso(str(pkg["shipDate"]))
    except ValueError:
        return _bad(op, f"Invalid shipDate '{pkg['shipDate']}': use ISO 8601 date-time.")
    lines = pkg["orderItems"]
    if not isinstance(lines, list) or not all(
            isinstance(x, dict) and x.get("orderItemId") and isinstance(x.get("quantity"), int)
            and not isinstance(x.get("quantity"), bool) and x["quantity"] > 0 for x in lines):
        return _bad(op, "orderItems must list orderItemId and a positive integer quantity.")
    with sim.lock:
        order = _order_for(sim, auth, req.path_params["orderId"], op)
        if isinstance(order, Response):
            return order
        if body["marketplaceId"] != order.marketplace_id:
            return _bad(op, f"marketplaceId {body['marketplaceId']} does not match the order.")
        wanted = tuple((str(x["orderItemId"]), int(x["quantity"])) for x in lines)
        for existing in order.packages:
            if existing.reference_id == ref:
                if existing.tracking_number == pkg["trackingNumber"] and existing.items == wanted:
                    return sp_json(None, 204, rate=_rate(op))   # the same package again: no change
                return _bad(op, f"packageReferenceId {ref} was already used for this order.")
        if order.status not in C.SHIPPABLE:
            return _bad(op, f"Order {order.amazon_order_id} is {order.status} and cannot be confirmed.")
        items = {i.order_item_id: i for i in order.items}
        for item_id, qty in wanted:
            item = items.get(item_id)
            if item is None:
                return _bad(op, f"Invalid orderItemId {item_id}.")
            if qty > item.quantity - item.quantity_shipped:
                return _bad(op, f"Quantity {qty} for orderItemId {item_id} exceeds the unshipped quantity.")
        for item_id, qty in wanted:
            items[item_id].quantity_shipped += qty
        order.packages.append(Package(ref, code, pkg.get("carrierName"), str(pkg["trackingNumber"]),
                                      ship_date.astimezone(dt.timezone.utc).isoformat(), wanted))
        order.status = "Shipped" if order.shipped_units >= order.ordered_units else "PartiallyShipped"
        order.last_update = sim.now()
        sim.counters["shipments_confirmed"] += 1
        notifications.order_changed(sim, order, f"Order status changed to {order.status}")
    return sp_json(None, 204, rate=_rate(op))


def register(sim: "AmazonSim") -> None:
    routes = (
        ("GET", "/orders/v0/orders", "getOrders", get_orders),
        ("GET", "/orders/v0/orders/{orderId}", "getOrder", get_order),
        ("GET", "/orders/v0/orders/{orderId}/orderItems", "getOrderItems", get_order_items),
        ("GET", "/orders/v0/orders/{orderId}/address", "getOrderAddress", get_order_address),
        ("POST", "/orders/v0/orders/{orderId}/shipmentConfirmation", "confirmShipment", confirm_shipment),
    )
    for method, path, op, fn in routes:
        rate, burst = C.USAGE_PLANS[op]
        sim.op(method, path, op, account=sim.account_of, rate=rate, burst=burst)(
            (lambda f: lambda req: f(sim, req))(fn))
