from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from crossdock.errors import ConfigError, MappingError
from crossdock.mapping.fx import FxRate, FxTable
from crossdock.mapping.fx_files import load_rates, load_table, parse_rates_csv, sample_rates_path
from crossdock.models import Money

JAN = lambda day: dt.date(2025, 1, day)  # noqa: E731


@pytest.fixture
def table() -> FxTable:
    return FxTable([
        FxRate("EUR", "USD", D("1.0800"), JAN(2)),
        FxRate("EUR", "USD", D("1.1000"), JAN(6)),
        FxRate("EUR", "GBP", D("0.8000"), JAN(6)),
        FxRate("USD", "JPY", D("150.00"), JAN(6)),
    ])


def test_direct_rate_is_the_latest_on_or_before_the_day(table):
    assert table.rate("EUR", "USD", JAN(2)) == D("1.0800")
    assert table.rate("EUR", "USD", JAN(5)) == D("1.0800")   # 6 Jan rate not valid yet
    assert table.rate("EUR", "USD", JAN(6)) == D("1.1000")
    assert table.rate("EUR", "USD", JAN(30)) == D("1.1000")


def test_inverse_rate(table):
    quote = table.resolve("USD", "EUR", JAN(6))
    assert quote.how == "inverse"
    assert quote.rate == D(1) / D("1.1000")
    assert (quote.rate * D("1.1000")).quantize(D("1E-20")) == 1


def test_cross_rate_through_the_pivot(table):
    # Given EUR/GBP and EUR/USD only, When asking GBP→USD, Then it goes through EUR
    quote = table.resolve("GBP", "USD", JAN(6))
    assert quote.how == "cross"
    assert quote.path == ("GBP", "EUR", "USD")
    assert quote.rate.quantize(D("0.000001")) == D("1.375000")   # 1.10 / 0.80


def test_cross_through_the_second_pivot(table):
    # EUR→JPY: no EUR/JPY rate, but EUR/USD and USD/JPY → through USD: 1.10 × 150
    quote = table.resolve("EUR", "JPY", JAN(6))
    assert quote.path == ("EUR", "USD", "JPY")
    assert quote.rate == D("165.0000")


def test_a_cross_uses_one_pivot_only(table):
    # GBP→JPY would need two hops (GBP→EUR→USD→JPY): not attempted, reported missing
    with pytest.raises(MappingError) as err:
        table.rate("GBP", "JPY", JAN(6))
    assert err.value.code == "XD-MAP-005"


def test_same_currency_is_one(table):
    assert table.rate("EUR", "eur", JAN(1)) == 1


def test_missing_pair_names_pair_and_day(table):
    with pytest.raises(MappingError) as err:
        table.rate("EUR", "CHF", JAN(6))
    assert err.value.code == "XD-MAP-005"
    assert "EUR→CHF" in err.value.detail and "2025-01-06" in err.value.detail


def test_missing_when_every_rate_is_after_the_day(table):
    with pytest.raises(MappingError) as err:
        table.rate("EUR", "USD", dt.date(2024, 12, 31))
    assert err.value.code == "XD-MAP-005"
    assert "earliest rate for the pair is from 2025-01-02" in err.value.detail


def test_stale_rate(table):
    assert table.rate("EUR", "USD", JAN(13), max_age_days=7) == D("1.1000")
    with pytest.raises(MappingError) as err:
        table.rate("EUR", "USD", JAN(14), max_age_days=7)
    assert err.value.code == "XD-MAP-006"
    assert err.value.context["valid_on"] == "2025-01-06"


def test_stale_cross_uses_the_oldest_leg():
    table = FxTable([FxRate("EUR", "GBP", D("0.8"), JAN(1)), FxRate("EUR", "USD", D("1.1"), JAN(9))])
    quote = table.resolve("GBP", "USD", JAN(10))
    assert quote.valid_on == JAN(1)
    with pytest.raises(MappingError) as err:
        table.resolve("GBP", "USD", JAN(10), max_age_days=5)
    assert err.value.code == "XD-MAP-006"


def test_freshest_route_wins():
    # Given an old direct GBP/USD rate and fresh legs through EUR
    table = FxTable([
        FxRate("GBP", "USD", D("1.20"), JAN(1)),
        FxRate("EUR", "GBP", D("0.80"), JAN(9)),
        FxRate("EUR", "USD", D("1.10"), JAN(9)),
    ])
    # When asking on 10 Jan, Then the cross (newer) beats the stale direct rate
    assert table.resolve("GBP", "USD", JAN(10)).how == "cross"
    # And on 5 Jan only the direct rate exists
    assert table.resolve("GBP", "USD", JAN(5)).rate == D("1.20")


def test_newer_inverse_beats_older_direct():
    table = FxTable([FxRate("EUR", "USD", D("1.10"), JAN(1)), FxRate("USD", "EUR", D("0.80"), JAN(5))])
    assert table.rate("EUR", "USD", JAN(6)) == D("1.25")


