"""Resolvers of the catalogue and inventory types: Shop, Location,
InventoryLevel, InventoryItem, ProductVariant, Product and
InventoryAdjustmentGroup."""

from __future__ import annotations

from graphql import GraphQLError

from crossdock.sandbox.shopify.records import (
    AdjustmentGroup,
    InventoryItem,
    Level,
    Location,
    Product,
    Variant,
    gid,
    parse_gid,
    ts_iso,
)
from crossdock.sandbox.shopify.views.base import Ctx, by_id, connection, money_str


class ShopView:
    __typename = "Shop"

    def __init__(self, ctx: Ctx) -> None:
        s = ctx.shop
        self.id = gid("Shop", s.numeric_id)
        self.name = s.name
        self.email = f"owner@{s.domain}"
        self.myshopifyDomain = s.domain
        self.currencyCode = s.currency
        self.enabledPresentmentCurrencies = sorted({s.currency, "EUR", "GBP", "CHF", "USD", "SEK", "DKK", "NOK",
                                                    "PLN", "CZK"})
        self.ianaTimezone = s.timezone
        self.plan = {"partnerDevelopment": False, "shopifyPlus": False, "publicDisplayName": "Basic"}
        self.taxesIncluded = True


class LocationView:
    __typename = "Location"

    def __init__(self, ctx: Ctx, loc: Location) -> None:
        self._ctx, self._loc = ctx, loc
        self.id = gid("Location", loc.id)
        self.legacyResourceId = str(loc.id)
        self.name = loc.name
        self.isActive = loc.active
        self.fulfillsOnlineOrders = True
        self.shipsInventory = True
        self.address = {"countryCode": loc.country, "city": loc.city, "zip": loc.zip, "address1": loc.address1}

    def inventoryLevel(self, info, inventoryItemId: str) -> "LevelView | None":
        item_id = parse_gid(inventoryItemId, "InventoryItem")
        lvl = self._ctx.shop.levels.get((item_id or -1, self._loc.id))
        return LevelView(self._ctx, lvl) if lvl else None

    def inventoryLevels(self, info, query: str | None = None, **page) -> dict:
        levels = [lv for (iid, lid), lv in self._ctx.shop.levels.items() if lid == self._loc.id]
        return connection(levels, key=by_id, node=lambda lv: LevelView(self._ctx, lv), **page)


class LevelView:
    __typename = "InventoryLevel"

    def __init__(self, ctx: Ctx, lvl: Level) -> None:
        self._ctx, self._lvl = ctx, lvl
        self.id = f"gid://shopify/InventoryLevel/{lvl.id}?inventory_item_id={lvl.item_id}"
        self.createdAt = ts_iso(lvl.created_at)
        self.updatedAt = ts_iso(lvl.updated_at)
        self.canDeactivate = True

    def item(self, info) -> "InventoryItemView":
        return InventoryItemView(self._ctx, self._ctx.shop.items[self._lvl.item_id])

    def location(self, info) -> LocationView:
        return LocationView(self._ctx, self._ctx.shop.locations[self._lvl.location_id])

    def quantities(self, info, names: list[str]) -> list[dict]:
        out = []
        for n in names:
            q = self._lvl.quantity(n)
            if q is None:
                raise GraphQLError(f"The quantity name '{n}' is not valid.")
            out.append({"id": f"gid://shopify/InventoryQuantity/{self._lvl.id}?inventory_item_id="
                              f"{self._lvl.item_id}&name={n}",
                        "name": n, "quantity": q, "updatedAt": ts_iso(self._lvl.updated_at)})
        return out


class InventoryItemView:
    __typename = "InventoryItem"

    def __init__(self, ctx: Ctx, item: InventoryItem) -> None:
        self._ctx, self._item = ctx, item
        self.id = gid("InventoryItem", item.id)
        self.legacyResourceId = str(item.id)
        self.sku = item.sku
        self.tracked = item.tracked
        self.requiresShipping = item.requires_shipping
        self.harmonizedSystemCode = item.hs_code
        self.countryCodeOfOrigin = item.country_of_origin
        self.provinceCodeOfOrigin = None
        self.createdAt = ts_iso(item.created_at)
        self.updatedAt = ts_iso(item.updated_at)

    def countryHarmonizedSystemCodes(self, info, **page) -> dict:
        rows = [(i, {"countryCode": cc, "harmonizedSystemCode": code})
                for i, (cc, code) in enumerate(self._item.country_hs_codes)]
        return connection(rows, key=lambda r: (r[0], r[0]), node=lambda r: r[1], **page)

    def inventoryLevel(self, info, locationId: str) -> LevelView | None:
        loc_id = parse_gid(locationId, "Location")
        lvl = self._ctx.shop.levels.get((self._item.id, loc_id or -1))
        return LevelView(self._ctx, lvl) if lvl else None

    def inventoryLevels(self, info, query: str | None = None, **page) -> dict:
        levels = [lv for (iid, _), lv in self._ctx.shop.levels.items() if iid == self._item.id]
        return connection(levels, key=by_id, node=lambda lv: LevelView(self._ctx, lv), **page)

    def variant(self, info) -> "VariantView":
        return VariantView(self._ctx, self._ctx.shop.variants[self._item.variant_id])


