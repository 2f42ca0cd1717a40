"""A database restored from an older backup: orders shipped between the
backup and the loss take their units from stock when the import reads them again.

The incident (crossdock issue 19): after a restore, orders shipped meanwhile
were imported as "already shipped" and never consumed stock, so every SKU they
held was overstated by exactly those units. Here, against the sandbox: a real
``crossdock db backup``, orders placed, imported, shipped by crossdock and
confirmed on Amazon, eBay and Shopify, the database file replaced by the
backup, and the import run again. SQLite: the restore is a file copy.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from crossdock.db.check import db_check_findings
from crossdock.db.engine import Database
from crossdock.db.models import Order, OrderLine, Shipment, StockLevel
from crossdock.errors import PlatformError
from crossdock.demo import DemoOptions, _load_sample_rates
from crossdock.models import OrderStatus, ShipmentConfirmation
from crossdock.sandbox.core import BuyerProfile, Sandbox
from crossdock.sync_engine import dirty, jobs
from crossdock.sync_engine.availability import availability_snapshot
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs.auto_ship import auto_ship
from tests.cli_run import crossdock
from tests.sync_engine.support import demo_env, wait_ticking

pytestmark = pytest.mark.usefixtures("quota_waits_slept")

TIME_SCALE = 120.0
NAMES = ("amazon-us", "ebay-uk", "shopify-eu")
PER_CHANNEL = 3


_wait = functools.partial(wait_ticking, timeout_s=40)


def _stock(db: Database) -> dict[tuple[str, str], tuple[int, int]]:
    with db.read() as s:
        return {(r.sku, r.warehouse): (r.on_hand, r.reserved) for r in s.scalars(select(StockLevel))}


def _available(db: Database) -> dict[str, int]:
    with db.read() as s:
        skus = sorted({r.sku for r in s.scalars(select(StockLevel))})
        return dict(availability_snapshot(s, skus))


def _orders(db: Database) -> dict[str, str]:
    with db.read() as s:
        return dict(s.execute(select(Order.platform_order_id, Order.local_status)).all())


def test_orders_shipped_between_backup_and_loss_take_their_units_after_the_restore(tmp_path: Path, monkeypatch):
    db_file = tmp_path / "crossdock.sqlite"
    with Sandbox(time_scale=TIME_SCALE, seed=19) as sb:
        opts = DemoOptions(skus=6, time_scale=TIME_SCALE, seed=19, folder=tmp_path,
                           database_url=f"sqlite:///{db_file}")
        cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        config_path = cfg.path
        cfg.sandbox["carrier"]["failure_rate"] = 0.0
        _load_sample_rates(db, sb.clock.now().date())
        sb.sims["shopify"].pending_payment_probability = 0.0
        ctx = context_from_config(cfg, db)
        try:
            # Given a backup taken with the real command, after a first import
            for name in NAMES:
                jobs.import_orders(ctx, name)
            ran = crossdock("--config", config_path, "db", "backup", "--to", f"{tmp_path / 'backups'}/", "--json")
            assert ran.returncode == 0, ran.stderr
            backup = Path(ran.doc["path"])
            before = _stock(db)

            # ... and then orders placed, imported, shipped by crossdock and confirmed on each platform
            sims = sb.all_channels()
            placed = {sb.buy_once(channels[n], sims[channels[n]], BuyerProfile(max_qty=2))
                      for n in NAMES for _ in range(PER_CHANNEL)}
            assert None not in placed and len(placed) == len(NAMES) * PER_CHANNEL

            def shipped() -> set[str]:
                with db.read() as s:
                    return set(s.scalars(select(Order.platform_order_id)
                                         .join(Shipment, Shipment.order_id == Order.id)))

            _wait("the orders to be imported and shipped", lambda: placed <= shipped(),
                  tick=lambda: ([jobs.import_orders(ctx, n) for n in NAMES], auto_ship(ctx)))
            _wait("the confirmations to reach the platforms",
                  lambda: all(_orders(db)[p] == OrderStatus.SHIPPED.value for p in placed),
                  tick=lambda: (jobs.claim_and_process(ctx, kinds=["confirm_shipment"], limit=20),
                                [jobs.import_orders(ctx, n) for n in NAMES]))
            truth, truth_available = _stock(db), _available(db)
            left = sum(b[0] for b in before.values()) - sum(t[0] for t in truth.values())
            assert left > 0                                   # the shipped units left stock
        finally:
            ctx.connectors.close()
            db.dispose()

        # When the database is lost and the backup restored (copied and moved into place, as an operator does) ...
        for extra in (db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
            extra.unlink(missing_ok=True)
        shutil.copyfile(backup, tmp_path / "restoring.sqlite")
        os.replace(tmp_path / "restoring.sqlite", db_file)
        db = Database(cfg.database_url)
        ctx = context_from_config(cfg, db)
        try:
            assert _stock(db) == before and not placed & set(_orders(db))
            # ... and the import reads the orders again, now first seen shipped
            _wait("the import to read the shipped orders again",
                  lambda: placed <= {p for p, st in _orders(db).items() if st == OrderStatus.SHIPPED.value},
                  tick=lambda: [jobs.import_orders(ctx, n) for n in NAMES])

            # Then stock and availability are what they were before the loss: the shipped units are gone
            assert _stock(db) == truth
            assert _available(db) == truth_available
            # and db check finds no shipped units that stock never gave
            assert not [f for f in db_check_findings(db) if f.code in ("XD-INV-012", "XD-DATA-006")]
        finally:
            ctx.connectors.close()
            db.dispose()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)


def _ship_outside_crossdock(ctx, orders: dict[str, str]) -> None:
    """The seller ships the orders from the platforms' own pages (crossdock is
    not told), each once the platform lets it (Amazon: no longer Pending)."""
    left = dict(orders)

    def ship() -> None:
        for channel, pid in list(left.items()):
            conn = ctx.connectors.get(channel)
            order = conn.fetch_order(pid)
            try:
                conn.confirm_shipment(ShipmentConfirmation(
                    platform_order_id=pid, carrier="DHL", tracking_number="JD0146" + "".join(ch for ch in pid if ch.isalnum())[-8:],
                    shipped_at=ctx.clock.now(),
                    lines=tuple((ln.platform_line_id, ln.quantity) for ln in order.lines)))
            except PlatformError:
                continue            # not shippable yet (pending payment): next round
            del left[channel]

    _wait("the orders to be shipped on their platforms", lambda: not left, tick=ship)


def test_orders_shipped_before_go_live_are_history_and_take_no_stock(tmp_path: Path, monkeypatch):
    """The first import after go-live walks back a day: what shipped then left
    before the seller counted the stock crossdock starts from, so it must not
    come off that count again. An order shipped outside crossdock after go-live does."""
    db_file = tmp_path / "crossdock.sqlite"
    with Sandbox(time_scale=TIME_SCALE, seed=23) as sb:
        opts = DemoOptions(skus=6, time_scale=TIME_SCALE, seed=23, folder=tmp_path,
                           database_url=f"sqlite:///{db_file}")
        cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        sb.sims["shopify"].pending_payment_probability = 0.0
        ctx = context_from_config(cfg, db)
        try:
            sims = sb.all_channels()
            # Given orders placed and shipped on each platform before crossdock's first import
            history = {n: sb.buy_once(channels[n], sims[channels[n]], BuyerProfile(max_qty=2)) for n in NAMES}
            assert None not in history.values()
            _ship_outside_crossdock(ctx, history)
            counted = _stock(db)

            # When the first import reads them
            _wait("the first import to read the shipped orders",
                  lambda: set(history.values()) <= {p for p, st in _orders(db).items()
                                                    if st == OrderStatus.SHIPPED.value},
                  tick=lambda: [jobs.import_orders(ctx, n) for n in NAMES])
            # Then the stock the seller counted is untouched
            assert _stock(db) == counted

            # And when orders placed after go-live are shipped outside crossdock before it imports them
            later = {n: sb.buy_once(channels[n], sims[channels[n]], BuyerProfile(max_qty=2)) for n in NAMES}
            assert None not in later.values()
            _ship_outside_crossdock(ctx, later)
            _wait("the import to read the later shipped orders",
                  lambda: set(later.values()) <= {p for p, st in _orders(db).items()
                                                  if st == OrderStatus.SHIPPED.value},
                  tick=lambda: [jobs.import_orders(ctx, n) for n in NAMES])
            # Then they take their units: on hand drops by exactly what they shipped
            with db.read() as s:
                shipped_units = sum(int(q) for q in s.scalars(
                    select(OrderLine.quantity).join(Order, Order.id == OrderLine.order_id)
                    .where(Order.platform_order_id.in_(list(later.values())))))
            after = _stock(db)
            assert shipped_units > 0
            assert sum(v[0] for v in counted.values()) - sum(v[0] for v in after.values()) == shipped_units
            assert not [f for f in db_check_findings(db) if f.code == "XD-INV-012"]
        finally:
            ctx.connectors.close()
            db.dispose()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
