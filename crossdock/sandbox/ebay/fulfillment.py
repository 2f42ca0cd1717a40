"""The simulated eBay's Sell Fulfillment API: orders (filtered and paged as
eBay does) and shipping fulfillments."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from crossdock.clock import parse_iso
from crossdock.sandbox.ebay import render
from crossdock.sandbox.ebay.model import CARRIER_CODES, DAY_S, Account, SimLine, SimOrder, iso_ms
from crossdock.sandbox.ebay.render import rest_error
from crossdock.sandbox.ebay.rest import FUL, base_url, int_arg
from crossdock.sandbox.http import Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.sim import EbaySim


def _ful_error(status: int, error_id: int, message: str, **kw: Any) -> Response:
    return rest_error(status, error_id, "API_FULFILLMENT", message, **kw)


def _split_filter(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
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


def register(sim: EbaySim) -> None:
    clock = sim.clock

    def base(req: Request) -> str:
        return base_url(sim, req)

    def find_order(acct: Account, order_id: str) -> SimOrder | None:
        return sim.orders[acct.username].get(order_id)

    @sim.rest_op("GET", FUL + "/order", "getOrders", "sell.fulfillment")
    def get_orders(req: Request, acct: Account) -> Response:
        now = clock.timestamp()
        for fg in req.args("fieldGroups"):
            if fg != "TAX_BREAKDOWN":
                return _ful_error(400, 32800, f"Invalid field group: {fg}", parameters=[("fieldGroup", fg)])
        limit = int_arg(req, "limit", 50)
        if limit is None or not 1 <= limit <= sim.config.max_orders_limit:
            return _ful_error(400, 31100, f"Invalid limit: {req.arg('limit')}",
                              parameters=[("limitvalue", str(req.arg("limit")))])
        offset = int_arg(req, "offset", 0)
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
            plan: list[tuple[SimLine, int]] = []
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
