from __future__ import annotations

import threading
import time
import uuid

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import TimeLimitExceeded

from crossdock.errors import ConfigError
from crossdock.runtime import InProcessWorker, make_broker
from tests.services import AMQP_URL, REDIS_URL, require_rabbitmq, require_redis


def test_unknown_broker_scheme_is_a_config_error():
    with pytest.raises(ConfigError) as exc:
        make_broker("kafka://localhost")
    assert exc.value.code == "XD-CFG-008"


def test_stub_broker_runs_actors_in_process_and_drains():
    broker = make_broker("stub://")
    assert isinstance(broker, StubBroker)
    seen: list[int] = []

    @dramatiq.actor(broker=broker, queue_name="t")
    def collect(n: int) -> None:
        seen.append(n)

    with InProcessWorker(broker, threads=2) as worker:
        for i in range(20):
            collect.send(i)
        worker.drain(timeout_ms=10_000)
    assert sorted(seen) == list(range(20))


def test_time_limit_is_armed_in_the_embedded_worker():
    # Given an actor that overruns its time limit
    broker = make_broker("stub://")
    outcome: dict[str, object] = {}

    @dramatiq.actor(broker=broker, queue_name="slow", time_limit=300, max_retries=0)
    def slow() -> None:
        try:
            for _ in range(100):
                time.sleep(0.05)
            outcome["finished"] = True
        except TimeLimitExceeded:
            outcome["interrupted"] = True
            raise

    # When it runs in the in-process worker
    with InProcessWorker(broker, threads=1) as worker:
        slow.send()
        worker.drain(timeout_ms=10_000)
    # Then TimeLimit interrupted it (it only does once process_boot was emitted)
    assert outcome == {"interrupted": True}


def _roundtrip(broker: dramatiq.Broker, queue: str) -> list[str]:
    got: list[str] = []
    done = threading.Event()

    @dramatiq.actor(broker=broker, queue_name=queue)
    def hello(word: str) -> None:
        got.append(word)
        if len(got) == 3:
            done.set()

    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        for w in ("a", "b", "c"):
            hello.send(w)
        assert done.wait(15), f"only got {got}"
    finally:
        worker.stop()
    return got


@pytest.mark.redis
def test_redis_broker_delivers_to_a_worker():
    require_redis()
    broker = make_broker(REDIS_URL, namespace=f"xd-test-{uuid.uuid4().hex[:8]}")
    queue = f"q{uuid.uuid4().hex[:8]}"
    try:
        assert sorted(_roundtrip(broker, queue)) == ["a", "b", "c"]
    finally:
        broker.flush_all()
        broker.close()


@pytest.mark.rabbitmq
def test_rabbitmq_broker_delivers_to_a_worker():
    require_rabbitmq()
    broker = make_broker(AMQP_URL)
    queue = f"xdtest{uuid.uuid4().hex[:8]}"
    try:
        assert sorted(_roundtrip(broker, queue)) == ["a", "b", "c"]
    finally:
        for q in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            try:
                broker.channel.queue_delete(q)
            except Exception:  # noqa: BLE001 - cleanup only
                pass
        broker.close()
