"""eBay's ids for our SKUs (OCA's binder idea): which API revises a SKU — an
Inventory-API offer or a legacy (Trading) ItemID — as a
:class:`~crossdock.connectors.ebay.mapping.ListingRef` per SKU.

The map comes from the listings' stored ``platform_ids`` (:meth:`ListingBinder.bind`),
from ``StockUpdate.listing_id`` / ``PriceUpdate.listing_id`` (``inventory:<offerId>``,
``inventory``, ``trading:<ItemID>``; a bare id is looked up by ItemID/offerId and
otherwise asked of eBay once), and from what the connector learns while it
publishes and reads listings. A SKU the map does not know is an Inventory-API
listing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossdock.connectors.contract import ListingBindings
from crossdock.connectors.ebay.client import EbayRestClient
from crossdock.connectors.ebay.mapping import ListingRef
from crossdock.errors import PlatformError
from crossdock.models import PriceUpdate, StockUpdate

ListingMap = Mapping[str, "ListingRef | Mapping[str, Any] | str"]


class ListingBinder:
    """SKU -> :class:`ListingRef` of one eBay channel."""

    def __init__(self, rest: EbayRestClient, entries: ListingMap) -> None:
        self.rest = rest
        self.refs: dict[str, ListingRef] = {}
        self.update(entries)

    def update(self, entries: ListingMap) -> None:
        for sku, value in entries.items():
            self.refs[str(sku)] = ListingRef.parse(value)

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {sku: ref.to_dict() for sku, ref in self.refs.items()}

    def bind(self, bindings: ListingBindings) -> None:
        """Listings' ``platform_ids`` as stored: those naming a kind (``inventory``
        with its offer and item ids, ``trading`` with its ItemID) join the map."""
        self.update({sku: ids for sku, ids in bindings.items()
                     if ids.get("kind") in ("inventory", "trading")
                     and (ids.get("kind") == "inventory" or ids.get("item_id"))})

    def ref_of(self, update: StockUpdate | PriceUpdate) -> ListingRef:
        """The listing an update goes to: its binding (``platform_ids``) when it
        names a kind, else :meth:`resolve` from the map and ``listing_id``."""
        ids = update.platform_ids or {}
        if ids.get("kind") in ("inventory", "trading") and (ids.get("kind") == "inventory" or ids.get("item_id")):
            ref = ListingRef.parse(ids)
            known = self.refs.get(update.sku)
            if ref.kind == "inventory" and not ref.offer_id and known is not None and known.kind == "inventory":
                return known
            return ref
        return self.resolve(update.sku, update.listing_id)

    def resolve(self, sku: str, listing_id: str | None = None) -> ListingRef:
        if listing_id:
            if listing_id.startswith(("inventory", "trading:")):
                ref = ListingRef.parse(listing_id)
                known = self.refs.get(sku)
                if ref.kind == "inventory" and not ref.offer_id and known and known.kind == "inventory":
                    return known
                return ref
            for ref in self.refs.values():
                if listing_id in (ref.item_id, ref.offer_id):
                    return ref
            known = self.refs.get(sku)
            if known is not None:
                return known
            # an id linked after this connector's map was built (listings pull, publish): ask eBay once
            ref = self._discover(sku, listing_id)
            self.refs[sku] = ref
            return ref
        return self.refs.get(sku) or ListingRef("inventory")

    def _discover(self, sku: str, listing_id: str) -> ListingRef:
        """``listing_id`` is an offer (Inventory API) of ``sku``, or else a
        legacy ItemID: one getOffers call tells."""
        try:
            offers = self.rest.get_offers(sku).get("offers") or []
        except PlatformError as exc:
            if exc.code != "XD-PLATFORM-002":
                raise
            offers = []
        for offer in offers:
            ids = {str(offer.get("offerId") or ""), str((offer.get("listing") or {}).get("listingId") or "")}
            if listing_id in ids:
                return ListingRef("inventory", offer_id=str(offer.get("offerId")),
                                  item_id=(offer.get("listing") or {}).get("listingId"))
        return ListingRef("trading", item_id=listing_id)

    def find_offer(self, sku: str) -> tuple[ListingRef, str | None] | None:
        """The SKU's fixed-price offer and its status via getOffers (remembered in the listing map)."""
        try:
            payload = self.rest.get_offers(sku)
        except PlatformError as exc:
            if exc.code == "XD-PLATFORM-002":
                return None
            raise
        offers = [o for o in payload.get("offers") or [] if o.get("format", "FIXED_PRICE") == "FIXED_PRICE"]
        if not offers:
            return None
        offer = offers[0]
        ref = ListingRef("inventory", offer_id=str(offer["offerId"]),
                         item_id=(offer.get("listing") or {}).get("listingId"))
        self.refs[sku] = ref
        return ref, offer.get("status")
