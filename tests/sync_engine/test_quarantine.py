"""One bad order never stops a channel (issue 19, item 1).

Before: a window of orders was stored in one transaction, so one order the
database refused (a SKU longer than VARCHAR(64) on PostgreSQL) or its
connector could not map (a status crossdock does not know) failed the whole
window, the cursor never moved and no later order of the channel was
imported. Now the columns hold what the platforms allow, and an order that
still cannot be stored is quarantined (XD-ORD-008) while the rest of the
window is stored and the cursor moves; ``crossdock orders quarantine`` lists
it and ``crossdock orders retry-quarantined`` stores it once the cause is gone.

The sandbox tests run in-process (the demo's four channels on the in-process
sandbox, the real CLI entry point); the long SKU needs PostgreSQL (SQLite
stores any length whatever the declared one).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal

import pytest
from sqlalchemy import select

from crossdock.clock import Clock
from crossdock.db import models as m
from crossdock.db.engine import Database
from crossdock.sync_engine import cursors
from crossdock.sync_engine.dirty import DIRTY
from crossdock.sync_engine.quarantine import quarantine_doc, store_window
from tests.cli_run import Ran, crossdock
from tests.sync_engine.catalog_env import CatalogEnv, catalog_env
from tests.sync_engine.support import NOW, order, reserved_total, seed

LONG_SKU = "LONG-" + "X" * 95                     # 100 characters: Shopify allows 255


@pytest.fixture
def pg_db(request):
    """A migrated, empty PostgreSQL database (the long SKU only fails there)."""
    from tests.conftest import _truncate_all

    tmp = request.getfixturevalue("pg_database")
    database = Database(tmp.url)
    _truncate_all(database)
    yield database
    database.dispose()


def _cli(env: CatalogEnv, *args: str) -> Ran:
    return crossdock("--config", str(env.config_path), *args, env={**env.env, "CROSSDOCK_DATABASE_URL": None})


def _json(env: CatalogEnv, *args: str) -> tuple[int, object]:
    ran = _cli(env, *args, "--json")
    try:
        return ran.returncode, json.loads(ran.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"stdout is not one JSON document (rc={ran.returncode}):\n{ran.stdout}\n{ran.stderr}")


def _wait_until_readable(env: CatalogEnv, channel: str) -> dt.datetime:
    """Until the orders placed so far are older than the channel's safety lag
    (the window end an import may read up to); the platform's time they were placed."""
    conn = env.ctx.connectors.get(channel)
    placed = conn.clock.now()
    deadline = time.monotonic() + 30
    while conn.window_end() <= placed + dt.timedelta(seconds=1):
        assert time.monotonic() < deadline, "the sandbox clock did not move"
        time.sleep(0.05)
    return placed


def _stored(db: Database, channel: str) -> dict[str, list[str | None]]:
    """Platform order id → the SKUs of its lines, for the channel's stored orders."""
    with db.read() as s:
        rows = s.execute(select(m.Order.platform_order_id, m.OrderLine.sku)
                         .join(m.OrderLine, m.OrderLine.order_id == m.Order.id)
                         .where(m.Order.channel == channel).order_by(m.OrderLine.id)).all()
    out: dict[str, list[str | None]] = {}
    for pid, sku in rows:
        out.setdefault(pid, []).append(sku)
    return out


def _position(db: Database, channel: str) -> dt.datetime | None:
    with db.read() as s:
        cur = cursors.get_cursor(s, channel, "orders")
    return cur.position if cur else None


