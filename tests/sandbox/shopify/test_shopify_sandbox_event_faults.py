"""The sandbox's event faults on Shopify's webhooks: a dropped, a duplicated
and a held-back delivery (the same faults Amazon's queue and eBay's
notifications take)."""

from __future__ import annotations

from crossdock.sandbox.faults import Fault
from tests.sandbox.shopify.shopify_box import CHANNEL


def _fault(box, **rule) -> None:
    assert box.sim.sandbox.faults.add(Fault(**rule)).id


def test_a_dropped_webhook_never_arrives_and_the_next_one_does(box, receiver):
    _fault(box, kind="event_drop", platform="shopify", operation="orders/create", count=1)
    box.sim.subscribe("crossdock-eu", "orders/create", receiver.url)
    box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    second = box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    got = receiver.wait_for(2, timeout_s=0.6)
    assert len(got) == 1 and f'"id":{second},' in got[0][1].decode()
    assert box.sim.webhooks.stats["fault_dropped"] == 1


def test_a_duplicated_webhook_arrives_twice_with_one_webhook_id(box, receiver):
    _fault(box, kind="event_duplicate", platform="shopify", operation="orders/create", count=1)
    box.sim.subscribe("crossdock-eu", "orders/create", receiver.url)
    box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    got = receiver.wait_for(2)
    assert len(got) == 2 and got[0][0]["X-Shopify-Webhook-Id"] == got[1][0]["X-Shopify-Webhook-Id"]
    assert got[0][1] == got[1][1]


def test_a_held_back_webhook_is_overtaken_by_the_next(box, receiver):
    _fault(box, kind="event_reorder", platform="shopify", operation="orders/create", delay_s=30.0)
    box.sim.subscribe("crossdock-eu", "orders/create", receiver.url)
    box.sim.subscribe("crossdock-eu", "orders/paid", receiver.url)
    box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    got = receiver.wait_for(2)
    assert [h["X-Shopify-Topic"] for h, _ in got] == ["orders/paid", "orders/create"]
