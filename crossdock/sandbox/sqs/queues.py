"""The queues behind the sandbox's SQS endpoint: messages, visibility,
long polling, and redrive to a dead-letter queue.

Times follow the rest of the sandbox: visibility timeouts, message delays and
retention are sandbox seconds (a queue at ``time_scale=600`` hides a message
for 30 sandbox seconds = 50 real ms). A long poll's ``WaitTimeSeconds`` is
real seconds, because it is how long an HTTP request stays open, as the
sandbox's other connection timeouts are; it ends as soon as a message is
there, so it costs no latency.

Semantics kept from SQS (standard queues), because the consumer relies on
them: a received message is hidden for the visibility timeout and comes back
with a new receipt handle if not deleted; a delete with a stale receipt
handle succeeds without deleting (as the SQS reference documents); a message
received ``maxReceiveCount`` times and not deleted moves to the queue the
``RedrivePolicy`` names, on the receive that would have returned it again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from crossdock.clock import Clock

__all__ = ["Message", "Queue", "QueueError", "Queues"]

DEFAULTS = {"VisibilityTimeout": "30", "ReceiveMessageWaitTimeSeconds": "0", "DelaySeconds": "0",
            "MessageRetentionPeriod": "345600", "MaximumMessageSize": "262144"}
MAX_WAIT_S = 20
MAX_VISIBILITY_S = 43200
MAX_BODY = 262144


class QueueError(Exception):
    """An SQS error: ``code`` as the JSON protocol's ``__type`` names it,
    ``query_code`` as the query protocol did (the ``x-amzn-query-error`` header)."""

    def __init__(self, code: str, message: str, *, query_code: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.query_code = query_code or code
        self.status = status


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - SQS's own checksum, not security


@dataclass
class Message:
    message_id: str
    body: str
    sent_at: float                    # sandbox time
    visible_at: float                 # sandbox time: hidden until then (delay, in flight)
    sender: str = ""
    receive_count: int = 0
    first_received_at: float | None = None
    receipt_handle: str | None = None     # the latest one; older ones delete nothing
    dead_lettered_from: str | None = None

    @property
    def md5(self) -> str:
        return _md5(self.body)


@dataclass
class Queue:
    name: str
    arn: str
    created_at: float
    attributes: dict[str, str] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)   # in the order they were sent

    def attr(self, name: str) -> str:
        return self.attributes.get(name, DEFAULTS.get(name, ""))

    def redrive(self) -> tuple[str, int] | None:
        raw = self.attributes.get("RedrivePolicy")
        if not raw:
            return None
        policy = json.loads(raw)
        return str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"])


class Queues:
    """Every queue of one sandbox. Thread-safe; long polls wait on one condition."""

    def __init__(self, clock: Clock, *, region: str, account_id: str) -> None:
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.endpoint = ""                  # set when the server starts: queue URLs are under it
        self._queues: dict[str, Queue] = {}
        self._cv = threading.Condition()
        self._handles = itertools.count(1)
        self.stats = {"sent": 0, "received": 0, "deleted": 0, "dead_lettered": 0}

    # --- queues -----------------------------------------------------------------
    def create(self, name: str, attributes: dict[str, str] | None = None) -> Queue:
        if not name or len(name) > 80 or not all(c.isalnum() or c in "-_" for c in name):
            raise QueueError("InvalidParameterValue", f"Can only include alphanumeric characters, hyphens, or "
                             f"underscores. 1 to 80 in length: {name!r}")
        attributes = dict(attributes or {})
        self._check_attributes(attributes)
        with self._cv:
            existing = self._queues.get(name)
            if existing is not None:
                if any(existing.attr(k) != v for k, v in attributes.items()):
                    raise QueueError("QueueNameExists", f"A queue already exists with the same name and a "
                                     f"different value for attribute(s) {sorted(attributes)}",
                                     query_code="QueueAlreadyExists")
                return existing
            q = Queue(name=name, arn=f"arn:aws:sqs:{self.region}:{self.account_id}:{name}",
                      created_at=self.clock.timestamp(), attributes=attributes)
            self._queues[name] = q
            return q

    def url(self, queue: Queue) -> str:
        return f"{self.endpoint}/{self.account_id}/{queue.name}"

    def set_attributes(self, queue: Queue, attributes: dict[str, str]) -> None:
        self._check_attributes(attributes)
        with self._cv:
            queue.attributes.update(attributes)

    def _check_attributes(self, attributes: dict[str, str]) -> None:
        for key, value in attributes.items():
            if key == "RedrivePolicy":
                try:
                    policy = json.loads(value)
                    arn, n = str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"])
                except (ValueError, KeyError, TypeError):
                    raise QueueError("InvalidParameterValue", f"Value {value} for parameter RedrivePolicy is "
                                     "invalid. Reason: Redrive policy is not a valid JSON map with "
                                     "deadLetterTargetArn and maxReceiveCount.",
                                     query_code="InvalidAttributeValue") from None
                if not 1 <= n <= 1000 or self.by_arn(arn) is None:
                    raise QueueError("InvalidParameterValue", f"Value {value} for parameter RedrivePolicy is "
                                     "invalid. Reason: Dead-letter target does not exist or maxReceiveCount is "
                                     "outside 1..1000.", query_code="InvalidAttributeValue")
            elif key in DEFAULTS:
                if not value.isdigit():
                    raise QueueError("InvalidParameterValue", f"Invalid value for the parameter {key}.",
                                     query_code="InvalidAttributeValue")
            elif key not in ("Policy", "KmsMasterKeyId", "SqsManagedSseEnabled", "RedriveAllowPolicy"):
                raise QueueError("InvalidAttributeName", f"Unknown Attribute {key}.")

    def by_url(self, url: str) -> Queue:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        with self._cv:
            q = self._queues.get(name)
        if q is None:
            raise QueueError("QueueDoesNotExist", "The specified queue does not exist.",
                             query_code="AWS.SimpleQueueService.NonExistentQueue")
        return q

    def by_name(self, name: str) -> Queue:
        return self.by_url(name)

    def by_arn(self, arn: str) -> Queue | None:
        with self._cv:
            return next((q for q in self._queues.values() if q.arn == arn), None)

    def names(self) -> list[str]:
        with self._cv:
            return sorted(self._queues)

    # --- messages ---------------------------------------------------------------
    def send(self, queue: Queue, body: str, *, delay_s: float | None = None, sender: str = "") -> Message:
        if not body:
            raise QueueError("MissingParameter", "The request must contain the parameter MessageBody.")
        if len(body.encode("utf-8")) > int(queue.attr("MaximumMessageSize")):
            raise QueueError("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must "
                             "be shorter than 262144 bytes.")
        now = self.clock.timestamp()
        delay = float(queue.attr("DelaySeconds")) if delay_s is None else delay_s
        msg = Message(message_id=str(uuid.uuid4()), body=body, sent_at=now, visible_at=now + max(0.0, delay),
                      sender=sender)
        with self._cv:
            queue.messages.append(msg)
            self.stats["sent"] += 1
            self._cv.notify_all()
        return msg

    def receive(self, queue: Queue, *, max_messages: int = 1, visibility_s: float | None = None,
                wait_s: float | None = None) -> list[Message]:
        """Up to ``max_messages`` visible messages, oldest first, hidden for the
        visibility timeout; waits up to ``wait_s`` real seconds for one."""
        if not 1 <= max_messages <= 10:
            raise QueueError("InvalidParameterValue", "Value for parameter MaxNumberOfMessages is invalid. "
                             "Reason: Must be between 1 and 10, if provided.")
        wait = float(queue.attr("ReceiveMessageWaitTimeSeconds")) if wait_s is None else wait_s
        if not 0 <= wait <= MAX_WAIT_S:
            raise QueueError("InvalidParameterValue", "Value for parameter WaitTimeSeconds is invalid. "
                             "Reason: Must be >= 0 and <= 20, if provided.")
        hide = float(queue.attr("VisibilityTimeout")) if visibility_s is None else visibility_s
        if not 0 <= hide <= MAX_VISIBILITY_S:
            raise QueueError("InvalidParameterValue", "Value for parameter VisibilityTimeout is invalid.")
        deadline = time.monotonic() + wait
        with self._cv:
            while True:
                got = self._take(queue, max_messages, hide)
                left = deadline - time.monotonic()
                if got or left <= 0:
                    return got
                # wake for a send, or when the next hidden message may become visible
                self._cv.wait(min(left, self._next_visible_real_s(queue)))

    def _next_visible_real_s(self, queue: Queue) -> float:
        now = self.clock.timestamp()
        pending = [m.visible_at - now for m in queue.messages if m.visible_at > now]
        return max(0.005, self.clock.to_real_s(min(pending))) if pending else 1.0

    def _take(self, queue: Queue, n: int, hide: float) -> list[Message]:
        now = self.clock.timestamp()
        redrive = queue.redrive()
        retention = float(queue.attr("MessageRetentionPeriod"))
        out: list[Message] = []
        keep: list[Message] = []
        for m in queue.messages:
            if m.sent_at + retention <= now:
                continue                                     # past retention: gone, as on SQS
            if len(out) >= n or m.visible_at > now:
                keep.append(m)
                continue
            if redrive is not None and m.receive_count >= redrive[1]:
                target = self.by_arn(redrive[0])
                if target is not None:
                    m.visible_at, m.receipt_handle, m.dead_lettered_from = now, None, queue.arn
                    target.messages.append(m)
                    self.stats["dead_lettered"] += 1
                    continue
            m.receive_count += 1
            m.first_received_at = m.first_received_at or now
            m.visible_at = now + hide
            m.receipt_handle = f"{queue.name}#{m.message_id}#{next(self._handles)}#{uuid.uuid4().hex}"
            out.append(m)
            keep.append(m)
        queue.messages = keep
        self.stats["received"] += len(out)
        return out

    def _find(self, queue: Queue, receipt_handle: str) -> Message | None:
        parts = receipt_handle.split("#")
        if len(parts) != 4 or parts[0] != queue.name:
            raise QueueError("ReceiptHandleIsInvalid", f"The input receipt handle \"{receipt_handle}\" is not "
                             "a valid receipt handle.")
        return next((m for m in queue.messages if m.message_id == parts[1]), None)

    def delete(self, queue: Queue, receipt_handle: str) -> None:
        with self._cv:
            m = self._find(queue, receipt_handle)
            if m is not None and m.receipt_handle == receipt_handle:
                queue.messages.remove(m)
                self.stats["deleted"] += 1

    def change_visibility(self, queue: Queue, receipt_handle: str, visibility_s: float) -> None:
        if not 0 <= visibility_s <= MAX_VISIBILITY_S:
            raise QueueError("InvalidParameterValue", "Value for parameter VisibilityTimeout is invalid.")
        with self._cv:
            m = self._find(queue, receipt_handle)
            now = self.clock.timestamp()
            if m is None or m.receipt_handle != receipt_handle or m.visible_at <= now:
                raise QueueError("MessageNotInflight", "The message referred to isn't in flight.",
                                 query_code="AWS.SimpleQueueService.MessageNotInflight")
            m.visible_at = now + visibility_s
            self._cv.notify_all()

    def purge(self, queue: Queue) -> None:
        with self._cv:
            queue.messages = []

    def counts(self, queue: Queue) -> dict[str, int]:
        with self._cv:
            now = self.clock.timestamp()
            delayed = sum(1 for m in queue.messages if m.visible_at > now and m.receive_count == 0)
            inflight = sum(1 for m in queue.messages if m.visible_at > now and m.receive_count > 0)
            return {"ApproximateNumberOfMessages": len(queue.messages) - delayed - inflight,
                    "ApproximateNumberOfMessagesNotVisible": inflight,
                    "ApproximateNumberOfMessagesDelayed": delayed}

    def bodies(self, queue: Queue) -> list[dict[str, Any]]:
        """What a queue holds, for the admin API and tests (nothing is received)."""
        with self._cv:
            return [{"MessageId": m.message_id, "Body": m.body, "ReceiveCount": m.receive_count,
                     "DeadLetteredFrom": m.dead_lettered_from} for m in queue.messages]
