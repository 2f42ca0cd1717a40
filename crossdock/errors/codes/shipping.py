"""The XD-SHIP codes: shipments, labels and tracking."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-SHIP-001", "Carrier rejected the shipment",
      "The carrier could not create the shipment; the order stays ready to ship and its reservation is kept.",
      ("invalid address", "carrier outage", "unsupported service"),
      "Fix the address or choose another service, then ship again.",
      "crossdock warehouse ship ORDER", retryable=True),
    E("XD-SHIP-002", "Tracking not updating",
      "A parcel has had no tracking event for longer than the threshold.",
      ("parcel lost", "the label was printed but the parcel not handed over"),
      "Contact the carrier with the tracking number.", "crossdock logs trace ORDER"),
    E("XD-SHIP-003", "Label could not be written",
      "The label file or printer could not be written.",
      ("folder not writable", "printer offline"),
      "Check the label folder or printer address and print again.", None, retryable=True),
    E("XD-SHIP-004", "Customs data incomplete",
      "A cross-border parcel lacks customs data (HS code, origin, declared value).",
      ("product without HS code or origin",),
      "Add the missing data to the product and ship again.", None),
    E("XD-SHIP-005", "Already shipped",
      "The order already has a shipment; a second one was not created.",
      ("a repeated ship command",),
      "None; use `crossdock logs trace ORDER` to see the existing shipment.", "crossdock logs trace ORDER"),
    E("XD-SHIP-006", "Printer unreachable",
      "The network label printer did not accept the connection.",
      ("printer off or address wrong",),
      "Check the printer's address (TCP 9100) and that it is on.", None, retryable=True),
    E("XD-SHIP-007", "Tracking number invalid",
      "A tracking number given for a manual (non-integrated) carrier is missing or not 6-40 letters "
      "and digits; no shipment was recorded and the order stays ready to ship.",
      ("a typo or a pasted label text", "the reference number was given instead of the tracking number"),
      "Copy the tracking number from the carrier's receipt and ship again.",
      "crossdock warehouse ship ORDER --carrier NAME --tracking NUMBER"),
    E("XD-SHIP-008", "Parcel lines unreadable",
      "The units asked for one parcel of a partial shipment (--lines) cannot be read: each part must be "
      "SKU:QTY with a quantity of at least 1, parts separated by commas. Nothing was booked.",
      ("a space or semicolon instead of a comma", "a quantity of 0 or a negative one", "a missing SKU"),
      "Give the parcel's units as SKU:QTY,SKU:QTY; `crossdock inspect ORDER` lists the order's lines.",
      "crossdock warehouse ship ORDER --lines SKU:QTY"),
)
