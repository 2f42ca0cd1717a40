"""The XD-WH codes: warehouse operations."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-WH-001", "Unknown warehouse",
      "A command names a warehouse that is not configured.",
      ("a typo",), "Use a warehouse from the configuration.", "crossdock config show"),
    E("XD-WH-002", "No warehouse can fill the order",
      "No single warehouse has enough stock for every line of the order.",
      ("stock split across warehouses",),
      "Transfer stock or receive more, then route again.", "crossdock stock show"),
    E("XD-WH-003", "Bad stock file",
      "A stock import file has a row crossdock cannot read; nothing from the file was applied.",
      ("a missing column", "a non-numeric quantity"),
      "Fix the row named in the message and import again.", "crossdock stock import FILE.csv"),
    E("XD-WH-004", "Unknown bin",
      "A stock movement names a bin that does not exist in the warehouse.",
      ("a typo",), "Use an existing bin or create it.", None),
    E("XD-WH-005", "Stock quantity out of range",
      "A quantity, a change or the on-hand figure it would lead to is beyond 2,147,483,647 units, the most "
      "crossdock stores for one SKU in one warehouse; nothing was changed.",
      ("a typo (extra digits, a barcode pasted into the quantity column)", "a spreadsheet formula gone wrong"),
      "Correct the quantity and run the command again.", "crossdock stock show SKU"),
    E("XD-WH-006", "SKU counted twice in a stock file",
      "A stock file gives a counted quantity (on_hand) for a SKU in a warehouse and has another row for the "
      "same SKU and warehouse (a second count, or a delta), so which figure is right is ambiguous; nothing from "
      "the file was applied. Several delta rows for one SKU are fine: they add up, each with its reason.",
      ("two count sheets of one shelf pasted into one file", "a count row copied twice",
       "a count and a receipt of the same SKU in one file"),
      "Keep one count per SKU and warehouse (or put the receipt in a separate file, imported after the "
      "count), then import again.",
      "crossdock stock import FILE.csv"),
)
