from __future__ import annotations

from decimal import Decimal as D

import pytest

from crossdock.errors import ConfigError
from crossdock.mapping.money import (
    RoundingStyle,
    apply_rounding,
    minor_unit,
    minor_units,
    parse_rounding,
    quantize,
    quantize_money,
    to_decimal,
)
from crossdock.models import Money


@pytest.mark.parametrize(("currency", "units"), [
    ("JPY", 0), ("KRW", 0), ("USD", 2), ("EUR", 2), ("GBP", 2), ("CHF", 2),
    ("KWD", 3), ("BHD", 3), ("TND", 3), ("CLF", 4), ("eur", 2),
])
def test_minor_units_follow_iso_4217(currency, units):
    assert minor_units(currency) == units
    assert minor_unit(currency) == D(1).scaleb(-units)


def test_unknown_currency_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        minor_units("EUX")
    assert err.value.code == "XD-CFG-003"
    assert "EUX" in err.value.detail


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("2.345", "EUR", "2.35"),      # half up, not banker's rounding
    ("2.335", "EUR", "2.34"),
    ("2.344", "EUR", "2.34"),
    ("0.125", "GBP", "0.13"),
    ("1234.5", "JPY", "1235"),     # whole yen
    ("1233.4999", "JPY", "1233"),
    ("2.5", "KRW", "3"),
    ("1.2345", "KWD", "1.235"),    # three decimals
    ("-2.345", "EUR", "-2.35"),    # half up is away from zero
])
def test_quantize_rounds_half_up_to_the_minor_unit(amount, currency, expected):
    result = quantize(D(amount), currency)
    assert result == D(expected)
    assert str(result) == expected


def test_quantize_refuses_floats():
    with pytest.raises(TypeError):
        quantize(2.345, "EUR")  # type: ignore[arg-type]


def test_quantize_money_keeps_currency():
    assert quantize_money(Money(D("9.995"), "usd")) == Money(D("10.00"), "USD")


@pytest.mark.parametrize(("style", "amount", "currency", "expected"), [
    # .99 charm endings for two-decimal currencies, rounding up
    ("charm", "23.40", "EUR", "23.99"),
    ("charm", "23.99", "USD", "23.99"),     # already on the ending
    ("charm", "24.00", "GBP", "24.99"),
    ("charm", "23.994", "EUR", "23.99"),    # quantised first (half up), then charm
    ("charm", "23.995", "EUR", "24.99"),
    ("charm:0.95", "12.96", "EUR", "13.95"),
    # JPY: whole yen by default, 0 or 80 endings when configured
    ("charm", "1234.4", "JPY", "1234"),
    ("charm:80", "1234", "JPY", "1280"),
    ("charm:80", "1280", "JPY", "1280"),
    ("charm:80", "1281", "JPY", "1380"),
    ("charm:0", "1234", "JPY", "1240"),
    ("charm:0", "1230", "JPY", "1230"),
    ("charm", "15432", "KRW", "15432"),     # no default ending → nearest
    # up_to(step)
    ("up_to:0.05", "12.31", "CHF", "12.35"),
    ("up_to:0.05", "12.35", "CHF", "12.35"),
    ("up_to(0.05)", "12.351", "CHF", "12.35"),
    ("up_to:10", "1234", "JPY", "1240"),
    ("up_to(10)", "1240", "JPY", "1240"),
    ("up_to:100", "1201", "JPY", "1300"),
    ("nearest", "19.005", "USD", "19.01"),
])
def test_rounding_styles(style, amount, currency, expected):
    result = apply_rounding(D(amount), currency, style)
    assert result == D(expected)
    assert str(result) == expected  # exponent matches the currency


def test_rounding_style_objects_round_trip_their_spelling():
    assert str(parse_rounding("charm")) == "charm"
    assert str(parse_rounding("charm:80")) == "charm:80"
    assert parse_rounding("UP_TO(0.05)") == RoundingStyle.up_to("0.05")
    assert parse_rounding(" nearest ") == RoundingStyle.nearest()


@pytest.mark.parametrize("spec", ["", "round", "up_to", "nearest:2", "charm:abc", "charm:1.5",
                                  "up_to:0", "up_to:-5", 5])
def test_bad_rounding_spelling_is_a_config_error(spec):
    with pytest.raises(ConfigError) as err:
        parse_rounding(spec, where="channels.x.pricing.rounding")
    assert err.value.code == "XD-CFG-003"
    assert "channels.x.pricing.rounding" in err.value.detail or "rounding" in err.value.detail


def test_step_finer_than_the_minor_unit_is_refused():
    # Given a 0.05 step, which makes sense for CHF but not for whole yen
    style = parse_rounding("up_to:0.05")
    # When it is applied to JPY, Then the configuration is rejected instead of guessing
    with pytest.raises(ConfigError) as err:
        style.apply(D("1234"), "JPY")
    assert "JPY" in err.value.detail


def test_to_decimal_reads_config_numbers_exactly():
    assert to_decimal("1.15", where="k") == D("1.15")
    assert to_decimal(1.15, where="k") == D("1.15")   # TOML float, read through its repr
    assert to_decimal(3, where="k") == D(3)
    for bad in (True, "abc", "NaN", "Infinity", None, [1]):
        with pytest.raises(ConfigError) as err:
            to_decimal(bad, where="pricing.markup")
        assert "pricing.markup" in err.value.detail
