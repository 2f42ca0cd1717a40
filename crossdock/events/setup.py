"""``crossdock events setup CHANNEL`` and ``crossdock events status``: the
documents both print (``--json`` prints them as they are).

Setup asks the channel's connector (:meth:`~crossdock.connectors.contract.Connector.setup_events`)
to subscribe the channel's events to the endpoint its platform's receiver
names (``[events] public_url`` + ``/hooks/…``), with the secret the receiver
expects back. Status reads what crossdock received per channel — the last
event, counts of accepted / duplicate / refused deliveries, reads still
queued — and, unless ``offline``, the subscriptions as the platform shows them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from crossdock.db.engine import Database
from crossdock.errors import CrossdockError, EventError
from crossdock.events.http import Receivers
from crossdock.events.queue_consumer import bindings, queue_status
from crossdock.platforms import registry
from crossdock.events.tables import EventDelivery, EventRead
from crossdock.sync_engine.jobs import EngineContext

__all__ = ["channel_stats", "setup_doc", "status_doc"]


def setup_doc(ctx: EngineContext, channel: str, *, secret_key: str) -> dict[str, Any]:
    """Subscribe ``channel``'s events; XD-EVT-009 without ``[events] public_url``
    or for a platform without a receiver."""
    ch = ctx.cfg.channel(channel)
    spec = registry.find(ch.platform)
    if spec is not None and spec.event_queues is not None:
        # events on a message queue (Amazon's SQS, crossdock/connectors/event_queue.py): no public URL;
        # the connector subscribes the channel to the queue its configuration names
        subs = ctx.connectors.get(channel).setup_events(endpoint="", secret="")
        return {"channel": channel, "platform": ch.platform, "endpoint": subs[0]["endpoint"] if subs else "",
                "subscriptions": subs}
    receivers = Receivers(ctx.cfg, ctx.db, secret_key=secret_key)
    if not receivers.public_url:
        raise EventError("XD-EVT-009", channel=channel, detail="[events] public_url is not set")
    receiver = receivers.get(ch.platform)
    endpoint = receiver.endpoint(channel) if receiver is not None else ""
    if receiver is None or not endpoint:
        raise EventError("XD-EVT-009", channel=channel, detail=f"{ch.platform} has no events receiver")
    subs = ctx.connectors.get(channel).setup_events(endpoint=endpoint, secret=receiver.subscription_secret(channel))
    return {"channel": channel, "platform": ch.platform, "endpoint": endpoint, "subscriptions": subs}


def channel_stats(db: Database, channel: str) -> dict[str, Any]:
    """What crossdock received for ``channel``."""
    d = EventDelivery
    with db.read() as s:
        counts = dict(s.execute(select(d.outcome, func.count()).where(d.channel == channel)
                                .group_by(d.outcome)).all())
        last = s.scalar(select(func.max(d.received_at)).where(d.channel == channel, d.outcome != "refused"))
        reads = s.scalar(select(func.count()).select_from(EventRead).where(EventRead.channel == channel))
    return {"last_event_at": _iso(last), "accepted": int(counts.get("accepted", 0)),
            "duplicate": int(counts.get("duplicate", 0)), "refused": int(counts.get("refused", 0)),
            "reads_queued": int(reads or 0)}


def status_doc(ctx: EngineContext, *, secret_key: str, offline: bool = False) -> dict[str, Any]:
    """Every channel whose platform receives events: its subscriptions (the
    platform's view, or the error code reading them gave) and what was received."""
    receivers = Receivers(ctx.cfg, ctx.db, secret_key=secret_key)
    # channels whose events come on a message queue (Amazon's SQS): the queue is their endpoint
    queues = {name: b for b in bindings(ctx.cfg) for name in b.reader.channels}
    rows: list[dict[str, Any]] = []
    for name, ch in sorted(ctx.cfg.channels.items()):
        receiver = receivers.get(ch.platform)
        if receiver is None and name not in queues:
            continue
        endpoint = receiver.endpoint(name) if receiver is not None else queues[name].access.url
        row: dict[str, Any] = {"channel": name, "platform": ch.platform, "endpoint": endpoint or None,
                               **channel_stats(ctx.db, name)}
        if name in queues and not offline:
            row["queue"] = queue_status(queues[name])
        if not offline:
            try:
                row["subscriptions"] = ctx.connectors.get(name).event_subscriptions()
            except CrossdockError as exc:
                row["subscriptions"], row["error"] = None, exc.code
        rows.append(row)
    with ctx.db.read() as s:
        unknown = s.scalar(select(func.count()).select_from(EventDelivery).where(EventDelivery.channel.is_(None)))
    return {"public_url": receivers.public_url or None, "channels": rows, "refused_without_channel": int(unknown or 0)}


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
