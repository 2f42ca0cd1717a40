"""The Dramatiq broker, from a URL, and the in-process worker.

``stub://`` (the embedded default) runs actors in worker threads inside the CLI
command that needs them: :class:`InProcessWorker` starts them, drains them and
stops them. ``redis://…`` and ``amqp://…`` are for scale-out: ``crossdock
worker`` processes consume from them on any number of machines. Messages are
only wake-ups; durable state is in the database (outbox, cursors, schedules).

Dramatiq's TimeLimit middleware arms its watchdog thread only when
``process_boot`` is emitted, which its own CLI does but an embedded worker does
not — :class:`InProcessWorker` emits it (once per broker).
"""

from __future__ import annotations

import logging
import os
import weakref
from urllib.parse import urlsplit

import dramatiq
from dramatiq.brokers.stub import StubBroker

from crossdock.errors import ConfigError

log = logging.getLogger(__name__)

_current_url: str | None = None
#: Brokers that have emitted ``process_boot`` (once each, however many workers start on them).
_booted: weakref.WeakSet[dramatiq.Broker] = weakref.WeakSet()

#: Redis key namespace of the broker (default "crossdock"): several installations
#: or test runs share one Redis without seeing each other's messages.
ENV_BROKER_NAMESPACE = "CROSSDOCK_BROKER_NAMESPACE"


def make_broker(url: str, *, namespace: str | None = None) -> dramatiq.Broker:
    """``namespace`` separates Redis keys (tests, several installations on one
    Redis); default: ``$CROSSDOCK_BROKER_NAMESPACE``, else "crossdock"."""
    scheme = urlsplit(url).scheme
    if scheme == "stub":
        broker: dramatiq.Broker = StubBroker()
    elif scheme in ("redis", "rediss"):
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url, namespace=namespace or os.environ.get(ENV_BROKER_NAMESPACE) or "crossdock")
    elif scheme in ("amqp", "amqps"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    else:
        raise ConfigError("XD-CFG-008", detail=f"broker URL scheme {scheme!r}: use stub://, redis://… or amqp://…")
    return broker


def setup_broker(url: str) -> dramatiq.Broker:
    """Make the broker for ``url`` the global one (actors bind to it when their
    module is imported, so call this before importing actor modules)."""
    global _current_url
    broker = make_broker(url)
    dramatiq.set_broker(broker)
    _current_url = url
    return broker


def broker_url() -> str | None:
    return _current_url


class InProcessWorker:
    """Worker threads inside this process (embedded default and tests)."""

    def __init__(self, broker: dramatiq.Broker, *, threads: int = 4, queues: set[str] | None = None) -> None:
        self.broker = broker
        self.worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100, queues=queues)
        # Take only as many messages as there are threads to run them (dramatiq's default takes
        # twice as many): a wake-up held by a process whose threads are all busy waits there while
        # another process's threads are idle.
        self.worker.queue_prefetch = threads

    def start(self) -> "InProcessWorker":
        if self.broker not in _booted:
            # what dramatiq's CLI does in each worker process: arms TimeLimit's watchdog
            self.broker.emit_after("process_boot")
            _booted.add(self.broker)
        self.worker.start()
        return self

    def drain(self, *, timeout_ms: int | None = None) -> None:
        """Wait until every queue is empty and every message processed."""
        if isinstance(self.broker, StubBroker):
            for queue in list(self.broker.queues):
                self.broker.join(queue, timeout=timeout_ms, fail_fast=False)
        self.worker.join()

    def stop(self, *, timeout_ms: int = 600_000) -> None:
        """Stop consuming; running messages get up to ``timeout_ms`` to finish."""
        self.worker.stop(timeout=timeout_ms)

    def __enter__(self) -> "InProcessWorker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
