"""What eBay buyers see, read back in pages where eBay has pages.

Trading ``GetMyeBaySelling`` (Active list, 200 a page) lists every active
listing of the seller whatever created it (Seller Hub, Trading, the Inventory
API) with its SKU, ``QuantityAvailable`` and price: many SKUs are read from
its pages, a page per 200 listings instead of a ``getOffers`` or ``GetItem``
call per SKU. A SKU the pages do not show (ended, never published, unknown,
a variation) is read alone as before: ``getOffers`` for an Inventory-API SKU,
``GetItem`` for a legacy listing of the listing map.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from crossdock.connectors.ebay import mapping
from crossdock.connectors.ebay.client import EbayRestClient, EbayTradingClient
from crossdock.connectors.ebay.mapping import ListingRef
from crossdock.errors import PlatformError
from crossdock.models import ListedOffer

__all__ = ["ListingReader"]

#: Up to this many SKUs are read one call each; more start on the Active list's pages.
ONE_BY_ONE_MAX = 2


class ListingReader:
    """Reads of one eBay channel's listings; learns into ``refs`` (the listing map)."""

    def __init__(self, rest: EbayRestClient, trading: EbayTradingClient, refs: dict[str, ListingRef]) -> None:
        self.rest = rest
        self.trading = trading
        self.refs = refs

    def read(self, skus: Sequence[str]) -> list[ListedOffer]:
        """What buyers see for ``skus`` (each once, in order): from the Active
        list's pages while a page costs fewer calls than the SKUs still
        unread, then one call per SKU left."""
        wanted = list(dict.fromkeys(skus))
        found: dict[str, ListedOffer] = {}
        if len(wanted) > ONE_BY_ONE_MAX:
            page, pages = 1, 1
            while page <= min(pages, mapping.ACTIVE_LIST_MAX_PAGES):
                offers, pages = mapping.parse_active_list(
                    self.trading.get_my_ebay_selling(mapping.active_list_request(page)))
                found.update(self._matched(offers, [s for s in wanted if s not in found]))
                left = len(wanted) - len(found)
                if left == 0 or min(pages, mapping.ACTIVE_LIST_MAX_PAGES) - page > left:
                    break
                page += 1
        return [found[sku] if sku in found else self.read_one(sku) for sku in wanted]

    def _matched(self, offers: Sequence[ListedOffer], skus: Sequence[str]) -> dict[str, ListedOffer]:
        """The offers of one Active-list page that are listings of ``skus``: a
        legacy listing by its ItemID (its SKU on eBay may differ), an
        Inventory-API listing by its SKU and, when the map knows it, its
        ItemID. Variations and SKUs the map does not know are left to
        :meth:`read_one` (it learns their offer)."""
        by_item = {str(o.listing_id): o for o in offers if not (o.ids or {}).get("variation")}
        by_sku = {o.sku: o for o in by_item.values() if o.sku}
        out: dict[str, ListedOffer] = {}
        for sku in skus:
            ref = self.refs.get(sku)
            if ref is None:
                continue
            if ref.kind == "trading":
                offer = by_item.get(str(ref.item_id))
                if offer is not None:
                    out[sku] = dataclasses.replace(offer, sku=sku)
                continue
            offer = by_sku.get(sku)
            if offer is None or not ref.offer_id or (ref.item_id and str(ref.item_id) != str(offer.listing_id)):
                continue
            out[sku] = dataclasses.replace(offer, ids=ListingRef("inventory", offer_id=ref.offer_id,
                                                                 item_id=str(offer.listing_id)).to_dict())
        return out

    def read_one(self, sku: str) -> ListedOffer:
        ref = self.refs.get(sku) or ListingRef("inventory")
        if ref.kind == "trading":
            try:
                return mapping.parse_trading_item(self.trading.get_item(str(ref.item_id)), sku=sku)
            except PlatformError as exc:
                if exc.code != "XD-PLATFORM-002":
                    raise
                return ListedOffer(sku, None, None, ref.item_id, "NOT_FOUND", ids=ref.to_dict())
        try:
            payload = self.rest.get_offers(sku)
        except PlatformError as exc:
            if exc.code != "XD-PLATFORM-002":
                raise
            return ListedOffer(sku, None, None, None, "NOT_FOUND")
        offers = payload.get("offers") or []
        if not offers:
            return ListedOffer(sku, None, None, None, "NOT_FOUND")
        offer = mapping.parse_offer(offers[0])
        self.refs[sku] = ListingRef("inventory", offer_id=str(offers[0].get("offerId")), item_id=offer.listing_id)
        return offer

    def read_all(self) -> list[ListedOffer]:
        """Every listing of the account: the Inventory API's items and their
        offers, then Trading ``GetMyeBaySelling`` (Active list, 200 a page) for
        the listings made outside the Inventory API (Seller Hub, Trading) —
        the ones whose ItemID no offer has. Those are remembered in the listing
        map as legacy listings (unless the map already gives the SKU another
        listing: then both are returned, and the caller sees the SKU twice).
        SKUs of the map found by neither are read one by one as before (an
        ended legacy listing shows its status). Each listing comes back once."""
        items = self.inventory_items()
        out: list[ListedOffer] = []
        offered: set[str] = set()
        for sku, (title, origin) in items.items():
            offer = self.read_one(sku)
            if offer.status != "NOT_FOUND" and title and not offer.title:
                offer = dataclasses.replace(offer, title=title)
            if offer.status != "NOT_FOUND" and origin:        # the product data customs needs
                offer = dataclasses.replace(offer, country_of_origin=origin)
            if offer.listing_id:
                offered.add(str(offer.listing_id))
            out.append(offer)
        seen = set(items)
        page, pages = 1, 1
        while page <= min(pages, mapping.ACTIVE_LIST_MAX_PAGES):
            found, pages = mapping.parse_active_list(
                self.trading.get_my_ebay_selling(mapping.active_list_request(page)))
            for offer in found:
                if offer.listing_id in offered:
                    continue            # an Inventory-API listing, already read with its offer
                if offer.sku and (offer.sku not in self.refs or self.refs[offer.sku].kind == "trading"):
                    self.refs[offer.sku] = ListingRef("trading", item_id=offer.listing_id)
                seen.add(offer.sku)
                offered.add(str(offer.listing_id))
                out.append(offer)
            page += 1
        # each listing once: a map entry whose listing was already read (under the SKU eBay has for it) is skipped
        out.extend(self.read_one(sku) for sku, ref in list(self.refs.items())
                   if sku not in seen and not (ref.item_id and ref.item_id in offered))
        return out

    def inventory_items(self) -> dict[str, tuple[str | None, str | None]]:
        """Every inventory item's SKU → (product title, country of manufacture), following ``next`` (the
        spec calls getInventoryItems' ``offset`` a page number; taking it from
        ``next`` works whichever eBay means)."""
        items: dict[str, tuple[str | None, str | None]] = {}
        offset, seen = 0, set()
        while offset not in seen:
            seen.add(offset)
            page = self.rest.get_inventory_items(limit=200, offset=offset)
            for i in page.get("inventoryItems") or []:
                if "sku" in i:
                    product = i.get("product") or {}
                    items.setdefault(str(i["sku"]), (product.get("title") or None, mapping.product_origin(product)))
            nxt = page.get("next")
            if not nxt:
                break
            try:
                offset = int(parse_qs(urlsplit(str(nxt)).query).get("offset", [""])[0])
            except ValueError:
                break
        return items