def test_adding_the_same_day_replaces(table):
    table.add(FxRate("EUR", "USD", D("1.2000"), JAN(6)))
    assert table.rate("EUR", "USD", JAN(6)) == D("1.2000")
    assert len(table) == 4


def test_convert_keeps_full_precision(table):
    assert table.convert(Money(D("10"), "EUR"), "USD", JAN(6)) == Money(D("11.0000"), "USD")


def test_rates_refuse_floats_and_nonsense():
    with pytest.raises(TypeError):
        FxRate("EUR", "USD", 1.1, JAN(1))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FxRate("EUR", "USD", D("0"), JAN(1))
    with pytest.raises(ValueError):
        FxRate("EUR", "EUR", D("1"), JAN(1))
    with pytest.raises(ValueError):
        FxRate("EUR", "XXX", D("1"), JAN(1))


# ------------------------------------------------------------------ rate files
def test_sample_file_is_labelled_and_loads():
    path = sample_rates_path()
    text = path.read_text()
    assert "SAMPLE" in text and "NOT market data" in text
    table = load_table(path)
    assert {("EUR", "USD"), ("EUR", "GBP"), ("EUR", "JPY"), ("USD", "JPY")} <= set(table.pairs())
    assert all(r.source == "sample" for r in table)
    assert table.rate("GBP", "JPY", dt.date(2025, 1, 10), max_age_days=3) > 0


def test_csv_loader(tmp_path):
    f = tmp_path / "rates.csv"
    f.write_text("# comment\ndate,base,quote,rate\n2025-01-06,eur,USD,1.0934\n\n"
                 "2025-01-07,EUR,USD,1.1\n")
    rates = load_rates(f)
    assert rates == [FxRate("EUR", "USD", D("1.0934"), JAN(6)), FxRate("EUR", "USD", D("1.1"), JAN(7))]


@pytest.mark.parametrize(("body", "line", "words"), [
    ("date,base,quote,rate\n2025-01-06,EUR,USD,1.09\n2025-13-01,EUR,USD,1.1\n", 3, "YYYY-MM-DD"),
    ("date,base,quote,rate\n2025-01-06,EUR,USD,abc\n", 2, "not a number"),
    ("date,base,quote,rate\n2025-01-06,EUR,USD,-1\n", 2, "positive"),
    ("date,base,quote,rate\n2025-01-06,EUR,USD,0\n", 2, "positive"),
    ("date,base,quote,rate\n2025-01-06,EUR,XYZ,1.1\n", 2, "quote 'XYZ'"),
    ("date,base,quote,rate\n2025-01-06,EUR,EUR,1\n", 2, "both EUR"),
    ("date,base,quote,rate\n2025-01-06,EUR,USD\n", 2, "expected 4 fields"),
    ("date,base,quote,rate\n2025-01-06,EUR,USD,\n", 2, "missing rate"),
    ("day,from,to,rate\n2025-01-06,EUR,USD,1.1\n", 1, "header"),
    ("# only a comment\n2025-01-06,EUR,USD,1.1\n", 2, "header"),
    ("date,base,quote,rate\n2025-01-06,EUR,USD,1.1\n2025-01-06,EUR,USD,1.2\n", 3, "twice"),
    ("date,base,quote,rate\n2025/01/06,EUR,USD,1.1\n", 2, "YYYY-MM-DD"),
])
def test_csv_errors_name_file_and_line(tmp_path, body, line, words):
    f = tmp_path / "bad.csv"
    f.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_rates(f)
    e = err.value
    assert e.code == "XD-CFG-009"
    assert f"{f}, line {line}" in e.detail
    assert words in e.detail
    assert e.context["file"] == str(f) and e.context["line"] == line
    assert "nothing was loaded" in e.detail


