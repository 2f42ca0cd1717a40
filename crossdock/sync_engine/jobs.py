"""The jobs: load, plan, call the connector, record.

Each job is a plain function of an :class:`EngineContext` and one claimed
outbox entry, so it runs the same under the in-process worker, a Dramatiq
worker on another machine, or a test. Durable state is in the database
(cursors, dirty SKUs, outbox); a job repeated after a crash finds the work
done or redoes it with the same idempotency keys.

Outcome of a job for the outbox (:mod:`crossdock.sync_engine.failures`, by
the catalogue's ``action`` of the error's code — the same for ``crossdock
sync run``):
- returns normally → entry done (an order import still behind continues at
  once: :func:`_continue_import`);
- :class:`QuotaWait` or a QUOTA error (quota not available now) → entry
  released until the wait is over, no attempt used, logged with its code;
- a retryable crossdock error → entry retried with back-off (attempt used);
- any other crossdock error → entry failed (visible in ``crossdock jobs failed``);
- an AUTH error → the channel is paused with the code; its other jobs wait.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import func, select, update

from crossdock import synclog
from crossdock.clock import Clock, parse_iso
from crossdock.config import Config
from crossdock.connectors.base import Connector, OrderQuery
from crossdock.db.base import utcnow
from crossdock.db.engine import Database
from crossdock.db.models import Channel, ChannelListing, Order, Shipment
from crossdock.errors import ConfigError, CrossdockError, SyncError
from crossdock.mapping.inventory_rules import stock_rule_from_config
from crossdock.ratelimit.budget import Priority, job_priority
from crossdock.models import ShipmentConfirmation
from crossdock.sync_engine import cursors, dirty, outbox
from crossdock.sync_engine import shown as shows
from crossdock.sync_engine.failures import QuotaWait, classify, settle  # noqa: F401 - QuotaWait: jobs' name for it
from crossdock.sync_engine.orders import store_orders
from crossdock.sync_engine.planner import FACTS_BATCH_POLICIES, BatchPolicy, calls_for

log = logging.getLogger(__name__)

IMPORT_ORDERS = "orders"
PUSH_STOCK = dirty.PUSH_STOCK
CONFIRM_SHIPMENT = "confirm_shipment"
STOCK_SWEEP = "stock"
RECONCILE = "reconcile"
TRACKING = "tracking"
SHIPMENTS = "shipments"

MAX_WINDOW_S = 6 * 3600.0
KNOWN_ORDERS_LOOKBACK_S = 3 * 86_400.0


@dataclass
class EngineStats:
    """Counters the demo and benchmarks read (per process)."""

    stock_push_calls: Counter = field(default_factory=Counter)       # channel -> calls made
    stock_push_min_calls: Counter = field(default_factory=Counter)   # channel -> fewest calls possible
    stock_changes: Counter = field(default_factory=Counter)          # channel -> quantities pushed
    orders_imported: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, channel: str, n: int) -> None:
        with self.lock:
            getattr(self, name)[channel] += n


@dataclass
class EngineContext:
    cfg: Config
    db: Database
    connectors: Any                    # ConnectorPool (get(channel) -> Connector)
    clock: Clock
    worker_id: str = field(default_factory=outbox.default_worker_id)
    stats: EngineStats = field(default_factory=EngineStats)
    policies: dict[str, BatchPolicy | int] = field(default_factory=lambda: dict(FACTS_BATCH_POLICIES))
    initial_lookback_s: float = 86_400.0

    def platform(self, channel: str) -> str:
        return self.cfg.channel(channel).platform


def configured_lease_s(cfg: Config) -> float:
    """``[sync] lease_s``: how long a worker holds an outbox entry (and the
    dirty SKUs of a push) before another may take it over. It must exceed the
    longest job; a killed worker's work waits this long."""
    raw = cfg.sync.get("lease_s", outbox.DEFAULT_LEASE_S)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = 0.0
    if value <= 0:
        raise ConfigError("XD-CFG-003", detail=f"sync.lease_s must be a positive number of seconds, got {raw!r}")
    return value


