from __future__ import annotations

import pytest

from crossdock.config import WarehouseConfig
from crossdock.errors import OrderError, WarehouseError
from crossdock.models import Money, OrderLine
from crossdock.warehouse.routing import (
    RoutingPreference,
    WarehouseSite,
    candidate_order,
    required_quantities,
    route_order,
)

SITES = [WarehouseSite("CN", "CN"), WarehouseSite("DE", "DE"), WarehouseSite("US-EAST", "US")]
FULL = {"A": 10, "B": 10}
STOCK_EVERYWHERE = {"CN": FULL, "DE": FULL, "US-EAST": FULL}


def test_same_country_warehouse_first():
    assert route_order({"A": 1}, STOCK_EVERYWHERE, SITES, "DE") == "DE"
    assert route_order({"A": 1}, STOCK_EVERYWHERE, SITES, "us") == "US-EAST"


def test_same_customs_union_next():
    # Given a buyer in France and no French warehouse, DE (EU) beats CN and US
    assert route_order({"A": 1}, STOCK_EVERYWHERE, SITES, "FR") == "DE"


def test_gb_is_not_in_the_eu_union_so_the_fallback_order_decides():
    pref = RoutingPreference(fallback=("CN", "DE"))
    assert route_order({"A": 1}, STOCK_EVERYWHERE, SITES, "GB", pref) == "CN"
    # without a fallback: the order the warehouses were given in
    assert route_order({"A": 1}, STOCK_EVERYWHERE, SITES, "GB") == "CN"
    assert route_order({"A": 1}, STOCK_EVERYWHERE, list(reversed(SITES)), "GB") == "US-EAST"


def test_only_a_warehouse_that_fills_every_line():
    # Given DE (nearest) has A but not enough B
    stock = {"CN": {"A": 5, "B": 5}, "DE": {"A": 5, "B": 1}}
    assert route_order({"A": 2, "B": 2}, stock, SITES, "DE") == "CN"


def test_configured_destination_list_beats_nearest_and_falls_through():
    pref = RoutingPreference(by_destination={"FR": ("CN",)})
    assert route_order({"A": 1}, STOCK_EVERYWHERE, SITES, "FR", pref) == "CN"
    # CN cannot fill -> the default ranking continues with DE (EU)
    stock = {**STOCK_EVERYWHERE, "CN": {"A": 0}}
    assert route_order({"A": 1}, stock, SITES, "FR", pref) == "DE"


def test_only_listed_never_tries_other_warehouses():
    pref = RoutingPreference(by_destination={"FR": ("CN",)}, only_listed=True)
    stock = {"CN": {}, "DE": FULL, "US-EAST": FULL}
    with pytest.raises(WarehouseError) as err:
        route_order({"A": 1}, stock, SITES, "FR", pref)
    assert err.value.code == "XD-WH-002"
    assert err.value.context["tried"] == ["CN"]


def test_no_warehouse_can_fill_reports_the_shortfall():
    stock = {"CN": {"A": 1}, "DE": {"B": 3}}
    with pytest.raises(WarehouseError) as err:
        route_order({"A": 2, "B": 1}, stock, SITES, "DE")
    assert err.value.code == "XD-WH-002"
    assert err.value.context["shortfall"] == {
        "DE": {"A": 2}, "CN": {"A": 1, "B": 1}, "US-EAST": {"A": 2, "B": 1},
    }
    assert "DE short of A x2" in err.value.detail


def test_lines_of_the_same_sku_add_up_and_shipped_units_do_not_count():
    lines = [
        OrderLine("1", "A", 2, Money("5", "EUR")),
        OrderLine("2", "A", 2, Money("5", "EUR")),
        OrderLine("3", "B", 3, Money("5", "EUR"), quantity_shipped=3),   # already shipped
    ]
    assert required_quantities(lines) == {"A": 4}
    stock = {"DE": {"A": 3}, "CN": {"A": 4}}
    assert route_order(lines, stock, SITES, "DE") == "CN"


def test_inactive_warehouses_are_skipped():
    sites = [WarehouseSite("DE", "DE", active=False), WarehouseSite("CN", "CN")]
    assert route_order({"A": 1}, STOCK_EVERYWHERE, sites, "DE") == "CN"
    assert route_order({"A": 1}, STOCK_EVERYWHERE, iter(sites), "DE") == "CN"     # any iterable


def test_warehouses_can_be_a_code_to_country_mapping():
    assert route_order({"A": 1}, STOCK_EVERYWHERE, {"CN": "CN", "DE": "DE"}, "AT") == "DE"


def test_unknown_warehouse_in_the_preference_is_a_config_problem():
    with pytest.raises(WarehouseError) as err:
        candidate_order(SITES, "DE", RoutingPreference(fallback=("PL",)))
    assert err.value.code == "XD-WH-001"


def test_line_without_sku_cannot_be_routed():
    with pytest.raises(OrderError) as err:
        route_order([OrderLine("1", None, 1)], STOCK_EVERYWHERE, SITES, "DE")
    assert err.value.code == "XD-ORD-004"


def test_candidate_order_explains_the_ranking():
    sites = [WarehouseSite("CN", "CN"), WarehouseSite("PL", "PL"), WarehouseSite("DE", "DE"),
             WarehouseSite("GB", "GB")]
    pref = RoutingPreference(fallback=("GB", "DE"))
    # FR buyer: no FR site; EU sites DE, PL ordered by fallback rank (DE listed, PL not); then fallback, rest
    assert candidate_order(sites, "FR", pref) == ["DE", "PL", "GB", "CN"]
    assert candidate_order(sites, None, pref) == ["GB", "DE", "CN", "PL"]


def test_preference_from_config():
    pref = RoutingPreference.from_config(
        {"fallback": ["DE", "CN"], "by_destination": {"gb": ["DE"]}, "only_listed": True})
    assert pref == RoutingPreference(by_destination={"GB": ("DE",)}, fallback=("DE", "CN"), only_listed=True)
    assert RoutingPreference.from_config(None) == RoutingPreference()


def test_warehouses_from_the_config_objects():
    configured = {"CN": WarehouseConfig("CN", "Shenzhen", "CN"), "DE": WarehouseConfig("DE", "Leipzig", "DE")}
    assert route_order({"A": 1}, STOCK_EVERYWHERE, configured, "FR") == "DE"
    assert route_order({"A": 1}, STOCK_EVERYWHERE, list(configured.values()), "CN") == "CN"
