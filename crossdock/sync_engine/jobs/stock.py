"""Stock: push a channel's dirty SKUs as absolute quantities in the fewest
calls (:func:`push_stock`), the sweep that wakes every channel's push
(:func:`sweep_stock`), and what a channel should show (:func:`expected_quantities`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossdock.connectors.base import Connector
from crossdock.db.base import utcnow
from crossdock.db.engine import Database
from crossdock.db.models import ChannelListing
from crossdock.errors import CrossdockError
from crossdock.errors.catalogue import may_pass
from crossdock.mapping.inventory_rules import stock_rule_from_config
from crossdock.models import ItemResult, StockUpdate
from crossdock.sync_engine import bundles, cursors, dirty, exposure, outbox, skumap, stock_runs, unseen
from crossdock.sync_engine.availability import availability_snapshot
from crossdock.sync_engine import shown as shows
from crossdock.sync_engine.jobs.batches import BatchSend
from crossdock.sync_engine.jobs.listings import NOT_LISTED_STATUSES
from crossdock.sync_engine.jobs.orders import CREATED_STREAM
from crossdock.sync_engine.jobs.context import EngineContext, configured_lease_s, entry_channel
from crossdock.sync_engine.planner import calls_for

log = logging.getLogger(__name__)

__all__ = ["PUSH_STOCK", "STOCK_SWEEP", "expected_quantities", "push_stock", "push_stock_job", "sweep_job",
           "sweep_stock"]

PUSH_STOCK = dirty.PUSH_STOCK
STOCK_SWEEP = "stock"


class PushResult(TypedDict, total=False):
    skus: int
    pushed: int
    dropped: int
    calls: int


class SweepResult(TypedDict):
    channels: list[str]
    unseen_released: list[str]


def _kept_for_next_push(code: str | None) -> bool:
    """A refused update stays dirty for the next push unless the catalogue's
    action for its code is ``fail`` (the platform will refuse it again: drop
    it, logged with its code). Without a code, or with a code of its quota,
    credentials or a transient fault, it is pushed again."""
    return not code or may_pass(code, unknown=False)


def push_stock(ctx: EngineContext, channel: str) -> PushResult:
    """Push the channel's dirty SKUs as absolute quantities in the fewest calls."""
    conn = ctx.connectors.get(channel)
    ch = ctx.cfg.channel(channel)
    rule = stock_rule_from_config(ch.stock, where=f"channels.{channel}.stock") if ch.stock else None
    guard = exposure.guard_on(ctx.cfg)
    if not guard:
        # with the guard a read-back cannot change the plan: the units it finds sold are taken off the
        # availability and off the channel's exposure alike, so no channel gains or loses room
        _find_unseen_sales(ctx, channel, conn)
    push = stock_runs.prepare_stock_push(ctx.db, channel, worker_id=ctx.worker_id, rule=rule,
                                         policies=ctx.policies, lease_s=configured_lease_s(ctx.cfg),
                                         rules=exposure.stock_rules(ctx.cfg), guard=guard)
    if not push.marks:
        return {"skus": 0}
    believed = push.believed = _forget_shown(ctx.db, channel, [u.sku for u in push.updates])
    # the SKUs the channel lists them under (aliases), read with the plan
    names = push.names if push.names is not None else skumap.ChannelSkus({})
    sent: BatchSend[StockUpdate] = BatchSend()
    started = push.started = utcnow()   # the push time: a sale before it was overwritten by it
    error: CrossdockError | None = None
    try:
        sent.run(push.plan.batches if push.plan else (), names.call(conn.push_stock),
                 fence=lambda items: stock_runs.fence_batch(ctx.db, push, items))
    except CrossdockError as exc:
        error = exc
    finally:
        answered = utcnow()     # every call has answered: the quantities arrived between started and this
        accepted, calls = sent.accepted, sent.calls
        refused = [r.sku for r in sent.refused]       # "not applied": what the channel shows did not change
        dropped = [r.sku for r in sent.refused if not _kept_for_next_push(r.code)]
        unsent = {u.sku: believed.get(u.sku) for u in push.updates if u.sku not in sent.attempted}
        with ctx.db.write() as s:
            stock_runs.finish_stock_push(s, push, accepted, dropped=dropped, now=started, until=answered, unsent=unsent,
                                         code=error.code if error is not None else _most_common_code(sent.refused))
            _restore_shown(s, channel, {sku: believed.get(sku) for sku in refused})
        if calls and push.plan:
            # the fewest calls the batch limits allow for the same changes: each
            # policy group's updates of this run packed into full batches
            groups: Counter[str] = Counter()
            for b in push.plan.batches:
                groups[b.policy_key] += len(b.items)
            fewest = sum(calls_for(n, ctx.policies.get(key, ctx.policies.get(ctx.platform(channel), 1)))
                         for key, n in groups.items())
            ctx.stats.add("stock_push_calls", channel, calls)
            ctx.stats.add("stock_push_min_calls", channel, fewest)
            ctx.stats.add("stock_changes", channel, len(accepted))
    if error is not None:
        raise error
    return {"skus": len(push.marks), "pushed": len(accepted), "dropped": len(dropped), "calls": calls}


def _most_common_code(results: Sequence[ItemResult]) -> str | None:
    codes = Counter(r.code for r in results if r.code)
    return codes.most_common(1)[0][0] if codes else None


