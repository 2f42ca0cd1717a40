"""A seeded database and the console on it, for the console tests.

Two channels (one with stored, encrypted credentials and a client secret from
the environment: the secrets the tests look for in every response), orders
with lines, a reservation and a shipment, their sync-log chain, a failed and a
queued job, and one user per role (password :data:`PASSWORD`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from starlette.testclient import TestClient

from crossdock import config as config_mod
from crossdock import secrets, synclog
from crossdock.access.roles import ROLES
from crossdock.access.users import add_user
from crossdock.console.app import build_app
from crossdock.db import models as m
from crossdock.db.engine import Database

UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC).replace(microsecond=0)
PASSWORD = "support-console-pw"
CLIENT_SECRET = "amzn-client-secret-DO-NOT-SHOW-4711"
REFRESH_TOKEN = "Atzr|refresh-token-DO-NOT-SHOW-0815"
ORDER_ID = "302-1234567-7654321"

CONFIG = """
[channels.amazon-de]
platform = "amazon"
account = "A1SELLER"
currency = "EUR"
marketplace = "A1PA6795UKMFR9"
client_id = "amzn1.application-oa2-client.test"
client_secret = {env = "XD_CONSOLE_CLIENT_SECRET"}

[channels.ebay-gb]
platform = "ebay"
account = "seller-gb"
currency = "GBP"
"""


def write_config(folder: Path, extra: str = "") -> Path:
    path = folder / "crossdock.toml"
    path.write_text(CONFIG + extra)
    return path


def seed(db: Database) -> dict[str, int]:
    """The orders, events, jobs and users; returns the job ids {"failed": …, "queued": …}."""
    with db.write() as s:
        s.add(m.Channel(name="amazon-de", platform="amazon", account="A1SELLER", currency="EUR", country="DE"))
        s.add(m.Channel(name="ebay-gb", platform="ebay", account="seller-gb", currency="GBP", country="GB"))
        s.add(m.Warehouse(code="DE", name="Leipzig", country="DE"))
        s.add(m.Product(sku="MUG-1", title="Mug", safety_stock=0, base_price=Decimal("12.00"), base_currency="EUR"))
        s.flush()
        s.add(m.Credential(channel="amazon-de", refresh_token_enc=secrets.encrypt(REFRESH_TOKEN),
                           access_token_enc=secrets.encrypt("Atza|access-DO-NOT-SHOW"),
                           access_expires_at=NOW + dt.timedelta(hours=1),
                           refresh_expires_at=NOW + dt.timedelta(days=300),
                           client_secret_expires_at=NOW + dt.timedelta(days=20)))
        order = m.Order(channel="amazon-de", platform_order_id=ORDER_ID, platform_status="Unshipped",
                        local_status="reserved", purchased_at=NOW - dt.timedelta(hours=3),
                        platform_updated_at=NOW - dt.timedelta(hours=3), buyer_country="FR", currency="EUR",
                        total_amount=Decimal("29.90"), tax_model="marketplace", warehouse="DE", flags=[])
        s.add(order)
        s.flush()
        line = m.OrderLine(order_id=order.id, platform_line_id="L1", sku="MUG-1", title="Blue <b>mug</b>",
                           quantity=2, unit_price=Decimal("12.50"), currency="EUR", tax_amount=Decimal("4.77"))
        s.add(line)
        for i in range(3):      # other orders, for the search
            s.add(m.Order(channel="ebay-gb", platform_order_id=f"12-0000{i}", platform_status="Paid",
                          local_status="imported", purchased_at=NOW - dt.timedelta(days=i + 1),
                          platform_updated_at=NOW - dt.timedelta(days=i + 1), buyer_country="GB", currency="GBP",
                          total_amount=Decimal("9.99"), flags=[]))
        s.flush()
        s.add(m.Reservation(order_line_id=line.id, sku="MUG-1", warehouse="DE", quantity=2, status="active"))
        cid = synclog.order_correlation("amazon-de", ORDER_ID)
        synclog.record(s, operation="order.import", outcome="ok", channel="amazon-de", entity_type="order",
                       entity=ORDER_ID, correlation_id=cid, message="imported: 29.90 EUR, FX 1.0000, tax 4.77",
                       at=NOW - dt.timedelta(hours=2))
        synclog.record(s, operation="order.reserve", outcome="ok", channel="amazon-de", entity_type="order",
                       entity=ORDER_ID, correlation_id=cid, message="2 x MUG-1 reserved in DE",
                       at=NOW - dt.timedelta(hours=2) + dt.timedelta(seconds=1))
        synclog.record(s, operation="stock.push", outcome="failed", channel="ebay-gb", entity_type="sku",
                       entity="MUG-1", code="XD-PLATFORM-001", message="listing ended",
                       at=NOW - dt.timedelta(hours=1))
        failed = m.OutboxEntry(kind="push_stock", channel="ebay-gb", entity="MUG-1", payload={},
                               idempotency_key="k-failed", status="failed", attempts=5, last_code="XD-PLATFORM-001",
                               last_error="listing ended")
        queued = m.OutboxEntry(kind="push_price", channel="amazon-de", entity="MUG-1", payload={},
                               idempotency_key="k-queued", status="pending")
        s.add_all([failed, queued])
        s.flush()
        ids = {"failed": failed.id, "queued": queued.id}
    for role in ROLES:
        add_user(db, role, role, PASSWORD)
    return ids


def console(db: Database, folder: Path, monkeypatch, *, https: bool = False) -> TestClient:
    """The console on ``db`` with the test configuration, as a TestClient."""
    monkeypatch.setenv("XD_CONSOLE_CLIENT_SECRET", CLIENT_SECRET)
    cfg = config_mod.load(write_config(folder), env={})
    app = build_app(cfg, db, secret_key=secrets.keys()[0])
    return TestClient(app, base_url="https://testserver" if https else "http://testserver")


def csrf_of(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def login(client: TestClient, name: str, password: str = PASSWORD):
    """GET the form, POST it with its CSRF token; the response (a 303 on success)."""
    form = client.get("/login")
    return client.post("/login", data={"username": name, "password": password, "csrf": csrf_of(form.text),
                                       "next": "/"}, follow_redirects=False)
