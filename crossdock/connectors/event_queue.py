"""The queue contract: a platform whose events arrive on a message queue
(Amazon's SP-API notifications on SQS) rather than as HTTP posts.

A platform declares ``PlatformSpec.event_queues``: given its configured
channels' settings (channel name → settings, secrets revealed) it returns
the queues to read, each as a :class:`QueueBinding` — where the queue is and
how to sign for it (:class:`QueueAccess`), and the :class:`QueueReader` that
turns one message body into :class:`~crossdock.connectors.events.Delivery`
values (several channels of one seller share one queue; the reader picks the
channel). The generic consumer (:mod:`crossdock.events.queue_consumer`, in
``crossdock worker``) does the I/O: long polling, the intake, DeleteMessage.
The reader is pure: it raises :class:`~crossdock.errors.EventError` with a
stable XD-EVT code to refuse a message, and returns ``[]`` for a
notification of no interest (acknowledged and deleted).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from crossdock.connectors.events import Delivery

__all__ = ["QueueAccess", "QueueBinding", "QueueReader"]


@dataclass(frozen=True)
class QueueAccess:
    """An SQS queue and the credentials to read it. ``endpoint_url``: None
    for AWS itself (the region's endpoint), a URL for the sandbox or a VPC
    endpoint. Keys None: boto3's own chain (environment, instance role).
    ``wait_s``: how long one receive waits (long polling, 1..20 s)."""

    url: str
    region: str
    endpoint_url: str | None = None
    wait_s: int = 20
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        """What makes two channels' queues one queue to read once."""
        return self.url, self.endpoint_url, self.access_key_id


class QueueReader(abc.ABC):
    """One platform's reading of its queue messages. ``source``: the
    platform, as the intake records it; ``channels``: the channels whose
    events this queue carries."""

    source: str = ""
    channels: tuple[str, ...] = ()

    @abc.abstractmethod
    def read(self, body: str) -> list[Delivery]:
        """The deliveries one message carries. Raises EventError:
        XD-EVT-004 unreadable, XD-EVT-003 for no configured channel."""


@dataclass(frozen=True)
class QueueBinding:
    access: QueueAccess
    reader: QueueReader