# ---------------------------------------------------------------- orders
def import_orders(ctx: EngineContext, channel: str) -> dict:
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
    by_channel: dict[str, list] = {c: [] for c in group}
    owner = {ctx.cfg.channel(c).marketplace: c for c in group} if len(group) > 1 else {}
    for o in orders:
        by_channel[owner.get(o.marketplace_id, channel)].append(o)
    out = {"read": len(orders), "new": 0, "updated": 0, "more": window.more, "stream": stream,
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


def _updated_position(ctx: EngineContext, group) -> dt.datetime | None:
    with ctx.db.read() as s:
        positions = [cur.position if (cur := cursors.get_cursor(s, c, "orders")) else None for c in group]
    return None if any(p is None for p in positions) else min(positions)


def _order_stream(session, conn: Connector, group, now: dt.datetime) -> tuple[str, str | None]:
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
    if any(p is None for p in positions):
        return "orders", "LastUpdated"
    behind = (now - min(positions)).total_seconds() - conn.safety_lag_s
    return ("orders", "LastUpdated") if behind >= every else (CREATED_STREAM, "Created")


# ---------------------------------------------------------------- stock
def _retryable(code: str | None) -> bool:
    if not code:
        return True
    from crossdock.errors import lookup

    try:
        return lookup(code).retryable
    except KeyError:
        return False


@dataclass
class BatchSend:
    """The outcome of sending planned batches (stock or prices) one call each:
    what the platform accepted, what it refused (its per-item results), and
    the calls made. Filled as it goes, so a call failing half-way (quota,
    network, auth — raised by :meth:`run`) leaves what was done before it."""

    accepted: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    calls: int = 0

    def run(self, batches, send: Callable[[list], list]) -> None:
        for batch in batches:
            results = send(list(batch.items))
            self.calls += 1
            by_sku = {r.sku: r for r in results}
            for u in batch.items:
                r = by_sku.get(u.sku)
                if r is None or r.ok:
                    self.accepted.append(u)
                else:
                    self.refused.append(r)


def push_stock(ctx: EngineContext, channel: str) -> dict:
    """Push the channel's dirty SKUs as absolute quantities in the fewest calls."""
    conn = ctx.connectors.get(channel)
    ch = ctx.cfg.channel(channel)
    rule = stock_rule_from_config(ch.stock, where=f"channels.{channel}.stock") if ch.stock else None
    _find_unseen_sales(ctx, channel, conn)
    push = dirty.prepare_stock_push(ctx.db, channel, worker_id=ctx.worker_id, rule=rule, policies=ctx.policies,
                                    lease_s=configured_lease_s(ctx.cfg))
    if not push.marks:
        return {"skus": 0}
    believed = _forget_shown(ctx.db, channel, [u.sku for u in push.updates])
    sent = BatchSend()
    started = utcnow()   # recorded as the push time: a sale after it is not overwritten by it
    error: CrossdockError | None = None
    try:
        sent.run(push.plan.batches if push.plan else (), conn.push_stock)
    except CrossdockError as exc:
        error = exc
    finally:
        accepted, calls = sent.accepted, sent.calls
        refused = [r.sku for r in sent.refused]       # "not applied": what the channel shows did not change
        dropped = [r.sku for r in sent.refused if not _retryable(r.code)]
        with ctx.db.write() as s:
            dirty.finish_stock_push(s, push, accepted, dropped=dropped, now=started,
                                    code=error.code if error is not None else _most_common_code(sent.refused))
            _restore_shown(s, channel, {sku: believed.get(sku) for sku in refused})
        if calls and push.plan:
            # the fewest calls the batch limits allow for the same changes: each
            # policy group's updates of this run packed into full batches
            groups: Counter = Counter()
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


def _most_common_code(results) -> str | None:
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
    from crossdock.sync_engine import unseen

    if not conn.unseen_sales_s or not ctx.cfg.sync.get("detect_unseen_sales", True):
        return {}
    with ctx.db.read() as s:
        skus = dirty.peek_dirty(s, channel, limit=UNSEEN_READ_MAX + 1)
    if not skus or len(skus) > UNSEEN_READ_MAX:
        return {}
    try:
        shown = {o.sku: o.quantity for o in conn.read_listings(skus)}
    except CrossdockError as exc:
        log.info("%s: listings not read back for unseen sales (%s)", channel, exc.code)
        return {}
    with ctx.db.write() as s:
        found = unseen.detect(s, channel, shown, settle_real_s=ctx.clock.to_real_s(unseen.SETTLE_S))
        if found:
            dirty.mark_dirty(s, sorted(found))
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


def _restore_shown(session, channel: str, believed: dict[str, int | None]) -> None:
    """Updates the platform refused changed nothing: the belief before stands
    (unless another run recorded a newer one meanwhile)."""
    shows.restore(session, channel, believed)


def sweep_stock(ctx: EngineContext) -> dict:
    from crossdock.sync_engine import unseen

    with ctx.db.write() as s:
        released = unseen.expire(s, max_age_real_s=ctx.clock.to_real_s(unseen.MAX_AGE_S))
        if released:
            dirty.mark_dirty(s, released)
        channels = dirty.sweep(s)
    return {"channels": channels, "unseen_released": released}


def expected_quantities(ctx: EngineContext, channel: str, skus: list[str] | None = None) -> dict[str, int]:
    """What the channel should show now for each listed SKU (listings ended on
    the platform or not published yet — draft, rejected — are left out)."""
    from crossdock.mapping.inventory_rules import listed_quantity
    from crossdock.sync_engine.catalog_jobs import NOT_LISTED_STATUSES
    from crossdock.sync_engine.inventory import availability_snapshot

    ch = ctx.cfg.channel(channel)
    rule = stock_rule_from_config(ch.stock, where=f"channels.{channel}.stock") if ch.stock else None
    with ctx.db.read() as s:
        stmt = select(ChannelListing.sku).where(
            ChannelListing.channel == channel,
            ChannelListing.status.not_in((*dirty.INACTIVE_LISTING_STATUSES, *NOT_LISTED_STATUSES)))
        if skus is not None:
            stmt = stmt.where(ChannelListing.sku.in_(skus))
        listed = list(s.scalars(stmt))
        avail = availability_snapshot(s, listed)
    if rule is None:
        return {sku: max(0, avail.get(sku, 0)) for sku in listed}
    return {sku: listed_quantity(avail.get(sku, 0), rule) for sku in listed}


def reconcile(ctx: EngineContext, channel: str, *, apply: bool = False) -> dict:
    """Read back listed quantities and prices; report drift; with ``apply``
    hand every SKU whose quantity drifted to the stock push (recorded as
    showing what was read, marked dirty, and the channel's push job run now,
    behind its per-(channel, SKU) claim: ``repaired`` counts those it pushed),
    and push the expected prices (``catalog_jobs.push_prices``, forced) for
    every SKU whose price drifted.

    The expected price is what the channel's price rule gives today
    (``catalog_jobs.expected_prices``); a SKU whose price cannot be computed
    (no FX rate …) is reported in ``price_problems``, not as drift."""
    from crossdock.sync_engine import catalog_jobs

    conn = ctx.connectors.get(channel)
    expected = expected_quantities(ctx, channel)
    prices, price_problems = catalog_jobs.expected_prices(ctx, channel)
    offers = {o.sku: o for o in conn.read_listings(sorted(set(expected) | set(prices)))}
    drift = []
    for sku, want in sorted(expected.items()):
        offer = offers.get(sku)
        shown = offer.quantity if offer is not None else None
        if shown != want:
            drift.append({"sku": sku, "expected": want, "listed": shown})
    price_drift = []
    for sku, price in sorted(prices.items()):
        offer = offers.get(sku)
        listed = offer.price if offer is not None else None
        if listed is None or listed.currency != price.currency or listed.amount != price.amount:
            price_drift.append({"sku": sku, "expected": str(price.amount), "currency": price.currency,
                                "listed": str(listed.amount) if listed is not None else None,
                                "listed_currency": listed.currency if listed is not None else None})
    fixed: set[str] = set()
    if apply and drift:
        # the stock push repairs them, behind its per-(channel, SKU) claim: what the channel shows
        # is recorded, the SKUs marked dirty, and the push job run for the channel now
        handed = utcnow()
        with ctx.db.write() as s:
            shows.adopt_listed(s, channel, {d["sku"]: d["listed"] for d in drift})
            dirty.mark_dirty(s, [d["sku"] for d in drift])
        push_stock(ctx, channel)
        with ctx.db.read() as s:
            fixed = shows.pushed_since(s, channel, [d["sku"] for d in drift], since=handed)
    repaired = len(fixed)
    prices_repaired = 0
    if apply and price_drift:
        pushed = catalog_jobs.push_prices(ctx, channel, skus=[d["sku"] for d in price_drift], force=True)
        prices_repaired = pushed["pushed"]
    with ctx.db.write() as s:
        for d in drift:
            synclog.record(s, operation="reconcile", outcome="ok" if apply else "partial", channel=channel,
                           entity_type="sku", entity=d["sku"], code="XD-INV-002",
                           message=f"expected {d['expected']}, listed {d['listed']}"
                                   + ((" (repaired)" if d["sku"] in fixed else " (left to the stock push)")
                                      if apply else ""),
                           details=d)
        for d in price_drift:
            listed_text = f"{d['listed']} {d['listed_currency']}" if d["listed"] is not None else "no price"
            synclog.record(s, operation="reconcile", outcome="ok" if apply else "partial", channel=channel,
                           entity_type="sku", entity=d["sku"], code="XD-MAP-013",
                           message=f"price expected {d['expected']} {d['currency']}, listed {listed_text}"
                                   + (" (pushed again)" if apply else ""),
                           details=d)
        synclog.record(s, operation="reconcile", outcome="ok", channel=channel, entity_type="channel",
                       entity=channel, message=f"{len(expected)} SKUs checked, {len(drift)} drifted, "
                                               f"{repaired} repaired; {len(prices)} prices checked, "
                                               f"{len(price_drift)} drifted, {prices_repaired} repaired, "
                                               f"{len(price_problems)} not computable")
    return {"channel": channel, "checked": len(expected), "drift": drift, "repaired": repaired,
            "prices_checked": len(prices), "price_drift": price_drift, "prices_repaired": prices_repaired,
            "price_problems": price_problems}


# ---------------------------------------------------------------- shipments
# Platform refusals that may mean "this shipment is already there" (order
# already shipped, nothing left to fulfil): before failing the entry, ask.
_MAYBE_ALREADY_SHIPPED = frozenset({"XD-SHIP-005", "XD-PLATFORM-001", "XD-PLATFORM-007"})


def _tried_before(ctx: EngineContext, entry: outbox.ClaimedEntry) -> bool:
    """An earlier run may have reached the platform: the entry failed or was
    reclaimed from a dead worker (attempts counted), or was replayed from the
    failed list (attempts reset, its last error kept)."""
    if entry.attempts > 0:
        return True
    from crossdock.db.models import OutboxEntry

    with ctx.db.read() as s:
        return s.scalar(select(OutboxEntry.last_error).where(OutboxEntry.id == entry.id)) is not None


def _ask_platform(conn: Connector, confirmation: ShipmentConfirmation, shipments_of_order: int, *,
                  channel: str) -> bool | None:
    """Does the channel already hold this shipment (``Connector.shipment_confirmed``:
    True / False, or None when it cannot tell), where a failing read means
    "cannot tell"."""
    try:
        return conn.shipment_confirmed(confirmation, shipments_of_order=shipments_of_order)
    except CrossdockError as exc:
        if exc.code.startswith(("XD-QUOTA", "XD-AUTH")):
            raise                      # wait for quota / pause the channel, as for the confirmation itself
        log.warning("%s: could not read order %s back (%s); sending the confirmation", channel,
                    confirmation.platform_order_id, exc.code)
        return None


def confirm_shipment(ctx: EngineContext, entry: outbox.ClaimedEntry) -> dict:
    """Tell the channel about a shipment, once: a confirmed shipment is never
    confirmed again (``shipments.confirmed_at``).

    A worker can die after the platform accepted the confirmation and before
    ``confirmed_at`` was written; the entry then runs again. So a run that
    follows an earlier attempt first asks the channel whether it already holds
    the shipment (``Connector.shipment_confirmed``) and then only records it, and
    a refusal that may mean "already shipped" is checked the same way before
    the entry is failed.

    A buyer may cancel after the parcel was booked and before the confirmation
    arrives; the channel then refuses it. A refusal that may mean "cancelled"
    (eBay XD-ORD-006, Amazon and Shopify XD-PLATFORM-007) reads the order back:
    when the channel shows it cancelled, the entry is done, not failed — there
    is nothing left to confirm — and :func:`_cancelled_after_ship` applies the
    cancel and flags the order XD-ORD-007 for a person to intercept the parcel."""
    p = entry.payload
    channel = p["channel"]
    shipment_id = int(p["shipment_id"])
    with ctx.db.read() as s:
        shipment = s.get(Shipment, shipment_id)
        if shipment is None:
            raise SyncError("XD-SYNC-001", channel=channel, detail=f"shipment {p['shipment_id']} not found")
        if shipment.confirmed_at is not None:
            return {"skipped": "already confirmed"}
        shipments_of_order = s.scalar(select(func.count()).select_from(Shipment)
                                      .where(Shipment.order_id == shipment.order_id)) or 0
    conn: Connector = ctx.connectors.get(channel)
    confirmation = ShipmentConfirmation(
        platform_order_id=p["platform_order_id"], carrier=p["carrier"], tracking_number=p["tracking_number"],
        shipped_at=parse_iso(p["shipped_at"]) if p.get("shipped_at") else conn.clock.now(),
        lines=tuple((str(a), int(b)) for a, b in p.get("lines") or ()), service=p.get("service"),
        tracking_url=p.get("tracking_url"))
    already = False
    cancelled: tuple[Any, CrossdockError] | None = None      # (the order as the channel shows it, the refusal)
    with synclog.timed() as t:
        if _tried_before(ctx, entry):
            already = _ask_platform(conn, confirmation, shipments_of_order, channel=channel) is True
        if not already:
            try:
                conn.confirm_shipment(confirmation)
            except CrossdockError as exc:
                if exc.code in _MAYBE_ALREADY_SHIPPED and \
                        _ask_platform(conn, confirmation, shipments_of_order, channel=channel) is True:
                    already = True
                    log.info("%s: order %s refused the confirmation (%s) but already holds shipment %s",
                             channel, p["platform_order_id"], exc.code, shipment_id)
                else:
                    order = _cancelled_on_channel(conn, exc, confirmation.platform_order_id, channel=channel)
                    if order is None:
                        raise
                    cancelled = (order, exc)
    if cancelled is not None:
        return _cancelled_after_ship(ctx, p, *cancelled, ms=t.ms)
    with ctx.db.write() as s:
        s.execute(update(Shipment).where(Shipment.id == shipment_id, Shipment.confirmed_at.is_(None))
                  .values(confirmed_at=utcnow()))
        synclog.record(s, operation="shipment.confirm", outcome="ok", channel=channel, entity_type="order",
                       entity=p["platform_order_id"], duration_ms=t.ms,
                       message=f"{p['carrier']} {p['tracking_number']} "
                               + ("already on the channel (not sent again)" if already
                                  else "confirmed on the channel"),
                       details={"shipment_id": p["shipment_id"], "tracking_number": p["tracking_number"],
                                "already_on_channel": already})
    return {"already_on_channel" if already else "confirmed": p["platform_order_id"]}


# Refusals that may mean "the order was cancelled meanwhile" (eBay answers 409 → XD-ORD-006;
# Amazon's 400 and Shopify's cancelled order → XD-PLATFORM-007): read the order back before failing.
_MAYBE_CANCELLED = frozenset({"XD-ORD-006", "XD-PLATFORM-007"})


def _cancelled_on_channel(conn: Connector, refusal: CrossdockError, platform_order_id: str, *,
                          channel: str) -> Any:
    """After a refusal that may mean "cancelled": the order as the channel shows
    it now (``fetch_order``) when it is cancelled there, else None (not
    cancelled, not readable, or the connector cannot read one order)."""
    from crossdock.models import OrderStatus

    if refusal.code not in _MAYBE_CANCELLED:
        return None
    try:
        order = conn.fetch_order(platform_order_id)
    except CrossdockError as exc:
        if exc.code.startswith(("XD-QUOTA", "XD-AUTH")):
            raise                      # wait for quota / pause the channel; the entry runs again
        log.warning("%s: order %s refused the confirmation (%s) and could not be read back (%s)", channel,
                    platform_order_id, refusal.code, exc.code)
        return None
    return order if order is not None and order.status == OrderStatus.CANCELLED else None


def apply_platform_order(ctx: EngineContext, channel: str, order: Any) -> Any:
    """Store one order as the channel shows it now, read outside an import
    window (a refused confirmation, auto-ship's look before buying a label),
    through the import's own path (:func:`store_orders`: status, reservations
    released when cancelled, events, the listing quantity the platform
    restored itself). Unchanged → no-op.
    Returns the :class:`~crossdock.sync_engine.orders.UpsertResult`."""
    with ctx.db.write() as s:
        return store_orders(s, channel, [order], ctx.connectors.get(channel).clock)


def _cancelled_after_ship(ctx: EngineContext, p: dict, order: Any, refusal: CrossdockError, *, ms: int) -> dict:
    """The channel refused the confirmation because the order is cancelled: there
    is nothing to confirm any more, but a parcel is on its way. Apply the cancel
    (:func:`apply_platform_order`), flag the order XD-ORD-007 (``crossdock
    warehouse flagged``, ``crossdock sync status``), record the event on the
    order's chain (``crossdock logs trace ORDER``) and mark its SKUs dirty: the
    channel put the units back on sale, crossdock's stock shipped them. The
    shipment stays unconfirmed; its stock is not restored (the goods are
    gone until they come back: ``crossdock stock adjust``)."""
    from crossdock.db.models import OrderLine
    from crossdock.sync_engine.stuck import CANCELLED_AFTER_SHIP

    channel, pid, shipment_id = p["channel"], p["platform_order_id"], int(p["shipment_id"])
    apply_platform_order(ctx, channel, order)
    with ctx.db.write() as s:
        shipment = s.get(Shipment, shipment_id)
        row = s.get(Order, shipment.order_id, with_for_update=True, populate_existing=True)
        flags = list(row.flags or [])
        if CANCELLED_AFTER_SHIP not in flags:
            row.flags = [*flags, CANCELLED_AFTER_SHIP]
        skus = dict(s.execute(select(OrderLine.platform_line_id, OrderLine.sku)
                              .where(OrderLine.order_id == row.id)).all())
        units: Counter = Counter()
        for line_id, qty in p.get("lines") or ():
            if skus.get(str(line_id)):
                units[skus[str(line_id)]] += int(qty)
        synclog.record(s, operation="shipment.confirm", outcome="failed", code=CANCELLED_AFTER_SHIP,
                       channel=channel, entity_type="order", entity=pid, duration_ms=ms,
                       message=f"{p['carrier']} {p['tracking_number']} not confirmed: the order was cancelled on "
                               f"the channel after it shipped ({refusal.code}); intercept the parcel or expect a "
                               f"return, then restock with `crossdock stock adjust`",
                       details={"shipment_id": shipment_id, "carrier": p["carrier"],
                                "tracking_number": p["tracking_number"], "warehouse": p.get("warehouse"),
                                "units": dict(units), "refused_with": refusal.code,
                                "platform_status": order.platform_status})
        listed = sorted({sku for sku in skus.values() if sku})
        if listed:
            dirty.mark_dirty(s, listed)
    log.warning("%s: order %s was cancelled after it shipped (%s %s); flagged %s", channel, pid, p["carrier"],
                p["tracking_number"], CANCELLED_AFTER_SHIP)
    return {"cancelled_after_ship": pid}


# ---------------------------------------------------------------- channel state
def pause_channel(db: Database, channel: str, exc: CrossdockError) -> None:
    with db.write() as s:
        s.execute(update(Channel).where(Channel.name == channel)
                  .values(paused_code=exc.code, paused_reason=exc.detail[:500], paused_at=utcnow()))
        synclog.record(s, synclog.event_from_error("channel.pause", exc, channel=channel, entity_type="channel",
                                                   entity=channel))


def paused(db: Database, channel: str | None) -> str | None:
    if not channel:
        return None
    with db.read() as s:
        return s.scalar(select(Channel.paused_code).where(Channel.name == channel))


# ---------------------------------------------------------------- dispatch
JOB_PRIORITY = {IMPORT_ORDERS: Priority.CRITICAL, CONFIRM_SHIPMENT: Priority.CRITICAL,
                PUSH_STOCK: Priority.STOCK, RECONCILE: Priority.STOCK, "prices": Priority.PRICE,
                "listings": Priority.CONTENT}


def run_entry(ctx: EngineContext, entry: outbox.ClaimedEntry) -> dict:
    with job_priority(JOB_PRIORITY.get(entry.kind, Priority.NORMAL)):
        return _run_entry(ctx, entry)


def _run_entry(ctx: EngineContext, entry: outbox.ClaimedEntry) -> dict:
    kind, channel = entry.kind, entry.channel
    if kind == IMPORT_ORDERS:
        return import_orders(ctx, channel)
    if kind == PUSH_STOCK:
        return push_stock(ctx, channel)
    if kind == STOCK_SWEEP:
        return sweep_stock(ctx)
    if kind == CONFIRM_SHIPMENT:
        return confirm_shipment(ctx, entry)
    if kind == RECONCILE:
        if "apply" not in entry.payload:     # a scheduled run: drift goes to the stock push
            from crossdock.sync_engine.housekeeping import scheduled_reconcile

            return scheduled_reconcile(ctx, channel)
        return reconcile(ctx, channel, apply=bool(entry.payload["apply"]))
    if kind in EXTRA_JOBS or kind in (TRACKING, SHIPMENTS, "prices", "listings"):
        return run_extra(ctx, kind, entry)
    raise SyncError("XD-SYNC-001", channel=channel, detail=f"unknown job kind {kind!r}")


EXTRA_JOBS: dict[str, Callable[[EngineContext, outbox.ClaimedEntry], dict]] = {}


def run_extra(ctx: EngineContext, kind: str, entry: outbox.ClaimedEntry) -> dict:
    fn = EXTRA_JOBS.get(kind)
    if fn is None:
        return {"skipped": f"no {kind} job configured"}
    return fn(ctx, entry)


def process(ctx: EngineContext, entry: outbox.ClaimedEntry) -> str:
    """Run one claimed entry and settle it in the outbox. Returns the outcome.
    A failure is classified and settled by :mod:`~crossdock.sync_engine.failures`,
    the same path ``crossdock sync run`` takes."""
    code = paused(ctx.db, entry.channel)
    now = utcnow()
    if code and entry.kind != STOCK_SWEEP:
        outbox.release(ctx.db, entry.id, ctx.worker_id, available_at=now + dt.timedelta(seconds=30))
        return "paused"
    with synclog.correlation(entry.correlation_id):
        try:
            result = run_entry(ctx, entry)
        except Exception as exc:  # noqa: BLE001 - a bug too is settled: the entry stays visible, never lost
            failure = classify(exc, attempts=entry.attempts, channel=entry.channel)
            return settle(ctx, failure, kind=entry.kind, channel=entry.channel, entry=entry)
        with ctx.db.write() as s:
            if outbox.complete(s, entry.id, ctx.worker_id) and entry.kind == IMPORT_ORDERS:
                _continue_import(s, entry, result)
    return "done"


def _continue_import(session, entry: outbox.ClaimedEntry, result: dict) -> None:
    """An import whose cursor is still behind after its window (``more``: a
    first import walking back through ``initial_lookback_s``, a cursor left
    far behind by a stopped worker) goes on with the next window now, not
    an interval later: one continuation entry, due at once, keyed by the
    window it starts from (enqueued with the completion, so it is neither
    lost nor doubled). Each window's calls still wait for the quota budget,
    and a scheduled run finds it queued and adds none (``enqueue_unless_queued``)."""
    if not result.get("more") or not result.get("cursor"):
        return
    outbox.enqueue(session, IMPORT_ORDERS, channel=entry.channel, entity=f"catch-up {entry.channel}",
                   payload={"continues": entry.id, "from": result["cursor"]},
                   idempotency_key=f"{IMPORT_ORDERS}:{entry.channel}:more:{result['cursor']}"[:200],
                   correlation_id=entry.correlation_id)


def claim_and_process(ctx: EngineContext, *, ids: list[int] | None = None, kinds=None, channel=None,
                      limit: int = 1, lease_s: float | None = None) -> list[str]:
    """Claim and run due entries; ``lease_s`` defaults to ``[sync] lease_s``."""
    entries = outbox.claim(ctx.db, worker_id=ctx.worker_id, ids=ids, kinds=kinds, channel=channel,
                           limit=limit, lease_s=lease_s if lease_s is not None else configured_lease_s(ctx.cfg))
    return [process(ctx, e) for e in entries]

