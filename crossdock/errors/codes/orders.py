"""The XD-ORD codes: order import and order state."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-ORD-001", "Order import gap",
      "An order import window could not be completed; the cursor did not move, so the window is "
      "fetched again on the next run.",
      ("a failed page in the middle of a window",),
      "None; the next run covers the gap. If it repeats, check the failures in `crossdock sync status`.",
      "crossdock sync run --channel CHANNEL --job orders", retryable=True),
    E("XD-ORD-002", "Order stuck: status differs",
      "The platform's and crossdock's status of an order have disagreed for longer than the threshold.",
      ("a lost status change", "a manual change in the seller centre"),
      "Compare both statuses in the trace; re-import the order or confirm the shipment again.",
      "crossdock logs trace ORDER"),
    E("XD-ORD-003", "Order unshipped past handling time",
      "An order is still unshipped after the channel's handling time; the platform may penalise it.",
      ("no stock in the routed warehouse", "the pick list was not worked"),
      "Ship the order or cancel it on the platform.", "crossdock warehouse picklist"),
    E("XD-ORD-004", "Order line without SKU",
      "An order line carries no SKU at all, so no stock could be reserved for it. (A line whose SKU is "
      "not in the catalogue is XD-INV-004.)",
      ("a listing created on the platform without a SKU",),
      "Give the listing a SKU on the platform and link it to the catalogue; reserve the order by hand "
      "meanwhile.", "crossdock warehouse flagged"),
    E("XD-ORD-005", "Order not found",
      "No order with that id exists in crossdock.",
      ("a typo", "the order was not imported yet"),
      "Check the id; run an order import for the channel.",
      "crossdock sync run --channel CHANNEL --job orders"),
    E("XD-ORD-006", "Illegal order status change",
      "An order cannot move from its current status to the requested one (e.g. ship a cancelled order).",
      ("the order was cancelled on the platform",),
      "Check the order's state on the platform.", "crossdock logs trace ORDER"),
    E("XD-ORD-007", "Order cancelled after it shipped",
      "The order was cancelled on the channel after crossdock had booked its parcel and taken its units "
      "out of stock, before the shipment confirmation reached the channel; the channel refused the "
      "confirmation. The parcel is on its way to a buyer who no longer pays for it.",
      ("the buyer cancelled between label printing and the confirmation",
       "the platform cancelled the order (payment failed, fraud check)"),
      "Ask the carrier to intercept the parcel (tracking number in the trace) or expect it back as a "
      "return; when the goods are back on the shelf, restock them with `crossdock stock adjust SKU +N "
      "--warehouse WH --reason return`.",
      "crossdock warehouse flagged"),
    E("XD-ORD-008", "Order quarantined",
      "An order of an import window could not be stored, so it was set aside with the payload the "
      "platform sent and the reason; the rest of the window was imported and the import went on. The "
      "quarantined order holds no stock and is not shipped until it is stored.",
      ("a value the database refuses (the reason names it)",
       "an order status or a payload shape crossdock does not know (XD-MAP-011, XD-MAP-010)",
       "an order the platform sent inconsistent (e.g. two lines with one id)"),
      "List the quarantined orders with their reasons; fix the cause (e.g. add the status to the channel's "
      "`order_status` mapping, or upgrade crossdock), then store them again with `crossdock orders "
      "retry-quarantined`. Until then, handle the order in the seller centre.",
      "crossdock orders quarantine"),
    E("XD-ORD-009", "Order import behind",
      "The newest completed order import of the channel is several order intervals behind the platform's "
      "now (or none has completed): sales on this channel reach crossdock late, so the other channels go "
      "on showing stock that is already sold.",
      ("no worker running", "the channel is paused (see its XD-AUTH code)", "quota waits or platform "
       "errors on the order import (see the failures in `crossdock sync status`)"),
      "Find why in `crossdock sync status`; run the import by hand to see its error.",
      "crossdock sync run --job orders --channel CHANNEL"),
    E("XD-ORD-010", "Order missing from crossdock",
      "The platform lists an order, changed within the window the order import says it has read, that "
      "crossdock does not have (found by `crossdock doctor --online`, a read-only compare of the last 24 "
      "hours). Its stock was never reserved.",
      ("an order import window lost on the way (a cursor moved past it)", "the order was deleted from the "
       "database"),
      "Read the window again; the import stores what is missing and skips what is there.",
      "crossdock sync run --job orders --channel CHANNEL --since 1d"),
    E("XD-ORD-011", "Orders dropped sharply",
      "A channel's orders in the last window are far below what the same hour of the same weekday "
      "brought over the last four weeks (or, for a young shop, its rate the day before). The hint lists "
      "the likely causes crossdock checked, in order, with what it found.",
      ("the channel is paused or its authorisation failed", "the order import is behind",
       "the platform is down", "listings inactive or out of stock", "prices pushed wrong"),
      "Follow the first likely cause the hint names; `crossdock doctor --channel CHANNEL` shows them all.",
      "crossdock doctor --channel CHANNEL"),
    E("XD-ORD-012", "Cancellation refused by the channel",
      "`crossdock orders cancel` asked the channel to cancel an order and the channel no longer allows it; "
      "nothing was changed in crossdock (the order keeps its status and its reservation).",
      ("the order has shipped, or some of its lines have (partly shipped)",
       "the order is already cancelled on the channel",
       "the channel's cancellation window has closed"),
      "Check the order on the channel (the message says what it answered); a shipped order is not "
      "cancelled but returned and refunded once the goods come back.",
      "crossdock logs trace ORDER"),
    E("XD-ORD-013", "Cancellation not supported on this channel",
      "The channel's platform offers no cancellation crossdock can send, so `crossdock orders cancel` "
      "did nothing; the order keeps its status and its reservation.",
      ("a platform whose connector has no cancellation call",),
      "Cancel the order in the seller centre; the next order import sees it cancelled and releases its "
      "reservation.", "crossdock sync run --channel CHANNEL --job orders"),
    E("XD-ORD-014", "Unknown cancellation reason",
      "`crossdock orders cancel --reason` takes one of a small set of platform-neutral reasons "
      "(out_of_stock, buyer_asked, address_issue, other), each mapped to what the channel's platform "
      "calls it; this one is none of them. Nothing was sent or changed.",
      ("a typo", "a platform's own reason name (e.g. INVENTORY) instead of the neutral one"),
      "Give one of out_of_stock, buyer_asked, address_issue, other.",
      "crossdock orders cancel ORDER --reason out_of_stock"),
)
