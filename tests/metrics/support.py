"""A shop with something to show on every metric (seeded on the demo's four
channels with a live in-process sandbox), and the exposition parsed back with
prometheus_client's own parser."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from crossdock.db import models as m
from crossdock.errors.model import QuotaError
from crossdock.ratelimit.waits import QuotaWait, inline_waits
from crossdock.sandbox.core import Fault
from crossdock.sync_engine import outbox
from crossdock.sync_engine.jobs import import_orders, reconcile

UTC = dt.timezone.utc
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(body: bytes | str) -> Samples:
    """{(sample name, labels): value} of one scrape."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    key = ("crossdock_" + name, frozenset(labels.items()))
    assert key in samples, f"{name}{labels} not exposed; have " + ", ".join(
        sorted({k[0] for k in samples}))
    return samples[key]


def oversold_order(db: Any, channel: str, sku: str, quantity: int) -> None:
    """An order flagged XD-INV-001 whose line holds no reservation (the stock ran out before it came in)."""
    now = dt.datetime.now(UTC)
    with db.write() as s:
        order = m.Order(channel=channel, platform_order_id=f"OVER-{sku}", platform_status="Unshipped",
                        local_status="unshipped", purchased_at=now, platform_updated_at=now, flags=["XD-INV-001"])
        order.lines.append(m.OrderLine(platform_line_id="1", sku=sku, quantity=quantity))
        s.add(order)
        # a cancelled one counts for nothing
        gone = m.Order(channel=channel, platform_order_id=f"GONE-{sku}", platform_status="Canceled",
                       local_status="cancelled", purchased_at=now, platform_updated_at=now, flags=["XD-INV-001"])
        gone.lines.append(m.OrderLine(platform_line_id="1", sku=sku, quantity=5))
        s.add(gone)


def seed_everything(env: Any) -> None:
    """Imported orders with a throttled call, a drifting listing, queued and
    failed jobs, a stuck order, an oversold order and a client secret 10 days
    from expiry."""
    from crossdock.sync_engine.auth_refresh import refresh_channel_token

    env.sb.faults.add(Fault("throttle", platform="ebay", operation="getOrders", count=1))
    for channel in ("amazon-de", "ebay-uk", "shopify-eu"):
        try:
            import_orders(env.ctx, channel)
        except (QuotaError, QuotaWait):        # the 429 hands the eBay import back to wait for quota
            with inline_waits(5.0):
                import_orders(env.ctx, channel)
    reconcile(env.ctx, "ebay-uk")
    listed = env.listed("ebay-uk")["XD-0001"]
    env.sim("ebay-uk").set_listing(env.sb_channels["ebay-uk"], "XD-0001", listed + 7)
    reconcile(env.ctx, "ebay-uk")
    with env.db.write() as s:
        outbox.enqueue(s, "push_stock", channel="amazon-de", entity="XD-0001", idempotency_key="m1")
        outbox.enqueue(s, "push_stock", channel="amazon-de", entity="XD-0002", idempotency_key="m2")
        outbox.enqueue(s, "push_price", channel="shopify-eu", entity="XD-0003", idempotency_key="m3")
        s.execute(update(m.OutboxEntry).where(m.OutboxEntry.idempotency_key == "m2")
                  .values(status="failed", last_code="XD-PLATFORM-001"))
    oversold_order(env.db, "amazon-de", "XD-0004", 3)
    now = dt.datetime.now(UTC)
    with env.db.write() as s:       # past its handling time (as stuck_job flags it)
        s.add(m.Order(channel="shopify-eu", platform_order_id="LATE-1", platform_status="paid",
                      local_status="unshipped", purchased_at=now - dt.timedelta(days=5),
                      platform_updated_at=now, flags=["XD-ORD-003"]))
    refresh_channel_token(env.cfg, env.db, "amazon-de")
    with env.db.write() as s:
        s.execute(update(m.Credential).where(m.Credential.channel == "amazon-de").values(
            client_secret_expires_at=dt.datetime.now(UTC) + dt.timedelta(days=10)))
