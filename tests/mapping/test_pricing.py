from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from crossdock.errors import ConfigError, MappingError
from crossdock.mapping.fx import FxRate, FxTable
from crossdock.mapping.pricing import (
    PriceRule,
    compute_price,
    money_from_config,
    price_breakdown,
    price_rule_from_config,
)
from crossdock.models import Money

ON = dt.date(2025, 3, 5)


@pytest.fixture
def fx() -> FxTable:
    day = dt.date(2025, 3, 3)
    return FxTable([
        FxRate("EUR", "USD", D("1.0800"), day),
        FxRate("EUR", "GBP", D("0.8400"), day),
        FxRate("USD", "JPY", D("150.37"), day),
        FxRate("EUR", "CHF", D("0.9500"), day),
    ])


def usd(amount: str) -> Money:
    return Money(D(amount), "USD")


def test_usd_base_to_eur_with_markup_and_charm(fx):
    # Given a 20 USD base price and a 15 % markup with .99 endings
    rule = PriceRule(markup=D("1.15"), rounding="charm")
    # When priced for a EUR marketplace
    b = price_breakdown(usd("20.00"), "EUR", rule, fx, ON)
    # Then 20 / 1.08 × 1.15 = 21.2963 → 21.99 EUR
    assert b.fx.how == "inverse"
    assert b.marked_up.quantize(D("0.0001")) == D("21.2963")
    assert b.price == Money(D("21.99"), "EUR")
    assert str(b.price.amount) == "21.99"
    # And with plain rounding it would be 21.30
    assert compute_price(usd("20.00"), "EUR", PriceRule(markup=D("1.15")), fx, ON) == Money(D("21.30"), "EUR")


def test_surcharge_is_added_after_markup(fx):
    rule = PriceRule(markup=D("1.15"), add=Money(D("1.50"), "EUR"), rounding="charm")
    assert compute_price(usd("20.00"), "EUR", rule, fx, ON).amount == D("22.99")   # 22.796 → 22.99


def test_surcharge_in_another_currency_is_converted(fx):
    # 1.08 USD = 1 EUR added to a 10 EUR price on a EUR channel
    rule = PriceRule(add=usd("1.08"))
    assert compute_price(Money(D("10"), "EUR"), "EUR", rule, fx, ON).amount == D("11.00")


@pytest.mark.parametrize(("rounding", "expected"), [
    ("nearest", "3308"),      # 20 × 150.37 × 1.10 = 3308.14 → whole yen
    ("charm", "3308"),        # no default JPY ending → whole yen
    ("up_to:10", "3310"),
    ("charm:80", "3380"),
    ("charm:0", "3310"),
])
def test_jpy_is_whole_yen(fx, rounding, expected):
    price = compute_price(usd("20.00"), "JPY", PriceRule(markup=D("1.10"), rounding=rounding), fx, ON)
    assert price == Money(D(expected), "JPY")
    assert str(price.amount) == expected   # no decimals at all


def test_cross_rate_pricing(fx):
    # EUR → JPY through USD: 10 × 1.08 × 150.37 = 1623.996 → 1624
    b = price_breakdown(Money(D("10.00"), "EUR"), "JPY", PriceRule(), fx, ON)
    assert b.fx.path == ("EUR", "USD", "JPY")
    assert b.price == Money(D("1624"), "JPY")


def test_same_currency_needs_no_rate():
    price = compute_price(Money(D("10"), "GBP"), "GBP", PriceRule(markup=D("1.2")), FxTable(), ON)
    assert price == Money(D("12.00"), "GBP")


def test_floor_lifts_a_low_price(fx):
    rule = PriceRule(floor=Money(D("4.99"), "EUR"))
    b = price_breakdown(usd("1.00"), "EUR", rule, fx, ON)
    assert b.rounded == D("0.93")
    assert b.price == Money(D("4.99"), "EUR") and b.clamped_by == "floor"


def test_ceiling_caps_and_wins_over_charm(fx):
    rule = PriceRule(rounding="charm", ceiling=Money(D("500"), "EUR"))
    b = price_breakdown(usd("540.00"), "EUR", rule, fx, ON)
    assert b.rounded == D("500.99")             # 540 / 1.08 = 500.00 → charm
    assert b.price == Money(D("500.00"), "EUR") and b.clamped_by == "ceiling"


def test_ceiling_in_another_currency_is_converted(fx):
    rule = PriceRule(ceiling=Money(D("400"), "GBP"))
    assert compute_price(usd("1000"), "EUR", rule, fx, ON).amount == D("476.19")   # 400 / 0.84


def test_price_that_rounds_to_zero_is_refused(fx):
    rule = PriceRule(markup=D("0.1"))
    with pytest.raises(MappingError) as err:
        compute_price(usd("0.01"), "EUR", rule, fx, ON, sku="SKU-1")
    assert err.value.code == "XD-MAP-003"
    assert err.value.entity == "sku SKU-1"


