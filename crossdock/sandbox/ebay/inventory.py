"""The simulated eBay's Sell Inventory API: inventory items, offers (create,
update, publish) and ``bulk_update_price_quantity``, with eBay's daily
revision limit per listing."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from crossdock.sandbox.ebay import render
from crossdock.sandbox.ebay.model import Account, Listing, money
from crossdock.sandbox.ebay.render import rest_error
from crossdock.sandbox.ebay.rest import INV, base_url, int_arg
from crossdock.sandbox.http import Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.sim import EbaySim


def _inv_error(status: int, error_id: int, message: str, **kw: Any) -> Response:
    return rest_error(status, error_id, "API_INVENTORY", message, **kw)


def _inv_err(error_id: int, message: str, *params: tuple[str, str]) -> dict:
    err: dict[str, Any] = {"errorId": error_id, "domain": "API_INVENTORY", "category": "REQUEST",
                           "message": message}
    if params:
        err["parameters"] = [{"name": n, "value": v} for n, v in params]
    return err


def _json_object(req: Request) -> dict[str, Any] | None:
    """The request body when it is a JSON object."""
    try:
        body = req.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def register(sim: EbaySim) -> None:  # noqa: C901 - one registration function per API family
    clock = sim.clock

    def base(req: Request) -> str:
        return base_url(sim, req)

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
        body = _json_object(req)
        reqs = body.get("requests") if body is not None else None
        if not isinstance(reqs, list) or not reqs or len(reqs) > 25:
            return _inv_error(400, 25709, "Invalid value for requests. Provide between 1 and 25 requests.",
                              parameters=[("fieldName", "requests")])
        out: list[dict] = []
        if any(isinstance(r, dict) and r.get("shipToLocationAvailability") is not None for r in reqs):
            sim.market.record_stock_request(acct.channel)
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
        limit = int_arg(req, "limit", 25)
        page = int_arg(req, "offset", 0)
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
        body = _json_object(req)
        if body is None or len(sku) > 50:
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
            if l is None:
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
        limit = int_arg(req, "limit", 100)
        page = int_arg(req, "offset", 0)
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
        body = _json_object(req)
        if body is None:
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
        body = _json_object(req)
        if body is None:
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
