"""The SQS consumer of `crossdock worker`, end to end against the in-process
sandbox: an Amazon sale → ORDER_CHANGE on the seller's queue → the consumer
→ the targeted read → the order stored, the message deleted; duplicates
stored once; an unreadable message dead-lettered, recorded once; receive and
intake failures leave the message on the queue. boto3 unmodified, the real
database, the sandbox's real SQS endpoint."""

from __future__ import annotations

import threading
import time

import boto3
import pytest
from sqlalchemy import select

from crossdock.db.engine import Database
from crossdock.db.models import Order
from crossdock.errors import EventError
from crossdock.demo import DemoOptions
from crossdock.events import READ
from crossdock.events.queue_consumer import QueueConsumer, bindings
from crossdock.events.tables import EventDelivery
from crossdock.sandbox.core import Fault, Sandbox
from crossdock.secrets import SecretRef
from crossdock.sync_engine import dirty
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs import claim_and_process
from tests.sync_engine.support import demo_env

SCALE = 60          # visibility 30 sandbox s = 0.5 real s


@pytest.fixture
def env(tmp_path, monkeypatch):
    """The demo's channels on a sandbox; the US Amazon channel's events configured (queue from the
    sandbox, AWS keys as secrets) and its seller subscribed to ORDER_CHANGE through the connector."""
    opts = DemoOptions(skus=4, time_scale=SCALE, seed=11, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        name = next(n for n, key in channels.items() if key.startswith("amazon:") and key.endswith(":ATVPDKIKX0DER"))
        seller = channels[name].split(":")[1]
        acct = next(a for a in sb.describe()["amazon"]["accounts"] if a["seller_id"] == seller)
        aws = sb.describe()["sqs"]
        monkeypatch.setenv("XD_TEST_AWS_KEY_ID", aws["access_key_id"])
        monkeypatch.setenv("XD_TEST_AWS_SECRET", aws["secret_access_key"])
        ch = cfg.channels[name]
        ch.options.update(events_queue_url=acct["notifications_queue"]["url"], events_region=aws["region"],
                          events_endpoint_url=aws["endpoint_url"], events_wait_s=1)
        ch.secrets.update(aws_access_key_id=SecretRef(env="XD_TEST_AWS_KEY_ID", where="test"),
                          aws_secret_access_key=SecretRef(env="XD_TEST_AWS_SECRET", where="test"))
        monkeypatch.setattr(sb.sims["amazon"], "pending_s", 3600.0)     # one notification per sale here
        ctx = context_from_config(cfg, db)
        try:
            yield sb, cfg, ctx, name, channels[name], acct["notifications_queue"]
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
            db.dispose()


def _subscribed(env) -> None:
    """The seller subscribed through the connector contract (`crossdock events setup`), twice: the
    second run finds what the first made."""
    sb, cfg, ctx, name, _, queue = env
    conn = ctx.connectors.get(name)
    assert conn.event_subscriptions() == []
    subs = conn.setup_events(endpoint="", secret="")
    assert [(s["topic"], s["status"], s["endpoint"]) for s in subs] == [("ORDER_CHANGE", "ENABLED", queue["arn"])]
    assert conn.setup_events(endpoint="", secret="") == subs
    state = sb.sims["amazon"].notifications
    assert len(state.destinations) == 1 and len(state.subscriptions) == 1


def _consumer(env, **kw) -> QueueConsumer:
    sb, cfg, ctx, *_ = env
    (binding,) = bindings(cfg)
    return QueueConsumer(kw.pop("db", ctx.db), binding, stop=kw.pop("stop", threading.Event()), wait_s=1, **kw)


def _sell(env) -> str:
    sb, _, _, _, key, _ = env
    sim = sb.sims["amazon"]
    sku = sorted(s for s, q in sim.listed(key).items() if q > 0)[0]
    oid = sim.place_order(key, [(sku, 1)], buyer_country="US")
    assert oid
    return oid


def _queue(env, suffix: str = "") -> list[dict]:
    sb, *_, queue = env
    return sb.sqs.queues.bodies(sb.sqs.queues.by_url(queue["url"] + suffix))


def _stored(ctx, oid: str) -> int:
    with ctx.db.read() as s:
        return len(s.execute(select(Order.id).where(Order.platform_order_id == oid)).all())


def test_an_amazon_sale_reaches_the_store_through_the_queue_and_the_message_is_deleted(env):
    sb, cfg, ctx, name, *_ = env
    _subscribed(env)
    consumer = _consumer(env)
    # Given a sale on Amazon that no poll has seen (getOrders would show it two minutes late)
    oid = _sell(env)
    # When the consumer reads the queue and the read job runs
    assert consumer.poll_once() == 1
    assert consumer.counts == {"accepted": 1, "deleted": 1}
    assert claim_and_process(ctx, kinds=[READ], limit=5) == ["done"]
    # Then the order is stored (by getOrder, now) and the message is gone from the queue
    assert _stored(ctx, oid) == 1
    assert _queue(env) == []
    with ctx.db.read() as s:
        row = s.execute(select(EventDelivery.channel, EventDelivery.source, EventDelivery.topic,
                               EventDelivery.outcome)).one()
    assert tuple(row) == (name, "amazon", "ORDER_CHANGE", "accepted")


def test_a_notification_delivered_twice_is_stored_once(env):
    sb, cfg, ctx, *_ = env
    _subscribed(env)
    sb.faults.add(Fault("event_duplicate", "amazon", "ORDER_CHANGE", count=1))
    oid = _sell(env)
    consumer = _consumer(env)
    while consumer.poll_once():
        pass
    assert consumer.counts == {"accepted": 1, "duplicate": 1, "deleted": 2}
    claim_and_process(ctx, kinds=[READ], limit=5)
    assert _stored(ctx, oid) == 1 and _queue(env) == []


def test_an_unreadable_message_is_recorded_once_and_dead_lettered(env):
    sb, cfg, ctx, *_ , queue = env
    aws = sb.describe()["sqs"]
    sqs = boto3.client("sqs", endpoint_url=aws["endpoint_url"], region_name=aws["region"],
                       aws_access_key_id=aws["access_key_id"], aws_secret_access_key=aws["secret_access_key"])
    sqs.send_message(QueueUrl=queue["url"], MessageBody='{"NotificationType": "ORDER_CHANGE", "Payload": {}}')
    consumer = _consumer(env)
    deadline = time.monotonic() + 10
    while _queue(env, "-dlq") == []:        # received maxReceiveCount (3) times, then moved by the redrive
        assert time.monotonic() < deadline, "the message never reached the dead-letter queue"
        consumer.poll_once()
    assert consumer.counts["refused"] == 3 and consumer.counts["deleted"] == 0
    assert _queue(env) == [] and len(_queue(env, "-dlq")) == 1
    with ctx.db.read() as s:
        refused = s.execute(select(EventDelivery.code, EventDelivery.outcome)).all()
    assert [tuple(r) for r in refused] == [("XD-EVT-004", "refused")]


def test_a_failed_intake_leaves_the_message_and_a_refused_receive_is_xd_evt_020(env, tmp_path):
    sb, cfg, ctx, *_ = env
    _subscribed(env)
    _sell(env)
    broken = Database(f"sqlite:///{tmp_path}/never-migrated.sqlite")     # the intake's tables are missing
    consumer = _consumer(env, db=broken)
    assert consumer.poll_once() == 1 and consumer.counts == {"failed": 1}
    assert len(_queue(env)) == 1                       # still there: it comes back after its visibility
    # a wrong secret: the receive is refused, said with its code, and the thread goes on
    (binding,) = bindings(cfg)
    bad = boto3.client("sqs", endpoint_url=binding.access.endpoint_url, region_name="us-east-1",
                       aws_access_key_id=binding.access.access_key_id, aws_secret_access_key="x" * 40)
    errors: list = []
    stop = threading.Event()
    stop.set()                                          # no pause before the next try
    failing = QueueConsumer(ctx.db, binding, stop=stop, wait_s=1, client=bad, on_error=errors.append)
    assert failing.poll_once() == 0
    assert [e.code for e in errors] == ["XD-EVT-011"] and "SignatureDoesNotMatch" in errors[0].detail


def test_the_consumer_thread_stops_when_the_worker_stops(env):
    stop = threading.Event()
    consumer = _consumer(env, stop=stop).start()
    time.sleep(0.2)
    started = time.monotonic()
    stop.set()
    consumer.join(timeout_s=5)
    assert consumer.thread is not None and not consumer.thread.is_alive()
    assert time.monotonic() - started < 4.0              # at most one long poll (1 s here), on a busy host


def test_events_setup_needs_the_queue_configured(env):
    sb, cfg, ctx, name, key, _ = env
    other = next(n for n, ch in cfg.channels.items() if ch.platform == "amazon" and n != name)
    with pytest.raises(EventError) as err:
        ctx.connectors.get(other).setup_events(endpoint="", secret="")
    assert err.value.code == "XD-EVT-009" and "events_queue_url" in err.value.detail


def test_in_the_worker_runtime_a_sale_is_read_through_the_queue_and_the_threads_stop_with_it(env):
    """The engine runtime as `crossdock worker` runs it (actors, relay, the queue consumer as a companion
    thread), in-process: no test code runs a job."""
    from crossdock.db.models import OutboxEntry
    from crossdock.events.queue_consumer import start_consumers
    from crossdock.sync_engine.runtime import EngineRuntime

    sb, cfg, ctx, *_ = env
    _subscribed(env)
    runtime = EngineRuntime(cfg, db=ctx.db, threads=2,
                            companions=lambda c, d, stop: list(start_consumers(c, d, stop=stop))).start()
    try:
        assert len(runtime.consumers) == 1
        oid = _sell(env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with ctx.db.read() as s:
                done = s.execute(select(OutboxEntry.id).where(OutboxEntry.kind == READ,
                                                              OutboxEntry.status == "done")).first()
            if done is not None and _stored(ctx, oid) == 1:
                break
            time.sleep(0.05)
        assert done is not None and _stored(ctx, oid) == 1
        assert _queue(env) == [] and runtime.consumers[0].counts["deleted"] == 1
    finally:
        runtime.stop()
    assert not runtime.consumers[0].thread.is_alive()


def test_queue_status_counts_waiting_in_flight_and_dead_lettered_messages(env):
    from crossdock.events.queue_consumer import queue_status

    sb, cfg, ctx, name, _, queue = env
    _subscribed(env)
    (binding,) = bindings(cfg)
    assert queue_status(binding) == {"queue": queue["url"], "source": "amazon", "channels": [name], "waiting": 0,
                                     "in_flight": 0, "dead_lettered": 0}
    _sell(env)
    _sell(env)
    dlq = sb.sqs.queues.by_url(queue["dead_letter_url"])
    sb.sqs.queues.send(dlq, "an unreadable message, dead-lettered earlier")
    status = queue_status(binding)
    assert (status["waiting"], status["in_flight"], status["dead_lettered"]) == (2, 0, 1)
    broken = bindings(cfg)[0]
    bad = boto3.client("sqs", endpoint_url=broken.access.endpoint_url, region_name="us-east-1",
                       aws_access_key_id=broken.access.access_key_id, aws_secret_access_key="x" * 40)
    assert queue_status(broken, client=bad)["error"]["code"] == "XD-EVT-011"


def test_events_setup_and_status_take_a_channel_whose_events_come_on_a_queue(env):
    """`crossdock events setup` / `events status` (their documents): an Amazon channel with a queue needs no
    [events] public_url; its endpoint is the queue, and status shows the queue's counts."""
    from crossdock import secrets
    from crossdock.events.setup import setup_doc, status_doc

    sb, cfg, ctx, name, _, queue = env
    doc = setup_doc(ctx, name, secret_key=secrets.keys()[0])
    assert (doc["platform"], doc["endpoint"]) == ("amazon", queue["arn"])
    assert [s["topic"] for s in doc["subscriptions"]] == ["ORDER_CHANGE"]
    _sell(env)
    rows = {r["channel"]: r for r in status_doc(ctx, secret_key=secrets.keys()[0])["channels"]}
    row = rows[name]
    assert row["endpoint"] == queue["url"] and row["queue"]["waiting"] == 1
    assert [s["status"] for s in row["subscriptions"]] == ["ENABLED"]
    other = next(n for n, ch in cfg.channels.items() if ch.platform == "amazon" and n != name)
    assert other not in rows                                  # no queue configured: no events


def test_an_sqs_outage_is_survived_and_the_message_read_when_it_ends(env):
    """Three 503s (boto3's own retries use them all) make one failed receive, XD-EVT-011; the next
    receive gets the message."""
    sb, cfg, ctx, *_ = env
    _subscribed(env)
    oid = _sell(env)
    sb.faults.add(Fault("html_503", "sqs", "ReceiveMessage", count=3))
    errors: list = []
    stop = threading.Event()
    stop.set()                                          # no pause between the tries here
    consumer = _consumer(env, stop=stop, on_error=errors.append)
    assert consumer.poll_once() == 0
    assert [e.code for e in errors] == ["XD-EVT-011"] and "ServiceUnavailable" in errors[0].detail
    assert consumer.poll_once() == 1 and consumer.counts["accepted"] == 1
    claim_and_process(ctx, kinds=[READ], limit=5)
    assert _stored(ctx, oid) == 1
