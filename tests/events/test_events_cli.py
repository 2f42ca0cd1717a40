"""``crossdock events setup`` and ``events status`` against the sandbox: the
subscriptions are made through each platform's API, the sandbox then sends
to crossdock's endpoint, and status counts what came."""

from __future__ import annotations

import pytest

from crossdock.events.tables import EventDelivery
from tests.cli_run import crossdock
from tests.events.support import events_env, wait_for


@pytest.fixture
def env(tmp_path, monkeypatch):
    yield from events_env(tmp_path, monkeypatch)


def _cli(env, *args: str):
    path = env.ctx.cfg.path
    text = path.read_text(encoding="utf-8")
    if "[events]" not in text:
        path.write_text(text + f'\n[events]\npublic_url = "{env.base}"\n', encoding="utf-8")
    return crossdock("--config", str(path), *args, cwd=path.parent)


def test_setup_subscribes_each_platform_and_status_shows_what_came(env):
    # When both channels are set up
    shop = _cli(env, "events", "setup", "shopify-eu", "--json")
    ebay = _cli(env, "events", "setup", "ebay-uk", "--json")
    assert shop.returncode == 0, shop.stderr
    assert ebay.returncode == 0, ebay.stderr
    # Then each platform holds the subscriptions, to the endpoint its receiver names
    assert shop.doc["endpoint"] == f"{env.base}/hooks/shopify"
    assert {s["topic"] for s in shop.doc["subscriptions"]} == {"ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_PAID",
                                                              "ORDERS_CANCELLED"}
    assert {s["endpoint"] for s in shop.doc["subscriptions"]} == {f"{env.base}/hooks/shopify"}
    assert ebay.doc["endpoint"] == f"{env.base}/hooks/ebay/ebay-uk"
    assert {(s["topic"], s["status"]) for s in ebay.doc["subscriptions"]} == {
        ("ORDER_CONFIRMATION", "ENABLED"), ("MARKETPLACE_ACCOUNT_DELETION", "ENABLED")}
    # And a sale on each reaches crossdock as an event
    for name, platform in (("shopify-eu", "shopify"), ("ebay-uk", "ebay")):
        sim = env.sb.sims[platform]
        sku = sorted(s for s, q in sim.listed(env.channels[name]).items() if q > 0)[0]
        assert sim.place_order(env.channels[name], [(sku, 1)], buyer_country="DE")
    wait_for("both channels' events", lambda: {c for c in ("shopify-eu", "ebay-uk")
                                               if env.count(EventDelivery, EventDelivery.channel == c) > 0}
             == {"shopify-eu", "ebay-uk"})
    status = _cli(env, "events", "status", "--json")
    assert status.returncode == 0, status.stderr
    rows = {r["channel"]: r for r in status.doc["channels"]}
    assert set(rows) == {"shopify-eu", "ebay-uk"}           # Amazon's events come another way
    for name, subs in (("shopify-eu", 4), ("ebay-uk", 2)):
        assert rows[name]["accepted"] >= 1 and rows[name]["last_event_at"]
        assert len(rows[name]["subscriptions"]) == subs
    text = _cli(env, "events", "status", "--offline")
    assert text.returncode == 0 and "shopify-eu: last event" in text.stdout


def test_setup_refuses_a_platform_without_receiver_with_its_code(env):
    got = _cli(env, "events", "setup", "amazon-us")
    assert got.returncode != 0
    assert "XD-EVT-009" in got.stderr
