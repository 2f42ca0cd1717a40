"""Order import: the next window of a channel's orders (and of the channels
sharing its order poll), stored through one path (:func:`store_orders`)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import TypedDict

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.clock import Clock
from crossdock.config import Config
from crossdock.connectors.base import Connector, OrderQuery
from crossdock.db.models import ChannelListing, Order
from crossdock.models import Order as PlatformOrder
from crossdock.sync_engine import cursors, dirty, outbox
from crossdock.sync_engine.jobs.context import EngineContext, entry_channel
from crossdock.sync_engine.jobs.runner import paused
from crossdock.sync_engine.orders import UpsertResult, upsert_orders

__all__ = ["CREATED_STREAM", "IMPORT_ORDERS", "ImportResult", "import_orders", "max_window_s", "order_poll_group",
           "orders_job",
           "store_orders"]

IMPORT_ORDERS = "orders"
MAX_WINDOW_S = 6 * 3600.0
KNOWN_ORDERS_LOOKBACK_S = 3 * 86_400.0


class ImportResult(TypedDict, total=False):
    """One import window: what was read and stored, and where the cursor stands."""

    skipped: str
    more: bool
    read: int
    new: int
    updated: int
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
    with ctx.db.read() as s:
        stream, family = _order_stream(s, conn, group, now)
        positions = {c: (cur.position if (cur := cursors.get_cursor(s, c, stream)) else None) for c in group}
    # one window for the group: from the member furthest behind (a member new
    # to the group starts from its own look-back); re-read orders are skipped
    # by known_updates and deduplicated by the upsert
    known_positions = [p for p in positions.values() if p is not None]
    start_from = None if len(known_positions) < len(positions) else min(known_positions)
    if start_from is None and stream == CREATED_STREAM:
        # the first window by creation time starts where the window by update stands: every
        # order created before that was read there (its update is not earlier than its creation)
        start_from = _updated_position(ctx, group)
    window = cursors.next_window(start_from, now, safety_lag_s=conn.safety_lag_s,
                                 overlap_s=conn.overlap_s, max_window_s=max_window_s(conn),
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
            known = dict(s.execute(
                select(Order.platform_order_id, Order.platform_updated_at)
                .where(Order.channel.in_(group), Order.platform_updated_at >= since)).all())
    query = OrderQuery(window.start, window.end, created=family == "Created", known_updates=known,
                       siblings=siblings)
    with synclog.timed() as t:
        orders = list(conn.fetch_orders(query))
    by_channel: dict[str, list[PlatformOrder]] = {c: [] for c in group}
    owner = {ctx.cfg.channel(c).marketplace: c for c in group} if len(group) > 1 else {}
    for o in orders:
        by_channel[owner.get(o.marketplace_id, channel)].append(o)
    out: ImportResult = {"read": len(orders), "new": 0, "updated": 0, "more": window.more, "stream": stream,
           "start": window.start.isoformat(), "cursor": window.end.isoformat(),
           "horizon": (now - dt.timedelta(seconds=conn.safety_lag_s)).isoformat()}
    with ctx.db.write() as s:
        for member, member_orders in by_channel.items():
            result = store_orders(s, member, member_orders, conn.clock)
            cursors.advance_cursor(s, member, stream, window.end)
            shared = f" (one call with {', '.join(c for c in group if c != member)})" if len(group) > 1 else ""
            synclog.record(s, operation="orders.import", outcome="ok", channel=member, entity_type="channel",
                           entity=member, duration_ms=t.ms,
                           message=f"window {window.start.isoformat()} .. {window.end.isoformat()}: "
                                   f"{len(member_orders)} orders read, {result.new} new, {result.updated} updated"
                                   + shared,
                           details={"start": window.start.isoformat(), "end": window.end.isoformat(),
                                    "read": len(member_orders), "new": result.new, "updated": result.updated,
                                    "group": list(group), "filter": family or "updated"})
            ctx.stats.add("orders_imported", member, result.new)
            out["new"] += result.new
            out["updated"] += result.updated
    if len(group) > 1:
        out["channels"] = list(group)
    return out


# The cursor of windows by creation time, for platforms that poll new orders
# by creation and changes less often (see _order_stream).
CREATED_STREAM = "orders_created"


def max_window_s(conn: Connector) -> float:
    """The widest import window for ``conn``'s platform (``conn.max_window_s``,
    set from its ``PlatformSpec.windows``, else :data:`MAX_WINDOW_S`)."""
    return float(conn.max_window_s or MAX_WINDOW_S)


def _updated_position(ctx: EngineContext, group: Sequence[str]) -> dt.datetime | None:
    with ctx.db.read() as s:
        positions = [cur.position if (cur := cursors.get_cursor(s, c, "orders")) else None for c in group]
    known = [p for p in positions if p is not None]
    return min(known) if known and len(known) == len(positions) else None


def _order_stream(session: Session, conn: Connector, group: Sequence[str],
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
    positions = [cur.position if (cur := cursors.get_cursor(session, c, "orders")) else None for c in group]
    known = [p for p in positions if p is not None]
    if not known or len(known) < len(positions):
        return "orders", "LastUpdated"
    behind = (now - min(known)).total_seconds() - conn.safety_lag_s
    return ("orders", "LastUpdated") if behind >= every else (CREATED_STREAM, "Created")


def store_orders(session: Session, channel: str, orders: Sequence[PlatformOrder], clock: Clock) -> UpsertResult:
    """Store orders read from ``channel`` (an import window, a back-fill, one
    order read back): :func:`upsert_orders` (status, reservations, events),
    then what the platform did to its own listings (:func:`_follow_platform_quantities`)
    and the unseen sales the new orders explain (:func:`_explain_unseen`).
    Returns the :class:`~crossdock.sync_engine.orders.UpsertResult`."""
    result = upsert_orders(session, channel, orders)
    _follow_platform_quantities(session, channel, orders, result, clock)
    _explain_unseen(session, channel, orders, result)
    return result


def _explain_unseen(session: Session, channel: str, orders: Sequence[PlatformOrder], result: UpsertResult) -> None:
    """New orders explain units held as unseen sales of their channel
    (:mod:`crossdock.sync_engine.unseen`); their reservations hold them now."""
    from crossdock.sync_engine import unseen

    new = set(result.new_ids)
    lines = [(line.sku, line.quantity) for o in orders
             if result.order_ids.get(o.platform_order_id) in new and o.fulfillment_channel != "AFN"
             for line in o.lines if line.sku]
    if lines:
        unseen.consume(session, channel, lines)


def _follow_platform_quantities(session: Session, channel: str, orders: Sequence[PlatformOrder],
                                result: UpsertResult, clock: Clock) -> None:
    """A platform lowers a listing's quantity itself when it sells and raises it
    again when an order is cancelled. Apply the same change to what we know
    the channel shows (``last_pushed_qty``), so the planner compares its target
    with what the channel really shows — and never re-raises a channel whose
    own sale it has just learnt about to a quantity computed without it.

    Only a change made after our last push started counts: an absolute push
    that reached the platform after the sale already overwrote the platform's
    own decrement."""
    from crossdock.models import OrderStatus

    new = set(result.new_ids)
    changed = set(result.status_changed)
    delta: dict[tuple[str, dt.datetime], int] = Counter()
    for o in orders:
        oid = result.order_ids.get(o.platform_order_id)
        if oid is None:
            continue
        cancelled = o.status == OrderStatus.CANCELLED
        sign = -1 if (oid in new and not cancelled) else 1 if (oid in changed and oid not in new and cancelled) else 0
        if sign:
            happened = clock.to_real(o.purchased_at if sign < 0 else o.updated_at)
            for line in o.lines:
                if line.sku:
                    delta[(line.sku, happened)] += sign * line.quantity
    greatest = func.max if session.get_bind().dialect.name == "sqlite" else func.greatest
    for (sku, happened), d in sorted(delta.items()):
        if d:
            session.execute(
                update(ChannelListing)
                .where(ChannelListing.channel == channel, ChannelListing.sku == sku,
                       ChannelListing.last_pushed_qty.is_not(None),
                       (ChannelListing.last_pushed_at.is_(None)) | (ChannelListing.last_pushed_at < happened))
                .values(last_pushed_qty=greatest(ChannelListing.last_pushed_qty + d, 0)))
    # A cancel puts the units back on sale on its channel. When the order had
    # already shipped (its stock consumed) nothing else marks the SKU, and the
    # channel would show more than crossdock allows until a reconcile.
    restored = sorted({sku for (sku, _), d in delta.items() if d > 0})
    if restored:
        dirty.mark_dirty(session, restored)



def order_poll_group(cfg: Config, channel: str) -> tuple[str, ...]:
    """The channels whose orders one poll of ``channel`` reads (its order import's ``Schedule.shared_by``)."""
    from crossdock.sync_engine.channels import order_import_group

    return order_import_group(cfg, channel)


def orders_job(ctx: EngineContext, entry: outbox.ClaimedEntry) -> ImportResult:
    """Outbox entry ``orders``: the next window of the entry's channel."""
    return import_orders(ctx, entry_channel(entry))