class VariantView:
    __typename = "ProductVariant"

    def __init__(self, ctx: Ctx, v: Variant) -> None:
        self._ctx, self._v = ctx, v
        product = ctx.shop.products[v.product_id]
        self.id = gid("ProductVariant", v.id)
        self.legacyResourceId = str(v.id)
        self.title = v.title
        self.displayName = f"{product.title} - {v.title}"
        self.sku = v.sku
        self.barcode = v.barcode
        self.price = money_str(v.price)
        self.compareAtPrice = money_str(v.compare_at_price) if v.compare_at_price is not None else None
        self.taxable = v.taxable
        lvl = ctx.shop.level(v.inventory_item_id)
        self.inventoryQuantity = lvl.available if lvl else 0
        self.availableForSale = product.status == "ACTIVE" and (self.inventoryQuantity or 0) > 0
        self.createdAt = ts_iso(v.created_at)
        self.updatedAt = ts_iso(v.updated_at)

    def product(self, info) -> "ProductView":
        return ProductView(self._ctx, self._ctx.shop.products[self._v.product_id])

    def inventoryItem(self, info) -> InventoryItemView:
        return InventoryItemView(self._ctx, self._ctx.shop.items[self._v.inventory_item_id])


class ProductView:
    __typename = "Product"

    def __init__(self, ctx: Ctx, p: Product) -> None:
        self._ctx, self._p = ctx, p
        self.id = gid("Product", p.id)
        self.legacyResourceId = str(p.id)
        self.title = p.title
        self.handle = p.handle
        self.descriptionHtml = p.description_html
        self.vendor = p.vendor
        self.productType = p.product_type
        self.status = p.status
        self.tags = list(p.tags)
        self.createdAt = ts_iso(p.created_at)
        self.updatedAt = ts_iso(p.updated_at)
        self.tracksInventory = True
        self.hasOnlyDefaultVariant = len(p.variant_ids) == 1

    def totalInventory(self, info) -> int:
        total = 0
        for vid in self._p.variant_ids:
            lvl = self._ctx.shop.level(self._ctx.shop.variants[vid].inventory_item_id)
            total += lvl.available if lvl else 0
        return total

    def variants(self, info, **page) -> dict:
        vs = [self._ctx.shop.variants[v] for v in self._p.variant_ids]
        return connection(vs, key=by_id, node=lambda v: VariantView(self._ctx, v), **page)


class AdjustmentGroupView:
    __typename = "InventoryAdjustmentGroup"

    def __init__(self, ctx: Ctx, g: AdjustmentGroup) -> None:
        self._ctx, self._g = ctx, g
        self.id = gid("InventoryAdjustmentGroup", g.id)
        self.createdAt = ts_iso(g.created_at)
        self.reason = g.reason
        self.referenceDocumentUri = g.reference_document_uri

    def changes(self, info, inventoryItemIds: list[str] | None = None, locationIds: list[str] | None = None,
                quantityNames: list[str] | None = None) -> list[dict]:
        shop = self._ctx.shop
        out = []
        for ch in self._g.changes:
            if inventoryItemIds is not None and gid("InventoryItem", ch["item_id"]) not in inventoryItemIds:
                continue
            if locationIds is not None and gid("Location", ch["location_id"]) not in locationIds:
                continue
            if quantityNames is not None and ch["name"] not in quantityNames:
                continue
            out.append({"name": ch["name"], "delta": ch["delta"], "quantityAfterChange": ch["after"],
                        "ledgerDocumentUri": None,
                        "item": InventoryItemView(self._ctx, shop.items[ch["item_id"]]),
                        "location": LocationView(self._ctx, shop.locations[ch["location_id"]])})
        return out
