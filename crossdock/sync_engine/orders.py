"""Storing imported orders: dedupe, status changes, stock effects. Bulk.

:func:`store_orders` is how every order read from a channel is stored (an
import window, a back-fill, one order read back): :func:`upsert_orders`, then
what the platform did to its own listings (:func:`follow_platform_quantities`)
and the unseen sales the new orders explain (:func:`explain_unseen`), with
ONE :func:`~crossdock.sync_engine.dirty.mark_dirty` for all of it at the end.

:func:`upsert_orders` stores a page of normalised orders of one channel in
the caller's transaction:

- an order is unique per (channel, platform order id): new ones get ids
  drawn up front and are inserted with one executemany of ``INSERT … ON
  CONFLICT DO NOTHING`` (a concurrent importer that stored it first wins; ours
  is then treated as an update), lines with one executemany;
- a known order whose ``updated_at`` is older than the stored one is ignored
  (out-of-order webhooks, overlapping import windows); a newer one updates
  the platform status, the line quantities shipped and — when the status
  changed — ``status_changed_at``;
- crossdock's own status (``local_status``) follows the platform forwards
  only: it is never moved back (an order crossdock shipped stays shipped
  while the platform catches up — :mod:`~crossdock.sync_engine.stuck` flags
  it if that takes too long); cancelled / returned on the platform always win;
- stock: new or still-open orders are reserved (bulk
  :func:`~crossdock.sync_engine.inventory.reserve_orders`), cancelled ones
  released, ones the platform reports shipped consume their reservations
  (shipped outside crossdock). An order first seen after its units left
  (shipped outside crossdock, or while a lost database was restored from an
  older backup) takes them from stock at once, reserved and consumed in one
  transaction (XD-INV-012 when free stock cannot cover them), unless it was
  bought before the channel's import first ran
  (:func:`~crossdock.sync_engine.inventory.left_from_our_stock`). Orders
  first seen cancelled, or fulfilled by the platform (AFN), take nothing.

Sync events: one ``order.import`` per new order (carrying its reservation
outcome), one ``order.status`` per status change, one per stock problem, and
one ``orders.upsert`` summary per call. Unchanged orders write nothing.

Locks, in order: order rows (inserted by platform order id, updated by id),
then every stock row involved (SKU, warehouse), then reservations, dirty marks
and outbox rows — the same order as the single-order functions.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from crossdock.clock import Clock
from crossdock.db.models import PLATFORM_ID_MAX
from crossdock.platforms import fulfilled_by_platform
from crossdock.synclog import correlation_id, order_correlation
from crossdock.mapping.status import StatusMap
from crossdock.models import Order, OrderStatus
from crossdock.sync_engine import dirty, inventory, refund_rows, shown, skumap, unseen
from crossdock.sync_engine._sql import (
    EVENT_COLS,
    EVENTS,
    allocate_ids,
    chunks,
    insert_tuples,
    is_postgres,
    now_or,
    upsert_insert,
)
from crossdock.sync_engine._tables import LINES, ORDERS
from crossdock.sync_engine.inventory import LineInput, OrderInput
from crossdock.sync_engine.order_rows import (
    KNOWN_COLS,
    details_filled,
    LINE_COLS,
    NO_FLAGS,
    ORDER_COLS,
    binds,
    find_existing,
    line_rows,
    line_values,
    listed_customs,
    order_values,
)

log = logging.getLogger(__name__)

# How far along an order is; local status only moves to a higher rank
# (cancelled/returned from the platform always apply).
STATUS_RANK = {
    OrderStatus.PENDING.value: 0,
    OrderStatus.UNSHIPPED.value: 1,
    OrderStatus.PARTIALLY_SHIPPED.value: 2,
    OrderStatus.SHIPPED.value: 3,
    OrderStatus.DELIVERED.value: 4,
}
TERMINAL_FROM_PLATFORM = (OrderStatus.CANCELLED.value, OrderStatus.RETURNED.value)
SHIPPED_STATES = (OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value)
# Units came back (crossdock's RMAs): a platform that still shows the order shipped or delivered does not undo it.
CAME_BACK = (OrderStatus.PARTIALLY_RETURNED.value, OrderStatus.RETURNED.value)
# Flags that describe a status problem; a status change clears them (stuck.py sets them again if needed).
STATUS_FLAGS = ("XD-ORD-002", "XD-ORD-003")
#: The platform's own status is kept up to this long (``orders.platform_status``).
STATUS_MAX = PLATFORM_ID_MAX

__all__ = ["STATUS_RANK", "UpsertResult", "explain_unseen", "follow_platform_quantities", "merge_status",
           "nothing_stored", "store_orders", "upsert_orders"]


@dataclass(frozen=True, slots=True)
class UpsertResult:
    new: int
    updated: int
    unchanged: int
    order_ids: dict[str, int]                       # platform order id → local id (every order given)
    new_ids: tuple[int, ...] = ()
    status_changed: tuple[int, ...] = ()
    # of those, orders crossdock held as cancelled already (the seller's cancel, an earlier import):
    # their units were given back on their channel then
    cancelled_before: tuple[int, ...] = ()
    reservations: dict[int, inventory.ReservationResult] = field(default_factory=dict)
    released: dict[int, inventory.SettleResult] = field(default_factory=dict)
    consumed: dict[int, inventory.SettleResult] = field(default_factory=dict)

    @property
    def short(self) -> list[int]:
        """Orders with a line that could not be reserved (XD-INV-001)."""
        return sorted(oid for oid, r in self.reservations.items() if r.short)


def merge_status(local: str | None, platform: str) -> str:
    """crossdock's status after the platform reported ``platform``."""
    if local in CAME_BACK and platform in STATUS_RANK:
        return local
    if local is None or platform in TERMINAL_FROM_PLATFORM or local in TERMINAL_FROM_PLATFORM:
        return platform
    if STATUS_RANK.get(platform, -1) >= STATUS_RANK.get(local, -1):
        return platform
    return local


