"""Order import: the next window of a channel's orders (and of the channels
sharing its order poll), stored through one path (:func:`store_window`: an
order that cannot be stored, or that its connector could not map, is
quarantined and the window goes on)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TypedDict

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.config import Config
from crossdock.connectors.base import Connector, OrderQuery
from crossdock.db.models import Order
from crossdock.models import Order as PlatformOrder
from crossdock.models import OrderStatus, UnreadableOrder
from crossdock.sync_engine import cursors, dirty, outbox, shown
from crossdock.ratelimit.waits import PartialRead
from crossdock.sync_engine.failures import QuotaWait
from crossdock.sync_engine.jobs.context import EngineContext, entry_channel
from crossdock.sync_engine.jobs.runner import paused
from crossdock.sync_engine.quarantine import store_window

__all__ = ["CREATED_STREAM", "IMPORT_ORDERS", "ImportResult", "import_orders", "known_orders", "max_window_s",
           "order_poll_group", "orders_job"]

IMPORT_ORDERS = "orders"
MAX_WINDOW_S = 6 * 3600.0
KNOWN_ORDERS_LOOKBACK_S = 3 * 86_400.0
#: A window cut short by a quota wait after storing part of it is read again no
#: sooner than this (platform seconds; see :func:`_keep_read_part`).
RESUME_AFTER_PART_S = 30.0


class ImportResult(TypedDict, total=False):
    """One import window: what was read and stored, and where the cursor stands."""

    skipped: str
    more: bool
    read: int
    new: int
    updated: int
    quarantined: int
    stream: str
    start: str
    cursor: str
    horizon: str
    channels: list[str]


def import_orders(ctx: EngineContext, channel: str) -> ImportResult:
    """Import the next window of orders of ``channel`` — and of the channels
    that share its order poll (:func:`order_import_group`: Amazon marketplaces
    of one seller, read by one getOrders call). Each channel's cursor moves
    only when the whole window was read and stored."""
    from crossdock.sync_engine.channels import order_import_group

    group = [c for c in order_import_group(ctx.cfg, channel) if c == channel or not paused(ctx.db, c)]
    conn: Connector = ctx.connectors.get(channel)
    now = conn.clock.now()
    with ctx.db.glance() as glance:     # every cursor the run may need, in one prebuilt query
        known_cursors = cursors.get_cursors(glance, group, _STREAMS)
    stream, family = _order_stream(known_cursors, conn, group, now)
    positions = {c: (cur.position if (cur := known_cursors.get((c, stream))) else None) for c in group}
    resumes = [cur.position for c in group if (cur := known_cursors.get((c, stream + RESUME)))]
    # one window for the group: from the member furthest behind (a member new
    # to the group starts from its own look-back); re-read orders are skipped
    # by known_updates and deduplicated by the upsert
    known_positions = [p for p in positions.values() if p is not None]
    start_from = None if len(known_positions) < len(positions) else min(known_positions)
    if start_from is None and stream == CREATED_STREAM:
        # the first window by creation time starts where the window by update stands: every
        # order created before that was read there (its update is not earlier than its creation)
        start_from = _updated_position(ctx, group)
    if None in positions.values():
        with ctx.db.write() as s:      # a member's first import: orders bought before now are history
            for member in sorted(c for c, p in positions.items() if p is None):
                cursors.mark_go_live(s, member, now)
    overlap_s = conn.overlap_s
    if resumes and len(resumes) == len(group) and (start_from is None or min(resumes) > start_from):
        # a window cut short read on from where its part ended, without re-reading an overlap:
        # that part was read whole, after the platform had indexed it
        start_from, overlap_s = min(resumes), 0.0
    window = cursors.next_window(start_from, now, safety_lag_s=conn.safety_lag_s,
                                 overlap_s=overlap_s, max_window_s=max_window_s(conn),
                                 initial_lookback_s=ctx.initial_lookback_s)
    if window is None:
        return {"skipped": "nothing new yet", "more": False}
    siblings = tuple(ctx.connectors.get(c) for c in group if c != channel)
    known: dict[str, dt.datetime] = {}
    if conn.uses_known_orders:
        # orders stored in the last few days: a window re-reads them when their status moves
        # (Amazon: shipped, paid), and a known order needs no second read of its lines
        since = window.start - dt.timedelta(seconds=KNOWN_ORDERS_LOOKBACK_S)
        with ctx.db.read() as s:
            known = known_orders(s, group, since)
    unreadable: list[UnreadableOrder] = []        # orders the connector could not map: quarantined
    query = OrderQuery(window.start, window.end, created=family == "Created", known_updates=known,
                       siblings=siblings, unreadable=unreadable.append)
    orders: list[PlatformOrder] = []
    with synclog.timed() as t:
        try:
            for order in conn.fetch_orders(query):       # one by one: a wait keeps what came before it
                orders.append(order)
        except QuotaWait as wait:
            orders.extend(wait.items if isinstance(wait, PartialRead) else ())
            if not orders and not unreadable:
                raise
            raise _keep_read_part(ctx, channel, group, orders, wait, conn, unreadable,
                                  resume=_resume_point(conn, family, stream, window, orders)) from wait
    by_channel = _by_member(ctx, channel, group, orders)
    unreadable_of = _unreadable_by_member(channel, group, unreadable)
    out: ImportResult = {"read": len(orders) + len(unreadable), "new": 0, "updated": 0, "quarantined": 0,
                         "more": window.more, "stream": stream, "start": window.start.isoformat(),
                         "cursor": window.end.isoformat(),
                         "horizon": (now - dt.timedelta(seconds=conn.safety_lag_s)).isoformat()}
    with ctx.db.write() as s:
        for member, member_orders in by_channel.items():
            marks = dirty.PendingMarks()        # what the window and the release change: marked once
            stored = store_window(s, member, member_orders, conn.clock, unreadable=unreadable_of[member],
                                  marks=marks)
            result, aside = stored.result, len(stored.quarantined)
            cursors.advance_cursor(s, member, stream, window.end)
            # every sale before the window's end is imported now: units held for sales not seen yet
            # by pushes before it are proven unsold, and may be listed again
            marks.add(shown.release_held(s, member, imported_until=_proven_until(conn, window.end)))
            marks.flush(s)
            shared = f" (one call with {', '.join(c for c in group if c != member)})" if len(group) > 1 else ""
            synclog.insert(s, operation="orders.import", outcome="ok", channel=member, entity_type="channel",
                           entity=member, duration_ms=t.ms,
                           message=f"window {window.start.isoformat()} .. {window.end.isoformat()}: "
                                   f"{len(member_orders) + len(unreadable_of[member])} orders read, {result.new} new, "
                                   f"{result.updated} updated" + (f", {aside} quarantined (XD-ORD-008)" if aside else "")
                                   + shared,
                           details={"start": window.start.isoformat(), "end": window.end.isoformat(),
                                    "read": len(member_orders) + len(unreadable_of[member]), "new": result.new,
                                    "updated": result.updated, "quarantined": aside,
                                    "group": list(group), "filter": family or "updated"})
            ctx.stats.add("orders_imported", member, result.new)
            out["new"] += result.new
            out["updated"] += result.updated
            out["quarantined"] += aside
    if len(group) > 1:
        out["channels"] = list(group)
    return out


def _by_member(ctx: EngineContext, channel: str, group: Sequence[str],
               orders: Sequence[PlatformOrder]) -> dict[str, list[PlatformOrder]]:
    """The orders of one read, by the channel of the group each belongs to (its marketplace)."""
    by_channel: dict[str, list[PlatformOrder]] = {c: [] for c in group}
    owner = {ctx.cfg.channel(c).marketplace: c for c in group} if len(group) > 1 else {}
    for o in orders:
        by_channel[owner.get(o.marketplace_id, channel)].append(o)
    return by_channel


def _unreadable_by_member(channel: str, group: Sequence[str],
                          unreadable: Sequence[UnreadableOrder]) -> dict[str, list[UnreadableOrder]]:
    """The orders a read could not map, by the channel of the group each belongs to."""
    by_channel: dict[str, list[UnreadableOrder]] = {c: [] for c in group}
    for u in unreadable:
        by_channel[u.channel if u.channel in by_channel else channel].append(u)
    return by_channel


def _proven_until(conn: Connector, read_until: dt.datetime) -> dt.datetime:
    """Real time before which every sale of the channel is known, once its
    orders are read up to ``read_until`` (platform time): less the time the
    platform may take to show an order at all (Amazon: minutes)."""
    return conn.clock.to_real(read_until - dt.timedelta(seconds=float(conn.unseen_sales_s or 0)))


def _resume_point(conn: Connector, family: str | None, stream: str, window: cursors.Window,
                  orders: Sequence[PlatformOrder]) -> tuple[str, dt.datetime] | None:
    """(cursor, position) a window cut short may record: for a connector that
    yields orders in update order, on a window by update time, every order
    updated before the last one read has been read. It is the stream's
    resume cursor, not the stream's own: the window itself is not done."""
    if not orders or not conn.orders_in_update_order or family == "Created":
        return None
    last = max(o.updated_at for o in orders)
    return (stream + RESUME, last) if window.start < last < window.end else None


