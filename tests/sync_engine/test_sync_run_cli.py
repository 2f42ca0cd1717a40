"""``crossdock sync run`` as a user runs it (the real entry point, in-process,
against the sandbox): ``--json`` prints one JSON document; prices, orders with
a shared Amazon poll, orders ``--since`` without moving the cursor, and a bad
``--job``."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from crossdock.sync_engine import cursors
from tests.cli_run import Ran, crossdock
from tests.sync_engine.catalog_env import CHANNELS, catalog_env


def _cli(env, *args: str) -> Ran:
    return crossdock("--config", str(env.config_path), *args, env={**env.env, "CROSSDOCK_DATABASE_URL": None})


def _run(env, *args: str) -> tuple[int, dict]:
    proc = _cli(env, *args)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"stdout is not one JSON document (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def _positions(env) -> dict[str, object]:
    with env.db.read() as s:
        return {ch: (c.position if (c := cursors.get_cursor(s, ch, "orders")) else None) for ch in CHANNELS}


def test_sync_run_prices_and_orders_print_one_json_document(sqlite_db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        # When prices are pushed from the command line
        rc, doc = _run(env, "sync", "run", "--job", "prices", "--json")
        # Then stdout is one JSON document with every channel's outcome; XD-0003 (no CHF rate)
        # makes it a partial success (exit 4)
        assert rc == 4 and doc["exit"] == 4 and doc["job"] == "prices" and doc["failed"] == []
        assert sorted(doc["channels"]) == sorted(CHANNELS)
        channels = doc["channels"]
        assert channels["ebay-uk"]["prices"]["XD-0001"] == {"amount": "23.60", "currency": "GBP"}
        assert all(channels[ch]["outcome"] == "partial" and channels[ch]["pushed"] == 4
                   and channels[ch]["problems"][0]["code"] == "XD-MAP-005" for ch in CHANNELS)
        assert env.price("amazon-us", "XD-0002") == Decimal("51.99")

        # When a price is changed on Shopify by hand and the channel is reconciled
        qty = env.listed("shopify-eu")["XD-0002"]
        env.sim("shopify-eu").set_listing(env.sb_channels["shopify-eu"], "XD-0002", qty, Decimal("35.00"))
        rc, doc = _run(env, "sync", "reconcile", "shopify-eu", "--json")
        # Then the drift is in the document and the exit status says "partial"
        assert rc == 4 and doc["price_drift"] == [{"sku": "XD-0002", "expected": "39.99", "currency": "EUR",
                                                   "listed": "35.00", "listed_currency": "EUR"}]
        # ... the text report names it, and --apply puts the price back
        text = _cli(env, "sync", "reconcile", "shopify-eu")
        assert "XD-0002: price expected 39.99 EUR, listed 35.00 EUR" in text.stdout
        rc, doc = _run(env, "sync", "reconcile", "shopify-eu", "--apply", "--json")
        assert rc == 0 and doc["prices_repaired"] == 1 and env.price("shopify-eu", "XD-0002") == Decimal("39.99")

        # When orders are imported for every channel
        rc, doc = _run(env, "sync", "run", "--job", "orders", "--json")
        # Then Amazon US was read by Amazon DE's call (one seller) and is not read again
        assert rc == 0 and doc["exit"] == 0
        assert doc["channels"]["amazon-de"]["channels"] == ["amazon-de", "amazon-us"]
        assert doc["channels"]["amazon-us"] == {"outcome": "skipped", "note": "imported with amazon-de in this run"}
        assert "read" in doc["channels"]["ebay-uk"] and "read" in doc["channels"]["shopify-eu"]
        moved = _positions(env)
        assert all(moved[ch] is not None for ch in CHANNELS)

        # When orders are read again from two hours back
        rc, doc = _run(env, "sync", "run", "--job", "orders", "--since", "2h", "--channel", "ebay-uk", "--json")
        # Then that window is read once and the cursor stays where it was
        ebay = doc["channels"]["ebay-uk"]
        assert rc == 0 and ebay["outcome"] == "ok" and ebay["cursor"] == "unchanged" and ebay["windows"] == 1
        assert _positions(env) == moved
        assert env.events("orders.backfill", channel="ebay-uk")

        # And an unknown job, or --since with another job, is a usage error naming the jobs
        rc, doc = _run(env, "sync", "run", "--job", "refunds", "--json")
        assert rc == 2 and doc["error"]["code"] == "XD-CFG-009" and "listings" in doc["error"]["detail"]
        rc, doc = _run(env, "sync", "run", "--job", "prices", "--since", "2h", "--json")
        assert rc == 2 and doc["error"]["code"] == "XD-CFG-009"