# An order's status as a connector gives it (a member, or its value) → the value stored.
_STATUS_VALUES: dict[Any, str] = {**{m: m.value for m in OrderStatus}, **{m.value: m.value for m in OrderStatus}}


def _local_status(o: Order, status_map: StatusMap | None, channel: str) -> str:
    if status_map is None:
        found = _STATUS_VALUES.get(o.status)
        return found if found is not None else OrderStatus(o.status).value   # (raises for an unknown one)
    raw: Any = o.raw if o.raw else o.platform_status
    return status_map.map(raw, channel=channel, order_id=o.platform_order_id).value


def upsert_orders(session: Session, channel: str, orders: Iterable[Order], *,
                  status_map: StatusMap | None = None, reserve: bool = True,
                  chooser: inventory.WarehouseChooser | None = None, events: bool = True,
                  marks: dirty.PendingMarks | None = None, now: dt.datetime | None = None,
                  aliases: dict[str, str] | None = None) -> UpsertResult:
    """Store ``orders`` of ``channel`` (see module doc). ``status_map`` maps
    the platform status with the seller's overrides; without it each order's
    ``status`` is used as the connector mapped it. ``reserve=False`` stores
    without touching stock (e.g. a back-fill of old orders). ``marks``: the
    caller gathers the SKUs to mark dirty and marks them once (without it,
    they are marked here). ``aliases``: the channel's SKU aliases, when the
    caller read them already in this transaction (:func:`store_orders`)."""
    at = now_or(now)
    own_marks = marks is None
    pending = dirty.PendingMarks() if marks is None else marks
    latest: dict[str, Order] = {}
    for o in skumap.resolve_orders(session, channel, list(orders), names=aliases):  # lines name the catalogue's SKUs
        cur = latest.get(o.platform_order_id)
        if cur is None or o.updated_at >= cur.updated_at:
            latest[o.platform_order_id] = o
    pids = sorted(latest)
    local = {pid: _local_status(latest[pid], status_map, channel) for pid in pids}

    existing = find_existing(session, channel, pids)
    b = binds(session)                     # bulk rows are built with values bound for the driver
    at_b = b.at(at)

    # ---- new orders: ids drawn up front, so the inserts are plain executemany (no RETURNING),
    # in platform-order-id order (a fixed lock order for concurrent importers)
    new_ids: dict[str, int] = {}
    new_line_ids: dict[str, list[int]] = {}                   # platform order id → line ids, in line order
    to_insert = [p for p in pids if p not in existing]
    if to_insert:
        ids = dict(zip(to_insert, allocate_ids(session, ORDERS, len(to_insert))))
        flags_b = b.json(NO_FLAGS)
        rows = [order_values(channel, latest[p], local[p], ids[p], b, at_b, flags_b) for p in to_insert]
        stored_all = True
        for part in chunks(rows, 5000):
            n = insert_tuples(session, ORDERS, ORDER_COLS, part, converted=True,
                              conflict_do_nothing=("channel", "platform_order_id"))
            stored_all = stored_all and n == len(part)
        if stored_all:
            new_ids = ids
        else:
            # a concurrent importer stored some first (PostgreSQL; SQLite cannot: we hold the write lock)
            stored: set[int] = set()
            for id_part in chunks(sorted(ids.values())):
                stored.update(session.execute(select(ORDERS.c.id).where(ORDERS.c.id.in_(id_part))).scalars())
            new_ids = {p: oid for p, oid in ids.items() if oid in stored}
            raced = [p for p in to_insert if p not in new_ids]
            if raced:  # stored meanwhile by a concurrent importer: handle as known orders
                existing.update(find_existing(session, channel, raced))
        line_ids = allocate_ids(session, LINES, sum(len(latest[p].lines) for p in new_ids))
        listed = listed_customs(session, channel, (latest[p] for p in new_ids))
        new_lines: list[tuple[Any, ...]] = []
        k = 0
        for pid, oid in new_ids.items():
            o = latest[pid]
            lids = new_line_ids[pid] = line_ids[k:k + len(o.lines)]
            k += len(lids)
            new_lines.extend(line_values(oid, o, lids, b, listed))
        for part in chunks(new_lines, 5000):
            insert_tuples(session, LINES, LINE_COLS, part, converted=True)

    # ---- known orders
    def needs_update(pid: str) -> bool:
        row, o = existing[pid], latest[pid]
        if o.updated_at < row.platform_updated_at:
            return False          # an older version of the order (out of order, or an overlapping window)
        return (o.updated_at != row.platform_updated_at or o.platform_status[:STATUS_MAX] != row.platform_status
                or merge_status(row.local_status, local[pid]) != row.local_status)

    candidates = [pid for pid in existing if needs_update(pid)]
    if candidates and is_postgres(session):
        # re-read under row locks (id order) so a concurrent status change (e.g. the ship flow) is not lost
        by_id = {existing[pid].id: pid for pid in candidates}
        for part in chunks(sorted(by_id)):
            for r in session.execute(select(*KNOWN_COLS).where(ORDERS.c.id.in_(part))
                                     .order_by(ORDERS.c.id).with_for_update()):
                existing[r.platform_order_id] = r
        candidates = [pid for pid in candidates if needs_update(pid)]
    unchanged = len(existing) - len(candidates)
    updates: list[dict[str, Any]] = []
    changed: list[tuple[int, str, str, str]] = []            # (id, pid, old local, new local)
    line_upserts: list[dict[str, Any]] = []
    for pid in sorted(candidates, key=lambda p: existing[p].id):
        row, o = existing[pid], latest[pid]
        new_local = merge_status(row.local_status, local[pid])
        status_moved = o.platform_status[:STATUS_MAX] != row.platform_status or new_local != row.local_status
        if status_moved:
            changed.append((row.id, pid, row.local_status, new_local))
        updates.append({"oid": row.id, "platform_status": o.platform_status[:STATUS_MAX], "local_status": new_local,
                        "platform_updated_at": o.updated_at, "ship_by": o.ship_by, "updated_at": at,
                        "status_changed_at": at if status_moved else row.status_changed_at})
        for line_row in line_rows(row.id, o):
            del line_row["id"]          # known or new line: the database assigns ids of new ones
            line_upserts.append(line_row)
    if updates:
        session.execute(update(ORDERS).where(ORDERS.c.id == bindparam("oid")).values(
            platform_status=bindparam("platform_status"), local_status=bindparam("local_status"),
            platform_updated_at=bindparam("platform_updated_at"), ship_by=bindparam("ship_by"),
            updated_at=bindparam("updated_at"), status_changed_at=bindparam("status_changed_at")), updates)
    for filled in (f for pid in candidates if (f := details_filled(existing[pid], latest[pid])) is not None):
        session.execute(update(ORDERS).where(ORDERS.c.id == filled.pop("oid")).values(**filled))
    cleared = []
    for oid, pid, _, _ in changed:
        flags = list(existing[pid].flags or [])
        if any(f in STATUS_FLAGS for f in flags):
            cleared.append((oid, [f for f in flags if f not in STATUS_FLAGS]))
    if cleared:   # a status change ends "stuck": stuck.find_stuck sets the flag again if still needed
        session.execute(update(ORDERS).where(ORDERS.c.id == bindparam("oid")).values(flags=bindparam("flags")),
                        [{"oid": oid, "flags": flags} for oid, flags in cleared])
    if line_upserts:
        ins = upsert_insert(session, LINES)
        stmt = ins.on_conflict_do_update(index_elements=["order_id", "platform_line_id"],
                                         # amounts a line read before the platform gave them lacks (a
                                         # Pending order's): filled, never overwritten
                                         set_={"quantity_shipped": ins.excluded.quantity_shipped,
                                               **{c: func.coalesce(LINES.c[c], ins.excluded[c])
                                                  for c in LINE_FILLED}})
        for batch in chunks(line_upserts, 2000):
            session.execute(stmt, batch)

    # ---- stock effects
    reservations: dict[int, inventory.ReservationResult] = {}
    released: dict[int, inventory.SettleResult] = {}
    consumed: dict[int, inventory.SettleResult] = {}
    if reserve:
        to_release = [oid for oid, _, old, new in changed
                      if new in TERMINAL_FROM_PLATFORM and old not in TERMINAL_FROM_PLATFORM]
        to_consume = [oid for oid, _, old, new in changed
                      if new in SHIPPED_STATES and old in inventory.RESERVABLE_STATUSES]
        to_reserve = sorted({u["oid"] for u in updates if u["local_status"] in inventory.RESERVABLE_STATUSES})
        if to_release or to_consume:
            # release/consume lock stock rows one order at a time: take every row involved first, in
            # (SKU, warehouse) order. Otherwise reserve_loaded locks the rows it allocates from, in that order.
            skus = {line.sku for pid in new_ids for line in latest[pid].lines if line.sku}
            updated_ids = {u["oid"] for u in updates}
            updated_pids = {pid for pid in existing if existing[pid].id in updated_ids}
            skus |= {line.sku for pid in updated_pids for line in latest[pid].lines if line.sku}
            skus |= inventory.active_reservation_skus(session, to_release + to_consume)
            inventory.lock_stock(session, skus)
        pid_of = {oid: pid for oid, pid, _, _ in changed}
        for oid in sorted(to_release):
            released[oid] = inventory.release_order(session, oid, reason="cancelled on the platform",
                                                    marks=pending, now=at)
        for oid in sorted(to_consume):
            consumed[oid] = inventory.consume_order(
                session, oid, reference=f"order {channel}:{pid_of[oid]} shipped (reported by the platform)", now=at)
        inputs = inventory.load_order_inputs(session, to_reserve) if to_reserve else []
        shipped: dict[int, dict[int, int]] = {}       # order first seen shipped → line id → units that left
        from_stock = inventory.left_from_our_stock(session, channel, {
            pid: (local[pid], latest[pid].purchased_at) for pid in new_ids})
        for pid, oid in new_ids.items():      # built from memory: nothing to read back
            o = latest[pid]
            ships = pid in from_stock
            if ships:
                shipped[oid] = inventory.units_left(local[pid], new_line_ids[pid],
                                                    [(ln.quantity, ln.quantity_shipped) for ln in o.lines])
            inputs.append(OrderInput(
                id=oid, channel=channel, platform_order_id=pid, local_status=local[pid],
                purchased_at=o.purchased_at, buyer_country=o.buyer_country,
                fulfillment_channel=o.fulfillment_channel, fresh=True, ships=ships,
                lines=tuple([LineInput(lid, ln.sku, ln.quantity, 0 if ships else ln.quantity_shipped)
                             for ln, lid in zip(o.lines, new_line_ids[pid])])))
        reservations = inventory.reserve_loaded(session, inputs, chooser=chooser, ok_events=False,
                                                marks=pending, now=at)
        pid_of_new = {oid: pid for pid, oid in new_ids.items()}
        for oid in sorted(shipped):
            res = reservations.get(oid)
            if res is not None and res.reserved:
                consumed[oid] = inventory.take_shipped_units(
                    session, oid, res, shipped[oid], now=at,
                    reference=f"order {channel}:{pid_of_new[oid]} first imported {local[pid_of_new[oid]]}")
    if own_marks:
        pending.flush(session, now=at)

    # ---- events (bound tuples in EVENT_COLS order: one executemany)
    if events:
        js = b.json
        rows = []
        reserved_ = inventory.RESERVED
        get_res, get_took = reservations.get, consumed.get
        for pid, oid in new_ids.items():
            o = latest[pid]
            status, n = local[pid], len(o.lines)
            details: dict[str, Any] = {"order_id": oid, "status": status, "lines": n}
            message = f"{o.platform_status} → {status}, {n} lines"
            res = get_res(oid)
            took = get_took(oid)
            if took is not None:
                details["taken_from_stock"] = took.quantity
                message += "; already left, taken from stock: " + ", ".join(
                    [f"{x.sku} x{x.quantity} @ {x.warehouse}" for x in took.settled])
            elif res is not None:
                if res.skipped_reason:
                    details["reservation"] = res.skipped_reason
                else:
                    held = [x for x in res.lines if x.status == reserved_]
                    details["reserved_lines"] = len(held)
                    if held:
                        message += "; reserved " + ", ".join([f"{x.sku} x{x.quantity} @ {x.warehouse}"
                                                              for x in held])
            rows.append((at_b, order_correlation(channel, pid), channel, "order", pid, "order.import", "ok", None,
                         message, 1, None, js(details)))
        for oid, pid, old, new in changed:
            rows.append((at_b, order_correlation(channel, pid), channel, "order", pid, "order.status", "ok", None,
                         f"{old} → {new}", 1, None, js({"order_id": oid, "platform_status": latest[pid].platform_status,
                                                        "from": old, "to": new})))
        if new_ids or updates:
            short = sum(1 for r in reservations.values() if r.short)
            rows.append((at_b, correlation_id(), channel, "channel", channel, "orders.upsert", "ok", None,
                         f"{len(new_ids)} new, {len(updates)} updated, {unchanged} unchanged", 1, None,
                         js({"new": len(new_ids), "updated": len(updates), "unchanged": unchanged, "short": short})))
        insert_tuples(session, EVENTS, EVENT_COLS, rows, converted=True)

    order_ids = {pid: existing[pid].id for pid in existing}
    order_ids.update(new_ids)
    log.info("channel %s: %d orders new, %d updated, %d unchanged", channel, len(new_ids), len(updates), unchanged)
    return UpsertResult(new=len(new_ids), updated=len(updates), unchanged=unchanged, order_ids=order_ids,
                        new_ids=tuple(sorted(new_ids.values())), status_changed=tuple(c[0] for c in changed),
                        cancelled_before=tuple(c[0] for c in changed if c[2] == OrderStatus.CANCELLED.value),
                        reservations=reservations, released=released, consumed=consumed)


