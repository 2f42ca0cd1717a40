"""A buyer cancels after the parcel was booked: on Amazon, eBay and Shopify.

Cancelled after the label, before the confirmation reached the channel: the
channel refuses the confirmation; the entry is done (nothing left to confirm),
the order flagged XD-ORD-007 on its chain, listed for the warehouse, never a
failed job. Cancelled before auto-ship books a label: auto-ship reads the order
back first, so no label is bought and the reservation is released the way the
order import releases it. On SQLite and PostgreSQL, against the sandbox.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from crossdock import config as config_mod
from crossdock import synclog
from crossdock.db.models import Channel, Order, OutboxEntry, Reservation, Shipment, StockLevel, SyncEvent
from crossdock.demo import DemoOptions, _load_sample_rates, _sandbox_channels, _seed, _shipping_summary, _write_config
from crossdock.errors import AuthError
from crossdock.sandbox.core import BuyerProfile, Fault, Sandbox
from crossdock.sync_engine import dirty, jobs, stuck
from crossdock.sync_engine.jobs.auto_ship import auto_ship
from crossdock.sync_engine.engine import context_from_config
from tests.sync_engine.support import made_envs, wait_ticking

# Jobs run here in the test's own thread sleep through short quota waits, as a person's
# command does (tests/sync_engine/test_quota_wait_actor.py covers how a worker waits).
pytestmark = pytest.mark.usefixtures("quota_waits_slept")

TIME_SCALE = 120.0         # one real second is two sandbox minutes
NAMES = ("amazon-us", "ebay-uk", "shopify-eu")


class _Setup:
    """The demo's four channels on the sandbox, the database under test, one
    order placed on each of Amazon US, eBay UK and Shopify."""

    def __init__(self, tmp_path: Path, monkeypatch, sb: Sandbox, db, *, seed: int) -> None:
        self.sb, self.db = sb, db
        opts = DemoOptions(skus=6, time_scale=TIME_SCALE, seed=seed, folder=tmp_path, database_url=db.url)
        secrets: dict[str, str] = {}
        path = _write_config(tmp_path, sb.describe(), opts, secrets)
        for key, value in secrets.items():
            monkeypatch.setenv(key, value)
        self.cfg = config_mod.load(path, env={})
        self.cfg.sandbox["carrier"]["failure_rate"] = 0.0           # every booking succeeds: no retries to wait for
        self.channels = _sandbox_channels(sb.describe())
        _seed(db, sb, self.cfg, opts, self.channels)
        _load_sample_rates(db, sb.clock.now().date())
        self.ctx = context_from_config(self.cfg, db)
        sb.sims["shopify"].pending_payment_probability = 0.0      # paid at once: ready to ship
        sims = sb.all_channels()
        self.placed = {name: sb.buy_once(self.channels[name], sims[self.channels[name]], BuyerProfile(max_qty=1))
                       for name in NAMES}
        assert None not in self.placed.values()

    def close(self) -> None:
        self.ctx.connectors.close()
        dirty.set_window_s(dirty.DEFAULT_WINDOW_S)

    def import_all(self) -> None:
        for name in NAMES:
            jobs.import_orders(self.ctx, name)

    def orders(self) -> dict[str, Any]:
        with self.db.read() as s:
            return {o.platform_order_id: o for o in s.scalars(select(Order))}

    def ready(self) -> set[str]:
        from crossdock.warehouse.picking import ready_orders

        with self.db.read() as s:
            return {o.platform_order_id for o in ready_orders(s)}

    def shipped(self) -> set[str]:
        with self.db.read() as s:
            return set(s.scalars(select(Order.platform_order_id).join(Shipment, Shipment.order_id == Order.id)))

    def cancel_on_platform(self) -> None:
        """The buyers cancel, with the sandboxes' own cancel (listed quantity restored)."""
        amazon, ebay, shopify = (self.sb.sims[p] for p in ("amazon", "ebay", "shopify"))
        assert amazon.cancel_order(self.placed["amazon-us"])
        ebay.cancel_order(self.channels["ebay-uk"], self.placed["ebay-uk"])
        shop = shopify.shops[self.channels["shopify-eu"].split(":", 1)[1]]
        shopify.cancel_order(shop, shop.orders[int(self.placed["shopify-eu"])])

    def confirmations_on_platforms(self) -> Counter:
        """Confirmations the platforms accepted, per platform order id (their own record)."""
        confirms: Counter = Counter()
        for e in self.sb.requests.since(0, limit=10**9):
            if e["operation"] in ("confirmShipment", "createShippingFulfillment") and 200 <= e["status"] < 300:
                confirms[e["path"].split("/order")[-1].split("/")[1]] += 1
        shop = self.sb.sims["shopify"]
        with shop.lock:
            for st in shop.shops.values():
                for f in st.fulfillments.values():
                    confirms[str(f.order_id)] += 1
        return confirms


def synclog_events(db, entity: str) -> list[Any]:
    with db.read() as s:
        return synclog.trace(s, entity)


_wait = wait_ticking


@pytest.fixture
def setup(tmp_path, monkeypatch, db):
    yield from made_envs(_Setup, tmp_path, monkeypatch, db)