def _keep_read_part(ctx: EngineContext, channel: str, group: Sequence[str], orders: Sequence[PlatformOrder],
                    wait: QuotaWait, conn: Connector, unreadable: Sequence[UnreadableOrder] = (),
                    resume: tuple[str, dt.datetime] | None = None) -> QuotaWait:
    """A window cut short by a quota wait (Amazon: more new orders than
    getOrderItems' burst) keeps what it read: those orders are stored (their
    reservations hold stock at once). Where the part read is complete up to
    a point (``resume``: orders read in update order), the stream's resume
    cursor moves there and the re-run reads on from it — a window holding more pages than the
    quota's bucket would otherwise be read from its start again and again and
    never finish. Otherwise the cursors stay, and the re-run reads the same
    window again and skips the orders as known. The re-run costs one more call
    of the window's list operation, so it waits at least
    :data:`RESUME_AFTER_PART_S` (platform seconds) and stores a good share of
    the rest, not one order per list call. Returns the wait to raise."""
    unreadable_of = _unreadable_by_member(channel, group, unreadable)
    with ctx.db.write() as s:
        for member, member_orders in _by_member(ctx, channel, group, orders).items():
            marks = dirty.PendingMarks()        # what the release and the part stored change: marked once
            if resume is not None:
                cursors.advance_cursor(s, member, resume[0], resume[1])
                marks.add(shown.release_held(s, member, imported_until=_proven_until(conn, resume[1])))
            if not member_orders and not unreadable_of[member]:
                marks.flush(s)
                continue
            result = store_window(s, member, member_orders, conn.clock, unreadable=unreadable_of[member],
                                  marks=marks).result
            marks.flush(s)
            ctx.stats.add("orders_imported", member, result.new)
            synclog.record(s, operation="orders.import", outcome="partial", channel=member, entity_type="channel",
                           entity=member, code=wait.code,
                           message=f"{len(member_orders)} orders of the window stored before a quota wait "
                                   f"({result.new} new); "
                                   + (f"the next read starts at {resume[1].isoformat()}" if resume is not None
                                      else "the window is read again"),
                           details={"read": len(member_orders), "new": result.new, "updated": result.updated})
    delay_s = max(wait.delay_s, conn.clock.to_real_s(RESUME_AFTER_PART_S))
    return QuotaWait(delay_s, code=wait.code, platform=wait.platform, account=wait.account,
                     operation=wait.operation, channel=wait.channel or channel, entity=wait.entity)


