"""Stock the platforms hold themselves (issue 18: Amazon FBA) against the
sandbox, on SQLite and PostgreSQL: read into a location of its own per channel
(by the worker's schedule and by ``crossdock stock platform-pull``), shown by
``stock show``, never part of availability; and a SKU sold both FBM and FBA is
pushed only for its merchant-fulfilled offer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from crossdock.catalog import kits
from crossdock.catalog.listings import pull_listings
from crossdock.db.models import Product, Schedule
from crossdock.db.models_stock import PlatformStockRow
from crossdock.sync_engine import dirty, jobs, skumap
from crossdock.sync_engine import scheduler
from crossdock.sync_engine.engine import Engine, context_from_config, enqueue_unless_queued, schedule_specs
from crossdock.sync_engine.platform_stock import pull_platform_stock
from tests.catalog.env import listings_env
from tests.cli_run import crossdock

pytestmark = [pytest.mark.usefixtures("quota_waits_slept")]


def _products(env, *skus: str) -> None:
    with env.db.write() as s:
        for sku in skus:
            s.add(Product(sku=sku, title=f"Product {sku}", base_price=Decimal("10"), base_currency="EUR"))


def _held(env) -> dict[tuple[str, str], tuple]:
    with env.db.read() as s:
        return {(r.channel, r.platform_sku): (r.sku, r.fulfillable, r.inbound, r.reserved, r.unfulfillable)
                for r in s.scalars(select(PlatformStockRow))}


def test_fba_stock_is_its_own_location_and_never_available_to_sell(db, tmp_path, monkeypatch):
    with listings_env(tmp_path, monkeypatch, db) as env:
        _products(env, "MUG", "CAP")
        env.stock({"MUG": 6, "CAP": 4})
        env.put("amazon-us", "MUG", 6)
        assert pull_listings(env.ctx, ["amazon-us"])["exit_code"] == 0
        before = jobs.expected_quantities(env.ctx, "amazon-us")
        # Given FBA units of MUG (under the alias MUG-FBA) and of CAP on Amazon US
        key = env.sb_channels["amazon-us"]
        sim = env.sim("amazon-us")
        sim.set_platform_stock(key, "MUG-FBA", {"fulfillable": 40, "inbound_shipped": 12, "inbound_working": 3,
                                                "reserved": 2, "unfulfillable": 1})
        sim.set_platform_stock(key, "CAP", 9)
        with env.db.write() as s:
            kits.add_alias(s, "MUG-FBA", "MUG", channel="amazon-us")

        # When the channel's platform stock is pulled
        result = pull_platform_stock(env.ctx, "amazon-us")

        # Then each SKU is stored as the catalogue SKU it stands for, with its split
        assert result["read"] == 2 and result["fulfillable"] == 49
        assert _held(env) == {("amazon-us", "MUG-FBA"): ("MUG", 40, 15, 2, 1), ("amazon-us", "CAP"): ("CAP", 9, 0, 0, 0)}
        # and nothing of it is crossdock's to sell: availability and the push plan are unchanged
        assert jobs.expected_quantities(env.ctx, "amazon-us") == before
        # and a channel whose platform holds no stock reads nothing
        assert pull_platform_stock(env.ctx, "ebay-uk")["read"] == 0

        # When Amazon's stock changes (CAP gone, MUG sold down) and it is pulled again
        with sim.lock:
            del sim.fba[key]["CAP"]
        sim.set_platform_stock(key, "MUG-FBA", {"fulfillable": 31})
        pull_platform_stock(env.ctx, "amazon-us")
        assert _held(env) == {("amazon-us", "MUG-FBA"): ("MUG", 31, 0, 0, 0)}

        # and `stock show MUG --json` shows it as its own location beside the warehouse
        ran = crossdock("--config", str(env.config_path), "stock", "show", "MUG", "--json")
        assert ran.returncode == 0, ran.stderr
        doc = ran.doc
        assert [(r["warehouse"], r["on_hand"]) for r in doc["levels"]] == [("DE", 6)]
        [fba] = doc["platform"]
        assert (fba["location"], fba["channel"], fba["platform_sku"], fba["fulfillable"], fba["inbound"],
                fba["reserved"], fba["unfulfillable"]) == ("platform:amazon-us", "amazon-us", "MUG-FBA", 31, 0, 0, 0)
        assert dt.datetime.fromisoformat(fba["read_at"])
        table = crossdock("--config", str(env.config_path), "stock", "show", "MUG", env={"COLUMNS": "200"})
        assert table.returncode == 0 and "MUG-FBA" in table.stdout and "held by the platforms" in table.stdout


def test_the_command_pulls_every_channel_whose_platform_holds_stock(db, tmp_path, monkeypatch):
    with listings_env(tmp_path, monkeypatch, db) as env:
        env.sim("amazon-de").set_platform_stock(env.sb_channels["amazon-de"], "DE-FBA", 5)
        ran = crossdock("--config", str(env.config_path), "stock", "platform-pull", "--json")
        assert ran.returncode == 0, ran.stderr
        by = {c["channel"]: c for c in ran.doc["channels"]}
        assert set(by) == {n for n in env.cfg.channels if env.cfg.channel(n).platform == "amazon"}
        assert by["amazon-de"]["read"] == 1
        assert _held(env) == {("amazon-de", "DE-FBA"): ("DE-FBA", 5, 0, 0, 0)}
        one = crossdock("--config", str(env.config_path), "stock", "platform-pull", "ebay-uk", "--json")
        assert one.returncode == 0 and one.doc["channels"][0]["read"] == 0


def test_the_worker_schedules_the_read_for_channels_whose_platform_holds_stock(db, tmp_path, monkeypatch):
    with listings_env(tmp_path, monkeypatch, db) as env:
        specs = {s.name: s for s in schedule_specs(env.cfg) if s.job == "platform_stock"}
        assert set(specs) == {f"platform_stock:{n}" for n in env.cfg.channels}
        enabled = {n.split(":", 1)[1] for n, s in specs.items() if s.enabled}
        assert enabled == {n for n in env.cfg.channels if env.cfg.channel(n).platform == "amazon"}
        assert specs["platform_stock:amazon-us"].interval_s == 1800
        env.sim("amazon-us").set_platform_stock(env.sb_channels["amazon-us"], "US-FBA", 11)

        # When the schedules fire (as `crossdock worker`'s scheduler loop does) and a worker runs the entries
        engine = Engine(context_from_config(env.cfg, env.db))
        try:
            engine.ensure_schedules()
            with env.db.read() as s:
                assert s.get(Schedule, "platform_stock:amazon-us").enabled
                assert not s.get(Schedule, "platform_stock:ebay-uk").enabled
            fired = scheduler.fire_due(env.db, now=engine.ctx.clock.now(), enqueue_fn=enqueue_unless_queued)
            amazon = {n for n in env.cfg.channels if env.cfg.channel(n).platform == "amazon"}
            assert {f.channel for f in fired if f.job == "platform_stock"} == amazon
            outcomes = jobs.claim_and_process(engine.ctx, kinds=["platform_stock"], limit=10)
        finally:
            engine.ctx.connectors.close()
        # Then each entry is done and the FBA stock is stored
        assert outcomes and set(outcomes) == {"done"}
        assert _held(env)[("amazon-us", "US-FBA")] == ("US-FBA", 11, 0, 0, 0)


def test_a_sku_sold_fbm_and_fba_is_pushed_only_for_its_fbm_offer(db, tmp_path, monkeypatch):
    with listings_env(tmp_path, monkeypatch, db) as env:
        _products(env, "MUG", "SOLO")
        env.stock({"MUG": 50, "SOLO": 5})
        key = env.sb_channels["amazon-us"]
        sim = env.sim("amazon-us")
        # Given MUG sold FBM (listing MUG) and FBA (listing MUG-FBA, an alias), and SOLO sold only FBA
        env.put("amazon-us", "MUG", 2)
        sim.set_platform_stock(key, "MUG-FBA", 40)
        sim.set_platform_stock(key, "SOLO", 25)
        with env.db.write() as s:
            kits.add_alias(s, "MUG-FBA", "MUG", channel="amazon-us")

        # When the listings are pulled and the stock pushed
        doc = {c["channel"]: c for c in pull_listings(env.ctx, ["amazon-us"])["channels"]}["amazon-us"]
        assert [d["sku"] for d in doc["linked_new"]] == ["MUG"]
        assert sorted(d["sku"] for d in doc["platform_fulfilled"]) == ["MUG-FBA", "SOLO"]
        assert doc["conflicts"] == [] and doc["unknown"] == []
        want = jobs.expected_quantities(env.ctx, "amazon-us")
        assert set(want) == {"MUG"}
        with env.db.read() as s:      # the FBA SKU is known (the pull read Amazon's stock): never a push target
            assert skumap.ChannelSkus.of(s, "amazon-us").out("MUG") == "MUG"
            assert skumap.aliases_of(s, "amazon-us")["MUG-FBA"] == "MUG"
        worker = context_from_config(env.cfg, env.db)
        try:
            jobs.push_stock(worker, "amazon-us")
        finally:
            worker.connectors.close()

        # Then the FBM offer shows crossdock's quantity, and both FBA offers keep Amazon's
        book = sim.listings[key]
        assert (book["MUG"].fulfillment_channel, book["MUG"].quantity) == ("DEFAULT", want["MUG"])
        assert want["MUG"] > 2
        assert (book["MUG-FBA"].fulfillment_channel, book["MUG-FBA"].quantity) == ("AMAZON_NA", 40)
        assert (book["SOLO"].fulfillment_channel, book["SOLO"].quantity) == ("AMAZON_NA", 25)
        patched = {e["path"].rsplit("/", 1)[-1] for e in env.sb.requests.since(0, platform="amazon",
                                                                              operation="patchListingsItem",
                                                                              limit=10_000)}
        assert patched == {"MUG"}


def test_a_listing_moved_to_fba_leaves_the_push_plan_at_the_next_pull(db, tmp_path, monkeypatch):
    with listings_env(tmp_path, monkeypatch, db) as env:
        _products(env, "SOLO")
        env.stock({"SOLO": 50})
        key = env.sb_channels["amazon-us"]
        sim = env.sim("amazon-us")
        # Given SOLO linked as a merchant-fulfilled listing
        env.put("amazon-us", "SOLO", 3)
        pull_listings(env.ctx, ["amazon-us"])
        assert set(jobs.expected_quantities(env.ctx, "amazon-us")) == {"SOLO"}
        # When the seller moves it to FBA on Amazon (25 units sent in) and the listings are pulled again
        with sim.lock:
            sim.listings[key]["SOLO"].fulfillment_channel = "AMAZON_NA"
        sim.set_platform_stock(key, "SOLO", 25)
        doc = {c["channel"]: c for c in pull_listings(env.ctx, ["amazon-us"])["channels"]}["amazon-us"]
        assert [d["sku"] for d in doc["platform_fulfilled"]] == ["SOLO"]
        # Then its row leaves every push plan, and a push writes nothing to it
        assert jobs.expected_quantities(env.ctx, "amazon-us") == {}
        assert env.rows("amazon-us")["SOLO"].status == "inactive"
        with env.db.write() as s:
            dirty.mark_dirty(s, ["SOLO"])
        jobs.push_stock(env.ctx, "amazon-us")
        listing = sim.listings[key]["SOLO"]
        assert (listing.fulfillment_channel, listing.quantity) == ("AMAZON_NA", 25)
        assert _held(env)[("amazon-us", "SOLO")] == ("SOLO", 25, 0, 0, 0)
