"""Listings Items API 2021-08-01 (get, put, patch, delete, search) and the
listing rules the JSON_LISTINGS_FEED processor shares with it.

A submission is ``ACCEPTED`` or ``INVALID`` with ``issues[]`` (HTTP 200 either
way, as Amazon answers); only a malformed request is HTTP 400. The product-type
model is deliberately small: a full LISTING needs item_name (at most 200
characters), brand, condition_type and purchasable_offer; quantities are
``fulfillment_availability[].quantity`` (integer >= 0) and prices
``purchasable_offer[].our_price[].schedule[].value_with_tax`` (> 0, in the
marketplace's currency). Issue codes are the sandbox's (Amazon's own codes
are numeric strings too and are documented per product type).
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from crossdock.sandbox.amazon import constants as C
from crossdock.sandbox.amazon.auth import authenticate, denied
from crossdock.sandbox.amazon.state import Listing, asin_for
from crossdock.sandbox.amazon.wire import render_listing, sp_error, sp_json
from crossdock.sandbox.http import Request, Response

if TYPE_CHECKING:
    from crossdock.sandbox.amazon.sim import AmazonSim

ISSUE_MISSING = "90220"
ISSUE_INVALID_ATTRIBUTE = "90000900"
ISSUE_TOO_LONG = "90244"
ISSUE_PRICE = "90003"
ISSUE_CURRENCY = "90111"
ISSUE_QUANTITY = "90246"
ISSUE_NOT_FOUND = "4000001"

GET_INCLUDED = ("summaries", "attributes", "issues", "offers", "fulfillmentAvailability", "procurement",
                "relationships", "productTypes")
SUBMIT_INCLUDED = ("identifiers", "issues")
# searchListingsItems (listingsItems_2021-08-01.json): identifiers maxItems 20, with an identifiersType
SEARCH_MAX_IDENTIFIERS = 20
SEARCH_IDENTIFIER_TYPES = ("ASIN", "EAN", "FNSKU", "GTIN", "ISBN", "JAN", "MINSAN", "SKU", "UPC")
PATCH_OPS = ("add", "replace", "merge", "delete")


def issue(code: str, message: str, *, attribute: str | None = None, category: str | None = None,
          severity: str = "ERROR") -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "message": message, "severity": severity}
    if attribute:
        out["attributeNames"] = [attribute]
    out["categories"] = [category] if category else []
    return out


def loads(body: bytes) -> Any:
    """JSON with exact decimals (prices are never floats)."""
    return json.loads(body.decode("utf-8"), parse_float=Decimal)


# ------------------------------------------------------------------ attribute rules


def parse_quantity(value: Any) -> tuple[int | None, dict | None]:
    bad = issue(ISSUE_QUANTITY, "'fulfillment_availability' quantity must be a whole number of 0 or more.",
                attribute="fulfillment_availability", category="INVALID_ATTRIBUTE")
    if not isinstance(value, list) or not value or not isinstance(value[0], dict):
        return None, bad
    entry = next((v for v in value if isinstance(v, dict) and v.get("fulfillment_channel_code", "DEFAULT")
                  == "DEFAULT"), None)
    if entry is None:
        return None, bad
    qty = entry.get("quantity")
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
        return None, bad
    return qty, None


def parse_offer(value: Any, mp: C.Marketplace) -> tuple[Decimal | None, dict | None]:
    bad = issue(ISSUE_INVALID_ATTRIBUTE, "'purchasable_offer' is invalid: expected marketplace_id, currency "
                "and our_price[].schedule[].value_with_tax.", attribute="purchasable_offer",
                category="INVALID_ATTRIBUTE")
    if not isinstance(value, list) or not value:
        return None, bad
    entry = next((v for v in value if isinstance(v, dict) and v.get("marketplace_id") in
                  (None, mp.marketplace_id)), None)
    if entry is None:
        return None, bad
    currency = entry.get("currency")
    if currency != mp.currency:
        return None, issue(ISSUE_CURRENCY, f"The currency '{currency}' is not valid for marketplace "
                           f"{mp.marketplace_id}; use {mp.currency}.", attribute="purchasable_offer",
                           category="INVALID_PRICE")
    try:
        raw = entry["our_price"][0]["schedule"][0]["value_with_tax"]
    except (KeyError, IndexError, TypeError):
        return None, bad
    if isinstance(raw, bool) or not isinstance(raw, (int, str, Decimal)):
        return None, bad
    try:
        price = Decimal(str(raw))
    except InvalidOperation:
        return None, bad
    if not price.is_finite() or price <= 0:
        return None, issue(ISSUE_PRICE, "'purchasable_offer' our_price must be greater than 0.",
                           attribute="purchasable_offer", category="INVALID_PRICE")
    return price, None


def check_attributes(attributes: Any, mp: C.Marketplace, *, required: tuple[str, ...] = ()) -> list[dict]:
    if not isinstance(attributes, dict):
        return [issue(ISSUE_INVALID_ATTRIBUTE, "The attributes are invalid.", category="INVALID_ATTRIBUTE")]
    issues = []
    for name in required:
        if not attributes.get(name):
            issues.append(issue(ISSUE_MISSING, f"'{name}' is required but not supplied.", attribute=name,
                                category="MISSING_ATTRIBUTE"))
    malformed = [issue(ISSUE_INVALID_ATTRIBUTE, f"'{name}' must be a list of objects.", attribute=name,
                       category="INVALID_ATTRIBUTE")
                 for name, value in attributes.items()
                 if not isinstance(value, list) or not all(isinstance(v, dict) for v in value)]
    if malformed:
        return issues + malformed
    title = attributes.get("item_name")
    if title:
        text = title[0].get("value")
        if not isinstance(text, str) or len(text) > C.MAX_TITLE_CHARS:
            issues.append(issue(ISSUE_TOO_LONG, f"'item_name' must be text of at most {C.MAX_TITLE_CHARS} "
                                "characters.", attribute="item_name", category="INVALID_ATTRIBUTE"))
    if "fulfillment_availability" in attributes:
        issues += [i for i in [parse_quantity(attributes["fulfillment_availability"])[1]] if i]
    if "purchasable_offer" in attributes:
        issues += [i for i in [parse_offer(attributes["purchasable_offer"], mp)[1]] if i]
    return issues


def check_patches(patches: Any, mp: C.Marketplace) -> list[dict]:
    if not isinstance(patches, list) or not patches:
        return [issue(ISSUE_INVALID_ATTRIBUTE, "patches must list at least one JSON Patch operation.",
                      category="INVALID_ATTRIBUTE")]
    issues: list[dict] = []
    for p in patches:
        if not isinstance(p, dict) or p.get("op") not in PATCH_OPS or not isinstance(p.get("path"), str) \
                or not p["path"].startswith("/attributes/") or len(p["path"]) <= len("/attributes/"):
            issues.append(issue(ISSUE_INVALID_ATTRIBUTE, f"Invalid JSON Patch operation {p!r}: op must be one "
                                "of add, replace, merge, delete and path /attributes/<name>.",
                                category="INVALID_ATTRIBUTE"))
            continue
        name = p["path"][len("/attributes/"):]
        if p["op"] == "delete":
            continue
        issues += check_attributes({name: p.get("value")}, mp)
    return issues


def apply_attributes(listing: Listing, attributes: dict, mp: C.Marketplace, now: float, *,
                     replace_all: bool) -> tuple[int | None, bool]:
    """Write attributes into ``listing``; returns (new quantity or None, price changed)."""
    if replace_all:
        listing.attributes = {}
    listing.attributes.update(attributes)
    qty = None
    price_changed = False
    if "fulfillment_availability" in attributes:
        qty, _ = parse_quantity(attributes["fulfillment_availability"])
        if qty is not None:
            listing.fulfillment_channel = "DEFAULT"    # a merchant quantity makes an FBA offer merchant-fulfilled
    if "purchasable_offer" in attributes:
        price, _ = parse_offer(attributes["purchasable_offer"], mp)
        if price is not None and price != listing.price:
            listing.price = price
            price_changed = True
    listing.updated_at = now
    return qty, price_changed


def apply_patches(listing: Listing, patches: list[dict], mp: C.Marketplace, now: float) -> int | None:
    """Apply validated patches; returns the new quantity when it changed."""
    qty = None
    for p in patches:
        name = p["path"][len("/attributes/"):]
        if p["op"] == "delete":
            listing.attributes.pop(name, None)
            if name == "fulfillment_availability":
                qty = 0
            if name == "purchasable_offer":
                listing.price = None
            continue
        new_qty, _ = apply_attributes(listing, {name: p["value"]}, mp, now, replace_all=False)
        if new_qty is not None:
            qty = new_qty
    listing.updated_at = now
    return qty


def sync_attributes(listing: Listing, mp: C.Marketplace) -> None:
    """Keep the attribute view of quantity and price in step with the fields."""
    listing.attributes["fulfillment_availability"] = [
        {"fulfillment_channel_code": listing.fulfillment_channel, "quantity": listing.quantity}]
    if listing.price is not None:
        listing.attributes["purchasable_offer"] = [{
            "marketplace_id": mp.marketplace_id, "currency": mp.currency,
            "our_price": [{"schedule": [{"value_with_tax": listing.price}]}]}]


# ------------------------------------------------------------------ handlers


def _context(sim: "AmazonSim", req: Request, op: str, *, allowed_included: tuple[str, ...],
             default_included: tuple[str, ...]):
    rate = C.USAGE_PLANS[op][0]
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    if auth.token.kind == "rdt":
        return denied()
    if req.path_params.get("sellerId") != auth.seller.seller_id:
        return denied()
    marketplaces = req.args("marketplaceIds")
    if len(marketplaces) != 1:
        return sp_error(400, "InvalidInput", "Invalid input", "marketplaceIds must name exactly one marketplace.",
                        rate=rate)
    mp_id = marketplaces[0]
    if mp_id not in auth.seller.marketplace_ids:
        return sp_error(400, "InvalidInput", "Invalid input", f"Invalid marketplaceIds: {mp_id}.", rate=rate)
    included = req.args("includedData") or list(default_included)
    bad = [i for i in included if i not in allowed_included]
    if bad:
        return sp_error(400, "InvalidInput", "Invalid input", f"Invalid includedData: {', '.join(bad)}.",
                        rate=rate)
    mode = req.arg("mode")
    if mode not in (None, "VALIDATION_PREVIEW"):
        return sp_error(400, "InvalidInput", "Invalid input", f"Invalid mode: {mode}.", rate=rate)
    return auth, C.MARKETPLACES[mp_id], included, rate, mode


def _submission(sku: str, status: str, issues: list[dict], included: list[str], mp: C.Marketplace,
                listing: Listing | None, rate: float) -> Response:
    body: dict[str, Any] = {"sku": sku, "status": status, "submissionId": uuid.uuid4().hex}
    if "issues" in included:
        body["issues"] = issues
    if "identifiers" in included:
        body["identifiers"] = [{"marketplaceId": mp.marketplace_id, "asin": listing.asin}] if listing else []
    return sp_json(body, rate=rate)


def get_listing(sim: "AmazonSim", req: Request) -> Response:
    ctx = _context(sim, req, "getListingsItem", allowed_included=GET_INCLUDED, default_included=("summaries",))
    if isinstance(ctx, Response):
        return ctx
    auth, mp, included, rate, _ = ctx
    sku = req.path_params["sku"]
    with sim.lock:
        listing = sim.listings[auth.seller.channel(mp.marketplace_id)].get(sku)
        if listing is None:
            return sp_error(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {mp.marketplace_id}", "",
                            rate=rate)
        return sp_json(render_listing(listing, mp.marketplace_id, included), rate=rate)


def _submission_body(req: Request, required: str, rate) -> dict | Response:
    """The JSON body of a put/patch submission, or Amazon's 400 for a bad one."""
    try:
        body = loads(req.body)
    except (ValueError, UnicodeDecodeError):
        return sp_error(400, "InvalidInput", "Invalid input", "Request body is not valid JSON.", rate=rate)
    if not isinstance(body, dict) or not body.get("productType") or required not in body:
        return sp_error(400, "InvalidInput", "Invalid input", f"productType and {required} are required.", rate=rate)
    return body