def test_cancelled_after_ship_completes_the_entry_and_flags_the_order(setup):
    with Sandbox(time_scale=TIME_SCALE, seed=31) as sb:
        env = setup(sb, seed=31)
        placed = set(env.placed.values())
        # Given one order per platform, imported and shipped (labels bought, stock consumed) ...
        _wait("the orders to be imported and shipped", lambda: env.shipped() >= placed,
              tick=lambda: (env.import_all(), auto_ship(env.ctx)))
        # ... and each buyer cancelling before the confirmation reached the channel
        env.cancel_on_platform()

        # When the confirmations run
        outcomes = jobs.claim_and_process(env.ctx, kinds=["confirm_shipment"], limit=10)

        # Then every entry is done, none failed, and no platform holds a confirmation
        assert outcomes == ["done"] * 3
        with env.db.read() as s:
            entries = {e.entity: e
                       for e in s.scalars(select(OutboxEntry).where(OutboxEntry.kind == "confirm_shipment"))}
            ships = {pid: sh for sh, pid in s.execute(select(Shipment, Order.platform_order_id)
                                                      .join(Order, Order.id == Shipment.order_id))}
        assert {pid: e.status for pid, e in entries.items()} == {pid: "done" for pid in placed}
        assert all(sh.confirmed_at is None for sh in ships.values())
        assert not (set(env.confirmations_on_platforms()) & placed)
        # the orders are cancelled in crossdock too (the import's path), flagged XD-ORD-007
        orders = env.orders()
        assert {pid: (orders[pid].local_status, orders[pid].flags) for pid in placed} == \
            {pid: ("cancelled", ["XD-ORD-007"]) for pid in placed}
        # and `crossdock logs trace ORDER` shows the refusal with the code, on the order's own chain
        with env.db.read() as s:
            for pid in placed:
                trace = synclog.trace(s, pid)
                [event] = [e for e in trace if e.code == "XD-ORD-007"]
                assert event.operation == "shipment.confirm" and event.outcome == "failed"
                assert event.correlation_id == entries[pid].correlation_id == \
                    synclog.order_correlation(orders[pid].channel, pid)
                assert ships[pid].tracking_number in event.message
                assert event.details["refused_with"] in ("XD-ORD-006", "XD-PLATFORM-007")
                assert sum(event.details["units"].values()) >= 1
                ops = [e.operation for e in trace]
                assert ops.index("order.import") < ops.index("shipment.create") < ops.index("shipment.confirm")
            # the units stay shipped (the parcel is gone): nothing restored to on hand or reserved
            reserved = s.scalar(select(func.sum(StockLevel.reserved))) or 0
            statuses = Counter(s.scalars(select(Reservation.status)))
            # and the channels, which put the cancelled units back on sale, get the quantity pushed again
            marked = set(s.execute(select(dirty.DIRTY.c.channel, dirty.DIRTY.c.sku)).all())
        assert reserved == 0 and statuses == Counter({"consumed": 3})
        for pid in placed:
            units = next(e for e in synclog_events(env.db, pid) if e.code == "XD-ORD-007").details["units"]
            assert {(orders[pid].channel, sku) for sku in units} <= marked
        # the warehouse sees them, with their parcels, and so does `crossdock sync status`
        with env.db.read() as s:
            flagged = stuck.flagged_orders(s)
        assert {(f.platform_order_id, f.code) for f in flagged} == {(pid, "XD-ORD-007") for pid in placed}
        assert all([p["tracking_number"] for p in f.parcels] == [ships[f.platform_order_id].tracking_number]
                   and not f.parcels[0]["confirmed"] for f in flagged)
        from crossdock.sync_engine.status import sync_status_doc

        doc = sync_status_doc(env.cfg, env.db, dt.datetime.now(dt.timezone.utc))
        assert doc["totals"]["stuck_orders"]["XD-ORD-007"] == 3
        assert doc["totals"]["outbox_failed"] == 0
        # and the demo summary counts them, so that every shipment is accounted for
        summary = _shipping_summary(env.db, env.sb, env.cfg)
        assert (summary["shipments_created"], summary["shipments_cancelled_after_ship"],
                summary["shipped_orders_confirmed_once_on_platform"], summary["shipments_confirmation_queued"],
                summary["confirmations_refused"]) == (3, 3, 0, 0, {})

        # When a person has dealt with one parcel
        pid = env.placed["ebay-uk"]
        with env.db.write() as s:
            assert stuck.resolve_flag(s, orders[pid].id, "XD-ORD-007", actor="test", note="intercepted")
            assert not stuck.resolve_flag(s, orders[pid].id, "XD-ORD-007", actor="test")
        # Then it leaves the list, with an event on its chain
        with env.db.read() as s:
            assert {f.platform_order_id for f in stuck.flagged_orders(s)} == placed - {pid}
            assert [e.message for e in synclog.trace(s, pid) if e.operation == "order.resolve"] == \
                ["XD-ORD-007 resolved: intercepted"]


