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


def test_exposure_counts_the_time_channels_together_show_more_than_is_left():
    from crossdock.demo_propagation import exposure_figures

    # Given SKU-1 with 4 units listed 2 + 2 on a and b; a sells 1 at t=100 (its listing drops with the sale,
    # a few microseconds of clock apart) and b still shows 2 until a push at t=130 lowers it to 1;
    # SKU-2 with 4 units shown 1 + 1 all along (half on sale), sold nowhere
    sales = [{"channel": "a", "sku": "SKU-1", "qty": 1, "order_id": "O-1", "at": 100.0}]
    history = {("a", "SKU-1"): [(0.0, 2), (100.00001, 1)], ("b", "SKU-1"): [(0.0, 2), (130.0, 1)],
               ("a", "SKU-2"): [(0.0, 1)], ("b", "SKU-2"): [(0.0, 1)]}
    sb = _sandbox(sales, history, {"SKU-1": 4, "SKU-2": 4})
    sb.clock = SimpleNamespace(timestamp=lambda: 200.0)
    figures = exposure_figures(sb)
    # Then nothing is over at the sale itself (3 shown, 3 left) — the sale and its listing are one instant
    assert figures["episodes"] == 0 and figures["unit_s"] == 0.0
    # When b also sells 1 at t=150, unseen, while a's listing is raised back to 2 by a push at t=140
    sales.append({"channel": "b", "sku": "SKU-1", "qty": 1, "order_id": "O-2", "at": 150.0})
    history[("a", "SKU-1")].append((140.0, 2))
    history[("b", "SKU-1")].append((150.0, 0))
    figures = exposure_figures(_with_clock(sb, 200.0))
    # Then from 140 to 150 the channels showed 3 of 3 left (fine) and after b's sale 2 of 2 (fine): no episode
    assert figures["episodes"] == 0
    # When instead a shows 3 from t=160 to t=190 (2 left): one episode of 30 s, 1 unit over
    history[("a", "SKU-1")] += [(160.0, 3), (190.0, 2)]
    figures = exposure_figures(_with_clock(sb, 200.0))
    assert (figures["episodes"], figures["p50_s"], figures["unit_s"], figures["max_units"]) == (1, 30.0, 30.0, 1)
    # and the share of stock on sale counts SKU-2's half
    assert 0.5 < figures["listed_share"] < 1.0


def _with_clock(sb, now: float):
    sb.clock = SimpleNamespace(timestamp=lambda: now)
    return sb


def test_with_disjoint_shares_a_sale_must_reach_only_a_channel_showing_more_than_is_left():
    from crossdock.cli.demo import _propagation_line
    from crossdock.demo_propagation import figures_of, left_pairs

    # Given 10 units shown 5 + 5 on a and b (the oversell guard's disjoint parts); a sells 2 at t=100
    sales = [{"channel": "a", "sku": "SKU-1", "qty": 2, "order_id": "O-1", "at": 100.0}]
    history = {("a", "SKU-1"): [(0.0, 5), (100.0, 3)], ("b", "SKU-1"): [(0.0, 5)]}
    sb = _sandbox(sales, history, {"SKU-1": 10})
    # Then b's 5 of the 8 left need not move: no pair (the share rule would wait for b to show 4, for ever)
    assert left_pairs(sb) == []
    assert propagation_figures(sb, {"a": Decimal("0.5"), "b": Decimal("0.5")})["p95"] is None
    assert "no sale had to reach" in _propagation_line({**figures_of([]), "measure": "left"})
    # When instead b showed all 10 (each channel its whole stock, no guard) and is lowered to 8 at t=125
    history[("b", "SKU-1")] = [(0.0, 10), (125.0, 8)]
    # Then the sale had to reach b, and did in 25 s
    (pair,) = left_pairs(sb)
    assert (pair["order_id"], pair["target"], pair["reached_at"], pair["withdrawn"]) == ("O-1", "b", 125.0, False)
    figures = figures_of(left_pairs(sb))
    assert (figures["p95"], figures["sales_measured"], figures["never_reached"]) == (25.0, 1, 0)
    # and a buyer's cancel before it reached b withdraws it
    sb.market.cancels.append({"channel": "a", "sku": "SKU-1", "qty": 2, "order_id": "O-1", "at": 110.0})
    assert figures_of(left_pairs(sb))["withdrawn_by_cancel"] == 1