def put_listing(sim: "AmazonSim", req: Request) -> Response:
    ctx = _context(sim, req, "putListingsItem", allowed_included=SUBMIT_INCLUDED, default_included=("issues",))
    if isinstance(ctx, Response):
        return ctx
    auth, mp, included, rate, mode = ctx
    sku = req.path_params["sku"]
    body = _submission_body(req, "attributes", rate)
    if isinstance(body, Response):
        return body
    requirements = body.get("requirements", "LISTING")
    if requirements not in ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY"):
        return sp_error(400, "InvalidInput", "Invalid input", f"Invalid requirements: {requirements}.", rate=rate)
    channel = auth.seller.channel(mp.marketplace_id)
    with sim.lock:
        status, issues, listing = sim.put_listing(channel, sku, str(body["productType"]), body["attributes"],
                                                  requirements, apply=mode != "VALIDATION_PREVIEW")
    return _submission(sku, status, issues, included, mp, listing, rate)


def patch_listing(sim: "AmazonSim", req: Request) -> Response:
    ctx = _context(sim, req, "patchListingsItem", allowed_included=SUBMIT_INCLUDED, default_included=("issues",))
    if isinstance(ctx, Response):
        return ctx
    auth, mp, included, rate, mode = ctx
    sku = req.path_params["sku"]
    body = _submission_body(req, "patches", rate)
    if isinstance(body, Response):
        return body
    channel = auth.seller.channel(mp.marketplace_id)
    patches = body["patches"] if isinstance(body["patches"], list) else []
    if any(isinstance(p, dict) and str(p.get("path", "")).startswith("/attributes/fulfillment_availability")
           for p in patches):
        sim.market.record_stock_request(channel)
    with sim.lock:
        status, issues, listing = sim.patch_listing(channel, sku, body["patches"],
                                                    apply=mode != "VALIDATION_PREVIEW")
    return _submission(sku, status, issues, included, mp, listing, rate)


