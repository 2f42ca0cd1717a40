"""The receiver contract: what a platform's events receiver makes of one HTTP
request to ``/hooks/KIND``, for the generic intake (:mod:`crossdock.events`).

A platform that sends events over HTTP declares ``PlatformSpec.events``: a
factory taking an :class:`EventSetup` (its configured channels' settings, the
public URL, a derived secret per purpose, a connector per channel) and
returning an :class:`EventReceiver`. The receiver is pure apart from what the
setup hands it (a connector's client for a signing key): it checks the
signature, decides the channel from the platform's own headers or payload,
and returns :class:`Delivery` values — never data to store. It raises
:class:`~crossdock.errors.EventError` with a stable XD-EVT code to refuse.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crossdock.connectors.contract import Connector

__all__ = ["Delivery", "EventReceiver", "EventSetup", "HookReply", "HookRequest", "header"]


@dataclass(frozen=True)
class HookRequest:
    """One HTTP request to ``/hooks/KIND[/KEY]`` as received: ``headers``
    with lower-case names, ``body`` the raw bytes (read up to the cap),
    ``url`` the public URL it was sent to (``[events] public_url`` + path)."""

    method: str
    url: str
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    key: str | None = None


@dataclass(frozen=True)
class Delivery:
    """A verified delivery for ``channel``: its platform delivery id (the
    dedupe key), topic, the orders to read, and for an account deletion the
    buyer's identifiers to erase."""

    channel: str
    topic: str
    delivery_id: str
    order_ids: tuple[str, ...] = ()
    erase: Mapping[str, str] | None = None


@dataclass(frozen=True)
class HookReply:
    """An answer the receiver gives itself (a challenge handshake):
    ``status`` and a JSON document."""

    status: int
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventSetup:
    """What a platform's receiver is built with.

    ``channels``: channel name → the channel's platform settings (secrets
    revealed), for every configured channel of the platform; ``public_url``:
    where the platforms post (``[events] public_url``, no trailing slash;
    "" when not configured); ``secret(purpose)``: a stable secret derived
    from crossdock's secret key (a verification token the platform echoes);
    ``connector(channel)``: the channel's connector (its client, for a
    signing key)."""

    channels: Mapping[str, Any]
    public_url: str
    secret: Callable[[str], str]
    connector: Callable[[str], Connector]


class EventReceiver(abc.ABC):
    """One platform's receiver (see module doc). ``ack_status``: the status
    a platform expects for an accepted or duplicate delivery."""

    ack_status: int = 200

    def endpoint(self, channel: str) -> str:
        """The URL the platform posts ``channel``'s events to."""
        return ""

    def subscription_secret(self, channel: str) -> str:
        """What ``crossdock events setup`` gives the platform to prove the
        endpoint is ours (eBay's verification token); "" when none."""
        return ""

    def answer(self, request: HookRequest) -> HookReply | None:
        """A GET the platform sends to check the endpoint (a challenge);
        None: this platform sends none (405)."""
        return None

    @abc.abstractmethod
    def receive(self, request: HookRequest) -> list[Delivery]:
        """The deliveries one POST carries (usually one; none: a topic of no
        interest, acknowledged). Raises EventError (XD-EVT-001 signature,
        XD-EVT-003 no such channel, XD-EVT-004 unreadable, XD-EVT-007 key)."""


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value by its name in any case."""
    lower = name.lower()
    value = headers.get(lower)
    if value is not None:
        return value
    return next((v for k, v in headers.items() if k.lower() == lower), None)
