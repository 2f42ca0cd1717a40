"""Coalescing stock pushes: which (channel, SKU) pairs need a push.

Every change to a SKU's availability calls :func:`mark_dirty` in the same
transaction as the change. For each channel listing the SKU it upserts one
``dirty_skus`` row (unique per channel and SKU: ten sales of a SKU between two
pushes leave ONE row, bumped to a new ``version``) and enqueues one outbox
entry ``push_stock`` per channel and coalescing window
(``push_stock:{channel}:w{window_s}:{window}``, due at the end of the window;
on a channel with no run in this window nor the last one, ``…:lead``, due at
once: see :func:`_enqueue_window`). A push run
takes ALL dirty SKUs of its channel at once (:func:`take_dirty`), reads their
availability *then* and pushes absolute quantities, so many changes become one
absolute value and as few calls as the platform's batch size allows.

Why nothing is lost: an entry for window *w* only becomes due at the end of
*w*, so a change made after a run took the rows falls in a later window and
enqueues a new entry (a leading entry is due at once, but a change after it
in *w* finds it and enqueues *w*'s own, due at the end of *w*). Rows are deleted only after the push succeeded
(:func:`ack_dirty`), and only if their version did not move meanwhile (a change
during the push stays dirty for the next run). A run that dies leaves its rows
claimed until the lease expires; then any run takes them again. :func:`sweep`
re-enqueues entries for rows left without one (e.g. clock skew between hosts).

A SKU whose availability reaches zero (and whose channel still shows more) is
``zero``: the channel also gets an *urgent* entry (priority 0, due now) unless
one is already due, and the planner puts zeros first — the zero is never
held back by batching.

A transaction that marks at least :data:`BULK_MARK_MIN` SKUs of a channel (a
stock file, a stock-take) is a batch already: that channel also gets an entry
due now (unless one is already due), so the bulk change does not wait for the
end of its window; the window's own entry still follows for later changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from crossdock.db.base import Base, utcnow
from crossdock.db.engine import Database
from crossdock.db.models import BigId, SkuType
from crossdock.sync_engine import bundles, outbox
from crossdock.sync_engine._push_windows import (
    PUSH_STOCK,
    _enqueue_run,
    _enqueue_window,
    _known_windows,
    _push_due,
    window_of,
)
from crossdock.sync_engine._sql import (
    IN_CHUNK,
    bind_value,
    bulk_insert,
    changed,
    chunks,
    in_param,
    insert_tuples,
    list_kind,
    list_param,
    lookup_chunk,
    now_or,
    write_tx,
)
from crossdock.sync_engine._tables import CHANNELS, LISTINGS
from crossdock.sync_engine.availability import availability_snapshot
from crossdock.sync_engine.planner import ListingState

log = logging.getLogger(__name__)

DEFAULT_WINDOW_S = 10.0
# A transaction marking this many SKUs of a channel is pushed now, not at the end of its window
# (coalescing more changes into it would save nothing: it fills batches on its own).
BULK_MARK_MIN = 100
DEFAULT_LEASE_S = 300.0
# Listings no stock push goes to: gone from the channel, or never published there
# (a draft, or refused by the platform's rules: see jobs.listings.publish_listings).
INACTIVE_LISTING_STATUSES = ("ended", "deleted", "removed", "inactive", "draft", "rejected")

__all__ = [
    "BULK_MARK_MIN",
    "DEFAULT_WINDOW_S",
    "PUSH_STOCK",
    "DirtyMark",
    "DirtySku",
    "MarkResult",
    "PendingMarks",
    "ack_dirty",
    "dirty_backlog",
    "listing_states",
    "mark_dirty",
    "peek_dirty",
    "release_claims_of",
    "release_dirty",
    "remark_channel",
    "wake_again",
    "sweep",
    "take_dirty",
    "window_of",
]


class DirtySku(Base):
    """A (channel, SKU) whose listed quantity must be recomputed and pushed."""

    __tablename__ = "dirty_skus"
    __table_args__ = (
        UniqueConstraint("channel", "sku"),
        Index("ix_dirty_skus_channel_zero", "channel", "zero", "dirty_since"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(ForeignKey("channels.name", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(SkuType)
    version: Mapped[int] = mapped_column(Integer, default=1)      # bumped by every mark
    zero: Mapped[bool] = mapped_column(Boolean, default=False)    # reached zero; channel shows more
    dirty_since: Mapped[dt.datetime]                               # first mark since the last push
    marked_at: Mapped[dt.datetime]                                 # latest mark
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[dt.datetime | None]


DIRTY = DirtySku.__table__
# A new mark on a dirty (channel, SKU): bump the version (a push in flight must not ack it) and keep
# dirty_since. A claim is KEPT: pushes of one (channel, SKU) never overlap, or an older absolute
# quantity still in flight could reach the platform after a newer one and stay there. The run holding
# the claim gives the changed row back when it finishes and wakes the next run (stock_runs.finish_stock_push;
# a run stalled past its lease is fenced off there).
_MARK_COLS = ("channel", "sku", "version", "zero", "dirty_since", "marked_at")
_REMARK = ("ON CONFLICT (channel, sku) DO UPDATE SET version = dirty_skus.version + 1, zero = excluded.zero, "
           "marked_at = excluded.marked_at")
# The same bump for one channel whose listing is in doubt (remark_channel): its zero flag stays.
_BUMP = "ON CONFLICT (channel, sku) DO UPDATE SET version = dirty_skus.version + 1, marked_at = excluded.marked_at"


@dataclass(frozen=True, slots=True)
class DirtyMark:
    channel: str
    sku: str
    version: int
    zero: bool
    dirty_since: dt.datetime


@dataclass(frozen=True, slots=True)
class MarkResult:
    marked: int                         # (channel, SKU) rows upserted
    channels: tuple[str, ...]           # channels that got (or already had) a window entry
    urgent: tuple[str, ...]             # channels that got an urgent entry for a zero
    zero_skus: tuple[str, ...]


def _unclaimed(at: Any) -> ColumnElement[bool]:
    """Rows no live push run holds (never claimed, or the claim expired)."""
    return or_(DIRTY.c.claimed_until.is_(None), DIRTY.c.claimed_until < at)


_window_s = DEFAULT_WINDOW_S


def set_window_s(seconds: float) -> None:
    """The coalescing window (real seconds) for this process: the engine sets it
    from configuration; against a sandbox running K times faster it is scaled."""
    global _window_s
    if seconds <= 0:
        raise ValueError("coalescing window must be positive")
    _window_s = float(seconds)


def window_s_now() -> float:
    return _window_s


def mark_dirty(session: Session, skus: str | Iterable[str], *, available: Mapping[str, int] | None = None,
               window_s: float | None = None, now: dt.datetime | None = None) -> MarkResult:
    """Mark ``skus`` dirty on every channel listing them, in the caller's
    transaction. Call it ONCE per transaction with all changed SKUs (rows are
    locked in (channel, SKU) order); every bundle containing one of them is
    marked with them. ``available`` (SKU → available to sell
    after the change) saves a query when the caller already knows it."""
    at = now_or(now)
    window_s = _window_s if window_s is None else window_s
    wanted = sorted({skus} if isinstance(skus, str) else set(skus))
    if not wanted:
        return MarkResult(0, (), (), ())
    # a bundle's availability moves with its components': every bundle containing one is marked too
    wanted = sorted(bundles.with_bundles(session, wanted))
    listings = _listings_of(session, wanted)
    if not listings:
        return MarkResult(0, (), (), ())
    if available is None or any(s not in available for s in wanted):
        known = dict(available or {})
        known.update(availability_snapshot(session, [s for s in wanted if s not in known]))
        available = known
    rows: list[tuple[Any, ...]] = []
    zero_skus: set[str] = set()
    urgent_channels: set[str] = set()
    at_b = bind_value(session, DIRTY.c.dirty_since, at)
    for channel, sku, last_pushed in sorted(listings):
        zero = available.get(sku, 0) <= 0 and (last_pushed is None or last_pushed > 0)
        if zero:
            zero_skus.add(sku)
            urgent_channels.add(channel)
        rows.append((channel, sku, 1, zero, at_b, at_b))
    insert_tuples(session, DIRTY, _MARK_COLS, rows, converted=True, on_conflict_sql=_REMARK)
    per_channel = Counter(channel for channel, _, _ in listings)
    channels = sorted(per_channel)
    entries = _known_windows(session, channels, at, window_s)
    for channel in channels:
        _enqueue_window(session, channel, at, window_s, lead=channel not in urgent_channels, known=entries)
    urgent = []
    for channel in sorted(urgent_channels):
        if not _push_due(session, channel, at):
            _enqueue_run(session, channel, tag="urgent", at=at, available_at=at, priority=outbox.PRIORITY_URGENT)
            urgent.append(channel)
    for channel in channels:
        if per_channel[channel] >= BULK_MARK_MIN and not _push_due(session, channel, at):
            _enqueue_run(session, channel, tag="bulk", at=at, available_at=at, priority=outbox.PRIORITY_NORMAL)
    if zero_skus:
        log.info("stock reached zero: %s (urgent push on %s)", ", ".join(sorted(zero_skus)[:20]),
                 ", ".join(sorted(urgent_channels)))
    return MarkResult(marked=len(rows), channels=tuple(channels), urgent=tuple(urgent),
                      zero_skus=tuple(sorted(zero_skus)))


# Up to this many SKUs, the listings are looked up by SKU (IN lists); more (a stock file) read the
# active listings in one pass: channel_listings has no index led by sku, so each IN list scans it.
_LOOKUP_MAX = 4 * 900


def _listings_of(session: Session, skus: list[str]) -> list[tuple[str, str, int | None]]:
    """(channel, SKU, last pushed quantity) of every active listing of ``skus``."""
    if len(skus) > _LOOKUP_MAX:
        wanted = set(skus)
        active = (select(LISTINGS.c.channel, LISTINGS.c.sku, LISTINGS.c.last_pushed_qty)
                  .where(LISTINGS.c.status.not_in(INACTIVE_LISTING_STATUSES)))
        return [(c, s, q) for c, s, q in session.execute(active) if s in wanted]
    listings: list[tuple[str, str, int | None]] = []
    kind = list_kind(session)
    by_skus = _listings_by_skus(kind)      # built once: every stored order marks its SKUs
    for part in chunks(skus, lookup_chunk(session)):     # one parameter per chunk, not one per SKU
        listings.extend((c, s, q) for c, s, q in session.execute(by_skus, {"p_skus": list_param(kind, part)}))
    return listings


@functools.lru_cache(maxsize=4)
def _listings_by_skus(kind: str) -> Any:
    return (select(LISTINGS.c.channel, LISTINGS.c.sku, LISTINGS.c.last_pushed_qty)
            .where(LISTINGS.c.status.not_in(INACTIVE_LISTING_STATUSES), in_param(kind, LISTINGS.c.sku, "p_skus")))


def wake_again(session: Session, channel: str) -> None:
    """Wake one more push run of ``channel`` at the end of the current window
    (marks were given back: their own window entry may have come and gone
    while a run held them). Windows are real time, like the marks."""
    wake = utcnow()
    _enqueue_run(session, channel, tag="again", at=wake, available_at=window_of(wake, _window_s)[1],
                 priority=outbox.PRIORITY_NORMAL)


def remark_channel(session: Session, channel: str, skus: Iterable[str], *, now: dt.datetime | None = None) -> int:
    """What ``channel`` shows for ``skus`` is in doubt (a push went out after
    its run lost the claim): mark them dirty on that channel only, bumping the
    version so a run in flight does not ack them, and wake a push run."""
    at = now_or(now)
    rows = [{"channel": channel, "sku": sku, "version": 1, "zero": False, "dirty_since": at, "marked_at": at}
            for sku in sorted(set(skus))]
    if not rows:
        return 0
    bulk_insert(session, DIRTY, rows, on_conflict_sql=_BUMP)
    _enqueue_run(session, channel, tag="doubt", at=at, available_at=at, priority=outbox.PRIORITY_NORMAL)
    return len(rows)


@dataclass
class PendingMarks:
    """SKUs whose availability a transaction changed, gathered as it goes and
    marked at its end with ONE :func:`mark_dirty` (a transaction that stores
    orders reserves, releases and follows the platform's own changes: each
    step adds here, the caller calls :meth:`flush` once). ``available`` holds
    what a step already knows (SKU → available to sell after it); a SKU added
    later without a figure is read again at the flush."""

    skus: set[str] = field(default_factory=set)
    available: dict[str, int] = field(default_factory=dict)

    def add(self, skus: Iterable[str], *, available: Mapping[str, int] | None = None) -> None:
        for sku in skus:
            self.skus.add(sku)
            if available is not None and sku in available:
                self.available[sku] = available[sku]
            else:
                self.available.pop(sku, None)       # an earlier figure is out of date now

    def flush(self, session: Session, *, now: dt.datetime | None = None) -> MarkResult:
        """Mark everything gathered (nothing gathered: no call) and start again."""
        if not self.skus:
            return MarkResult(0, (), (), ())
        result = mark_dirty(session, self.skus, available=self.available, now=now)
        self.skus, self.available = set(), {}
        return result


@functools.lru_cache(maxsize=16)
def _take_statement(limit: int | None) -> Any:
    """Every push run takes its marks: the statement is built once per limit
    (building it cost more CPU than SQLite took to run it)."""
    free = _unclaimed(bindparam("p_at"))
    pick = (select(DIRTY.c.id).where(DIRTY.c.channel == bindparam("p_channel"), free)
            .order_by(DIRTY.c.zero.desc(), DIRTY.c.dirty_since, DIRTY.c.sku)
            .with_for_update(skip_locked=True))
    if limit is not None:
        pick = pick.limit(limit)
    return (update(DIRTY).where(DIRTY.c.id.in_(pick.scalar_subquery()), free)
            .values(claimed_by=bindparam("p_worker"), claimed_until=bindparam("p_until"))
            .returning(DIRTY.c.channel, DIRTY.c.sku, DIRTY.c.version, DIRTY.c.zero, DIRTY.c.dirty_since))


def take_dirty(db: Database | Session, channel: str, *, worker_id: str, lease_s: float = DEFAULT_LEASE_S,
               limit: int | None = None, now: dt.datetime | None = None) -> list[DirtyMark]:
    """Claim the channel's dirty SKUs (zeros first, then oldest) for one push
    run. Rows claimed by a live run are skipped; expired claims are taken."""
    at = now_or(now)
    with write_tx(db) as session:
        rows = session.execute(_take_statement(limit), {
            "p_channel": channel, "p_at": at, "p_worker": worker_id,
            "p_until": at + dt.timedelta(seconds=lease_s)}).all()
    marks = [DirtyMark(channel=r.channel, sku=r.sku, version=r.version, zero=r.zero, dirty_since=r.dirty_since)
             for r in rows]
    return sorted(marks, key=lambda m: (not m.zero, m.dirty_since, m.sku))


def peek_dirty(session: Session, channel: str, *, limit: int, now: dt.datetime | None = None) -> list[str]:
    """Up to ``limit`` SKUs the channel's next push run would take (unclaimed
    marks), without claiming them."""
    return list(session.scalars(select(DIRTY.c.sku).where(DIRTY.c.channel == channel, _unclaimed(now_or(now)))
                                .order_by(DIRTY.c.sku).limit(limit)))


def ack_dirty(session: Session, marks: Sequence[DirtyMark], *, claimed_by: str | None = None) -> int:
    """After a successful push: forget the marks that did not change since
    they were taken (and, with ``claimed_by``, that the run still holds).
    Returns how many rows were deleted."""
    if not marks:
        return 0
    by_channel: dict[str, list[tuple[str, int]]] = {}
    for m in sorted(marks, key=lambda m: (m.channel, m.sku)):
        by_channel.setdefault(m.channel, []).append((m.sku, m.version))
    done = 0
    for channel, pairs in sorted(by_channel.items()):   # per chunk of (SKU, version) pairs, not per SKU
        for part in chunks(pairs, IN_CHUNK // 2):     # (a stock-take's run acks thousands); built once, below
            done += changed(session, _ACK[claimed_by is not None],
                            {"p_channel": channel, "p_pairs": part, "p_claim": claimed_by})
    return done


_ACK = [delete(DIRTY).where(DIRTY.c.channel == bindparam("p_channel"),
                            tuple_(DIRTY.c.sku, DIRTY.c.version).in_(bindparam("p_pairs", expanding=True)))]
_ACK.append(_ACK[0].where(DIRTY.c.claimed_by == bindparam("p_claim")))


def release_dirty(session: Session, marks: Sequence[DirtyMark], *, worker_id: str) -> None:
    """Give the marks back unpushed (push failed or throttled): the next run takes them."""
    by_channel: dict[str, list[str]] = {}
    for m in marks:
        by_channel.setdefault(m.channel, []).append(m.sku)
    for channel in sorted(by_channel):
        for part in chunks(sorted(by_channel[channel])):
            session.execute(_RELEASE, {"p_channel": channel, "p_skus": part, "p_worker": worker_id})


_RELEASE = (update(DIRTY).where(DIRTY.c.channel == bindparam("p_channel"),
                                DIRTY.c.sku.in_(bindparam("p_skus", expanding=True)),
                                DIRTY.c.claimed_by == bindparam("p_worker"))
            .values(claimed_by=None, claimed_until=None))


def release_claims_of(session: Session, worker_id: str) -> int:
    """Every dirty SKU claimed by ``worker_id`` (a process id ``host:pid``, or
    one of its threads) is free again: that worker stopped or died."""
    prefix = worker_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return changed(session, update(DIRTY).where(or_(DIRTY.c.claimed_by == worker_id,
                                                    DIRTY.c.claimed_by.like(f"{prefix}:%", escape="\\")))
                   .values(claimed_by=None, claimed_until=None))


def listing_states(session: Session, channel: str, skus: Iterable[str]) -> list[ListingState]:
    """What the planner needs to know about the channel's listings of ``skus``."""
    out: list[ListingState] = []
    kind = list_kind(session)
    for part in chunks(sorted(set(skus)), lookup_chunk(session)):
        for r in session.execute(_listing_states(kind), {"p_channel": channel, "p_skus": list_param(kind, part)}):
            if r.status in INACTIVE_LISTING_STATUSES:
                continue
            ids = dict(r.platform_ids or {})     # the connector's binding, passed through untouched
            out.append(ListingState(
                channel=channel, sku=r.sku, platform=r.platform, kind=ids.get("kind"), listing_id=r.listing_id,
                platform_ids=ids, last_pushed_qty=r.last_pushed_qty, listed_qty_seen=r.listed_qty_seen,
                last_pushed_price=r.last_pushed_price, last_pushed_currency=r.last_pushed_currency))
    return sorted(out, key=lambda s: s.sku)