@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_zero_or_negative_base_is_refused_even_with_a_floor(fx, amount):
    rule = PriceRule(floor=Money(D("9.99"), "EUR"))
    with pytest.raises(MappingError) as err:
        compute_price(usd(amount), "EUR", rule, fx, ON)
    assert err.value.code == "XD-MAP-003"


def test_stale_and_missing_rates_propagate(fx):
    with pytest.raises(MappingError) as err:
        compute_price(usd("10"), "EUR", PriceRule(fx_max_age_days=7), fx, dt.date(2025, 3, 20))
    assert err.value.code == "XD-MAP-006"
    # no age limit → any age is accepted
    assert compute_price(usd("10"), "EUR", PriceRule(fx_max_age_days=None), fx,
                         dt.date(2025, 3, 20)).amount == D("9.26")
    with pytest.raises(MappingError) as err:
        compute_price(usd("10"), "SEK", PriceRule(), fx, ON)
    assert err.value.code == "XD-MAP-005"


def test_rounding_per_currency(fx):
    rule = price_rule_from_config(
        {"markup": "1.0", "rounding": {"default": "charm", "JPY": "up_to:100", "CHF": "up_to:0.05"}},
        where="pricing")
    assert compute_price(usd("20"), "EUR", rule, fx, ON).amount == D("18.99")      # 18.52 → charm
    assert compute_price(usd("20"), "JPY", rule, fx, ON).amount == D("3100")       # 3007.4 → 100s
    assert compute_price(Money(D("10.01"), "EUR"), "CHF", rule, fx, ON).amount == D("9.55")  # 9.5095


def test_breakdown_is_serialisable(fx):
    d = price_breakdown(usd("20.00"), "EUR", PriceRule(rounding="charm"), fx, ON).to_dict()
    assert d["price"] == {"amount": "18.99", "currency": "EUR"}
    assert d["fx"]["valid_on"] == "2025-03-03" and d["rounding"] == "charm"


# ------------------------------------------------------------------ configuration
def test_rule_from_config_reads_every_key(fx):
    rule = price_rule_from_config({
        "markup": 1.18,                       # TOML float: read as exactly 1.18
        "add": "1.50 EUR",
        "rounding": "charm",
        "floor": {"amount": "9.99", "currency": "EUR"},
        "ceiling": "EUR 499",
        "fx_max_age_days": 3,
    }, where="channels.amazon-de.pricing")
    assert rule.markup == D("1.18")
    assert rule.add == Money(D("1.50"), "EUR")
    assert rule.floor == Money(D("9.99"), "EUR") and rule.ceiling == Money(D("499"), "EUR")
    assert rule.fx_max_age_days == 3
    assert price_rule_from_config(None, where="x") == PriceRule()


@pytest.mark.parametrize(("conf", "key"), [
    ({"markup": "abc"}, "channels.amazon-de.pricing.markup"),
    ({"markup": 0}, "channels.amazon-de.pricing.markup"),
    ({"markup": True}, "channels.amazon-de.pricing.markup"),
    ({"add": "1.50"}, "channels.amazon-de.pricing.add"),
    ({"floor": {"amount": "1"}}, "channels.amazon-de.pricing.floor"),
    ({"ceiling": "10 EUX"}, "channels.amazon-de.pricing.ceiling"),
    ({"rounding": "fancy"}, "channels.amazon-de.pricing.rounding"),
    ({"rounding": {"JPY": "up_to:0.05"}}, "channels.amazon-de.pricing.rounding.JPY"),
    ({"fx_max_age_days": -1}, "channels.amazon-de.pricing.fx_max_age_days"),
    ({"fx_max_age_days": "7"}, "channels.amazon-de.pricing.fx_max_age_days"),
    ({"mark_up": "1.1"}, "channels.amazon-de.pricing.mark_up"),
    ({"floor": "10 EUR", "ceiling": "5 EUR"}, "channels.amazon-de.pricing"),
])
def test_bad_config_names_the_key(conf, key):
    with pytest.raises(ConfigError) as err:
        price_rule_from_config(conf, where="channels.amazon-de.pricing")
    assert err.value.code == "XD-CFG-003"
    assert key in err.value.detail


def test_money_from_config_spellings():
    assert money_from_config("2.50 gbp", where="k") == Money(D("2.50"), "GBP")
    assert money_from_config("JPY 300", where="k") == Money(D("300"), "JPY")
    with pytest.raises(ConfigError):
        money_from_config(2.5, where="k")


def test_rule_refuses_float_markup():
    with pytest.raises(TypeError):
        PriceRule(markup=1.1)  # type: ignore[arg-type]
