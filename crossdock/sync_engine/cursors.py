"""Incremental import state: a cursor per (channel, stream) that only moves forward.

:func:`next_window` (pure) says which time window to fetch next:

    start = cursor − overlap          (re-read the edge: late-indexed updates)
    end   = min(now − safety_lag, cursor + max_window)

``safety_lag`` keeps clear of "now" where platforms are not yet consistent
(Amazon wants ``LastUpdatedBefore`` at least 2 minutes in the past; eBay
advises windows ending at now − 2 min), ``overlap`` re-reads the last part of
the previous window (duplicates are harmless: orders are deduplicated), and
``max_window`` cuts a long catch-up into pieces so each window can succeed
and move the cursor. Only after a whole window was stored does the caller
call :func:`advance_cursor` with ``window.end``; a failure leaves the cursor,
so the next run fetches the same window again (XD-ORD-001).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crossdock.db.models import SyncCursor
from crossdock.sync_engine._sql import dialect, now_or

CUR = SyncCursor.__table__

__all__ = ["GO_LIVE", "Cursor", "Window", "advance_cursor", "get_cursor", "get_cursors", "mark_go_live",
           "next_window"]

#: The stream whose position is the platform time a channel's order import first ran: orders bought
#: before it are history crossdock never held stock for (see inventory.left_from_our_stock).
GO_LIVE = "go_live"


@dataclass(frozen=True, slots=True)
class Cursor:
    channel: str
    stream: str
    position: dt.datetime
    last_success_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Window:
    start: dt.datetime       # fetch changes from here (inclusive)
    end: dt.datetime         # … up to here; the cursor moves here on success
    more: bool               # True: a later window is already due (catching up)


# Built once (the order import reads and moves cursors on every poll, most of them empty: building
# a Core statement per call cost more than running it).
_GET = select(CUR).where(CUR.c.channel == bindparam("channel"), CUR.c.stream == bindparam("stream"))
_GET_MANY = select(CUR).where(CUR.c.channel.in_(bindparam("channels", expanding=True)),
                              CUR.c.stream.in_(bindparam("streams", expanding=True)))


def _advance_stmt(insert: Any) -> Any:
    ins = insert(CUR).values(channel=bindparam("channel"), stream=bindparam("stream"),
                             position=bindparam("position"), last_success_at=bindparam("at"),
                             updated_at=bindparam("at"))
    return ins.on_conflict_do_update(
        index_elements=["channel", "stream"],
        set_={"position": ins.excluded.position, "last_success_at": ins.excluded.last_success_at,
              "updated_at": ins.excluded.updated_at},
        where=CUR.c.position < ins.excluded.position).returning(CUR.c.position)


_ADVANCE = {"postgresql": _advance_stmt(pg_insert), "sqlite": _advance_stmt(sqlite_insert)}


def _cursor(r: Any) -> Cursor:
    return Cursor(channel=r.channel, stream=r.stream, position=r.position, last_success_at=r.last_success_at)


def get_cursor(session: Session, channel: str, stream: str) -> Cursor | None:
    r = session.execute(_GET, {"channel": channel, "stream": stream}).first()
    return None if r is None else _cursor(r)


def get_cursors(session: Any, channels: Iterable[str], streams: Iterable[str]) -> dict[tuple[str, str], Cursor]:
    """(channel, stream) → cursor, for every pair of ``channels`` × ``streams``
    that has one: one query (``session``: a Session or a Connection)."""
    rows = session.execute(_GET_MANY, {"channels": sorted(set(channels)), "streams": sorted(set(streams))})
    return {(r.channel, r.stream): _cursor(r) for r in rows}


def advance_cursor(session: Session, channel: str, stream: str, new_position: dt.datetime, *,
                   now: dt.datetime | None = None) -> bool:
    """Move the cursor to ``new_position`` if that is forward (or create it).
    Returns False — and changes nothing — when the stored position is already
    at or past it (an older run finishing late must not move it back)."""
    at = now_or(now)
    position = now_or(new_position)
    stmt = _ADVANCE["postgresql" if dialect(session) == "postgresql" else "sqlite"]
    # RETURNING, not rowcount: drivers need not report a row count for INSERT.
    return session.execute(stmt, {"channel": channel, "stream": stream, "position": position,
                                  "at": at}).first() is not None


def mark_go_live(session: Session, channel: str, at: dt.datetime) -> None:
    """Record ``at`` (platform time) as when ``channel``'s order import first
    ran, unless it already is recorded (never moved: a restored database
    keeps the go-live of its backup)."""
    if get_cursor(session, channel, GO_LIVE) is None:
        advance_cursor(session, channel, GO_LIVE, at)


def next_window(cursor: dt.datetime | None, now: dt.datetime, *, safety_lag_s: float, overlap_s: float,
                max_window_s: float, initial_lookback_s: float = 86_400.0) -> Window | None:
    """The next window to import, or None when nothing new can be fetched yet
    (see module doc). Without a cursor, the import starts ``initial_lookback_s``
    before the safety horizon."""
    if max_window_s <= 0 or safety_lag_s < 0 or overlap_s < 0 or initial_lookback_s < 0:
        raise ValueError("max_window_s must be positive; lags, overlap and look-back not negative")
    now = now_or(now)
    horizon = now - dt.timedelta(seconds=safety_lag_s)
    if cursor is None:
        base = horizon - dt.timedelta(seconds=initial_lookback_s)
        start = base
    else:
        base = now_or(cursor)
        start = base - dt.timedelta(seconds=overlap_s)
    end = min(horizon, base + dt.timedelta(seconds=max_window_s))
    if end <= base:
        return None
    return Window(start=start, end=end, more=end < horizon)
