"""Storing imported orders: dedupe, status changes, stock effects. Bulk.

:func:`upsert_orders` stores a page of normalised orders of one channel in
the caller's transaction:

- an order is unique per (channel, platform order id): new ones are inserted
  with one multi-row ``INSERT … ON CONFLICT DO NOTHING … RETURNING`` (a
  concurrent importer that stored it first wins; ours is then treated as an
  update), lines with one executemany;
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
  (shipped outside crossdock). Amazon AFN orders reserve nothing.

Sync events: one ``order.import`` per new order (carrying its reservation
outcome), one ``order.status`` per status change, one per stock problem, and
one ``orders.upsert`` summary per call. Unchanged orders write nothing.

Locks, in order: order rows (inserted by platform order id, updated by id),
then every stock row involved (SKU, warehouse), then reservations, dirty marks
and outbox rows — the same order as the single-order functions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from crossdock.synclog import order_correlation
from crossdock.db.models import Order as OrderRow, OrderLine as LineRow
from crossdock.mapping.status import StatusMap
from crossdock.models import Address, Order, OrderStatus
from crossdock.sync_engine import inventory
from crossdock.sync_engine._sql import (
    IN_CHUNK,
    allocate_ids,
    bulk_insert,
    chunks,
    event_row,
    insert_events,
    is_postgres,
    now_or,
    upsert_insert,
)

log = logging.getLogger(__name__)

ORDERS = OrderRow.__table__
LINES = LineRow.__table__

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
# Flags that describe a status problem; a status change clears them (stuck.py sets them again if needed).
STATUS_FLAGS = ("XD-ORD-002", "XD-ORD-003")

__all__ = ["STATUS_RANK", "UpsertResult", "merge_status", "upsert_orders"]


@dataclass(frozen=True, slots=True)
class UpsertResult:
    new: int
    updated: int
    unchanged: int
    order_ids: dict[str, int]                       # platform order id → local id (every order given)
    new_ids: tuple[int, ...] = ()
    status_changed: tuple[int, ...] = ()
    reservations: dict[int, inventory.ReservationResult] = field(default_factory=dict)
    released: dict[int, inventory.SettleResult] = field(default_factory=dict)
    consumed: dict[int, inventory.SettleResult] = field(default_factory=dict)

    @property
    def short(self) -> list[int]:
        """Orders with a line that could not be reserved (XD-INV-001)."""
        return sorted(oid for oid, r in self.reservations.items() if r.short)


def merge_status(local: str | None, platform: str) -> str:
    """crossdock's status after the platform reported ``platform``."""
    if local is None or platform in TERMINAL_FROM_PLATFORM or local in TERMINAL_FROM_PLATFORM:
        return platform
    if STATUS_RANK.get(platform, -1) >= STATUS_RANK.get(local, -1):
        return platform
    return local


def _local_status(o: Order, status_map: StatusMap | None, channel: str) -> str:
    if status_map is None:
        return OrderStatus(o.status).value
    raw: Any = o.raw if o.raw else o.platform_status
    return status_map.map(raw, channel=channel, order_id=o.platform_order_id).value


_ADDRESS_FIELDS = tuple(f.name for f in dataclasses.fields(Address))