def test_auto_ship_reads_the_order_back_and_buys_no_label_for_a_cancelled_one(setup):
    with Sandbox(time_scale=TIME_SCALE, seed=37) as sb:
        env = setup(sb, seed=37)
        placed = set(env.placed.values())
        # Given one order per platform, imported and ready to ship (stock reserved) ...
        _wait("the orders to be imported and ready", lambda: env.ready() >= placed, tick=env.import_all)
        with env.db.read() as s:
            held = s.scalar(select(func.sum(StockLevel.reserved)))
        assert held >= 3
        # ... and each buyer cancelling on the channel, which crossdock has not imported yet
        env.cancel_on_platform()
        assert env.ready() >= placed

        # When auto-ship runs
        result = auto_ship(env.ctx)

        # Then it read each order back and shipped none of them: no shipment, no label, no confirmation queued
        assert (result["shipped"], result["closed_on_channel"], result["waiting"]) == (0, 3, 0), result
        assert env.shipped() == set()
        labels = Path(env.cfg.path).parent / env.cfg.labels_dir
        assert not (labels.exists() and any(labels.iterdir()))
        with env.db.read() as s:
            assert s.scalar(select(func.count()).select_from(OutboxEntry)
                            .where(OutboxEntry.kind == "confirm_shipment")) == 0
            # the reservations were released the way the import releases a cancel
            statuses = Counter(s.scalars(select(Reservation.status)))
            reserved = s.scalar(select(func.sum(StockLevel.reserved)))
            skipped = {e.entity: e for e in s.scalars(select(SyncEvent).where(
                SyncEvent.operation == "shipment.create", SyncEvent.outcome == "skipped"))}
            released = {e.entity for e in s.scalars(select(SyncEvent).where(
                SyncEvent.operation == "stock.release", SyncEvent.outcome == "ok"))}
        assert statuses == Counter({"released": 3}) and reserved == 0
        orders = env.orders()
        assert {pid: orders[pid].local_status for pid in placed} == {pid: "cancelled" for pid in placed}
        assert released == placed
        # and the trace says why, on the order's chain
        assert set(skipped) == placed
        for pid, event in skipped.items():
            assert event.code == "XD-ORD-006" and "no label bought" in event.message
            assert event.correlation_id == synclog.order_correlation(orders[pid].channel, pid)
            assert event.details["released_units"] >= 1
        # and a later import finds nothing left to change
        env.import_all()
        assert {pid: env.orders()[pid].local_status for pid in placed} == {pid: "cancelled" for pid in placed}
        assert auto_ship(env.ctx)["ready"] == 0


def test_auto_ship_buys_no_label_while_a_channel_cannot_be_read(setup):
    with Sandbox(time_scale=TIME_SCALE, seed=41) as sb:
        env = setup(sb, seed=41)
        placed = set(env.placed.values())
        _wait("the orders to be imported and ready", lambda: env.ready() >= placed, tick=env.import_all)
        # Given eBay paused (its credentials failed) and Amazon answering getOrder with HTML 503s
        jobs.pause_channel(env.db, "ebay-uk", AuthError("XD-AUTH-002", channel="ebay-uk", detail="revoked"))
        sb.faults.add(Fault("html_503", platform="amazon", operation="getOrder"))

        # When auto-ship runs
        result = auto_ship(env.ctx)

        # Then only the Shopify order, read back and still open, is shipped; the others wait, reserved
        assert (result["shipped"], result["waiting"], result["closed_on_channel"]) == (1, 2, 0), result
        assert env.shipped() == {env.placed["shopify-eu"]}
        assert env.ready() == {env.placed["amazon-us"], env.placed["ebay-uk"]}
        with env.db.read() as s:
            [check] = s.scalars(select(SyncEvent).where(SyncEvent.operation == "shipment.check"))
        assert (check.entity, check.outcome, check.code[:6]) == (env.placed["amazon-us"], "retry", "XD-NET")

        # and once the channels answer again, the next run ships them
        sb.faults.clear()
        with env.db.write() as s:
            s.execute(Channel.__table__.update().values(paused_code=None))
        assert auto_ship(env.ctx)["shipped"] == 2
        assert env.shipped() == placed


def test_auto_ship_ships_the_order_it_read_back_when_its_local_id_is_another_orders_platform_id(setup):
    with Sandbox(time_scale=TIME_SCALE, seed=43) as sb:
        env = setup(sb, seed=43)
        placed = set(env.placed.values())
        _wait("the orders to be imported and ready", lambda: env.ready() >= placed, tick=env.import_all)
        # Given another order, long cancelled, whose platform id is the Shopify order's local id
        local_id = env.orders()[env.placed["shopify-eu"]].id
        with env.db.write() as s:
            at = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
            s.add(Order(channel="ebay-uk", platform_order_id=str(local_id), platform_status="CANCELLED",
                        local_status="cancelled", purchased_at=at, platform_updated_at=at))

        # When auto-ship runs
        result = auto_ship(env.ctx)

        # Then it ships the three orders it read back, the Shopify one included; the cancelled one stays as it was
        assert (result["shipped"], result["failed"]) == (3, 0), result
        assert env.shipped() == placed
        assert env.orders()[str(local_id)].local_status == "cancelled"
