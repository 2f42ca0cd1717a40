"""The push runs of a channel's marks (private to :mod:`crossdock.sync_engine.dirty`):
its coalescing window's entry (leading when the channel is quiet), and the
extra runs (urgent, bulk, again, doubt). Their statements are built once:
every mark enqueues a window entry per channel listing its SKUs."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from crossdock.sync_engine import outbox
from crossdock.sync_engine._sql import chunks, in_param, list_kind, list_param, lookup_chunk

PUSH_STOCK = "push_stock"


def window_of(at: dt.datetime, window_s: float) -> tuple[int, dt.datetime]:
    """The coalescing window holding ``at``: (index, end)."""
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    index = math.floor(at.timestamp() / window_s)
    end = dt.datetime.fromtimestamp((index + 1) * window_s, dt.timezone.utc)
    return index, end


def _window_key(channel: str, window_s: float, index: int, *, lead: bool = False) -> str:
    return f"{PUSH_STOCK}:{channel}:w{window_s:g}:{index}" + (":lead" if lead else "")


def _enqueue_window(session: Session, channel: str, at: dt.datetime, window_s: float, *, lead: bool = True,
                    known: set[str] | None = None) -> bool:
    """The channel's push run for the window holding ``at``. A channel with no
    push run in this window nor the one before (a quiet channel: its quota has
    all the room a run needs) gets it at once, the *leading* run; changes
    after it, while runs are recent, wait for the end of their window and go
    together. So a run starts at most once a window plus once per quiet spell,
    and a lone sale is not held back a window for company it will not get.
    ``lead=False``: the window's entry only (the sweep; a zero, which has its urgent run).
    ``known``: the window keys of this window and the last that exist already
    (:func:`_known_windows`, read once for every channel of a mark): an entry
    already there is not inserted again (the INSERT would do nothing)."""
    index, end = window_of(at, window_s)
    if known is None:
        known = _known_windows(session, [channel], at, window_s) if lead else set()
    if lead:
        lead = not any(_window_key(channel, window_s, i, lead=x) in known
                       for i in (index - 1, index) for x in (False, True))
    key = _window_key(channel, window_s, index, lead=lead)
    if key in known:
        return False
    return outbox.enqueue(session, PUSH_STOCK, channel=channel, entity=f"channel {channel}",
                          payload={"channel": channel, "window": index, **({"lead": True} if lead else {})},
                          idempotency_key=key, priority=outbox.PRIORITY_NORMAL, available_at=at if lead else end,
                          now=at)


def _known_windows(session: Session, channels: Iterable[str], at: dt.datetime, window_s: float) -> set[str]:
    """The window entries (leading or not) of ``channels`` for the window holding ``at`` and the one
    before that exist already: one query for every channel of a mark."""
    index = window_of(at, window_s)[0]
    keys = [_window_key(c, window_s, i, lead=x) for c in channels for i in (index - 1, index) for x in (False, True)]
    kind = list_kind(session)
    found: set[str] = set()
    for part in chunks(keys, lookup_chunk(session)):
        found.update(session.execute(_windows_known(kind), {"p_keys": list_param(kind, part)}).scalars())
    return found


@functools.lru_cache(maxsize=4)
def _windows_known(kind: str) -> Any:
    """Built once per list kind: every mark looks its channels' window entries up."""
    return select(outbox.OUTBOX.c.idempotency_key).where(in_param(kind, outbox.OUTBOX.c.idempotency_key, "p_keys"))


def _enqueue_run(session: Session, channel: str, *, tag: str, at: dt.datetime, available_at: dt.datetime,
                 priority: int) -> bool:
    """One more push run for ``channel`` (besides the window entries), keyed
    by ``tag`` and the moment, so every call enqueues one."""
    return outbox.enqueue(session, PUSH_STOCK, channel=channel, entity=f"channel {channel}",
                          payload={"channel": channel, tag: True},
                          idempotency_key=f"{PUSH_STOCK}:{channel}:{tag}:{int(at.timestamp() * 1_000_000)}",
                          priority=priority, available_at=available_at, now=at)


def _push_due(session: Session, channel: str, at: dt.datetime) -> bool:
    """A push run of ``channel`` is pending and due by ``at``."""
    return session.execute(_PUSH_DUE, {"p_channel": channel, "p_at": at}).first() is not None


_PUSH_DUE = (select(outbox.OUTBOX.c.id)
             .where(outbox.OUTBOX.c.kind == PUSH_STOCK, outbox.OUTBOX.c.channel == bindparam("p_channel"),
                    outbox.OUTBOX.c.status == outbox.PENDING, outbox.OUTBOX.c.available_at <= bindparam("p_at"))
             .limit(1))