@functools.lru_cache(maxsize=4)
def _listing_states(kind: str) -> Any:   # built once (with the channel's platform): every push run reads it
    platform = select(CHANNELS.c.platform).where(CHANNELS.c.name == LISTINGS.c.channel).scalar_subquery()
    return (select(LISTINGS.c.sku, LISTINGS.c.listing_id, LISTINGS.c.platform_ids, LISTINGS.c.last_pushed_qty,
                   LISTINGS.c.listed_qty_seen, LISTINGS.c.last_pushed_price, LISTINGS.c.last_pushed_currency,
                   LISTINGS.c.status, platform.label("platform"))
            .where(LISTINGS.c.channel == bindparam("p_channel"), in_param(kind, LISTINGS.c.sku, "p_skus")))


def sweep(session: Session, *, window_s: float | None = None, now: dt.datetime | None = None) -> list[str]:
    """Enqueue a window entry for every channel with unclaimed dirty rows
    (idempotent: one entry per channel and window). Run it from a schedule."""
    at = now_or(now)
    channels = sorted(session.execute(
        select(DIRTY.c.channel).where(_unclaimed(at))
        .distinct()).scalars())
    window_s = _window_s if window_s is None else window_s
    known = _known_windows(session, channels, at, window_s)
    return [c for c in channels if _enqueue_window(session, c, at, window_s, lead=False, known=known)]


def dirty_backlog(session: Session, *, now: dt.datetime | None = None) -> dict[str, tuple[int, float]]:
    """channel → (dirty SKUs, age in seconds of the oldest): the stock
    propagation delay a seller would see."""
    at = now_or(now)
    rows = session.execute(select(DIRTY.c.channel, func.count(), func.min(DIRTY.c.dirty_since))
                           .group_by(DIRTY.c.channel)).all()
    return {c: (int(n), max(0.0, (at - oldest).total_seconds())) for c, n, oldest in rows}