def delete_listing(sim: "AmazonSim", req: Request) -> Response:
    ctx = _context(sim, req, "deleteListingsItem", allowed_included=SUBMIT_INCLUDED,
                   default_included=("issues",))
    if isinstance(ctx, Response):
        return ctx
    auth, mp, included, rate, _ = ctx
    sku = req.path_params["sku"]
    with sim.lock:
        status, issues = sim.delete_listing(auth.seller.channel(mp.marketplace_id), sku)
    return _submission(sku, status, issues, included, mp, None, rate)


def search_listings(sim: "AmazonSim", req: Request) -> Response:
    ctx = _context(sim, req, "searchListingsItems", allowed_included=GET_INCLUDED,
                   default_included=("summaries",))
    if isinstance(ctx, Response):
        return ctx
    auth, mp, included, rate, _ = ctx
    try:
        size = int(req.arg("pageSize", "10") or "10")
    except ValueError:
        size = 0
    if not 1 <= size <= 20:
        return sp_error(400, "InvalidInput", "Invalid input", "pageSize must be between 1 and 20.", rate=rate)
    identifiers, id_type = req.args("identifiers"), req.arg("identifiersType")
    if bool(identifiers) != bool(id_type):
        return sp_error(400, "InvalidInput", "Invalid input",
                        "identifiers and identifiersType must be provided together.", rate=rate)
    if len(identifiers) > SEARCH_MAX_IDENTIFIERS:
        return sp_error(400, "InvalidInput", "Invalid input",
                        f"identifiers accepts at most {SEARCH_MAX_IDENTIFIERS} values.", rate=rate)
    if id_type not in (None, *SEARCH_IDENTIFIER_TYPES):
        return sp_error(400, "InvalidInput", "Invalid input", f"Invalid identifiersType: {id_type}.", rate=rate)
    wanted = set(identifiers) if identifiers else None
    token = req.arg("pageToken")
    start = 0
    if token:
        try:
            start = int(token.removeprefix("p"))
        except ValueError:
            return sp_error(400, "InvalidInput", "Invalid input", "Invalid pageToken.", rate=rate)
    with sim.lock:
        listings = sorted(sim.listings[auth.seller.channel(mp.marketplace_id)].values(), key=lambda li: li.sku)
        if wanted is not None:      # SKU or ASIN; the sandbox keeps no EAN, GTIN, … (they match nothing)
            listings = [li for li in listings
                        if (li.sku if id_type == "SKU" else li.asin if id_type == "ASIN" else None) in wanted]
        page = listings[start:start + size]
        body: dict[str, Any] = {"numberOfResults": len(listings),
                                "items": [render_listing(li, mp.marketplace_id, included) for li in page]}
    pagination: dict[str, str] = {}
    if start + size < len(listings):
        pagination["nextToken"] = f"p{start + size}"
    if start > 0:
        pagination["previousToken"] = f"p{max(0, start - size)}"
    if pagination:
        body["pagination"] = pagination
    return sp_json(body, rate=rate)


def register(sim: "AmazonSim") -> None:
    base = "/listings/2021-08-01/items/{sellerId}"
    routes = (
        ("GET", base, "searchListingsItems", search_listings),
        ("GET", base + "/{sku}", "getListingsItem", get_listing),
        ("PUT", base + "/{sku}", "putListingsItem", put_listing),
        ("PATCH", base + "/{sku}", "patchListingsItem", patch_listing),
        ("DELETE", base + "/{sku}", "deleteListingsItem", delete_listing),
    )
    for method, path, op, fn in routes:
        rate, burst = C.USAGE_PLANS[op]
        sim.op(method, path, op, account=sim.account_of, rate=rate, burst=burst)(
            (lambda f: lambda req: f(sim, req))(fn))


def new_listing(sku: str, product_type: str, currency: str, now: float) -> Listing:
    return Listing(sku=sku, asin=asin_for(sku), product_type=product_type, quantity=0, price=None,
                   currency=currency, created_at=now, updated_at=now)
