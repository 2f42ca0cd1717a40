"""The XD-INV codes: inventory, reservations and overselling."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-INV-001", "Insufficient stock to reserve",
      "An imported order asks for more units than are available; the order is imported but flagged, "
      "and the shortfall is not reserved.",
      ("a sale raced a stock push (overselling)", "stock drift between crossdock and a channel"),
      "Cancel or back-order the line; run a reconcile to find the drift.",
      "crossdock sync reconcile CHANNEL"),
    E("XD-INV-002", "Stock drift",
      "The quantity listed on a channel differs from what crossdock computed.",
      ("a manual edit on the platform", "a lost stock push"),
      "Repair with a reconcile.", "crossdock sync reconcile CHANNEL --apply"),
    E("XD-INV-003", "Oversold",
      "More units were sold than physical stock.",
      ("a sale on one channel before the zero reached another",),
      "Cancel or back-order the excess; check propagation delays in `crossdock sync status`.",
      "crossdock sync status"),
    E("XD-INV-004", "Unknown SKU",
      "An order line or a stock change refers to a SKU that is not in the catalogue or not linked to the "
      "channel; no stock was reserved for such a line (the order is flagged, `crossdock warehouse flagged`).",
      ("a listing created outside crossdock",),
      "Add the SKU to the catalogue (or correct it), or link the listing to the catalogue's SKU; the orders "
      "with such lines are listed by `crossdock warehouse flagged`.", None),
    E("XD-INV-005", "Negative stock",
      "A change would make on-hand stock negative; it was refused.",
      ("a count error", "shipping more than was received"),
      "Count the bin and adjust with a reason.", "crossdock stock adjust SKU +N --warehouse W --reason count"),
    E("XD-INV-006", "Reservation not found",
      "A release or consume refers to a reservation that does not exist or was already settled.",
      ("a duplicate cancel or ship event",),
      "None; the duplicate is ignored.", None),
    E("XD-INV-007", "Unexplained drop in a listed quantity",
      "A channel showed fewer units than crossdock pushed, which is how a sale looks before the "
      "channel's order API shows it (Amazon: 2 minutes or more). The units were held from every "
      "channel, but no order explained them in time, so they were released and the SKU pushed again.",
      ("the quantity was edited on the platform (e.g. in Seller Central)",
       "an order the import has not read (check `crossdock sync status` for import lag)"),
      "Check the listing on the platform; make stock changes in crossdock, not on the platform.",
      "crossdock sync reconcile CHANNEL"),
    E("XD-INV-008", "Catalogue file rejected",
      "A catalogue file (CSV or JSON) has rows crossdock cannot import; every bad row is listed with its "
      "line (CSV) or index (JSON) and its own code, and nothing from the file was written.",
      ("a column crossdock does not know", "no sku or title column", "a file that is neither CSV nor a JSON "
       "array of objects"),
      "Fix every row named in the message and import the whole file again.", "crossdock catalog import FILE"),
    E("XD-INV-009", "Invalid product value",
      "A product value does not fit what crossdock stores: too long for its column, a number out of range, "
      "an unknown currency, a country that is not two letters, an HS code that is not digits, attributes "
      "that are not a JSON object, an image that is not an http(s) URL.",
      ("a spreadsheet that reformatted a number or a code", "a column shifted by a stray separator"),
      "Correct the value named in the message (line and column) and import again.",
      "crossdock catalog import FILE"),
    E("XD-INV-010", "SKU twice in one catalogue file",
      "The same SKU appears on more than one row of a catalogue file, so crossdock cannot tell which row "
      "is meant.",
      ("a copied row", "two products given one SKU"),
      "Keep one row per SKU (the message names both lines) and import again.", "crossdock catalog import FILE"),
    E("XD-INV-011", "Listing conflict",
      "A listing on a channel cannot be linked to the catalogue unambiguously: the SKU is listed more than "
      "once on the channel, or crossdock already links the SKU (or the listing) to a different listing "
      "(or SKU). Its quantity is not managed by crossdock until this is resolved, so it can oversell.",
      ("a duplicate listing made in the seller centre", "a listing replaced by a new one with the same SKU",
       "an earlier `listings link` to another listing"),
      "End the duplicate on the platform, or link the right listing explicitly, then pull again.",
      "crossdock listings link SKU --channel CHANNEL --listing-id ID"),
    E("XD-INV-012", "Shipped units not taken from stock",
      "An order that left crossdock's warehouse (shipped, delivered or returned, not fulfilled by the "
      "platform) has units that were never taken from stock, so on hand still counts them and every "
      "channel is offered units that are gone. An order first imported already shipped takes its units "
      "from stock; this code means the free stock could not cover them, or the stock records were changed "
      "by hand.",
      ("an older backup restored: stock counted the units, the free stock was already held by other orders",
       "stock set too low before the import read the order", "a manual database edit"),
      "Count the SKU in the warehouse named in the message and set on hand to the count with a reason "
      "(the units listed are what the orders say left); then run `crossdock db check` again.",
      "crossdock stock adjust SKU -N --warehouse W --reason count"),
    E("XD-INV-013", "Stock moved without orders or adjustments explaining it",
      "A SKU's on hand in a warehouse changed since the last alerts round by more (or less) than its "
      "stock movements (adjustments, receipts, returns) and its shipped reservations account for.",
      ("a manual database edit", "another program writing the stock table", "a software fault"),
      "Count the SKU and correct it with `crossdock stock adjust`; acknowledging the alert (`crossdock alerts "
      "ack ID`) accepts the level as it stands now.",
      "crossdock stock history SKU"),
    E("XD-INV-014", "SKU alias refused",
      "A SKU alias (a SKU a channel lists under, standing for a catalogue SKU) was not added: the alias is "
      "itself a catalogue SKU, is already the alias of another SKU on that channel, or the SKU already has "
      "another alias there (a channel lists a catalogue SKU once). Nothing was changed.",
      ("a typo in the alias or the SKU", "an alias added twice with different SKUs",
       "an alias for every channel and one for a single channel naming different SKUs"),
      "Check the aliases with `crossdock catalog alias list`, remove the wrong one, then add it again.",
      "crossdock catalog alias list"),
    E("XD-INV-015", "Bundle refused",
      "A bundle (a SKU made of components, with no stock of its own) was not set: a component is not in the "
      "catalogue, a quantity is not a whole number above 0, a component is the bundle itself or a bundle "
      "(bundles do not nest, so no cycle can form), the bundle is a component of another bundle, or the "
      "bundle SKU has stock of its own (on hand or reserved). A stock change for a bundle SKU is refused "
      "with this code too. Nothing was changed.",
      ("a typo in a component SKU", "a bundle SKU that was stocked as a product before",
       "components listed as BUNDLE:QTY instead of COMPONENT:QTY"),
      "Correct the components; for a SKU with stock, move the stock to zero (`crossdock stock adjust`) "
      "first; a bundle's availability comes from its components.",
      "crossdock catalog bundle show BUNDLE"),
    E("XD-INV-016", "Quantity not pushed to a listing the platform fulfils",
      "The listing's stock is held and shipped by the platform itself (Amazon FBA, fulfilment channel "
      "AMAZON_*): its quantity is what the platform's fulfilment centres hold, and writing a seller-fulfilled "
      "quantity to it would turn it into a seller-fulfilled offer. Nothing was sent for this SKU.",
      ("the SKU is sold only through the platform's fulfilment (FBA)",
       "a listing linked to the catalogue SKU is the platform-fulfilled twin of a seller-fulfilled one"),
      "Nothing to do for a platform-fulfilled offer: its stock is read with `crossdock stock platform-pull` and "
      "shown by `crossdock stock show SKU`. Link the seller-fulfilled listing instead if the SKU has one.",
      "crossdock stock show SKU"),
)
