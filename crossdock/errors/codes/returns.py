"""The XD-RMA codes: returns (RMAs) opened, received and read from the platforms."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-RMA-001", "Unreadable return lines",
      "`crossdock returns open --lines` takes SKU:QTY pairs separated by commas, each SKU one of the "
      "order's lines and each quantity a whole number above 0; this one is not. Nothing was opened.",
      ("a typo", "a SKU the order does not have", "a quantity of 0 or a missing colon"),
      "Give the order's SKUs as they appear in `crossdock logs trace ORDER`, e.g. --lines MUG:1,TEE:2.",
      "crossdock returns open ORDER --lines SKU:QTY --reason damaged"),
    E("XD-RMA-002", "More units returned than shipped",
      "A return may only take units of a line that left the warehouse and are not already on another "
      "return of the order; this one asks for more. Nothing was opened or changed.",
      ("the order (or this line) has not shipped yet", "the units are already on an earlier RMA",
       "a quantity typed too high"),
      "Check the order's shipped units and its RMAs; open the return for what is left, or cancel an unshipped "
      "order instead.", "crossdock returns list --json"),
    E("XD-RMA-003", "Unknown return reason",
      "`--reason` takes one of a small set of platform-neutral reasons (damaged, defective, not_as_described, "
      "wrong_item, unwanted, size_fit, other), each mapped to what the channel's platform calls it; this one is "
      "none of them. Nothing was sent or changed.",
      ("a typo", "a platform's own reason name instead of the neutral one"),
      "Give one of damaged, defective, not_as_described, wrong_item, unwanted, size_fit, other.",
      "crossdock returns open ORDER --lines SKU:QTY --reason damaged"),
    E("XD-RMA-004", "Return not found",
      "No return (RMA) with that id exists in crossdock.",
      ("a typo", "a return opened on the platform that was not read yet"),
      "Check the id in `crossdock returns list`; read the platforms' returns with `crossdock returns pull`.",
      "crossdock returns pull"),
    E("XD-RMA-005", "Return already received or closed",
      "Only an open return can be received; this one was received already (its units went back to stock or "
      "were written off then) or was closed on the platform. Nothing changed.",
      ("the return was received twice", "the buyer or the platform closed the return"),
      "Look at the return with `crossdock returns show RMA`; correct stock with `crossdock stock adjust` if the "
      "earlier receipt was wrong.", "crossdock returns show RMA"),
    E("XD-RMA-006", "Platform refused the return",
      "The channel's platform did not take the return or its receipt (the order is not eligible, a return is "
      "already open for those items, the return is closed there). crossdock changed nothing; the refusal is on "
      "the order's chain.",
      ("the return window has passed", "the items are already on a return on the platform",
       "the return was closed or cancelled on the platform"),
      "Read the platform's answer in the trace; handle the return in the seller centre, then `crossdock returns "
      "pull` reads it.", "crossdock logs trace ORDER"),
    E("XD-RMA-007", "Unreadable receipt",
      "`crossdock returns receive` needs --restock or --write-off for the whole return, or --restock / "
      "--write-off with the return's SKUs (SKU or SKU:QTY) so every returned unit is one or the other. Nothing "
      "changed.",
      ("neither option given", "both given for the whole return", "a SKU that is not on the return",
       "units left without a decision"),
      "Give --restock (back to stock) or --write-off (damaged, not sellable), or both with the SKUs each takes.",
      "crossdock returns receive RMA --restock"),
    E("XD-RMA-008", "Return of an order crossdock does not hold",
      "A return read from the platform belongs to an order crossdock has not imported (older than the order "
      "import's reach, or placed outside the channel's window); it was skipped and is read again next time.",
      ("an order placed before crossdock was connected", "the order import is behind"),
      "Import the order (or let the order job catch up); the next `crossdock returns pull` stores the return.",
      "crossdock sync run --channel CHANNEL --job orders"),
    E("XD-RMA-009", "Return of an order the platform fulfils",
      "The order was shipped by the platform from its own warehouse (Amazon FBA): its returns go back there and "
      "the platform handles them; crossdock's stock never held those units, so it opens no RMA for them. Nothing "
      "changed.",
      ("an Amazon-fulfilled (AFN) order",),
      "Handle the return in the platform's seller centre; the units reappear in its own stock location "
      "(`crossdock stock show`).", "crossdock stock show SKU"),
)
