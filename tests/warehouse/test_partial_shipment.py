"""Partial shipments end to end (issue 18): an order shipped in two parcels on
Amazon, eBay and Shopify — each parcel booked with its own tracking number,
its own lines consumed and confirmed to the channel, the order partially
shipped between them — against the sandbox, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crossdock import config as config_mod
from crossdock.db.models import Order, OrderLine, Reservation, Shipment, StockLevel
from crossdock.demo import DemoOptions, _load_sample_rates, _sandbox_channels, _seed, _write_config
from crossdock.errors import InventoryError, ShippingError
from crossdock.models import OrderStatus
from crossdock.sandbox.core import Sandbox
from crossdock.sync_engine import dirty, jobs
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
from crossdock.warehouse.operations import ship
from tests.sync_engine.support import wait_ticking

pytestmark = pytest.mark.usefixtures("quota_waits_slept")

NAMES = ("amazon-us", "ebay-uk", "shopify-eu")


@pytest.fixture
def env(tmp_path: Path, monkeypatch, db):
    with Sandbox(time_scale=120.0, seed=41) as sb:
        opts = DemoOptions(skus=6, time_scale=120.0, seed=41, folder=tmp_path, database_url=db.url)
        secrets: dict[str, str] = {}
        path = _write_config(tmp_path, sb.describe(), opts, secrets)
        for key, value in secrets.items():
            monkeypatch.setenv(key, value)
        cfg = config_mod.load(path, env={})
        cfg.sandbox["carrier"]["failure_rate"] = 0.0
        channels = _sandbox_channels(sb.describe())
        _seed(db, sb, cfg, opts, channels)
        _load_sample_rates(db, sb.clock.now().date())
        ctx = context_from_config(cfg, db)
        sb.sims["shopify"].pending_payment_probability = 0.0
        try:
            yield sb, cfg, db, ctx, channels
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)


def _place(sb, channels, name: str) -> tuple[str, str, str]:
    """An order of two units of one SKU and one of another on ``name``: (order id, sku 2, sku 1)."""
    platform = name.split("-")[0]
    sim = sb.sims[platform]
    listed = sorted(sku for sku, q in sim.listed(channels[name]).items() if q >= 2)
    two, one = listed[0], listed[1]
    oid = sim.place_order(channels[name], [(two, 2), (one, 1)], buyer_country="DE")
    assert oid, name
    return str(oid), two, one


def _order(db, pid: str) -> tuple[Order, dict[str, tuple[int, int]], dict[str, int]]:
    """(order, sku → (quantity, shipped), sku → units still reserved)."""
    with db.read() as s:
        order = s.scalar(select(Order).where(Order.platform_order_id == pid))
        lines = list(s.scalars(select(OrderLine).where(OrderLine.order_id == order.id)))
        held = {r.sku: r.quantity for r in s.scalars(select(Reservation).where(
            Reservation.order_line_id.in_([ln.id for ln in lines]), Reservation.status == "active"))}
    return order, {ln.sku: (ln.quantity, ln.quantity_shipped) for ln in lines}, held


def _import(ctx, db, names, pids) -> None:
    """Import until every order is stored and ready to ship (Amazon shows an order minutes late, Pending first)."""
    def ready() -> bool:
        with db.read() as s:
            return set(s.scalars(select(Order.platform_order_id).where(Order.local_status == "unshipped"))) >= pids

    wait_ticking("the orders imported and unshipped", ready,
                 tick=lambda: [jobs.import_orders(ctx, name) for name in names], timeout_s=60)


def _confirm_all(ctx) -> list[str]:
    return jobs.claim_and_process(ctx, kinds=["confirm_shipment"], limit=20)


def test_an_order_ships_in_two_parcels_on_every_platform(env):
    sb, cfg, db, ctx, channels = env
    placed = {name: _place(sb, channels, name) for name in NAMES}
    _import(ctx, db, NAMES, {pid for pid, _, _ in placed.values()})
    with db.read() as s:
        on_hand_before = {(r.sku, r.warehouse): r.on_hand for r in s.scalars(select(StockLevel))}
    for name, (pid, two, one) in placed.items():
        # Given an order of 2 x A and 1 x B, imported and reserved
        order, lines, held = _order(db, pid)
        assert lines == {two: (2, 0), one: (1, 0)} and held == {two: 2, one: 1}, (name, lines, held)
        # When the warehouse ships one A in a first parcel
        first = ship(db, cfg, pid, ledger=ENGINE_LEDGER, lines=f"{two}:1")
        # Then only that unit is consumed, the rest stays reserved, and the order is partially shipped
        order, lines, held = _order(db, pid)
        assert order.local_status == "partially_shipped", name
        assert lines == {two: (2, 1), one: (1, 0)} and held == {two: 1, one: 1}, (name, lines, held)
        # and the channel is told about that parcel's line alone
        assert _confirm_all(ctx) == ["done"], name
        seen = ctx.connectors.get(name).fetch_order(pid)
        assert seen.status == OrderStatus.PARTIALLY_SHIPPED, (name, seen.status)
        # (eBay's getOrder gives each line a status, not units: a line shipped in part reads 0 there
        # until it is complete; its fulfillment holds the units)
        assert {ln.sku: ln.quantity_shipped for ln in seen.lines} == \
            {two: 0 if name == "ebay-uk" else 1, one: 0}, name
        # When the rest ships in a second parcel (no --lines: everything left)
        second = ship(db, cfg, pid, ledger=ENGINE_LEDGER)
        assert second.tracking_number != first.tracking_number
        order, lines, held = _order(db, pid)
        assert order.local_status == "shipped" and lines == {two: (2, 2), one: (1, 1)} and held == {}, name
        assert _confirm_all(ctx) == ["done"], name
        # Then the channel shows every unit shipped, from two parcels each with its own tracking
        seen = ctx.connectors.get(name).fetch_order(pid)
        assert seen.status == OrderStatus.SHIPPED, (name, seen.status)
        with db.read() as s:
            parcels = list(s.execute(select(Shipment.tracking_number, Shipment.confirmed_at)
                                     .where(Shipment.order_id == order.id).order_by(Shipment.id)))
        assert [t for t, _ in parcels] == [first.tracking_number, second.tracking_number]
        assert all(at is not None for _, at in parcels), (name, parcels)
    # and on hand went down by exactly the units shipped: 3 per order
    with db.read() as s:
        on_hand_after = {(r.sku, r.warehouse): r.on_hand for r in s.scalars(select(StockLevel))}
    assert sum(on_hand_before.values()) - sum(on_hand_after.values()) == 3 * len(NAMES)


def test_parcel_lines_that_cannot_be_read_or_are_not_left_are_refused_and_book_nothing(env):
    sb, cfg, db, ctx, channels = env
    pid, two, one = _place(sb, channels, "shopify-eu")
    _import(ctx, db, ["shopify-eu"], {pid})
    for bad in (f"{two}:0", f"{two}:x", ":2", f"{two}:-1", ""):
        with pytest.raises(ShippingError) as err:
            ship(db, cfg, pid, ledger=ENGINE_LEDGER, lines=bad)
        assert err.value.code == "XD-SHIP-008", bad
    with pytest.raises(InventoryError) as err:
        ship(db, cfg, pid, ledger=ENGINE_LEDGER, lines=f"{two}:3,NOT-ON-ORDER:1")
    assert err.value.code == "XD-INV-001"
    assert f"{two}: 1 more unit(s) asked" in str(err.value) and "NOT-ON-ORDER: 1 more" in str(err.value)
    order, lines, held = _order(db, pid)
    assert order.local_status == "unshipped" and held == {two: 2, one: 1}
    with db.read() as s:
        assert s.scalar(select(Shipment.id).where(Shipment.order_id == order.id)) is None
