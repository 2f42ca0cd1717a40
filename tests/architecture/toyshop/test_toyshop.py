"""Acceptance of issue 12: a platform is one folder.

Toyshop is defined in this folder only (its spec, a connector on httpx, its
mapping, a simulator on loopback). Registered with the platform registry for
the test, it is configured like any channel (``platform = "toyshop"`` in a
configuration file) and the real engine — the schedules and jobs ``crossdock
worker`` runs — imports its orders, pushes its stock and confirms a shipment
on it. Nothing outside this folder knows Toyshop exists.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from crossdock import config as config_mod
from crossdock.db.engine import Database
from crossdock.db.migrate import upgrade
from crossdock.db.models import ChannelListing, Order, Product, Shipment, StockLevel, Warehouse
from crossdock.platforms import registry
from crossdock.sync_engine.engine import Engine, context_from_config
from tests.architecture.toyshop import PLATFORM
from tests.architecture.toyshop.simulator import ToyshopSimulator

API_KEY = "toy-secret-key"


@pytest.fixture
def toyshop(monkeypatch):
    monkeypatch.setenv("TOYSHOP_KEY", API_KEY)
    sim = ToyshopSimulator(API_KEY).start()
    with registry.registered(PLATFORM):
        yield sim
    sim.stop()


def _config(folder, shop_url: str):
    path = folder / "crossdock.toml"
    path.write_text(f"""
[database]
url = "sqlite:///crossdock.sqlite"

[channels.toyshop-main]
platform = "toyshop"
account = "toy-seller"
currency = "EUR"
client_id = "toy-client"
client_secret = {{env = "TOYSHOP_KEY"}}
base_url = "{shop_url}"
intervals_s = {{ orders = 1 }}

[warehouses.DE]
country = "DE"
bins = ["A-01"]

[sync]
# one channel listing all its stock (docs/overselling.md: the seller's choice): what is left after a
# sale is listed again at once, which is what this wiring test watches for
oversell_guard = false
auto_ship = true
auto_ship_s = 1
coalesce_window_s = 1
initial_lookback_s = 600
""", encoding="utf-8")
    return config_mod.load(path, env={})


def test_a_platform_registered_from_one_folder_is_synced_by_the_real_engine(toyshop, tmp_path):
    # Given a Toyshop listing of 5 units and crossdock holding 10 of that SKU, linked to the listing
    cfg = _config(tmp_path, toyshop.url)
    db = Database(cfg.database_url)
    upgrade(db)
    toyshop.list_item("TOY-1", 5, "12.50")
    with db.write() as s:
        s.add(Warehouse(code="DE", name="Leipzig", country="DE"))
        s.add(Product(sku="TOY-1", title="Wooden train", weight_g=400, base_price=Decimal("12.50"),
                      base_currency="EUR"))
        s.flush()
        s.add(StockLevel(sku="TOY-1", warehouse="DE", bin="A-01", on_hand=10))
    ctx = context_from_config(cfg, db)
    with db.write() as s:
        s.add(ChannelListing(channel="toyshop-main", sku="TOY-1", status="active", last_pushed_qty=5,
                             listing_id="T1", platform_ids={"toy_id": "T1"}))
    # And a buyer who bought 2 on Toyshop a few seconds ago
    toyshop.buy("TOY-ORDER-1", "TOY-1", 2, at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5))

    # When the engine runs its schedules and jobs
    engine = Engine(ctx)
    engine.ensure_schedules()
    engine.run_for(60, until=lambda: bool(toyshop.shipments) and toyshop.listings["TOY-1"]["quantity"] == 8
                   and engine.idle())
    ctx.connectors.close()

    # Then the order was imported and reserved stock, Toyshop shows what is left, and the shipment is confirmed
    with db.read() as s:
        order = s.scalar(select(Order).where(Order.channel == "toyshop-main"))
        shipment = s.scalar(select(Shipment))
    assert order is not None and order.platform_order_id == "TOY-ORDER-1"
    assert toyshop.listings["TOY-1"]["quantity"] == 8
    assert shipment is not None and shipment.confirmed_at is not None
    [sent] = toyshop.shipments
    assert sent["order"] == "TOY-ORDER-1" and sent["tracking"] == shipment.tracking_number
    assert sent["lines"] == [{"id": "TOY-ORDER-1-1", "qty": 2}]
    # through Toyshop's API alone, each call asked the quota budget of Toyshop's own usage plan
    assert {"GET /orders", "POST /stock", "POST /orders/TOY-ORDER-1/shipments"} <= set(toyshop.calls)
    assert ctx.connectors.budget.plan("toyshop", "orders").bucket == "api"


def test_the_registry_forgets_a_platform_registered_for_a_while(toyshop):
    assert registry.platform("toyshop") is PLATFORM
    registry.unregister("toyshop")
    with pytest.raises(Exception) as err:
        registry.platform("toyshop")
    assert getattr(err.value, "code", None) == "XD-CFG-003" and "toyshop" in str(err.value)
    registry.register(PLATFORM)           # the fixture unregisters it again