def nothing_stored(channel: str) -> UpsertResult:
    """What :func:`store_orders` returns for no orders, without its queries
    (an empty import window: nothing is read, reserved, marked or logged in
    ``sync_events``; the log line stays)."""
    log.info("channel %s: %d orders new, %d updated, %d unchanged", channel, 0, 0, 0)
    return UpsertResult(new=0, updated=0, unchanged=0, order_ids={})


def store_orders(session: Session, channel: str, orders: Sequence[Order], clock: Clock, *,
                 marks: dirty.PendingMarks | None = None) -> UpsertResult:
    """Store orders read from ``channel`` (an import window, a back-fill, one
    order read back): :func:`upsert_orders` (status, reservations, events),
    then what the platform did to its own listings
    (:func:`follow_platform_quantities`), the unseen sales the new orders
    explain (:func:`explain_unseen`) and the refunds the payloads carry
    (:func:`~crossdock.sync_engine.refund_rows.record_read`); every SKU whose availability or listing
    moved is marked dirty ONCE, at the end. ``marks``: the caller gathers the
    SKUs and marks them itself (:mod:`~crossdock.sync_engine.quarantine`
    stores a window order by order, with one mark for all of them)."""
    own = marks is None
    pending = dirty.PendingMarks() if marks is None else marks
    aliases = skumap.aliases_of(session, channel) if orders else {}     # the channel's SKU aliases, read once
    orders = skumap.resolve_orders(session, channel, orders, names=aliases)
    result = upsert_orders(session, channel, orders, marks=pending, aliases=aliases)
    follow_platform_quantities(session, channel, orders, result, clock, marks=pending)
    explain_unseen(session, channel, orders, result)
    refund_rows.record_read(session, channel, orders, result.order_ids)   # the refunds the payloads carry
    if own:
        pending.flush(session)
    return result


