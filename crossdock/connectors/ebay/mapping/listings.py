"""eBay listings: the listing map (:class:`ListingRef`), inventory item and
offer bodies, offers / Trading items / the GetMyeBaySelling Active list parsed
into :class:`~crossdock.models.ListedOffer`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP
from typing import Any, Mapping, Sequence

from crossdock.connectors.ebay.mapping.common import (
    CENT,
    _bad,
    _opt,
    as_list,
    money_from,
    money_from_trading,
)
from crossdock.connectors.ebay.mapping.shapes import (
    GetMyeBaySellingRequest,
    InventoryItem,
    InventoryProduct,
    ListingPolicies,
    OfferDetails,
)
from crossdock.errors import MappingError
from crossdock.models import (
    ListedOffer,
    Money,
    Product,
)


# ------------------------------------------------------------------ the listing map
@dataclass(frozen=True, slots=True)
class ListingRef:
    kind: str                        # "inventory" | "trading"
    offer_id: str | None = None
    item_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("inventory", "trading"):
            raise MappingError("XD-MAP-010", detail=f"listing kind must be inventory or trading, not {self.kind!r}")
        if self.kind == "trading" and not self.item_id:
            raise MappingError("XD-MAP-010", detail="a trading (legacy) listing needs its ItemID")

    @classmethod
    def parse(cls, value: "ListingRef | Mapping[str, Any] | str") -> "ListingRef":
        """From a map entry ``{"kind", "offer_id"?, "item_id"?}`` or ``inventory:<offerId>`` /
        ``inventory`` / ``trading:<ItemID>``."""
        if isinstance(value, ListingRef):
            return value
        if isinstance(value, Mapping):
            return cls(str(value.get("kind", "")), _opt(value.get("offer_id")), _opt(value.get("item_id")))
        kind, _, ident = str(value).partition(":")
        if kind == "inventory":
            return cls("inventory", offer_id=ident or None)
        if kind == "trading":
            return cls("trading", item_id=ident)
        raise MappingError("XD-MAP-010", detail=f"listing reference {value!r} is not inventory:<offerId> "
                                                 "or trading:<ItemID>")

    def encode(self) -> str:
        return f"trading:{self.item_id}" if self.kind == "trading" else f"inventory:{self.offer_id or ''}".rstrip(":")

    def to_dict(self) -> dict[str, str]:
        out = {"kind": self.kind}
        if self.offer_id:
            out["offer_id"] = self.offer_id
        if self.item_id:
            out["item_id"] = self.item_id
        return out


# ------------------------------------------------------------------ listings
def image_urls(images: Sequence[Any]) -> list[str]:
    out = []
    for img in images:
        url = img if isinstance(img, str) else (img.get("url") or img.get("src")) if isinstance(img, Mapping) else None
        if url:
            out.append(str(url))
    return out


def aspects(attributes: Mapping[str, Any]) -> dict[str, list[str]]:
    raw = attributes.get("aspects") or {}
    out: dict[str, list[str]] = {}
    if isinstance(raw, Mapping):
        for name, value in raw.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            out[str(name)[:40]] = [str(v)[:50] for v in values if v not in (None, "")]
    if attributes.get("brand") and "Brand" not in out:
        out["Brand"] = [str(attributes["brand"])[:50]]
    return out


#: The item specific in which eBay's product data gives the country of manufacture (a country name)
ORIGIN_ASPECT = "Country/Region of Manufacture"


def product_origin(product: object) -> str | None:
    """An inventory item ``product``'s country of manufacture as an ISO code
    (its :data:`ORIGIN_ASPECT`), or None: no such aspect, or a name we do not know."""
    from crossdock.mapping.countries import country_code

    if not isinstance(product, Mapping) or not isinstance(product.get("aspects"), Mapping):
        return None
    values = product["aspects"].get(ORIGIN_ASPECT) or []
    return country_code(values[0]) if isinstance(values, list) and values else None


def inventory_item_body(product: Product, *, quantity: int) -> InventoryItem:
    """createOrReplaceInventoryItem body."""
    prod = InventoryProduct(title=product.title, description=product.description or product.title,
                            imageUrls=image_urls(product.images))
    asp = aspects(product.attributes)
    if asp:
        prod["aspects"] = asp
    body = InventoryItem(product=prod, condition=str(product.attributes.get("condition", "NEW")),
                         availability={"shipToLocationAvailability": {"quantity": int(quantity)}})
    if product.weight_g:
        body["packageWeightAndSize"] = {"weight": {"value": product.weight_g, "unit": "GRAM"}}
    return body


def offer_body(product: Product, *, marketplace_id: str, quantity: int, price: Money, category_id: str,
               merchant_location_key: str, policies: ListingPolicies) -> OfferDetails:
    """createOffer / updateOffer body for a fixed-price GTC listing."""
    return {"sku": product.sku, "marketplaceId": marketplace_id, "format": "FIXED_PRICE",
            "availableQuantity": int(quantity), "categoryId": str(category_id),
            "listingDescription": product.description or product.title, "listingDuration": "GTC",
            "listingPolicies": policies, "merchantLocationKey": merchant_location_key,
            "pricingSummary": {"price": {"value": str(price.amount.quantize(CENT, ROUND_HALF_UP)),
                                         "currency": price.currency}}}


def parse_offer(offer: object) -> ListedOffer:
    """An Inventory API offer → what the channel shows (quantity, price, listing id)."""
    if not isinstance(offer, Mapping) or "sku" not in offer:
        raise _bad("not an eBay offer (no sku)")
    listing = offer.get("listing") or {}
    qty = offer.get("availableQuantity")
    ref = ListingRef("inventory", offer_id=_opt(offer.get("offerId")), item_id=_opt(listing.get("listingId")))
    return ListedOffer(sku=str(offer["sku"]), quantity=int(qty) if qty is not None else None,
                       price=money_from((offer.get("pricingSummary") or {}).get("price")),
                       listing_id=listing.get("listingId"),
                       status=listing.get("listingStatus") or offer.get("status"), ids=ref.to_dict())


def parse_inventory_item(item: object, currency: str | None = None) -> ListedOffer:
    """An inventory item (no price on it: the price lives on the offer)."""
    if not isinstance(item, Mapping) or "sku" not in item:
        raise _bad("not an eBay inventory item (no sku)")
    qty = (((item.get("availability") or {}).get("shipToLocationAvailability")) or {}).get("quantity")
    return ListedOffer(sku=str(item["sku"]), quantity=int(qty) if qty is not None else None, price=None,
                       status="INVENTORY_ITEM")


def parse_trading_item(reply: object, *, sku: str | None = None) -> ListedOffer:
    """Trading ``GetItem`` reply → ListedOffer (available = Quantity − QuantitySold)."""
    item = reply.get("GetItemResponse", reply).get("Item") if isinstance(reply, Mapping) else None
    if not isinstance(item, Mapping) or "ItemID" not in item:
        raise _bad("not a Trading GetItem reply (no Item/ItemID)")
    selling = item.get("SellingStatus") or {}
    try:
        total = int(item.get("Quantity") or 0)
        sold = int(selling.get("QuantitySold") or 0)
    except (TypeError, ValueError) as exc:
        raise _bad("bad Trading Quantity/QuantitySold", exc) from exc
    return ListedOffer(sku=str(sku or item.get("SKU") or ""), quantity=max(0, total - sold),
                       price=money_from_trading(selling.get("CurrentPrice"), item.get("Currency")),
                       listing_id=str(item["ItemID"]),
                       status=str(selling["ListingStatus"]).upper() if selling.get("ListingStatus") else None,
                       title=_opt(item.get("Title")), ids={"kind": "trading", "item_id": str(item["ItemID"])})


# ------------------------------------------------------------------ every active listing (GetMyeBaySelling)
ACTIVE_LIST_PAGE = 200          # GetMyeBaySelling ActiveList: EntriesPerPage 1..200
ACTIVE_LIST_MAX_PAGES = 125     # eBay returns at most 25,000 items (125 pages of 200)


def active_list_request(page: int, *, per_page: int = ACTIVE_LIST_PAGE) -> GetMyeBaySellingRequest:
    """ebaysdk data for ``GetMyeBaySelling``: one page of the Active list only."""
    if not 1 <= per_page <= ACTIVE_LIST_PAGE or page < 1:
        raise ValueError("ActiveList pages are 1.. with 1..200 entries each")
    return {"ActiveList": {"Include": "true", "Pagination": {"EntriesPerPage": str(per_page),
                                                             "PageNumber": str(page)}}}


def _int(value: Any, what: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise _bad(f"bad {what} {value!r}", exc) from exc


def parse_active_list(reply: object) -> tuple[list[ListedOffer], int]:
    """One ``GetMyeBaySelling`` page → (what each active listing shows, total pages).

    Every active listing comes back, whatever created it (Seller Hub, Trading,
    the Inventory API); its ``ids`` say ``trading`` and the ItemID — the caller
    knows which ItemIDs are Inventory-API offers. A listing with variations
    gives one offer per variation (its SKU, same ItemID). ``QuantityAvailable``
    is what buyers can buy (else Quantity − QuantitySold). A listing without a
    SKU comes back with ``sku=""``: it exists, but cannot be linked by SKU."""
    body = reply.get("GetMyeBaySellingResponse", reply) if isinstance(reply, Mapping) else None
    if not isinstance(body, Mapping):
        raise _bad("not a GetMyeBaySelling reply")
    active = body.get("ActiveList") or {}
    if not isinstance(active, Mapping):
        raise _bad("GetMyeBaySelling: ActiveList is not a container")
    pages = _int((active.get("PaginationResult") or {}).get("TotalNumberOfPages"), "TotalNumberOfPages") or 0
    out: list[ListedOffer] = []
    for item in as_list((active.get("ItemArray") or {}).get("Item")):
        if not isinstance(item, Mapping) or not item.get("ItemID"):
            raise _bad("GetMyeBaySelling: an Item without ItemID")
        item_id = str(item["ItemID"])
        selling = item.get("SellingStatus") or {}
        price = money_from_trading(selling.get("CurrentPrice") or item.get("StartPrice"))
        ids = {"kind": "trading", "item_id": item_id}
        variations = as_list((item.get("Variations") or {}).get("Variation"))
        if variations:
            for v in variations:
                total = _int(v.get("Quantity"), "Variation.Quantity") or 0
                sold = _int((v.get("SellingStatus") or {}).get("QuantitySold"), "QuantitySold") or 0
                out.append(ListedOffer(sku=str(v.get("SKU") or ""), quantity=max(0, total - sold),
                                       price=money_from_trading(v.get("StartPrice")) or price, listing_id=item_id,
                                       status="ACTIVE", title=_opt(item.get("Title")),
                                       ids={**ids, "variation": "true"}))
            continue
        available = _int(item.get("QuantityAvailable"), "QuantityAvailable")
        if available is None:
            total = _int(item.get("Quantity"), "Quantity") or 0
            available = max(0, total - (_int(selling.get("QuantitySold"), "QuantitySold") or 0))
        out.append(ListedOffer(sku=str(item.get("SKU") or ""), quantity=available, price=price, listing_id=item_id,
                               status="ACTIVE", title=_opt(item.get("Title")), ids=ids))
    return out, pages
