"""Mutation fields on the catalogue and inventory: ``inventorySetQuantities``
(compare/change-from checks and idempotency keys by API version),
``productVariantsBulkUpdate``, ``productCreate`` and ``productUpdate``."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError

from crossdock.sandbox.shopify import schema as sdl
from crossdock.sandbox.shopify.records import VALID_REASONS, AdjustmentGroup, Variant, money, parse_gid
from crossdock.sandbox.shopify.views.base import MAX_INPUT_ARRAY, RootPart, idempotency_key, too_many, user_error
from crossdock.sandbox.shopify.views.catalogue import AdjustmentGroupView, ProductView, VariantView


class CatalogueMutations(RootPart):
    """Mutation fields on products, variants and inventory."""

    def inventorySetQuantities(self, info, input: dict) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        ctx.sets_stock = True
        key = idempotency_key(info)
        if key is None and sdl.requires_idempotency_key(ctx.version):
            raise GraphQLError("The @idempotent directive is required for this mutation.",
                               info.field_nodes, extensions={"code": "BAD_REQUEST"})
        quantities = input["quantities"]
        if len(quantities) > MAX_INPUT_ARRAY:
            raise too_many(len(quantities), info)
        fingerprint = json.dumps(input, sort_keys=True, default=str)
        if key is not None and key in shop.idempotency:
            seen_fp, seen = shop.idempotency[key]
            if seen_fp != fingerprint:
                return {"inventoryAdjustmentGroup": None, "userErrors": [user_error(
                    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", None,
                    "The same idempotency key cannot be used with different operation parameters.")]}
            return seen
        errors: list[dict] = []
        name, reason = input["name"], input["reason"]
        if name not in ("available", "on_hand"):
            errors.append(user_error("INVALID_NAME", ["input", "name"],
                                     "The quantity name must be either 'available' or 'on_hand'."))
        if reason not in VALID_REASONS:
            errors.append(user_error("INVALID_REASON", ["input", "reason"], "The specified reason is invalid."))
        strict = sdl.requires_change_from_quantity(ctx.version)
        ignore_compare = bool(input.get("ignoreCompareQuantity", False))
        seen_pairs: set[tuple[int, int]] = set()
        plan: list[tuple[int, int, int]] = []
        for i, q in enumerate(quantities):
            path = ["input", "quantities", str(i)]
            item_id = parse_gid(q["inventoryItemId"], "InventoryItem")
            loc_id = parse_gid(q["locationId"], "Location")
            if item_id is None or item_id not in shop.items:
                errors.append(user_error("INVALID_INVENTORY_ITEM", path + ["inventoryItemId"],
                                         "The specified inventory item could not be found."))
                continue
            if loc_id is None or loc_id not in shop.locations:
                errors.append(user_error("INVALID_LOCATION", path + ["locationId"],
                                         "The specified location could not be found."))
                continue
            if (item_id, loc_id) in seen_pairs:
                errors.append(user_error("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", path,
                                         "The combination of inventoryItemId and locationId must be unique."))
                continue
            seen_pairs.add((item_id, loc_id))
            lvl = shop.levels.get((item_id, loc_id))
            if lvl is None:
                errors.append(user_error("ITEM_NOT_STOCKED_AT_LOCATION", path + ["locationId"],
                                         "The specified inventory item is not stocked at the location."))
                continue
            qty = q["quantity"]
            if qty < 0:
                errors.append(user_error("INVALID_QUANTITY_NEGATIVE", path + ["quantity"],
                                         "The quantity can't be negative."))
                continue
            if qty > 1_000_000_000:
                errors.append(user_error("INVALID_QUANTITY_TOO_HIGH", path + ["quantity"],
                                         "The total quantity can't be higher than 1,000,000,000."))
                continue
            current = lvl.quantity(name) if name in ("available", "on_hand") else None
            if "changeFromQuantity" in q and q["changeFromQuantity"] is not None:
                if current != q["changeFromQuantity"]:
                    errors.append(user_error("CHANGE_FROM_QUANTITY_STALE", path + ["changeFromQuantity"],
                                             "The changeFromQuantity value does not match persisted value."))
                    continue
            elif "changeFromQuantity" in q:
                pass  # explicit null: the caller opted out of the check
            elif strict:
                errors.append(user_error("COMPARE_QUANTITY_REQUIRED", path + ["changeFromQuantity"],
                                         "The changeFromQuantity argument must be given to each quantity; pass null to "
                                         "opt out of the check."))
                continue
            elif q.get("compareQuantity") is not None:
                if current != q["compareQuantity"]:
                    errors.append(user_error("COMPARE_QUANTITY_STALE", path + ["compareQuantity"],
                                             "The compareQuantity value does not match persisted value."))
                    continue
            elif not ignore_compare:
                errors.append(user_error("COMPARE_QUANTITY_REQUIRED", path + ["compareQuantity"],
                                         "The compareQuantity argument must be given to each quantity or ignored using "
                                         "ignoreCompareQuantity."))
                continue
            plan.append((item_id, loc_id, qty))
        if errors:
            result: dict[str, Any] = {"inventoryAdjustmentGroup": None, "userErrors": errors}
        else:
            changes = []
            for item_id, loc_id, qty in plan:
                lvl = shop.levels[(item_id, loc_id)]
                before_avail, before_on_hand = lvl.available, lvl.on_hand
                if name == "available":
                    shop.set_available(item_id, loc_id, qty, ctx.now)
                else:
                    shop.set_on_hand(item_id, loc_id, qty, ctx.now)
                changes.append({"name": "available", "delta": lvl.available - before_avail, "after": lvl.available,
                                "item_id": item_id, "location_id": loc_id})
                changes.append({"name": "on_hand", "delta": lvl.on_hand - before_on_hand, "after": lvl.on_hand,
                                "item_id": item_id, "location_id": loc_id})
                if lvl.available != before_avail or lvl.on_hand != before_on_hand:
                    ctx.events.append(("inventory_levels/update", lvl))
                    sku = shop.items[item_id].sku
                    if sku:
                        ctx.touched_skus.add(sku)
            group = AdjustmentGroup(shop.ids.next("InventoryAdjustmentGroup"), ctx.now, reason,
                                    input.get("referenceDocumentUri"), changes)
            shop.adjustments[group.id] = group
            result = {"inventoryAdjustmentGroup": AdjustmentGroupView(ctx, group), "userErrors": []}
        if key is not None:
            shop.idempotency[key] = (fingerprint, result)
        return result

    def productVariantsBulkUpdate(self, info, productId: str, variants: list[dict],
                                  allowPartialUpdates: bool = False) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        if len(variants) > MAX_INPUT_ARRAY:
            raise too_many(len(variants), info)
        product = shop.products.get(parse_gid(productId, "Product") or -1)
        if product is None:
            return {"product": None, "productVariants": None,
                    "userErrors": [user_error("PRODUCT_DOES_NOT_EXIST", ["productId"], "Product does not exist")]}
        errors: list[dict] = []
        plan: list[tuple[Variant, dict, Decimal | None, Decimal | None]] = []
        for i, vin in enumerate(variants):
            path = ["variants", str(i)]
            if not vin.get("id"):
                errors.append(user_error("PRODUCT_VARIANT_ID_MISSING", path + ["id"],
                                         "Product variant is missing ID attribute"))
                continue
            vid = parse_gid(vin["id"], "ProductVariant")
            v = shop.variants.get(vid or -1)
            if v is None or v.product_id != product.id:
                errors.append(user_error("PRODUCT_VARIANT_DOES_NOT_EXIST", path + ["id"],
                                         "Product variant does not exist"))
                continue
            price = compare_at = None
            try:
                if vin.get("price") is not None:
                    price = Decimal(str(vin["price"]))
                if vin.get("compareAtPrice") is not None:
                    compare_at = Decimal(str(vin["compareAtPrice"]))
            except InvalidOperation:
                errors.append(user_error("INVALID_INPUT", path + ["price"], "Price is invalid"))
                continue
            if price is not None and (price < 0 or not price.is_finite()):
                errors.append(user_error("GREATER_THAN_OR_EQUAL_TO", path + ["price"],
                                         "Price must be greater than or equal to 0"))
                continue
            inv = vin.get("inventoryItem") or {}
            new_sku = inv.get("sku")
            if new_sku:
                clash = shop.variant_by_sku(new_sku)
                if clash is not None and clash.id != v.id:
                    # Shopify allows duplicate SKUs but warns; the sandbox keeps SKUs unique so mapping is exact.
                    errors.append(user_error("MUST_BE_UNIQUE", path + ["inventoryItem", "sku"],
                                             f"SKU {new_sku} is already used by another variant in this shop"))
                    continue
            plan.append((v, vin, price, compare_at))
        if errors and not allowPartialUpdates:
            return {"product": ProductView(ctx, product), "productVariants": None, "userErrors": errors}
        updated = []
        for v, vin, price, compare_at in plan:
            old_sku = v.sku
            if price is not None:
                v.price = money(price)
            if compare_at is not None:
                v.compare_at_price = money(compare_at)
            if "barcode" in vin:
                v.barcode = vin["barcode"]
            if vin.get("taxable") is not None:
                v.taxable = bool(vin["taxable"])
            inv = vin.get("inventoryItem") or {}
            item = shop.items[v.inventory_item_id]
            if "sku" in inv:
                v.sku = item.sku = inv["sku"]
            if inv.get("tracked") is not None:
                item.tracked = bool(inv["tracked"])
            if inv.get("requiresShipping") is not None:
                item.requires_shipping = bool(inv["requiresShipping"])
            if "harmonizedSystemCode" in inv:
                item.hs_code = inv["harmonizedSystemCode"]
            if "countryCodeOfOrigin" in inv:
                item.country_of_origin = inv["countryCodeOfOrigin"]
            if inv.get("countryHarmonizedSystemCodes") is not None:
                item.country_hs_codes = [(r["countryCode"], r["harmonizedSystemCode"])
                                         for r in inv["countryHarmonizedSystemCodes"]]
            if inv.get("cost") is not None:
                item.cost = Decimal(str(inv["cost"]))
            v.updated_at = item.updated_at = ctx.now
            product.updated_at = ctx.now
            for s in (old_sku, v.sku):
                if s:
                    ctx.touched_skus.add(s)
            updated.append(VariantView(ctx, v))
        return {"product": ProductView(ctx, product), "productVariants": updated, "userErrors": errors}

    def productCreate(self, info, product: dict | None = None) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        spec = product or {}
        title = (spec.get("title") or "").strip()
        if not title:
            return {"product": None, "userErrors": [{"field": ["title"], "message": "Title can't be blank"}]}
        if len(title) > 255:
            return {"product": None, "userErrors": [{"field": ["title"],
                                                     "message": "Title is too long (maximum is 255 characters)"}]}
        p = shop.create_product(title=title, now=ctx.now, status=spec.get("status") or "ACTIVE",
                                handle=spec.get("handle"), description_html=spec.get("descriptionHtml") or "",
                                vendor=spec.get("vendor") or shop.name, product_type=spec.get("productType") or "",
                                tags=spec.get("tags"))
        return {"product": ProductView(ctx, p), "userErrors": []}

    def productUpdate(self, info, product: dict | None = None) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        spec = product or {}
        p = shop.products.get(parse_gid(spec.get("id"), "Product") or -1)
        if p is None:
            return {"product": None, "userErrors": [{"field": ["id"], "message": "Product does not exist"}]}
        if "title" in spec:
            title = (spec["title"] or "").strip()
            if not title or len(title) > 255:
                msg = "Title can't be blank" if not title else "Title is too long (maximum is 255 characters)"
                return {"product": None, "userErrors": [{"field": ["title"], "message": msg}]}
            p.title = title
        for src, dst in (("handle", "handle"), ("descriptionHtml", "description_html"), ("vendor", "vendor"),
                         ("productType", "product_type"), ("status", "status"), ("tags", "tags")):
            if spec.get(src) is not None:
                setattr(p, dst, spec[src])
        p.updated_at = ctx.now
        for vid in p.variant_ids:
            sku = shop.variants[vid].sku
            if sku:
                ctx.touched_skus.add(sku)
        return {"product": ProductView(ctx, p), "userErrors": []}
