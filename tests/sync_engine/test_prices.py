"""Price pushes against the sandbox: the channel's rule on the base price with
the stored FX rate of the platform's day lands on every platform; unchanged
prices cost no call; a SKU without an FX rate is reported and the others go;
reconcile finds and repairs a price edited on the platform; new FX rates
enqueue a price push per channel."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crossdock.db.models import OutboxEntry
from crossdock.mapping.fx_store import load_fx_file
from crossdock.sync_engine.jobs.prices import push_prices
from crossdock.sync_engine.fx_prices import reprice_after_fx
from crossdock.sync_engine.jobs import claim_and_process, reconcile
from tests.sync_engine.catalog_env import CHANNELS, catalog_env, store_rates

# the jobs run in the test's thread: a short quota wait is slept through (see the fixture)
pytestmark = pytest.mark.usefixtures("quota_waits_slept")

D = Decimal
# base 24.00 EUR (XD-0001, XD-0004) and 39.90 EUR (XD-0002, XD-0005), through each channel's rule
# (tests/sync_engine/catalog_env.py) at EUR/USD 1.0850 and EUR/GBP 0.8550:
EXPECTED = {
    # 24 x 1.085 x 1.20 = 31.248 -> charm .99;  39.90 x 1.085 x 1.20 = 51.9498 -> 51.99
    "amazon-us": {"XD-0001": D("31.99"), "XD-0002": D("51.99"), "XD-0004": D("31.99"), "XD-0005": D("51.99")},
    # 24 x 1.10 + 0.50 = 26.90;  39.90 x 1.10 + 0.50 = 44.39
    "amazon-de": {"XD-0001": D("26.90"), "XD-0002": D("44.39"), "XD-0004": D("26.90"), "XD-0005": D("44.39")},
    # 24 x 0.855 x 1.15 = 23.598 -> 23.60;  39.90 x 0.855 x 1.15 = 39.2317 -> 39.23 -> up to 0.05 = 39.25
    "ebay-uk": {"XD-0001": D("23.60"), "XD-0002": D("39.25"), "XD-0004": D("23.60"), "XD-0005": D("39.25")},
    # 24 -> charm 24.99 -> floor 25.00;  39.90 -> charm 39.99
    "shopify-eu": {"XD-0001": D("25.00"), "XD-0002": D("39.99"), "XD-0004": D("25.00"), "XD-0005": D("39.99")},
}
CURRENCY = {"amazon-us": "USD", "amazon-de": "EUR", "ebay-uk": "GBP", "shopify-eu": "EUR"}


def test_prices_land_on_every_platform_and_unchanged_prices_make_no_call(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        # Given every listing at 19.99, base prices, price rules and today's FX rates
        # When the prices are pushed on every channel
        results = {ch: push_prices(env.ctx, ch) for ch in CHANNELS}

        # Then each platform shows the computed price, and crossdock remembers it
        for ch in CHANNELS:
            assert results[ch]["pushed"] == 4 and results[ch]["rejected"] == [], results[ch]
            for sku, price in EXPECTED[ch].items():
                assert env.price(ch, sku) == price, (ch, sku)
                row = env.listing(ch, sku)
                assert (row.last_pushed_price, row.last_pushed_currency) == (price, CURRENCY[ch])
        # eBay: the three Inventory-API listings in one bulk call, the legacy one by the Trading API
        assert results["ebay-uk"]["calls"] == 2
        assert env.calls()[("ebay", "bulkUpdatePriceQuantity")] == 1

        # And XD-0003 (base price in CHF, no CHF rate) is reported with its code; nothing was sent for it
        for ch in CHANNELS:
            assert [(p["sku"], p["code"]) for p in results[ch]["problems"]] == [("XD-0003", "XD-MAP-005")]
            assert env.price(ch, "XD-0003") == D("19.99")
            assert env.listing(ch, "XD-0003").last_pushed_price == D("19.99")
        logged = env.events("prices.push", sku="XD-0003")
        assert sorted(e.channel for e in logged) == sorted(CHANNELS)
        assert {(e.outcome, e.code) for e in logged} == {("failed", "XD-MAP-005")}

        # When the prices are pushed again with nothing changed
        before = env.calls()
        again = {ch: push_prices(env.ctx, ch) for ch in CHANNELS}
        # Then no platform is called at all
        assert env.calls() == before
        assert {ch: (r["pushed"], r["unchanged"], r["calls"]) for ch, r in again.items()} == {
            ch: (0, 4, 0) for ch in CHANNELS}


def test_missing_fx_rate_is_reported_per_sku_and_the_other_skus_still_go(db, tmp_path, monkeypatch):
    # Given no EUR/USD rate at all (only EUR/GBP)
    with catalog_env(tmp_path, monkeypatch, db, rates=False) as env:
        store_rates(env.db, env.ctx.clock.now().date(), {("EUR", "GBP"): "0.8550"})
        # When the US channel and the UK channel push prices
        us = push_prices(env.ctx, "amazon-us")
        uk = push_prices(env.ctx, "ebay-uk")
    # Then every US SKU is XD-MAP-005 (a clear code, not a crash) and nothing went to Amazon US
    assert us["pushed"] == 0 and us["calls"] == 0
    assert sorted((p["sku"], p["code"]) for p in us["problems"]) == [
        (f"XD-000{i}", "XD-MAP-005") for i in range(1, 6)]
    assert "EUR→USD" in next(p for p in us["problems"] if p["sku"] == "XD-0001")["message"]
    # And on the UK channel only the CHF-priced SKU is missing its rate; the others went
    assert [(p["sku"], p["code"]) for p in uk["problems"]] == [("XD-0003", "XD-MAP-005")]
    assert uk["prices"] == {sku: {"amount": str(p), "currency": "GBP"} for sku, p in EXPECTED["ebay-uk"].items()}


def test_reconcile_reports_price_drift_and_repairs_it(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        for ch in ("ebay-uk", "amazon-de"):
            push_prices(env.ctx, ch)
        # Given a price changed by hand on eBay (crossdock still believes it pushed 23.60)
        qty = env.listed("ebay-uk")["XD-0001"]
        env.sim("ebay-uk").set_listing(env.sb_channels["ebay-uk"], "XD-0001", qty, D("5.00"))

        # When eBay is reconciled without --apply
        report = reconcile(env.ctx, "ebay-uk")
        # Then the drift is reported with the expected and the listed price; nothing is pushed
        assert report["price_drift"] == [{"sku": "XD-0001", "expected": "23.60", "currency": "GBP",
                                          "listed": "5.00", "listed_currency": "GBP"}]
        assert report["prices_repaired"] == 0 and report["drift"] == []
        assert [(p["sku"], p["code"]) for p in report["price_problems"]] == [("XD-0003", "XD-MAP-005")]
        assert env.price("ebay-uk", "XD-0001") == D("5.00")
        assert [e.code for e in env.events("reconcile", sku="XD-0001")] == ["XD-MAP-013"]

        # When it is reconciled with --apply
        repaired = reconcile(env.ctx, "ebay-uk", apply=True)
        # Then the platform shows the expected price again, and a new reconcile finds nothing
        assert repaired["prices_repaired"] == 1
        assert env.price("ebay-uk", "XD-0001") == D("23.60")
        assert reconcile(env.ctx, "ebay-uk")["price_drift"] == []
        # And an unchanged channel has no drift to report
        assert reconcile(env.ctx, "amazon-de")["price_drift"] == []


def test_loading_new_fx_rates_enqueues_a_price_push_per_channel(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        for ch in CHANNELS:
            push_prices(env.ctx, ch)
        # Given a rate file with a new EUR/GBP rate for today
        today = env.ctx.clock.now().date().isoformat()
        rates = tmp_path / "rates.csv"
        rates.write_text(f"date,base,quote,rate\n{today},EUR,GBP,0.9000\n")

        # When it is loaded (as `crossdock fx load` does)
        doc = load_fx_file(env.db, rates, on_change=reprice_after_fx(env.cfg.channels))
        # Then one prices job per channel is queued, and loading the same file again queues nothing
        assert doc["prices_enqueued"] == sorted(CHANNELS)
        assert load_fx_file(env.db, rates, on_change=reprice_after_fx(env.cfg.channels))["prices_enqueued"] == []
        with env.db.read() as s:
            queued = list(s.scalars(select(OutboxEntry).where(OutboxEntry.kind == "prices")))
        assert sorted(e.channel for e in queued) == sorted(CHANNELS)
        assert all(e.status == "pending" and ":fx:" in e.idempotency_key for e in queued)

        # When the engine runs them
        outcomes = claim_and_process(env.ctx, kinds=["prices"], limit=10)
        # Then the UK prices follow the new rate (24 x 0.90 x 1.15 = 24.84 -> 24.85), the others are unchanged
        assert outcomes == ["done"] * 4
        assert env.price("ebay-uk", "XD-0001") == D("24.85")
        assert env.price("amazon-us", "XD-0001") == D("31.99")