def explain_unseen(session: Session, channel: str, orders: Iterable[Order], result: UpsertResult) -> None:
    """New orders explain units held as unseen sales of their channel
    (:mod:`crossdock.sync_engine.unseen`); their reservations hold them now."""
    new = set(result.new_ids)
    lines = [(line.sku, line.quantity) for o in orders
             if result.order_ids.get(o.platform_order_id) in new
             and not fulfilled_by_platform(o.fulfillment_channel)
             for line in o.lines if line.sku]
    if lines:
        unseen.consume(session, channel, lines)


#: Line amounts a later read fills where the stored line has none (upsert_orders).
LINE_FILLED = ("unit_price", "currency", "tax_amount", "shipping_amount", "shipping_tax_amount",
               "presentment_unit_price")


# Order times come to the second (Amazon's PurchaseDate, Shopify's createdAt; eBay's carry
# milliseconds, the coarsest is taken for all): a sale stamped within a second before a
# push started cannot be placed before or after it.
ORDER_TIME_PRECISION_S = 1.0


def follow_platform_quantities(session: Session, channel: str, orders: Iterable[Order], result: UpsertResult,
                               clock: Clock, *, marks: dirty.PendingMarks) -> None:
    """A platform lowers a listing's quantity itself when it sells and raises it
    again when an order is cancelled. Apply the same change to what we know
    the channel shows (:func:`crossdock.sync_engine.shown.follow_platform_change`),
    so the planner compares its target with what the channel really shows —
    and never re-raises a channel whose own sale it has just learnt about to a
    quantity computed without it.

    A cancel puts the units back on sale on its channel, once: an order
    crossdock already held as cancelled (the seller cancelled it through
    crossdock, which followed the units then; or an earlier import did) gives
    nothing back when the platform's status of it changes again. When the order had
    already shipped (its stock consumed) nothing else marks the SKU, and the
    channel would show more than crossdock allows until a reconcile: the
    restored SKUs go to ``marks``."""
    new = set(result.new_ids)
    changed = set(result.status_changed) - set(result.cancelled_before)
    delta: Counter[tuple[str, dt.datetime]] = Counter()
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
    shown.follow_platform_change(session, channel, delta,
                                 precision=dt.timedelta(seconds=clock.to_real_s(ORDER_TIME_PRECISION_S)))
    marks.add(sorted({sku for (sku, _), d in delta.items() if d > 0}))
