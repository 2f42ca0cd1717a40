"""Events read from a message queue (SQS), in ``crossdock worker``.

For each queue the platforms' ``event_queues`` name for the configured
channels (:mod:`crossdock.connectors.event_queue`; Amazon's SP-API
notifications), one thread long-polls the queue with boto3 and hands every
message to the events intake, so the order it names is read at once through
the polling path. The rules, in order:

- the platform's reader turns the body into deliveries; a body it cannot
  read is refused with its code (XD-EVT-004 unreadable, XD-EVT-003 no such
  channel) — recorded on its first receive only — and *not* deleted: the
  queue's redrive policy moves it to the dead-letter queue after
  maxReceiveCount receives. A queue without one (XD-EVT-012, warned once)
  would hand it back for ever, so there it is deleted after recording;
- :func:`~crossdock.events.intake.accept` records each delivery (deduped by
  the platform's id: Amazon's NotificationId) and enqueues the read in one
  transaction; only after it committed is the message deleted. If the
  intake fails (the database is down) the message is left alone: it comes
  back after its visibility timeout, and after maxReceiveCount failures the
  redrive takes it — polling imports the order meanwhile;
- nothing a message or the queue does stops the thread: receive errors are
  XD-EVT-011, logged with a growing pause (1 s … 60 s); the thread ends when
  the worker stops (SIGTERM), after the long poll in progress returns (at
  most ``events_wait_s``), with the messages in hand handled first.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from crossdock.config import Config
from crossdock.connectors.event_queue import QueueBinding
from crossdock.db.engine import Database
from crossdock.errors import EventError
from crossdock.events.intake import accept, refuse
from crossdock.platforms import registry

log = logging.getLogger(__name__)

__all__ = ["QueueConsumer", "bindings", "queue_status", "start_consumers"]

MAX_PAUSE_S = 60.0


def bindings(cfg: Config) -> list[QueueBinding]:
    """The queues to read for ``cfg``'s channels, from every platform that has queue events."""
    out: list[QueueBinding] = []
    for spec in registry.platforms():
        if spec.event_queues is None:
            continue
        channels = {name: spec.settings(ch) for name, ch in sorted(cfg.channels.items()) if ch.platform == spec.name}
        if channels:
            out.extend(spec.event_queues(channels))
    return out


def sqs_client(binding: QueueBinding, *, wait_s: int) -> Any:
    """A boto3 SQS client for the binding's queue; its read timeout outlasts a long poll."""
    a = binding.access
    return boto3.client("sqs", region_name=a.region, endpoint_url=a.endpoint_url,
                        aws_access_key_id=a.access_key_id, aws_secret_access_key=a.secret_access_key,
                        config=BotoConfig(connect_timeout=5, read_timeout=wait_s + 10,
                                          retries={"mode": "standard", "total_max_attempts": 3}))


