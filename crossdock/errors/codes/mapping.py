"""The XD-MAP codes: mapping, validation, currency and tax.

One family of :mod:`crossdock.errors.catalogue`. A code is never renamed,
reused or removed; a new code goes at the end.
"""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-MAP-001", "Required attribute missing",
      "The product lacks an attribute the platform requires for its category; nothing was sent.",
      ("a new category with extra required attributes",),
      "Add the attribute to the catalogue or an attribute mapping rule.", None),
    E("XD-MAP-002", "Title too long",
      "The title exceeds the platform's limit (eBay 80, Amazon 200, Shopify 255 characters).",
      ("a long catalogue title without a per-channel title rule",),
      "Shorten the title or add a per-channel title rule.", None),
    E("XD-MAP-003", "Price invalid",
      "The computed price is zero, negative, or outside the configured floor and ceiling.",
      ("a missing base price", "a markup rule that rounds to zero"),
      "Fix the base price or the price rule for this channel.", "crossdock logs --code XD-MAP-003"),
    E("XD-MAP-004", "Currency does not match the marketplace",
      "A price or order is in a currency the marketplace does not use.",
      ("a channel configured with the wrong currency",),
      "Set the channel's currency to the marketplace's currency.", "crossdock config check"),
    E("XD-MAP-005", "No FX rate for the currency pair",
      "There is no exchange rate for the pair on or before the date needed.",
      ("the rate file was not updated",),
      "Load current rates.", "crossdock fx load FILE"),
    E("XD-MAP-006", "FX rate is stale",
      "The newest rate for the pair is older than the allowed age.",
      ("rate file not refreshed",),
      "Load current rates.", "crossdock fx load FILE"),
    E("XD-MAP-007", "No category mapping",
      "The product's category has no mapping to the platform's category.",
      ("a new product category",),
      "Add a category mapping rule for this channel.", None),
    E("XD-MAP-008", "Image invalid",
      "Too many or too few images, or an image below the platform's minimum size.",
      ("missing images", "images smaller than 500 px (eBay) / 1000 px recommended (Amazon)"),
      "Fix the product images.", None),
    E("XD-MAP-009", "Tax or customs data missing",
      "A cross-border order or parcel lacks data needed for tax or customs (IOSS number, HS code, "
      "country of origin).",
      ("catalogue without HS code or origin", "a marketplace-facilitated EU order without IOSS"),
      "Add HS code and country of origin to the product; check the order's tax data.", None),
    E("XD-MAP-010", "Payload cannot be read",
      "A platform payload does not have the shape crossdock expects, so it cannot be normalised.",
      ("a payload from another API or version", "a truncated file"),
      "Check that the file is the body of the named API response.",
      "crossdock inspect --platform P --kind K FILE"),
    E("XD-MAP-011", "Unknown order status",
      "The platform reported an order status crossdock has no mapping for.",
      ("a new platform status",),
      "Add the status to the channel's order status mapping.", None),
    E("XD-MAP-012", "Unknown carrier",
      "A carrier name has no mapping to the platform's carrier code.",
      ("a new carrier",),
      "Add the carrier to the carrier mapping, or use the platform's own code.", None),
    E("XD-MAP-013", "Price drift",
      "The price a channel shows differs from the price crossdock computes for it (base price, the "
      "channel's price rule and today's FX rate).",
      ("a price edited on the platform", "a lost price push", "new FX rates or a changed price rule not pushed yet"),
      "Repair with a reconcile, or push the channel's prices.", "crossdock sync reconcile CHANNEL --apply"),
    E("XD-MAP-014", "FX rate dated in the future",
      "A rate file holds a rate valid from a day after today (UTC). crossdock would start pricing with it on "
      "that day without anyone looking again, so the file was refused; nothing from it was loaded.",
      ("day and month swapped (2026-12-03 for 3 December vs 12 March)", "a forward or planned rate in the file"),
      "Fix the date, or load the rate on or after the day it becomes valid.", "crossdock fx load FILE"),
)
