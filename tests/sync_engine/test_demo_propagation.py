"""The demo's propagation figures count changes a channel never showed.

A change not shown by the end of the run is longer than any measured delay:
leaving it out made the percentiles look fast exactly when propagation failed."""

from __future__ import annotations

import threading
from decimal import Decimal
from types import SimpleNamespace

from crossdock.demo_propagation import propagation_figures


def _sandbox(sales, history, stock):
    market = SimpleNamespace(lock=threading.Lock(), sales=sales, cancels=[], listed_history=history,
                             catalogue={sku: SimpleNamespace(physical_stock=n) for sku, n in stock.items()})
    return SimpleNamespace(market=market)


def test_a_change_never_shown_counts_beyond_every_measured_delay():
    # Given three SKUs of 10 units shared half and half by channels a and b, each sold 2 on a:
    # b shows the lower figure 30 s later for SKU-1, 10 s later for SKU-3, never for SKU-2
    sales = [{"channel": "a", "sku": sku, "qty": 2, "order_id": f"O-{sku}", "at": 100.0}
             for sku in ("SKU-1", "SKU-2", "SKU-3")]
    history = {("b", "SKU-1"): [(0.0, 5), (130.0, 4)], ("b", "SKU-2"): [(0.0, 5)],
               ("b", "SKU-3"): [(0.0, 5), (110.0, 4)],
               **{("a", sku): [(0.0, 5), (100.0, 3)] for sku in ("SKU-1", "SKU-2", "SKU-3")}}
    figures = propagation_figures(_sandbox(sales, history, {"SKU-1": 10, "SKU-2": 10, "SKU-3": 10}),
                                  {"a": Decimal("0.5"), "b": Decimal("0.5")})
    # Then the median is measured (10, 30, never → 30) and the 95th percentile is beyond the run
    assert (figures["p50"], figures["p95"]) == (30.0, None)
    assert (figures["sales_measured"], figures["never_reached"]) == (2, 1)
    assert figures["by_target"]["b"] == {"p50": 30.0, "p95": None, "n": 3}
