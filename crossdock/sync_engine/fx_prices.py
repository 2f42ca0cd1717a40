"""New exchange rates reach the prices: a ``prices`` job per channel after
``crossdock fx load`` changed the stored rates.

:func:`reprice_after_fx` is the ``on_change`` hook of
:func:`crossdock.mapping.fx_store.load_fx_file`: it runs in the load's own
transaction, so the rates and the work they cause commit together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from crossdock.sync_engine import outbox

__all__ = ["reprice_after_fx"]


def reprice_after_fx(channels: Iterable[str]) -> Callable[[Session, str, str], list[str]]:
    """Queue a ``prices`` job on each of ``channels``; returns the channels
    queued. The idempotency key holds a hash of the loaded rates and one of
    the table as it stood before: the same load is queued once, and a load
    that changes nothing queues nothing (the hook is not called)."""
    names = sorted(set(channels))

    def enqueue(s: Session, loaded: str, before: str) -> list[str]:
        enqueued: list[str] = []
        for channel in names:
            if outbox.enqueue(s, "prices", channel=channel, entity=f"channel {channel}",
                              payload={"channel": channel, "reason": "fx.load", "rates": loaded},
                              idempotency_key=f"prices:{channel}:fx:{loaded}:{before}"):
                enqueued.append(channel)
        return enqueued

    return enqueue
