from __future__ import annotations

from decimal import Decimal as D

import pytest

from crossdock.errors import ConfigError
from crossdock.mapping.inventory_rules import (
    ChannelStockRule,
    available_to_sell,
    listed_quantity,
    stock_rule_from_config,
)


@pytest.mark.parametrize(("on_hand", "reserved", "safety", "expected"), [
    (10, 3, 2, 5),
    (10, 0, 0, 10),
    (5, 5, 0, 0),
    (5, 7, 0, 0),       # over-reserved never goes negative
    (-3, 0, 0, 0),      # a miscount below zero shows nothing
    (4, 1, 5, 0),
])
def test_available_to_sell(on_hand, reserved, safety, expected):
    assert available_to_sell(on_hand, reserved, safety) == expected


def test_available_to_sell_refuses_nonsense():
    with pytest.raises(ValueError):
        available_to_sell(10, -1)
    with pytest.raises(TypeError):
        available_to_sell(10.0, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(("available", "rule", "expected"), [
    (10, ChannelStockRule(), 10),
    (10, ChannelStockRule(buffer=2), 8),
    (10, ChannelStockRule(buffer=15), 0),
    (10, ChannelStockRule(max_listed=5), 5),
    (3, ChannelStockRule(max_listed=5), 3),
    (10, ChannelStockRule(share=D("0.5")), 5),
    (9, ChannelStockRule(share=D("0.5")), 4),          # floor, never round up into overselling
    (1, ChannelStockRule(share=D("0.5")), 0),
    (10, ChannelStockRule(buffer=2, share=D("0.5"), max_listed=3), 3),
    (10, ChannelStockRule(buffer=2, share=D("0.3")), 2),   # 8 × 0.3 = 2.4 → 2
    (0, ChannelStockRule(share=D("1"), max_listed=100), 0),  # zero stays zero
    (-4, ChannelStockRule(), 0),
    (10, ChannelStockRule(max_listed=0), 0),
    (10, ChannelStockRule(share=D("0")), 0),
])
def test_listed_quantity(available, rule, expected):
    assert listed_quantity(available, rule) == expected


def test_listed_quantity_never_exceeds_available():
    # Given every combination of small rules, Then the channel never shows more than is there
    for available in range(0, 30):
        for buffer in (0, 1, 5):
            for share in (D("0"), D("0.33"), D("0.5"), D("1")):
                for cap in (None, 0, 4):
                    n = listed_quantity(available, ChannelStockRule(buffer, cap, share))
                    assert 0 <= n <= available
                    if cap is not None:
                        assert n <= cap


def test_rule_from_config():
    rule = stock_rule_from_config({"buffer": 2, "max_listed": 50, "share": 0.5}, where="s")
    assert rule == ChannelStockRule(buffer=2, max_listed=50, share=D("0.5"))
    assert stock_rule_from_config(None, where="s") == ChannelStockRule()


@pytest.mark.parametrize(("conf", "key"), [
    ({"buffer": -1}, "channels.ebay-us.stock.buffer"),
    ({"buffer": "2"}, "channels.ebay-us.stock.buffer"),
    ({"max_listed": 2.5}, "channels.ebay-us.stock.max_listed"),
    ({"share": "1.5"}, "channels.ebay-us.stock.share"),
    ({"share": "half"}, "channels.ebay-us.stock.share"),
    ({"bufer": 1}, "channels.ebay-us.stock.bufer"),
])
def test_bad_rule_config_names_the_key(conf, key):
    with pytest.raises(ConfigError) as err:
        stock_rule_from_config(conf, where="channels.ebay-us.stock")
    assert err.value.code == "XD-CFG-003" and key in err.value.detail


def test_rule_validates_direct_construction():
    with pytest.raises(ConfigError):
        ChannelStockRule(buffer=-1)
    with pytest.raises(ConfigError):
        ChannelStockRule(share=D("2"))
    with pytest.raises(TypeError):
        ChannelStockRule(share=0.5)  # type: ignore[arg-type]
