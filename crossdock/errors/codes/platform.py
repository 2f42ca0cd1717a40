"""The XD-PLATFORM codes: platform rejected a request."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-PLATFORM-001", "Request rejected by the platform",
      "The platform refused the request as invalid (4xx). The platform's own code and message are in "
      "the detail.",
      ("a value the platform does not accept", "a rule the local validation does not know yet"),
      "Read the platform message in the detail, fix the data and push again.",
      "crossdock logs --code XD-PLATFORM-001"),
    E("XD-PLATFORM-002", "Resource not found on the platform",
      "The listing, offer, order or variant crossdock refers to does not exist on the platform.",
      ("the listing was deleted in the seller centre", "a stale id in the channel listing map"),
      "Re-link the SKU or run a reconcile to refresh the ids.",
      "crossdock sync reconcile CHANNEL"),
    E("XD-PLATFORM-003", "Listing rejected by platform rules",
      "The platform accepted the request but rejected the listing content (feed or listing issues).",
      ("missing required attributes", "restricted category or brand", "image too small"),
      "Read the platform issue in the detail, fix the product data and publish again.",
      "crossdock sync run --channel CHANNEL --job listings"),
    E("XD-PLATFORM-004", "Feed processing failed",
      "An Amazon feed ended FATAL or CANCELLED; none of its messages were applied.",
      ("malformed feed document", "Amazon-side processing failure"),
      "The changes are retried in a new feed; if FATAL repeats, check the processing report.",
      "crossdock logs --code XD-PLATFORM-004", retryable=True),
    E("XD-PLATFORM-005", "Stock update conflict",
      "The platform's quantity changed between read and write (Shopify CHANGE_FROM_QUANTITY_STALE); "
      "crossdock re-reads and pushes again.",
      ("a sale or manual edit at the same moment",),
      "None; it resolves on its own. If repeated, someone edits stock directly on the platform.",
      None, retryable=True),
    E("XD-PLATFORM-006", "Too many items in one call",
      "A call carried more items than the platform allows (e.g. eBay ReviseInventoryStatus > 4, error "
      "21916254).",
      ("a batch-size override above the platform's limit",),
      "Remove the batch-size override; crossdock batches to the platform limit by default.", None),
    E("XD-PLATFORM-007", "Shipment confirmation rejected",
      "The platform refused the shipment confirmation.",
      ("carrier code unknown to the platform", "order already shipped or cancelled"),
      "Check the carrier mapping and the order's state on the platform.",
      "crossdock logs trace ORDER"),
    E("XD-PLATFORM-008", "Unsupported API version",
      "The platform no longer supports the API version in use.",
      ("a Shopify API version older than 12 months",),
      "Update the channel's api_version in the configuration.", "crossdock config check"),
)