def test_an_order_with_a_100_character_sku_is_stored_with_its_window_on_postgresql(pg_db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, pg_db) as env:
        # Given a Shopify variant whose SKU has 100 characters (not in crossdock's catalogue), and
        # three orders placed in one window: the long-SKU one between two ordinary ones
        shop, key = env.sim("shopify-eu"), env.sb_channels["shopify-eu"]
        shop.set_listing(key, LONG_SKU, 5, Decimal("10.00"))
        placed = [shop.place_order(key, [(sku, 1)], buyer_country="DE") for sku in ("XD-0001", LONG_SKU, "XD-0002")]
        assert all(placed)
        before, poisoned, after = placed
        at = _wait_until_readable(env, "shopify-eu")

        # When orders are imported for every channel
        rc, doc = _json(env, "sync", "run", "--job", "orders")

        # Then every channel ran and was imported, Shopify included
        assert isinstance(doc, dict)
        assert rc == 0 and doc["failed"] == [], doc
        assert {name: ch["outcome"] for name, ch in doc["channels"].items()} == {
            "amazon-de": "ok", "amazon-us": "skipped", "ebay-uk": "ok", "shopify-eu": "ok"}
        # ... all three orders are stored, the long SKU whole, and the cursor moved past them
        stored = _stored(env.db, "shopify-eu")
        assert stored[before] == ["XD-0001"] and stored[after] == ["XD-0002"]
        assert stored[poisoned] == [LONG_SKU]
        position = _position(env.db, "shopify-eu")
        assert position is not None and position >= at
        assert quarantine_doc(env.db) == []

        # And the long-SKU order, whose SKU the catalogue does not know, is flagged with the one code
        # the import gives such a line (XD-INV-004): in `warehouse flagged` and in `sync status`
        rc, flagged = _json(env, "warehouse", "flagged")
        assert rc == 0 and [(f["platform_order_id"], f["code"]) for f in flagged] == [(poisoned, "XD-INV-004")]
        rc, status = _json(env, "sync", "status")
        assert isinstance(status, dict)
        assert status["channels"]["shopify-eu"]["flagged_orders"] == {"XD-INV-004": 1, "XD-ORD-004": 0}
        rc, checked = _json(env, "db", "check")
        assert isinstance(checked, dict)
        assert {f["check"]: f["code"] for f in checked["findings"]}.get("order_lines_unknown_sku") == "XD-INV-004"


