"""The XD-REF codes: refunds issued from crossdock (``crossdock refunds issue``)
and refunds read from the platforms (issue 18)."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-REF-001", "Refund amount not positive",
      "`crossdock refunds issue --amount` must be a positive amount in the order's currency (a decimal "
      "number such as 12.50); nothing was sent to the channel and nothing changed.",
      ("zero or a negative amount", "not a number", "more decimals than the currency has"),
      "Give the amount to refund as a positive decimal number, e.g. --amount 12.50.",
      "crossdock refunds issue ORDER --amount 12.50 --reason other"),
    E("XD-REF-002", "Refund more than the order's remaining refundable amount",
      "The amount asked is more than the order's total less what has already been refunded (by crossdock "
      "or on the platform, as crossdock last read it); nothing was sent to the channel and nothing changed.",
      ("the order was already refunded in part or in full", "a refund made on the platform that crossdock has "
       "read meanwhile", "a typo in the amount"),
      "See what was refunded with `crossdock refunds list ORDER`; refund at most the remaining amount "
      "(read the platform's refunds first with `crossdock refunds pull CHANNEL`).",
      "crossdock refunds list ORDER"),
    E("XD-REF-003", "Refund currency differs from the order's",
      "A refund is made in the currency the order was paid in; the currency given (or the one the buyer "
      "paid in, when the platform converted) is not the order's, so nothing was sent.",
      ("--currency names another currency than the order's",
       "the buyer paid in another currency than the shop's and the platform refunds in the buyer's"),
      "Give the amount in the order's currency (`crossdock refunds list ORDER` shows it); a refund in the "
      "buyer's currency is made in the seller centre.", "crossdock refunds list ORDER"),
    E("XD-REF-004", "Refund refused by the channel",
      "The channel did not take the refund; nothing was recorded in crossdock. The message says what the "
      "platform answered.",
      ("the platform's own record shows the order refunded already (a refund crossdock has not read yet)",
       "the order's payment is not captured or no longer refundable there",
       "the refund window has closed", "the order is unknown to the platform"),
      "Read the channel's refunds (`crossdock refunds pull CHANNEL`) and check the order in the seller "
      "centre; refund there if the API cannot.", "crossdock refunds pull CHANNEL"),
    E("XD-REF-005", "Refunds not supported on this channel",
      "The channel's platform offers no refund call crossdock can send, so `crossdock refunds issue` did "
      "nothing.",
      ("a platform whose connector has no refund call",),
      "Refund in the seller centre; `crossdock refunds pull CHANNEL` or the next order import reads it "
      "where the platform reports refunds.", "crossdock refunds pull CHANNEL"),
    E("XD-REF-006", "Unknown refund reason",
      "`crossdock refunds issue --reason` takes one of a small set of platform-neutral reasons "
      "(buyer_return, buyer_cancel, not_received, damaged, wrong_item, price_adjustment, other), each "
      "mapped to the platform's own; this one is none of them. Nothing was sent or changed.",
      ("a typo", "a platform's own reason name (e.g. BUYER_RETURN) instead of the neutral one"),
      "Give one of buyer_return, buyer_cancel, not_received, damaged, wrong_item, price_adjustment, other.",
      "crossdock refunds issue ORDER --amount 5.00 --reason other"),
    E("XD-REF-007", "Refund lines not on the order",
      "`--lines SKU:QTY,...` names a SKU the order has no line of, or more units than the order's line "
      "holds less those already refunded, or is not written SKU:QTY; nothing was sent or changed.",
      ("a SKU of another order", "a quantity larger than ordered", "a missing ':QTY'"),
      "Name the order's SKUs with at most their ordered units (`crossdock refunds list ORDER` shows the "
      "lines), e.g. --lines MUG-1:1,CAP-2:2.", "crossdock refunds list ORDER"),
)
