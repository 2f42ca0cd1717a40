"""Event fault injection (drop, delay, duplicate, reorder), planned per event
by the sandbox's faults: seeded and repeatable, and apart from API faults."""

from __future__ import annotations

from crossdock.sandbox.faults import Fault, Faults
from crossdock.sandbox.serving import parse_fault


def _plans(seed: int, *rules: Fault, n: int = 200) -> list[list[float]]:
    faults = Faults(seed)
    for rule in rules:
        faults.add(rule)
    return [faults.event_plan("amazon", "ORDER_CHANGE") for _ in range(n)]


def test_a_seeded_run_drops_duplicates_delays_and_holds_back_the_same_events_every_time():
    rules = lambda: (Fault("event_drop", "amazon", probability=0.2),                       # noqa: E731
                     Fault("event_duplicate", "amazon", probability=0.1),
                     Fault("event_delay", "amazon", "ORDER_CHANGE", probability=0.3, delay_s=20.0),
                     Fault("event_reorder", "*", probability=0.1))
    first, again = _plans(7, *rules()), _plans(7, *rules())
    assert first == again
    dropped = sum(1 for p in first if p == [])
    assert 25 <= dropped <= 55                                   # ~20 % of 200
    assert any(len(p) == 2 for p in first)                       # duplicated: two deliveries
    assert any(p and p[0] >= 20.0 for p in first)                # delayed by 20 sandbox seconds
    assert any(p and 0 < p[0] < 10.0 for p in first)             # held back, within the reorder hold
    assert _plans(8, *rules()) != first                          # another seed, another run


def test_event_faults_leave_api_calls_alone_and_api_faults_leave_events_alone():
    faults = Faults(1)
    faults.add(Fault("event_drop", "*"))
    faults.add(Fault("html_503", "amazon", "getOrders"))
    assert faults.take("amazon", "getOrders").kind == "html_503"
    assert faults.take("amazon", "getOrder") is None
    assert faults.event_plan("amazon", "ORDER_CHANGE") == []
    faults.clear()
    faults.add(Fault("html_503", "*"))
    assert faults.event_plan("shopify", "orders/create") == [0.0]
    limited = Faults(1)
    limited.add(Fault("event_drop", "ebay", count=1))
    assert limited.event_plan("ebay", "MARKETPLACE_ACCOUNT_DELETION") == []
    assert limited.event_plan("ebay", "MARKETPLACE_ACCOUNT_DELETION") == [0.0]     # count used up


def test_the_command_line_spelling_takes_an_event_topic_and_a_delay():
    assert parse_fault("event_delay:shopify:0.5:orders/create:20") == {
        "kind": "event_delay", "platform": "shopify", "probability": 0.5, "operation": "orders/create",
        "delay_s": 20.0}


def test_ebays_notifications_take_the_same_event_faults():
    """The hook eBay's delivery shares with Shopify's webhooks and Amazon's queue (Faults.event_plan)."""
    from crossdock.sandbox.core import Sandbox

    sb = Sandbox(platforms=("ebay",), seed=3)            # not started: nothing is sent, the plan is what counts
    dispatcher = sb.sims["ebay"].notifications.dispatcher
    payload = {"metadata": {"topic": "ORDER_CONFIRMATION"}, "notification": {"notificationId": "n-1"}}
    sb.faults.add(Fault("event_drop", "ebay", "ORDER_CONFIRMATION", count=1))
    sb.faults.add(Fault("event_duplicate", "ebay", "ORDER_CONFIRMATION", count=1))
    dispatcher.enqueue("http://127.0.0.1:9/hooks/ebay/x", payload, now=0.0)      # dropped
    assert dispatcher.pending() == 0 and dispatcher.stats["dropped"] == 1
    # duplicated, both held: due far past the sandbox's clock (platform time starts at today's epoch seconds,
    # so a fixed 10**9 was already past and the dispatcher's thread took one delivery while this test counted)
    held = sb.sims["ebay"].clock.timestamp() + 10**6
    dispatcher.enqueue("http://127.0.0.1:9/hooks/ebay/x", payload, now=held)
    assert dispatcher.pending() == 2 and dispatcher.stats["duplicates"] == 1
    sb.stop()