# The cursor of windows by creation time, for platforms that poll new orders
# by creation and changes less often (see _order_stream).
CREATED_STREAM = "orders_created"
# Beside a stream's cursor: where a window cut short by a quota wait was read
# up to (_keep_read_part); the next window starts there, with no overlap.
RESUME = ":resume"
#: Every cursor an import run reads (:func:`_order_stream`, the window's stream and its resume point).
_STREAMS = ("orders", CREATED_STREAM, "orders" + RESUME, CREATED_STREAM + RESUME)


def known_orders(session: Session, channels: Sequence[str], since: dt.datetime) -> dict[str, dt.datetime]:
    """The stored orders of ``channels`` a read may skip when unchanged, and
    read without their lines when only their status moved
    (``OrderQuery.known_updates``: platform order id → update time stored):
    those updated since ``since`` — except an order stored before it was
    paid. Its lines are not known yet (Amazon shows no ItemPrice while
    Pending; an event's read at purchase stores it that early), so the read
    that finds it paid reads it whole: a poll that saw the payment first
    would otherwise keep unpriced lines, and the order could not be shipped
    (no declared value for customs, XD-SHIP-004)."""
    return dict(session.execute(_KNOWN_ORDERS, {"channels": list(channels), "since": since}).all())


# built once: every order poll of a connector that skips known orders runs it
_KNOWN_ORDERS = (select(Order.platform_order_id, Order.platform_updated_at)
                 .where(Order.channel.in_(bindparam("channels", expanding=True)),
                        Order.platform_updated_at >= bindparam("since"),
                        Order.local_status != OrderStatus.PENDING.value))


