"""Waiting for quota on a real (stub) broker and worker: the message is
rescheduled with the exact wait and keeps its retries."""

from __future__ import annotations

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries

from crossdock.ratelimit import Priority, QuotaBudget, UsagePlan
from crossdock.ratelimit.backends.memory import MemoryBackend
from crossdock.ratelimit.dramatiq import QuotaWait, QuotaWaits, acquire_or_retry, install

QUOTA_WAITS = 30


@pytest.fixture
def broker():
    broker = StubBroker()
    broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    yield broker
    broker.flush_all()
    broker.close()


def make_budget(clock) -> QuotaBudget:
    # 1/s scaled 1000x: every wait is 1 ms, but the frozen clock never refills
    return QuotaBudget(MemoryBackend(clock=clock), time_scale=1000,
                       plans={("amazon", "getOrderItems"): UsagePlan(1, 1)})


def declare(broker, budget, clock, calls: list[int]):
    @dramatiq.actor(max_retries=3, broker=broker)
    def import_items(order_id: str) -> None:
        calls.append(1)
        if len(calls) == QUOTA_WAITS + 1:
            clock.advance(1.0)  # quota comes back only after 30 waits
        acquire_or_retry(budget, "amazon", "A1", "getOrderItems", priority=Priority.CRITICAL)

    return import_items


def test_thirty_quota_waits_do_not_use_up_three_retries(broker, clock):
    # Given a drained bucket on a frozen clock and an actor allowed 3 retries
    budget = make_budget(clock)
    assert budget.try_acquire("amazon", "A1", "getOrderItems", priority=Priority.CRITICAL) == 0
    install(broker)
    calls: list[int] = []
    actor = declare(broker, budget, clock, calls)
    # When the message meets an empty bucket 30 times
    message = actor.send("order-1")
    worker = dramatiq.Worker(broker, worker_timeout=10, worker_threads=1)
    worker.start()
    try:
        broker.join(actor.queue_name, timeout=20_000)
    finally:
        worker.stop()
    # Then it ran 31 times, succeeded, and never went to the dead letters
    assert len(calls) == QUOTA_WAITS + 1
    assert broker.dead_letters == []
    assert message.message_id


def test_without_the_middleware_dramatiq_counts_every_wait(broker, clock):
    budget = make_budget(clock)
    budget.try_acquire("amazon", "A1", "getOrderItems", priority=Priority.CRITICAL)
    calls: list[int] = []
    actor = declare(broker, budget, clock, calls)
    actor.send("order-1")
    worker = dramatiq.Worker(broker, worker_timeout=10, worker_threads=1)
    worker.start()
    try:
        with pytest.raises(QuotaWait):
            broker.join(actor.queue_name, timeout=20_000)
    finally:
        worker.stop()
    assert len(calls) == 4  # 1 try + max_retries=3, then dead-lettered
    assert len(broker.dead_letters) == 1


def test_quota_wait_carries_the_exact_delay(clock):
    budget = QuotaBudget(MemoryBackend(clock=clock))
    for _ in range(20):
        acquire_or_retry(budget, "amazon", "A1", "getOrders", priority=Priority.CRITICAL)
    with pytest.raises(QuotaWait) as err:
        acquire_or_retry(budget, "amazon", "A1", "getOrders", priority=Priority.CRITICAL)
    assert err.value.delay == 59_881 and err.value.grant.code == "XD-QUOTA-003"


def test_install_places_middleware_after_retries_once(broker):
    first = install(broker)
    assert install(broker) is first
    names = [type(m) for m in broker.middleware]
    assert names.index(QuotaWaits) == names.index(Retries) + 1
    with pytest.raises(ValueError):
        install(StubBroker(middleware=[]))


def test_real_failures_still_count_between_quota_waits(broker, clock):
    # Given an actor that fails twice for real, then waits for quota ten times
    budget = make_budget(clock)
    budget.try_acquire("amazon", "A1", "getOrderItems", priority=Priority.CRITICAL)
    install(broker)
    calls: list[int] = []

    @dramatiq.actor(max_retries=3, min_backoff=1, max_backoff=1, broker=broker)
    def flaky(order_id: str) -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError("platform 503")
        if len(calls) == 13:
            clock.advance(1.0)
        acquire_or_retry(budget, "amazon", "A1", "getOrderItems", priority=Priority.CRITICAL)

    flaky.send("order-1")
    worker = dramatiq.Worker(broker, worker_timeout=10, worker_threads=1)
    worker.start()
    try:
        broker.join(flaky.queue_name, timeout=20_000)
    finally:
        worker.stop()
    # Then it succeeds on the 13th run with one real retry to spare
    assert len(calls) == 13 and broker.dead_letters == []
