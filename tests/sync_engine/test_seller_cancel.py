"""The seller cancels an order on its channel (``crossdock orders cancel``, issue 18).

One order placed on each of Amazon US, eBay UK and Shopify in the sandbox and
imported (reserved). Cancelling an unshipped one cancels it on the platform
(the sandbox's own record), releases its reservation the way the import does,
marks its SKUs for a push, and records it on the order's chain and in the audit
log. An order the platform has shipped is refused with XD-ORD-012 by the
platform and nothing changes in crossdock. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crossdock import synclog
from crossdock.audit import AuditRow
from crossdock.db.models import Order, OrderLine, Reservation, StockLevel, SyncEvent
from crossdock.models import ShipmentConfirmation
from crossdock.sandbox.core import Sandbox
from crossdock.sync_engine import dirty, jobs
from crossdock.sync_engine.jobs.stock import expected_quantities
from crossdock.sync_engine.seller_cancel import cancel_order
from tests.cli_run import crossdock
from tests.sync_engine.support import made_envs, raised_code, wait_ticking
from tests.sync_engine.test_cancel_after_ship import TIME_SCALE, _Setup

pytestmark = pytest.mark.usefixtures("quota_waits_slept")


class _Env(_Setup):
    def __init__(self, tmp_path: Path, monkeypatch, sb: Sandbox, db, *, seed: int) -> None:
        super().__init__(tmp_path, monkeypatch, sb, db, seed=seed)
        self.config_path = tmp_path / "crossdock.toml"
        assert self.config_path.exists()

    def state(self, pid: str) -> dict[str, Any]:
        """What crossdock holds for order ``pid``: status, reservations, reserved stock, push marks, audit."""
        with self.db.read() as s:
            o = s.scalar(select(Order).where(Order.platform_order_id == pid))
            skus = sorted(sku for sku in s.scalars(select(OrderLine.sku).where(OrderLine.order_id == o.id)) if sku)
            res = sorted(s.scalars(select(Reservation.status).join(OrderLine, OrderLine.id == Reservation.order_line_id)
                                   .where(OrderLine.order_id == o.id)))
            reserved = {sku: sum(s.scalars(select(StockLevel.reserved).where(StockLevel.sku == sku))) for sku in skus}
            marked = {sku for ch, sku in s.execute(select(dirty.DIRTY.c.channel, dirty.DIRTY.c.sku)) if sku in skus}
            audits = [(a.action, a.actor, a.after) for a in s.scalars(select(AuditRow).order_by(AuditRow.id))
                      if a.subject.endswith("/" + pid)]
        return {"status": o.local_status, "skus": skus, "reservations": res, "reserved": reserved,
                "marked": marked, "audits": audits}

    def import_placed(self) -> None:
        """Import until every placed order is in crossdock (Amazon shows orders minutes late)."""
        wait_ticking("the placed orders to be imported", lambda: set(self.placed.values()) <= set(self.orders()),
                     tick=self.import_all)

    def unmark(self) -> None:
        with self.db.write() as s:
            s.execute(dirty.DIRTY.delete())

    def on_platform_cancelled(self, name: str) -> bool:
        pid = self.placed[name]
        if name.startswith("ebay"):
            sim = self.sb.sims["ebay"]
            acct = sim.account_for_channel(self.channels[name])
            return sim.orders[acct.username][pid].cancel_state == "CANCELED"
        if name.startswith("shopify"):
            shop = self.sb.sims["shopify"].shops[self.channels[name].split(":", 1)[1]]
            return shop.orders[int(pid)].cancelled_at is not None
        return self.sb.sims["amazon"].orders[pid].status == "Canceled"


@pytest.fixture
def env(tmp_path, monkeypatch, db):
    yield from made_envs(_Env, tmp_path, monkeypatch, db)


_code = raised_code


SUPPORTED = ("amazon-us", "ebay-uk", "shopify-eu")


def test_seller_cancels_unshipped_orders_on_the_channel(env):
    with Sandbox(time_scale=TIME_SCALE, seed=41) as sb:
        e = env(sb, seed=41)
        e.import_placed()
        e.unmark()
        for name in SUPPORTED:
            pid = e.placed[name]
            before = e.state(pid)
            assert before["status"] == "unshipped" and set(before["reservations"]) == {"active"}
            # When the seller cancels it
            doc = cancel_order(e.ctx, pid, "out_of_stock")
            # Then the platform shows it cancelled ...
            assert e.on_platform_cancelled(name)
            after = e.state(pid)
            # ... crossdock released its reservation, cancelled it and marked its SKUs for a push
            assert after["status"] == "cancelled"
            assert set(after["reservations"]) == {"released"}
            assert all(after["reserved"][sku] < before["reserved"][sku] for sku in before["skus"])
            assert after["marked"] == set(before["skus"]) and doc["marked_skus"] == before["skus"]
            assert sum(doc["released"].values()) >= 1
            # ... with the cancel on the order's chain and in the audit log
            with e.db.read() as s:
                trace = synclog.trace(s, pid)
            [ev] = [x for x in trace if x.operation == "order.cancel"]
            assert ev.outcome == "ok" and ev.details["reason"] == "out_of_stock"
            assert ev.correlation_id == synclog.order_correlation(name, pid)
            assert any(x.operation == "stock.release" and x.outcome == "ok" for x in trace)
            [(action, actor, audit_after)] = after["audits"]
            assert action == "orders.cancel" and actor and audit_after["reason"] == "out_of_stock"
            # And a second cancel is refused (already cancelled), nothing changed
            assert _code(lambda: cancel_order(e.ctx, pid, "other")) == "XD-ORD-012"
            assert e.state(pid)["audits"] == after["audits"]
        # And the stock push that follows lists the released units again, as crossdock computes them
        sims = sb.all_channels()
        for name in SUPPORTED:
            skus = e.state(e.placed[name])["skus"]
            jobs.push_stock(e.ctx, name)
            want = expected_quantities(e.ctx, name, skus)
            listed = sims[e.channels[name]].listed(e.channels[name])
            assert want and {sku: listed.get(sku) for sku in want} == want
        # an unknown order, an unknown reason
        assert _code(lambda: cancel_order(e.ctx, "no-such-order", "other")) == "XD-ORD-005"
        assert _code(lambda: cancel_order(e.ctx, e.placed["amazon-us"], "because")) == "XD-ORD-014"


def test_amazon_order_feed_refuses_a_shipped_order_in_its_processing_report(env):
    """What Amazon answers when an acknowledgement Failure reaches it for an order that has shipped
    meanwhile (the connector reads the order first and does not send one for an order it sees shipped)."""
    from crossdock.connectors.amazon.cancel import XML_CONTENT_TYPE, acknowledgement_failure, report_errors

    with Sandbox(time_scale=TIME_SCALE, seed=53) as sb:
        e = env(sb, seed=53)
        e.import_placed()
        pid = e.placed["amazon-us"]
        conn = e.ctx.connectors.get("amazon-us")
        items = [ln.platform_line_id for ln in conn.fetch_order(pid).lines]
        conn.confirm_shipment(ShipmentConfirmation(pid, "dhl", "TRKAMZ123456", dt.datetime.now(dt.timezone.utc)))
        doc = conn.client.create_feed_document(XML_CONTENT_TYPE)
        conn.client.upload_document(doc["url"], acknowledgement_failure(
            seller_id=conn.settings.seller_id, order_id=pid, item_codes=items, reason="out_of_stock"),
            XML_CONTENT_TYPE)
        feed = conn.client.create_feed({"feedType": "POST_ORDER_ACKNOWLEDGEMENT_DATA",
                                        "marketplaceIds": [conn.settings.marketplace_id],
                                        "inputFeedDocumentId": doc["feedDocumentId"]})
        [error] = report_errors(conn._ack_report(str(feed["feedId"])))
        assert "shipped" in error.lower()
        assert not e.on_platform_cancelled("amazon-us")


def test_a_shipped_order_is_refused_by_the_platform_and_nothing_changes(env):
    with Sandbox(time_scale=TIME_SCALE, seed=43) as sb:
        e = env(sb, seed=43)
        e.import_placed()
        for name in SUPPORTED:
            # Given an order shipped on the platform (crossdock has not seen it shipped yet)
            pid = e.placed[name]
            e.ctx.connectors.get(name).confirm_shipment(ShipmentConfirmation(
                pid, "dhl", f"TRK{pid[-6:].replace('-', '')}X", dt.datetime.now(dt.timezone.utc)))
            e.unmark()
            before = e.state(pid)
            # When the seller cancels it, the platform refuses: XD-ORD-012
            assert _code(lambda: cancel_order(e.ctx, pid, "buyer_asked")) == "XD-ORD-012"
            # and nothing changed, on the platform or in crossdock
            assert not e.on_platform_cancelled(name)
            assert e.state(pid) == before and before["status"] == "unshipped" and not before["marked"]
            with e.db.read() as s:
                [ev] = [x for x in synclog.trace(s, pid) if x.operation == "order.cancel"]
            assert ev.outcome == "failed" and ev.code == "XD-ORD-012"


def test_orders_cancel_through_the_cli(env):
    with Sandbox(time_scale=TIME_SCALE, seed=47) as sb:
        e = env(sb, seed=47)
        e.import_placed()
        pid = e.placed["shopify-eu"]
        ran = crossdock("--config", str(e.config_path), "--as", "alice", "orders", "cancel", pid,
                        "--reason", "buyer_asked", "--json")
        assert ran.returncode == 0, ran.stderr
        assert ran.doc["status"] == "cancelled" and ran.doc["platform_order_id"] == pid
        assert e.on_platform_cancelled("shopify-eu")
        [(action, actor, _)] = e.state(pid)["audits"]
        assert (action, actor) == ("orders.cancel", "alice")
        trace = crossdock("--config", str(e.config_path), "logs", "trace", pid, "--json")
        assert trace.returncode == 0, trace.stderr
        assert [(ev["operation"], ev["outcome"]) for ev in trace.doc["events"]
                if ev["operation"] == "order.cancel"] == [("order.cancel", "ok")]
        # a refusal: exit status not 0, the code on stderr, nothing changed
        again = crossdock("--config", str(e.config_path), "orders", "cancel", pid, "--reason", "other")
        assert again.returncode != 0 and "XD-ORD-012" in again.stderr
        bad = crossdock("--config", str(e.config_path), "orders", "cancel", pid, "--reason", "nope")
        assert bad.returncode != 0 and "XD-ORD-014" in bad.stderr


def test_the_import_that_then_sees_the_platforms_cancellation_does_not_give_the_units_back_twice(env):
    """The seller's cancel already follows the units the channel put back on sale; the import that
    later reads the order's cancelled status must not add them a second time (found by the demo:
    crossdock then believed a listing showed more than it did, and the guard held the other channels
    below their share for units that did not exist)."""
    from crossdock.db.models import ChannelListing

    with Sandbox(time_scale=TIME_SCALE, seed=43) as sb:
        e = env(sb, seed=43)
        e.import_placed()
        sims = sb.all_channels()
        for name in SUPPORTED:
            pid = e.placed[name]
            [sku] = e.state(pid)["skus"]
            platform_status = e.orders()[pid].platform_status
            cancel_order(e.ctx, pid, "buyer_asked")
            # When the order import reads the order again, cancelled on the platform now
            wait_ticking(f"{name}'s cancelled status to be imported",
                         lambda: e.orders()[pid].platform_status != platform_status, tick=e.import_all)
            # Then crossdock believes the channel shows what it shows: the units given back once
            listed = sims[e.channels[name]].listed(e.channels[name])[sku]
            with e.db.read() as s:
                row = s.scalar(select(ChannelListing).where(ChannelListing.channel == name, ChannelListing.sku == sku))
            assert (row.last_pushed_qty, row.exposure_qty) == (listed, listed), name


def test_a_cancellation_the_import_brings_first_gives_the_units_back_once(env, monkeypatch):
    """The order import may read the order cancelled on the platform between the channel taking
    the seller's cancel and crossdock recording it: the import then releases the reservation and
    follows the units the channel put back; the seller's cancel must not follow them again (found by
    the demo on Shopify, whose orders are read every few seconds)."""
    from crossdock.db.models import ChannelListing

    with Sandbox(time_scale=TIME_SCALE, seed=47) as sb:
        e = env(sb, seed=47)
        e.import_placed()
        sims = sb.all_channels()
        for name in ("shopify-eu", "ebay-uk"):
            pid = e.placed[name]
            [sku] = e.state(pid)["skus"]
            conn = e.ctx.connectors.get(name)
            channel_cancels = conn.cancel_order

            def cancel_then_import(platform_order_id, reason, channel_cancels=channel_cancels, pid=pid, name=name):
                channel_cancels(platform_order_id, reason)
                # the order import runs meanwhile and stores the platform's cancellation first
                wait_ticking(f"{name}'s cancellation to be imported", lambda: e.state(pid)["status"] == "cancelled",
                             tick=e.import_all)

            monkeypatch.setattr(conn, "cancel_order", cancel_then_import)
            with e.db.read() as s:
                held = dict(s.execute(select(Reservation.sku, Reservation.quantity)
                                      .join(OrderLine, OrderLine.id == Reservation.order_line_id)
                                      .join(Order, Order.id == OrderLine.order_id)
                                      .where(Order.platform_order_id == pid, Reservation.status == "active")).all())
            doc = cancel_order(e.ctx, pid, "buyer_asked")
            # the import released it; the cancel says what was released, and by whom
            assert doc["status"] == "cancelled" and doc["imported_first"] and doc["released"] == held == {sku: 1}
            with e.db.read() as s:
                msg = s.scalar(select(SyncEvent.message).where(SyncEvent.operation == "order.cancel",
                                                               SyncEvent.entity == pid))
            assert msg.endswith(f"released {sku} x1 (by the order import, which stored the channel's "
                                "cancellation first)"), msg
            listed = sims[e.channels[name]].listed(e.channels[name])[sku]
            with e.db.read() as s:
                row = s.scalar(select(ChannelListing).where(ChannelListing.channel == name, ChannelListing.sku == sku))
            assert (row.last_pushed_qty, row.exposure_qty) == (listed, listed), name


def test_the_sellers_cancel_locks_the_order_row_before_its_stock(env, db):
    """Every writer locks an order's row before its stock rows (the import updates an order, then
    locks stock to release it). A seller's cancel that took the stock rows first and then waited
    for the order could deadlock with an import of the same order on PostgreSQL."""
    import threading
    import time

    from sqlalchemy.exc import OperationalError

    if db.is_sqlite:
        pytest.skip("SQLite: one write lock for the whole database, no row lock order to keep")
    with Sandbox(time_scale=TIME_SCALE, seed=48) as sb:
        e = env(sb, seed=48)
        e.import_placed()
        pid = e.placed["shopify-eu"]
        [sku] = e.state(pid)["skus"]
        with e.db.read() as s:
            oid = s.scalar(select(Order.id).where(Order.platform_order_id == pid))
        # Given another writer holding the order's row, as an import updating it does
        holder = e.db.engine.connect()
        tx = holder.begin()
        holder.execute(select(Order.id).where(Order.id == oid).with_for_update())
        done: list[Any] = []
        worker = threading.Thread(target=lambda: done.append(cancel_order(e.ctx, pid, "buyer_asked")))
        # When the seller cancels the order: the channel takes it, then crossdock waits for the row
        worker.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            waiting = holder.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).scalar()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the cancel never waited for the order's row"
        # Then, while it waits, it holds none of the stock rows the holder needs next
        try:
            holder.execute(select(StockLevel.id).where(StockLevel.sku == sku).with_for_update(nowait=True)).all()
            free = True
        except OperationalError:
            free = False
        tx.rollback()
        holder.close()
        worker.join(timeout=60)
        assert free, "the seller's cancel locked stock rows before the order's row"
        assert done and done[0]["status"] == "cancelled" and e.state(pid)["status"] == "cancelled"