def max_window_s(conn: Connector) -> float:
    """The widest import window for ``conn``'s platform (``conn.max_window_s``,
    set from its ``PlatformSpec.windows``, else :data:`MAX_WINDOW_S`)."""
    return float(conn.max_window_s or MAX_WINDOW_S)


def _updated_position(ctx: EngineContext, group: Sequence[str]) -> dt.datetime | None:
    with ctx.db.read() as s:
        positions = [cur.position if (cur := cursors.get_cursor(s, c, "orders")) else None for c in group]
    known = [p for p in positions if p is not None]
    return min(known) if known and len(known) == len(positions) else None


def _order_stream(known_cursors: Mapping[tuple[str, str], cursors.Cursor], conn: Connector, group: Sequence[str],
                  now: dt.datetime) -> tuple[str, str | None]:
    """Which window this run reads: ("orders", None/"LastUpdated") — every
    order changed — or (CREATED_STREAM, "Created") — new orders only.

    Amazon gives getOrders one call a minute, and an order's LastUpdateDate
    moves when a Pending order is paid, about when it first becomes visible
    (two minutes late): polling by LastUpdated finds such an order only a
    minute later. So a connector with ``order_changes_every_s`` > 0 polls by
    creation time (an order shows at purchase + 2 min, whatever it did since)
    and reads changes (cancellations, payments) by LastUpdated every
    ``order_changes_every_s`` platform seconds. Both windows read new orders;
    every order is stored once (deduplicated by id and LastUpdateDate)."""
    every = float(conn.order_changes_every_s or 0)
    if every <= 0:
        return "orders", None
    positions = [cur.position if (cur := known_cursors.get((c, "orders"))) else None for c in group]
    known = [p for p in positions if p is not None]
    if not known or len(known) < len(positions):
        return "orders", "LastUpdated"
    behind = (now - min(known)).total_seconds() - conn.safety_lag_s
    return ("orders", "LastUpdated") if behind >= every else (CREATED_STREAM, "Created")


def order_poll_group(cfg: Config, channel: str) -> tuple[str, ...]:
    """The channels whose orders one poll of ``channel`` reads (its order import's ``Schedule.shared_by``)."""
    from crossdock.sync_engine.channels import order_import_group

    return order_import_group(cfg, channel)


def orders_job(ctx: EngineContext, entry: outbox.ClaimedEntry) -> ImportResult:
    """Outbox entry ``orders``: the next window of the entry's channel."""
    return import_orders(ctx, entry_channel(entry))