class QueueConsumer:
    """One queue's reader thread (see the module doc). ``counts``: what it
    did with the messages it received (accepted, duplicate, refused, failed,
    deleted), for tests and status."""

    def __init__(self, db: Database, binding: QueueBinding, *, stop: threading.Event,
                 wait_s: int = 20, client: Any = None,
                 on_error: Callable[[EventError], None] | None = None) -> None:
        self.db = db
        self.binding = binding
        self.reader = binding.reader
        self.url = binding.access.url
        self.stop = stop
        self.wait_s = wait_s
        self.client = client if client is not None else sqs_client(binding, wait_s=wait_s)
        self.on_error = on_error
        self.counts: Counter[str] = Counter()
        self.redrive: bool | None = None      # does the queue dead-letter? (read on the first round)
        self.thread: threading.Thread | None = None
        self._pause_s = 0.0

    # ------------------------------------------------------------------ thread
    def start(self) -> "QueueConsumer":
        self.thread = threading.Thread(target=self.run, name=f"crossdock-events-{self.reader.source}",
                                       daemon=True)
        self.thread.start()
        return self

    def join(self, timeout_s: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout_s)

    def run(self) -> None:
        log.info("events: reading %s's queue %s for %s", self.reader.source, self.url,
                 ", ".join(self.reader.channels))
        while not self.stop.is_set():
            self.poll_once()
        log.info("events: stopped reading %s", self.url)

    def poll_once(self) -> int:
        """One long poll and the messages it brought; returns how many. Never raises."""
        try:
            if self.redrive is None:
                self.redrive = self._has_redrive()
            got = self.client.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=self.wait_s,
                                              MessageSystemAttributeNames=["ApproximateReceiveCount"])
        except (BotoCoreError, ClientError) as exc:
            self._failed(exc)
            return 0
        self._pause_s = 0.0
        messages = got.get("Messages") or []
        for message in messages:
            try:
                self.counts[self.handle(message)] += 1
            except Exception:  # the thread must outlive any message
                log.exception("events: message %s of %s not handled", message.get("MessageId"), self.url)
                self.counts["failed"] += 1
        return len(messages)

    # ------------------------------------------------------------------ one message
    def handle(self, message: Mapping[str, Any]) -> str:
        """What became of one message: accepted, duplicate, refused or failed."""
        message_id = str(message.get("MessageId") or "")
        receives = int((message.get("Attributes") or {}).get("ApproximateReceiveCount") or 1)
        try:
            deliveries = self.reader.read(str(message.get("Body") or ""))
        except EventError as exc:
            if receives <= 1 or not self.redrive:
                refuse(self.db, source=self.reader.source, code=exc.code, channel=exc.channel, topic="sqs",
                       ref=message_id, detail=exc.detail)
            if not self.redrive:
                self._delete(message)
            else:
                log.info("events: message %s of %s unreadable (%s), receive %d: left for the dead-letter queue",
                         message_id, self.url, exc.code, receives)
            return "refused"
        outcome = "accepted"
        try:
            for d in deliveries:
                if accept(self.db, channel=d.channel, source=self.reader.source, topic=d.topic,
                          delivery_id=d.delivery_id, order_ids=d.order_ids).duplicate:
                    outcome = "duplicate"
        except Exception as exc:  # the database: leave the message; it comes back after its visibility timeout
            log.error("events: message %s of %s not taken in (%s); it comes back after its visibility timeout",
                      message_id, self.url, exc)
            return "failed"
        self._delete(message)
        return outcome

    def _delete(self, message: Mapping[str, Any]) -> None:
        try:
            self.client.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            self.counts["deleted"] += 1
        except (BotoCoreError, ClientError) as exc:
            # it comes back and is a duplicate then: harmless
            log.warning("events: message %s of %s not deleted (%s); it will be seen again as a duplicate",
                        message.get("MessageId"), self.url, exc)

    def _has_redrive(self) -> bool:
        attrs = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["RedrivePolicy"])
        if (attrs.get("Attributes") or {}).get("RedrivePolicy"):
            return True
        log.warning("[XD-EVT-012] %s has no dead-letter queue: unreadable messages are deleted after they are "
                    "recorded", self.url)
        return False

    def _failed(self, exc: BotoCoreError | ClientError) -> None:
        what = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        err = EventError("XD-EVT-011", channel=",".join(self.reader.channels), detail=f"{self.url}: {what}: {exc}")
        self._pause_s = min(MAX_PAUSE_S, max(1.0, self._pause_s * 2))
        log.warning("%s; trying again in %.0f s", err.message, self._pause_s)
        self.counts["receive_errors"] += 1
        if self.on_error is not None:
            self.on_error(err)
        self.stop.wait(self._pause_s)


def queue_status(binding: QueueBinding, *, client: Any = None) -> dict[str, Any]:
    """One queue as `crossdock events status` and doctor show it: its channels,
    messages waiting and in flight, and its dead-letter queue's count (None:
    no redrive policy). A queue that cannot be read gives ``error`` (XD-EVT-011)."""
    client = client if client is not None else sqs_client(binding, wait_s=binding.access.wait_s)
    out: dict[str, Any] = {"queue": binding.access.url, "source": binding.reader.source,
                           "channels": list(binding.reader.channels)}
    try:
        attrs = client.get_queue_attributes(QueueUrl=binding.access.url, AttributeNames=["All"])["Attributes"]
        out["waiting"] = int(attrs.get("ApproximateNumberOfMessages", 0))
        out["in_flight"] = int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
        out["dead_lettered"] = None
        policy = attrs.get("RedrivePolicy")
        if policy:
            arn = str(json.loads(policy)["deadLetterTargetArn"])
            account, name = arn.split(":")[4:6]
            dlq = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            dead = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
            out["dead_lettered"] = int(dead["Attributes"].get("ApproximateNumberOfMessages", 0))
    except (BotoCoreError, ClientError, ValueError, KeyError) as exc:
        out["error"] = EventError("XD-EVT-011", detail=f"{binding.access.url}: {exc}").to_dict()
    return out


def start_consumers(cfg: Config, db: Database, *, stop: threading.Event) -> list[QueueConsumer]:
    """A started consumer per queue the configuration names (none: no channel has queue events)."""
    return [QueueConsumer(db, b, stop=stop, wait_s=b.access.wait_s).start() for b in bindings(cfg)]