def test_csv_reports_every_bad_row_and_loads_nothing(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("date,base,quote,rate\n2025-01-06,EUR,USD,1.09\n2025-01-07,EUR,USD,x\n"
                 "2025-01-08,EUR,GBP,0.8\n2025-01-09,EUR,QQQ,1\n")
    with pytest.raises(ConfigError) as err:
        load_table(f)
    assert [p["line"] for p in err.value.context["problems"]] == [3, 5]
    assert "(and 1 more)" in err.value.detail


def test_identical_duplicate_rows_are_harmless():
    rates = parse_rates_csv("date,base,quote,rate\n2025-01-06,EUR,USD,1.1\n2025-01-06,EUR,USD,1.10\n")
    assert len(rates) == 2 and len(FxTable(rates)) == 1


def test_empty_or_headerless_files_fail(tmp_path):
    for body in ("", "date,base,quote,rate\n"):
        f = tmp_path / "empty.csv"
        f.write_text(body)
        with pytest.raises(ConfigError) as err:
            load_rates(f)
        assert err.value.code == "XD-CFG-009"


def test_toml_loader(tmp_path):
    f = tmp_path / "rates.toml"
    f.write_text('[[rates]]\ndate = 2025-01-06\nbase = "EUR"\nquote = "USD"\nrate = 1.0934\n\n'
                 '[[rates]]\ndate = "2025-01-07"\nbase = "EUR"\nquote = "JPY"\nrate = "163.5"\n'
                 'source = "ECB reference, copied by hand"\n')
    rates = load_rates(f)
    assert rates[0] == FxRate("EUR", "USD", D("1.0934"), JAN(6))   # TOML float read exactly
    assert rates[1].source == "ECB reference, copied by hand"


def test_toml_bad_entry_names_its_line(tmp_path):
    f = tmp_path / "rates.toml"
    f.write_text('[[rates]]\ndate = 2025-01-06\nbase = "EUR"\nquote = "USD"\nrate = 1.09\n\n'
                 '[[rates]]\ndate = 2025-01-07\nbase = "EUR"\nquote = "USD"\nrate = -2\n')
    with pytest.raises(ConfigError) as err:
        load_rates(f)
    assert f"{f}, line 7" in err.value.detail


def test_toml_syntax_error_names_its_line(tmp_path):
    f = tmp_path / "rates.toml"
    f.write_text('[[rates]]\ndate = 2025-01-06\nbase = "EUR\n')
    with pytest.raises(ConfigError) as err:
        load_rates(f)
    assert err.value.code == "XD-CFG-009" and "line 3" in err.value.detail


def test_json_loader_and_bad_entry_line(tmp_path):
    good = tmp_path / "rates.json"
    good.write_text('{"rates": [\n  {"date": "2025-01-06", "base": "EUR", "quote": "USD", '
                    '"rate": 1.0934}\n]}')
    assert load_rates(good) == [FxRate("EUR", "USD", D("1.0934"), JAN(6))]
    bad = tmp_path / "bad.json"
    bad.write_text('[\n {"date": "2025-01-06", "base": "EUR", "quote": "USD", "rate": "1.09"},\n'
                   ' {"date": "2025-01-07",\n  "base": "EUR", "quote": "USD", "rate": "1.1",'
                   ' "note": "x"}\n]')
    with pytest.raises(ConfigError) as err:
        load_rates(bad)
    assert f"{bad}, line 3" in err.value.detail and "note" in err.value.detail


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_rates(tmp_path / "rates.xlsx")
    assert ".csv, .toml or .json" in err.value.detail
    with pytest.raises(ConfigError) as err:
        load_rates(tmp_path / "nowhere.csv")
    assert "not found" in err.value.detail


# ------------------------------------------------------------------ what cannot be stored, and the future
@pytest.mark.parametrize(("rate", "words"), [
    ("1e30", "too large"), ("10000000000", "too large"), ("inf", "positive"), ("-inf", "positive"),
    ("nan", "positive"), ("-11.2", "positive"), ("0", "positive"), ("0.000000001", "is 0 at the 8 decimals"),
])
def test_a_rate_that_cannot_be_stored_is_a_bad_row_with_its_line(rate, words):
    with pytest.raises(ConfigError) as err:
        parse_rates_csv(f"date,base,quote,rate\n2025-01-06,EUR,USD,1.1\n2025-01-06,EUR,GBP,{rate}\n", path="r.csv")
    assert err.value.code == "XD-CFG-009" and "r.csv, line 3" in err.value.detail and words in err.value.detail


def test_the_largest_and_smallest_storable_rates_are_accepted():
    rates = parse_rates_csv("date,base,quote,rate\n2025-01-06,EUR,USD,9999999999.99999999\n"
                            "2025-01-06,EUR,GBP,0.000000005\n")
    assert [r.rate for r in rates] == [D("9999999999.99999999"), D("0.000000005")]   # the second rounds up to 1e-8


def test_every_unstorable_rate_of_a_file_is_listed(tmp_path):
    f = tmp_path / "rates.toml"
    f.write_text('[[rates]]\ndate = 2025-01-06\nbase = "EUR"\nquote = "USD"\nrate = 1e30\n\n'
                 '[[rates]]\ndate = 2025-01-06\nbase = "EUR"\nquote = "GBP"\nrate = inf\n\n'
                 '[[rates]]\ndate = 2025-01-06\nbase = "EUR"\nquote = "JPY"\nrate = nan\n')
    with pytest.raises(ConfigError) as err:
        load_rates(f)
    assert [p["line"] for p in err.value.context["problems"]] == [1, 7, 13]


def test_with_a_latest_day_a_rate_dated_after_it_is_xd_map_014_and_that_day_is_fine(tmp_path):
    f = tmp_path / "rates.csv"
    f.write_text("date,base,quote,rate\n2025-01-06,EUR,USD,1.1\n2025-01-07,EUR,GBP,0.8\n2025-02-07,EUR,JPY,160\n")
    assert len(load_rates(f)) == 3                                  # no latest day: a plain parse
    with pytest.raises(ConfigError) as err:
        load_rates(f, latest=JAN(6))
    assert [(p["line"], p.get("code")) for p in err.value.context["problems"]] == [
        (3, "XD-MAP-014"), (4, "XD-MAP-014")]
    assert "[XD-MAP-014]" in err.value.detail and "2025-01-07" in err.value.detail
    assert len(load_rates(f, latest=dt.date(2025, 2, 7))) == 3