# At most this many listings are read back per push run to find unseen sales:
# the reads have their own quota (Amazon getListingsItem 5/s, burst 10), and a
# run with many SKUs is a bulk change, not the race this guards against.
UNSEEN_READ_MAX = 10


def _find_unseen_sales(ctx: EngineContext, channel: str, conn: Connector) -> dict[str, int]:
    """Before pushing to a channel whose orders show up minutes late but whose
    listings drop at once (``conn.unseen_sales_s`` > 0: Amazon), read the
    SKUs about to be pushed back: a listing showing less than crossdock
    pushed has sold units the import has not brought yet. They are held from
    every channel (:mod:`crossdock.sync_engine.unseen`) and the SKUs marked
    dirty again, so this run and the other channels' runs push the lower
    availability. A failing read only skips the check."""

    if not conn.unseen_sales_s or not ctx.cfg.sync.get("detect_unseen_sales", True):
        return {}
    with ctx.db.read() as s:
        skus = dirty.peek_dirty(s, channel, limit=UNSEEN_READ_MAX + 1)
        names = skumap.ChannelSkus.of(s, channel) if skus and len(skus) <= UNSEEN_READ_MAX else None
    if names is None:
        return {}
    settle_real_s = ctx.clock.to_real_s(unseen.SETTLE_S)
    try:
        shown = {o.sku: o.quantity for o in names.read(conn.read_listings)(skus)}
    except CrossdockError as exc:
        log.info("%s: listings not read back for unseen sales (%s)", channel, exc.code)
        return {}
    # most read-backs find nothing: a read says so without taking the write lock (SQLite: its turn)
    with ctx.db.read() as s:
        if not unseen.shortfalls(s, channel, shown, settle_real_s=settle_real_s):
            return {}
    with ctx.db.write() as s:
        found = unseen.detect(s, channel, shown, settle_real_s=settle_real_s)
        if found:       # a bundle's unseen sale holds its components' units: they move too
            dirty.mark_dirty(s, sorted(bundles.with_components(s, found)))
    return found


def _forget_shown(db: Database, channel: str, skus: list[str]) -> dict[str, int | None]:
    """Before the calls: what the channel shows for ``skus`` is unknown until
    this push's outcome is recorded (``last_pushed_qty`` NULL). A worker that
    dies mid-push cannot tell whether its quantities arrived — the platform may
    even apply them after its own sales — so the run that takes the SKUs over
    pushes them whatever crossdock believed before. Returns the beliefs, to put
    back for updates the platform refused."""
    if not skus:
        return {}
    with db.write() as s:
        return shows.forget(s, channel, skus)


def _restore_shown(session: Session, channel: str, believed: dict[str, int | None]) -> None:
    """Updates the platform refused changed nothing: the belief before stands
    (unless another run recorded a newer one meanwhile)."""
    shows.restore(session, channel, believed)


def sweep_stock(ctx: EngineContext) -> SweepResult:

    until = {name: imported_until(ctx, name) for name in ctx.cfg.channels}
    with ctx.db.write() as s:
        released = unseen.expire(s, max_age_real_s=ctx.clock.to_real_s(unseen.MAX_AGE_S), imported_until=until)
        if released:
            dirty.mark_dirty(s, sorted(bundles.with_components(s, released)))
        channels = dirty.sweep(s)
    return {"channels": channels, "unseen_released": released}


def imported_until(ctx: EngineContext, channel: str) -> dt.datetime | None:
    """Real time before which every order of ``channel`` has been imported:
    its order import's furthest cursor, less the time the platform may take to
    show an order (``Connector.unseen_sales_s``). None before its first window.
    (Not inside a write transaction: building a connector may use the
    database on its own connection, which SQLite would make wait for it.)"""
    with ctx.db.read() as session:
        positions = [cur.position for stream in ("orders", CREATED_STREAM)
                     if (cur := cursors.get_cursor(session, channel, stream)) is not None]
    if not positions:
        return None
    conn = ctx.connectors.get(channel)
    return conn.clock.to_real(max(positions) - dt.timedelta(seconds=float(conn.unseen_sales_s or 0)))


def expected_quantities(ctx: EngineContext, channel: str, skus: list[str] | None = None) -> dict[str, int]:
    """What the channel should show now for each listed SKU (listings ended on
    the platform or not published yet — draft, rejected — are left out): its
    rule on the availability, or with the oversell guard its share as the
    stock push decides it."""

    ctx.cfg.channel(channel)
    with ctx.db.read() as s:
        stmt = select(ChannelListing.sku).where(
            ChannelListing.channel == channel,
            ChannelListing.status.not_in((*dirty.INACTIVE_LISTING_STATUSES, *NOT_LISTED_STATUSES)))
        if skus is not None:
            stmt = stmt.where(ChannelListing.sku.in_(skus))
        listed = list(s.scalars(stmt))
        avail = availability_snapshot(s, listed)
        return exposure.targets(s, channel, avail, rules=exposure.stock_rules(ctx.cfg), guard=exposure.guard_on(ctx.cfg))



def push_stock_job(ctx: EngineContext, entry: outbox.ClaimedEntry) -> PushResult:
    """Outbox entry ``push_stock``: the entry's channel's dirty SKUs."""
    return push_stock(ctx, entry_channel(entry))


def sweep_job(ctx: EngineContext, entry: outbox.ClaimedEntry) -> SweepResult:
    """Outbox entry ``stock`` (scheduled, for all channels)."""
    return sweep_stock(ctx)