def test_an_order_crossdock_cannot_read_is_quarantined_and_stored_once_the_status_is_mapped(
        db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        # Given three Amazon DE orders in one window, the middle one in a status crossdock has no
        # mapping for (a new Amazon status: "OnHold")
        amazon, key = env.sb.sims["amazon"], env.sb_channels["amazon-de"]
        placed = [amazon.place_order(key, [(sku, 1)], buyer_country="DE") for sku in ("XD-0001", "XD-0002", "XD-0004")]
        assert all(placed)
        first, odd, last = placed
        with amazon.lock:                # paid at once (the sandbox may hold an order Pending a while)
            for pid, status in zip(placed, ("Unshipped", "OnHold", "Unshipped")):
                amazon.orders[pid].status, amazon.orders[pid].pending_until = status, None
        at = _wait_until_readable(env, "amazon-de")

        # When its orders are imported
        rc, doc = _json(env, "sync", "run", "--job", "orders", "--channel", "amazon-de")

        # Then the window was imported without it, the cursor moved on, and the run says one order
        # was quarantined (partial: exit 4)
        assert isinstance(doc, dict)
        de = doc["channels"]["amazon-de"]
        assert rc == 4 and de["outcome"] == "partial" and de["quarantined"] == 1, doc
        assert "XD-ORD-008" in de["note"]
        assert set(_stored(env.db, "amazon-de")) == {first, last}
        position = _position(env.db, "amazon-de")
        assert position is not None and position >= at
        # ... it is listed with its code, the cause's code and the payload Amazon sent
        rc, held = _json(env, "orders", "quarantine")
        assert rc == 0 and isinstance(held, list) and len(held) == 1
        (q,) = held
        assert (q["channel"], q["platform_order_id"], q["code"], q["cause_code"]) == (
            "amazon-de", odd, "XD-ORD-008", "XD-MAP-011")
        assert q["payload"]["order"]["AmazonOrderId"] == odd and q["payload"]["order"]["OrderStatus"] == "OnHold"
        assert [i["SellerSKU"] for i in q["payload"]["items"]] == ["XD-0002"]
        # ... in the sync log and in `sync status`
        with env.db.read() as s:
            logged = s.execute(select(m.SyncEvent.entity, m.SyncEvent.outcome).where(
                m.SyncEvent.code == "XD-ORD-008")).all()
        assert [tuple(e) for e in logged] == [(odd, "failed")]
        rc, status = _json(env, "sync", "status")
        assert isinstance(status, dict)
        assert status["channels"]["amazon-de"]["quarantined_orders"] == 1 and status["quarantined_orders"] == 1

        # When it is retried before anything changed
        rc, retried = _json(env, "orders", "retry-quarantined")
        # Then it stays, with one more attempt (exit 4)
        assert isinstance(retried, dict)
        assert rc == 4 and (retried["tried"], retried["stored"]) == (1, 0)
        assert quarantine_doc(env.db)[0]["attempts"] == 2

        # When the channel learns the status and the quarantined orders are retried
        with env.config_path.open("a") as f:
            f.write('\n[channels.amazon-de.options.order_status_overrides]\n"OnHold" = "unshipped"\n')
        rc, retried = _json(env, "orders", "retry-quarantined", "--channel", "amazon-de")

        # Then it is stored as the import stores orders (unshipped, its unit reserved) and leaves the quarantine
        assert isinstance(retried, dict)
        assert rc == 0 and (retried["tried"], retried["stored"], retried["still_quarantined"]) == (1, 1, 0)
        assert _stored(env.db, "amazon-de")[odd] == ["XD-0002"]
        with env.db.read() as s:
            assert s.scalar(select(m.Order.local_status).where(m.Order.platform_order_id == odd)) == "unshipped"
        assert reserved_total(env.db, "XD-0002") >= 1
        rc, held = _json(env, "orders", "quarantine")
        assert rc == 0 and held == []


def test_an_order_the_database_refuses_is_quarantined_and_the_rest_of_the_window_stored(db):
    # Given SKU-1 in stock and listed on eBay, and a window of three orders, the middle one sent
    # inconsistent: two lines with one line id (the database refuses the second)
    seed(db, stock={("SKU-1", "DE"): 10}, listings={"ebay-us": ["SKU-1"]}, last_pushed={("ebay-us", "SKU-1"): 10})
    bad = order("E-2", [("SKU-1", 1), ("SKU-1", 2)])
    bad.lines[1].platform_line_id = bad.lines[0].platform_line_id
    window = [order("E-1"), bad, order("E-3")]

    # When the window is stored
    with db.write() as s:
        stored = store_window(s, "ebay-us", window, Clock(), now=NOW)

    # Then the two good orders are stored and reserved, the bad one rolled back alone and quarantined
    assert stored.result.new == 2 and sorted(stored.result.order_ids) == ["E-1", "E-3"]
    assert set(_stored(db, "ebay-us")) == {"E-1", "E-3"} and reserved_total(db, "SKU-1") == 2
    (q,) = quarantine_doc(db)
    assert (q["platform_order_id"], q["code"], q["cause_code"], q["payload_kind"]) == (
        "E-2", "XD-ORD-008", None, "normalised")
    assert "IntegrityError" in q["error"] and "INSERT" not in q["error"]     # the reason, not the SQL
    # ... and SKU-1 was marked dirty once for the transaction (a second mark would bump the version)
    with db.read() as s:
        assert s.execute(select(DIRTY.c.sku, DIRTY.c.version)).all() == [("SKU-1", 1)]

    # When the same window is read again (an overlapping window)
    with db.write() as s:
        again = store_window(s, "ebay-us", window, Clock(), now=NOW)
    # Then nothing is stored twice and the order is quarantined once, with a second attempt
    assert again.result.unchanged == 2 and again.result.new == 0
    (q,) = quarantine_doc(db)
    assert q["attempts"] == 2

    # When the platform sends a corrected version of it
    fixed = order("E-2", [("SKU-1", 1), ("SKU-1", 2)], updated_at=NOW + dt.timedelta(minutes=5))
    with db.write() as s:
        store_window(s, "ebay-us", [fixed], Clock(), now=NOW)
    # Then it is stored and leaves the quarantine
    assert _stored(db, "ebay-us")["E-2"] == ["SKU-1", "SKU-1"] and quarantine_doc(db) == []


def test_the_reason_kept_for_a_refused_order_never_holds_the_buyers_data(db):
    # Given an order sent without a purchase time, shipping to a named buyer (PostgreSQL's error
    # detail for a NOT NULL column repeats the whole row, address included)
    from crossdock.models import Address

    seed(db)
    bad = order("E-9")
    setattr(bad, "purchased_at", None)                      # what a broken payload can bring
    bad.shipping_address = Address(country_code="US", name="Jane Buyer", line1="1 Private Lane")

    # When it is stored
    with db.write() as s:
        store_window(s, "ebay-us", [bad, order("E-10")], Clock(), now=NOW)

    # Then it is quarantined with the database's reason, and the buyer is in neither the reason nor the log
    (q,) = quarantine_doc(db)
    assert q["platform_order_id"] == "E-9" and "purchased_at" in q["error"]
    with db.read() as s:
        messages = list(s.scalars(select(m.SyncEvent.message).where(m.SyncEvent.code == "XD-ORD-008")))
    assert messages and not any("Jane" in t or "Private Lane" in t for t in [q["error"], *messages])
    assert set(_stored(db, "ebay-us")) == {"E-10"}
