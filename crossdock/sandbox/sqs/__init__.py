"""An SQS-compatible endpoint in the sandbox, for SP-API notifications.

boto3 talks to it with ``endpoint_url`` (and the sandbox's AWS key, which
``Sandbox.describe()["sqs"]`` gives): the AWS JSON protocol botocore speaks to
SQS, Signature Version 4 checked. Why our own and not moto's server:
docs/dependencies.md ("SQS in the sandbox"). The queues live in
:mod:`~crossdock.sandbox.sqs.queues`, the protocol in
:mod:`~crossdock.sandbox.sqs.wire`.

A platform that delivers to a queue (the Amazon simulator's notifications)
calls :meth:`SqsService.deliver`, which asks the sandbox's event faults how
the message goes (dropped, delayed, duplicated, held back).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from crossdock.sandbox.http import AppServer
from crossdock.sandbox.sqs.queues import Message, Queue, QueueError, Queues
from crossdock.sandbox.sqs.wire import build_app

if TYPE_CHECKING:
    from crossdock.sandbox.core import Sandbox

__all__ = ["Message", "Queue", "QueueError", "SqsService"]

REGION = "us-east-1"


class SqsService:
    """The sandbox's SQS: queues, the account and key that sign for them, the server."""

    def __init__(self, sandbox: "Sandbox") -> None:
        rng = random.Random(f"crossdock-sandbox-sqs:{sandbox.seed}")
        self.sandbox = sandbox
        self.region = REGION
        self.account_id = "".join(rng.choice("0123456789") for _ in range(12))
        self.access_key_id = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        self.secret_access_key = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                    "0123456789+/") for _ in range(40))
        self.keys = {self.access_key_id: self.secret_access_key}
        self.queues = Queues(sandbox.clock, region=self.region, account_id=self.account_id)
        self.app = build_app(self)
        self.server: AppServer | None = None
        self.stats = {"delivered": 0, "dropped": 0, "duplicated": 0, "no_queue": 0}

    def start(self, *, host: str, port: int = 0) -> AppServer:
        self.server = AppServer(self.app, host=host, port=port).start()
        self.queues.endpoint = self.server.url
        return self.server

    def queue_with_dead_letter(self, name: str, *, max_receive_count: int = 3) -> Queue:
        """A queue and its dead-letter queue (``NAME-dlq``), as an operator sets one up for notifications."""
        dlq = self.queues.create(f"{name}-dlq")
        return self.queues.create(name, {"RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq.arn}",'
                                                          f'"maxReceiveCount":"{max_receive_count}"}}'})

    def deliver(self, arn: str, body: str, *, platform: str, topic: str) -> int:
        """Put one platform event on the queue ``arn`` as the platform would,
        through the event faults; returns how many messages were sent (0:
        dropped, or no such queue — a destination whose queue was deleted)."""
        queue = self.queues.by_arn(arn)
        if queue is None:
            self.stats["no_queue"] += 1
            return 0
        plan = self.sandbox.faults.event_plan(platform, topic)
        if not plan:
            self.stats["dropped"] += 1
            return 0
        for delay in plan:
            self.queues.send(queue, body, delay_s=delay, sender=platform)
        self.stats["delivered"] += 1
        self.stats["duplicated"] += len(plan) - 1
        return len(plan)

    def describe(self) -> dict[str, Any]:
        return {"endpoint_url": self.server.url if self.server else "", "region": self.region,
                "account_id": self.account_id, "access_key_id": self.access_key_id,
                "secret_access_key": self.secret_access_key,
                "queues": [{"name": n, "url": self.queues.url(self.queues.by_name(n)),
                            "arn": self.queues.by_name(n).arn} for n in self.queues.names()]}

    def access(self) -> dict[str, str]:
        """What a client needs to reach the endpoint (the sandbox's own AWS key)."""
        return {"endpoint_url": self.server.url if self.server else "", "region": self.region,
                "access_key_id": self.access_key_id, "secret_access_key": self.secret_access_key}

    def extra_stats(self) -> dict[str, Any]:
        return {**self.stats, **self.queues.stats}