def _address(a: Address | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {k: v for k in _ADDRESS_FIELDS if (v := getattr(a, k)) is not None}


_NO_FLAGS: list[Any] = []   # one shared (never mutated) value: converted once per bulk insert


def _order_row(channel: str, o: Order, local: str, at: dt.datetime, *, oid: int | None = None) -> dict[str, Any]:
    tax = o.tax
    return {
        "id": oid, "channel": channel, "platform_order_id": o.platform_order_id, "platform_status": o.platform_status[:64],
        "local_status": local, "marketplace_id": o.marketplace_id, "purchased_at": o.purchased_at,
        "platform_updated_at": o.updated_at, "ship_by": o.ship_by, "buyer_country": o.buyer_country,
        "currency": o.total.currency if o.total else None, "total_amount": o.total.amount if o.total else None,
        "tax_model": tax.model if tax else None, "tax_scheme": tax.scheme if tax else None,
        "ioss_number": tax.ioss_number if tax else None, "fulfillment_channel": o.fulfillment_channel,
        "warehouse": None, "shipping_address": _address(o.shipping_address), "flags": _NO_FLAGS,
        "imported_at": at, "updated_at": at, "status_changed_at": at,
    }


def _line_rows(order_id: int, o: Order) -> list[dict[str, Any]]:
    rows = []
    for line in o.lines:
        tax = line.tax
        rows.append({
            "id": None, "order_id": order_id, "platform_line_id": line.platform_line_id, "sku": line.sku,
            "listing_id": line.listing_id, "title": line.title[:500] if line.title else None,
            "quantity": line.quantity, "quantity_shipped": line.quantity_shipped,
            "unit_price": line.unit_price.amount if line.unit_price else None,
            "currency": line.unit_price.currency if line.unit_price else None,
            "tax_amount": tax.tax_amount.amount if tax and tax.tax_amount else None,
            "ioss_number": tax.ioss_number if tax else None,
        })
    return rows


_KNOWN_COLS = (ORDERS.c.id, ORDERS.c.platform_order_id, ORDERS.c.platform_status, ORDERS.c.local_status,
               ORDERS.c.platform_updated_at, ORDERS.c.status_changed_at, ORDERS.c.flags)


def _find_existing(session: Session, channel: str, pids: list[str]) -> dict[str, Any]:
    """The stored orders among ``pids``. On PostgreSQL the ids are joined as
    ``unnest(array)``: an index lookup per id whatever the table statistics
    (a long ``IN`` list on a freshly filled, not yet analysed table gets a
    plan that filters every row of the channel)."""
    found: dict[str, Any] = {}
    for part in chunks(pids, 1000 if is_postgres(session) else IN_CHUNK):
        if is_postgres(session):
            wanted = func.unnest(bindparam("pids", part, type_=ARRAY(String))).table_valued("pid").render_derived()
            stmt = (select(*_KNOWN_COLS).select_from(ORDERS.join(wanted, ORDERS.c.platform_order_id == wanted.c.pid))
                    .where(ORDERS.c.channel == channel))
        else:
            stmt = select(*_KNOWN_COLS).where(ORDERS.c.channel == channel, ORDERS.c.platform_order_id.in_(part))
        for r in session.execute(stmt):
            found[r.platform_order_id] = r
    return found


def upsert_orders(session: Session, channel: str, orders: Iterable[Order], *,
                  status_map: StatusMap | None = None, reserve: bool = True,
                  chooser: inventory.WarehouseChooser | None = None, events: bool = True,
                  now: dt.datetime | None = None) -> UpsertResult:
    """Store ``orders`` of ``channel`` (see module doc). ``status_map`` maps
    the platform status with the seller's overrides; without it each order's
    ``status`` is used as the connector mapped it. ``reserve=False`` stores
    without touching stock (e.g. a back-fill of old orders)."""
    at = now_or(now)
    latest: dict[str, Order] = {}
    for o in orders:
        cur = latest.get(o.platform_order_id)
        if cur is None or o.updated_at >= cur.updated_at:
            latest[o.platform_order_id] = o
    pids = sorted(latest)
    local = {pid: _local_status(latest[pid], status_map, channel) for pid in pids}

    existing = _find_existing(session, channel, pids)

    # ---- new orders: ids drawn up front, so the inserts are plain executemany (no RETURNING),
    # in platform-order-id order (a fixed lock order for concurrent importers)
    new_ids: dict[str, int] = {}
    new_line_ids: dict[tuple[int, str], int] = {}
    to_insert = [p for p in pids if p not in existing]
    if to_insert:
        ids = dict(zip(to_insert, allocate_ids(session, ORDERS, len(to_insert))))
        rows = [_order_row(channel, latest[p], local[p], at, oid=ids[p]) for p in to_insert]
        for part in chunks(rows, 5000):
            bulk_insert(session, ORDERS, part, conflict_do_nothing=("channel", "platform_order_id"))
        if is_postgres(session):
            # a concurrent importer may have stored some first (SQLite: impossible, we hold the write lock)
            stored: set[int] = set()
            for part in chunks(sorted(ids.values())):
                stored.update(session.execute(select(ORDERS.c.id).where(ORDERS.c.id.in_(part))).scalars())
            new_ids = {p: oid for p, oid in ids.items() if oid in stored}
        else:
            new_ids = ids
        raced = [p for p in to_insert if p not in new_ids]
        if raced:  # stored meanwhile by a concurrent importer: handle as known orders
            existing.update(_find_existing(session, channel, raced))
        line_rows = [row for pid, oid in new_ids.items() for row in _line_rows(oid, latest[pid])]
        for row, lid in zip(line_rows, allocate_ids(session, LINES, len(line_rows))):
            row["id"] = lid
            new_line_ids[(row["order_id"], row["platform_line_id"])] = lid
        for part in chunks(line_rows, 5000):
            bulk_insert(session, LINES, part)

    # ---- known orders
    def needs_update(pid: str) -> bool:
        row, o = existing[pid], latest[pid]
        if o.updated_at < row.platform_updated_at:
            return False          # an older version of the order (out of order, or an overlapping window)
        return (o.updated_at != row.platform_updated_at or o.platform_status[:64] != row.platform_status
                or merge_status(row.local_status, local[pid]) != row.local_status)

    candidates = [pid for pid in existing if needs_update(pid)]
    if candidates and is_postgres(session):
        # re-read under row locks (id order) so a concurrent status change (e.g. the ship flow) is not lost
        by_id = {existing[pid].id: pid for pid in candidates}
        for part in chunks(sorted(by_id)):
            for r in session.execute(select(*_KNOWN_COLS).where(ORDERS.c.id.in_(part))
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
        status_moved = o.platform_status[:64] != row.platform_status or new_local != row.local_status
        if status_moved:
            changed.append((row.id, pid, row.local_status, new_local))
        updates.append({"oid": row.id, "platform_status": o.platform_status[:64], "local_status": new_local,
                        "platform_updated_at": o.updated_at, "ship_by": o.ship_by, "updated_at": at,
                        "status_changed_at": at if status_moved else row.status_changed_at})
        for line_row in _line_rows(row.id, o):
            del line_row["id"]          # known or new line: the database assigns ids of new ones
            line_upserts.append(line_row)
    if updates:
        session.execute(update(ORDERS).where(ORDERS.c.id == bindparam("oid")).values(
            platform_status=bindparam("platform_status"), local_status=bindparam("local_status"),
            platform_updated_at=bindparam("platform_updated_at"), ship_by=bindparam("ship_by"),
            updated_at=bindparam("updated_at"), status_changed_at=bindparam("status_changed_at")), updates)
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
                                         set_={"quantity_shipped": ins.excluded.quantity_shipped})
        for part in chunks(line_upserts, 2000):
            session.execute(stmt, part)

    # ---- stock effects
    reservations: dict[int, inventory.ReservationResult] = {}
    released: dict[int, inventory.SettleResult] = {}
    consumed: dict[int, inventory.SettleResult] = {}
    availability_changed: set[str] = set()
    if reserve:
        to_release = [oid for oid, _, old, new in changed
                      if new in TERMINAL_FROM_PLATFORM and old not in TERMINAL_FROM_PLATFORM]
        to_consume = [oid for oid, _, old, new in changed
                      if new in SHIPPED_STATES and old in inventory.RESERVABLE_STATUSES]
        to_reserve = sorted({u["oid"] for u in updates if u["local_status"] in inventory.RESERVABLE_STATUSES})
        skus = {line.sku for pid in new_ids for line in latest[pid].lines if line.sku}
        updated_ids = {u["oid"] for u in updates}
        updated_pids = {pid for pid in existing if existing[pid].id in updated_ids}
        skus |= {line.sku for pid in updated_pids for line in latest[pid].lines if line.sku}
        skus |= inventory.active_reservation_skus(session, to_release + to_consume)
        inventory.lock_stock(session, skus)
        for oid in sorted(to_release):
            order = inventory._lock_order(session, oid)
            released[oid], released_skus = inventory._release(session, order, at, "cancelled on the platform")
            availability_changed |= released_skus
        for oid in sorted(to_consume):
            order = inventory._lock_order(session, oid)
            consumed[oid] = inventory._consume(
                session, order, inventory._active_reservations(session, oid), at, quantity=None,
                reference=f"order {channel}:{order.platform_order_id} shipped (reported by the platform)",
                actor=None)
        inputs = inventory.load_order_inputs(session, to_reserve) if to_reserve else []
        for pid, oid in new_ids.items():      # built from memory: nothing to read back
            o = latest[pid]
            inputs.append(inventory.OrderInput(
                id=oid, channel=channel, platform_order_id=pid, local_status=local[pid],
                purchased_at=o.purchased_at, buyer_country=o.buyer_country,
                fulfillment_channel=o.fulfillment_channel, fresh=True,
                lines=tuple(inventory.LineInput(new_line_ids[(oid, ln.platform_line_id)], ln.sku, ln.quantity,
                                                ln.quantity_shipped) for ln in o.lines)))
        # reserves, and marks dirty every SKU whose availability moved (released ones included)
        reservations = inventory.reserve_loaded(session, inputs, chooser=chooser, ok_events=False,
                                                also_mark=availability_changed, now=at)

    # ---- events
    if events:
        rows = []
        for pid, oid in new_ids.items():
            o = latest[pid]
            r = reservations.get(oid)
            details: dict[str, Any] = {"order_id": oid, "status": local[pid], "lines": len(o.lines)}
            message = f"{o.platform_status} → {local[pid]}, {len(o.lines)} lines"
            if r is not None:
                if r.skipped_reason:
                    details["reservation"] = r.skipped_reason
                else:
                    held = [x for x in r.lines if x.status == "reserved"]
                    details["reserved_lines"] = len(held)
                    if held:
                        message += "; reserved " + ", ".join(f"{x.sku} x{x.quantity} @ {x.warehouse}"
                                                             for x in held)
            rows.append(event_row(operation="order.import", outcome="ok", at=at, channel=channel,
                                  entity_type="order", entity=pid, details=details, message=message,
                                  correlation=order_correlation(channel, pid)))
        for oid, pid, old, new in changed:
            rows.append(event_row(operation="order.status", outcome="ok", at=at, channel=channel,
                                  entity_type="order", entity=pid, message=f"{old} → {new}",
                                  correlation=order_correlation(channel, pid),
                                  details={"order_id": oid, "platform_status": latest[pid].platform_status,
                                           "from": old, "to": new}))
        if new_ids or updates:
            rows.append(event_row(operation="orders.upsert", outcome="ok", at=at, channel=channel,
                                  entity_type="channel", entity=channel,
                                  message=f"{len(new_ids)} new, {len(updates)} updated, {unchanged} unchanged",
                                  details={"new": len(new_ids), "updated": len(updates), "unchanged": unchanged,
                                           "short": sum(1 for r in reservations.values() if r.short)}))
        insert_events(session, rows)

    order_ids = {pid: existing[pid].id for pid in existing}
    order_ids.update(new_ids)
    log.info("channel %s: %d orders new, %d updated, %d unchanged", channel, len(new_ids), len(updates), unchanged)
    return UpsertResult(new=len(new_ids), updated=len(updates), unchanged=unchanged, order_ids=order_ids,
                        new_ids=tuple(sorted(new_ids.values())), status_changed=tuple(c[0] for c in changed),
                        reservations=reservations, released=released, consumed=consumed)
