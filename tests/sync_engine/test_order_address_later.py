"""An order first read before the platform gives its amounts and address
(Amazon: Pending, no OrderTotal, no ItemPrice, no shipping address until
paid) gets them from the next read that has them. An event's read comes that
early: before this, an Amazon order stored from its ORDER_CHANGE at purchase
kept no country and no prices, and its shipment failed for want of customs
data (XD-SHIP-004) in ``crossdock demo --events``. An address crossdock
erased keeps its country and is never filled again; amounts stored are never
overwritten."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select, update

from crossdock.clock import Clock
from crossdock.db import models as m
from crossdock.models import Address, OrderStatus
from crossdock.sync_engine import orders
from tests.sync_engine.support import NOW, order, seed

CHANNEL = "amazon-de"


def _stored(db, pid):
    with db.read() as s:
        return s.execute(select(m.Order.buyer_country, m.Order.shipping_address)
                         .where(m.Order.platform_order_id == pid)).one()


def _amounts(db, pid):
    with db.read() as s:
        total = s.scalar(select(m.Order.total_amount).where(m.Order.platform_order_id == pid))
        prices = list(s.scalars(select(m.OrderLine.unit_price).join(m.Order, m.Order.id == m.OrderLine.order_id)
                                .where(m.Order.platform_order_id == pid)))
    return total, prices


def test_an_order_read_pending_gets_its_address_when_a_later_read_has_it(db):
    seed(db, stock={("SKU-1", "DE"): 20}, listings={CHANNEL: ["SKU-1"]})
    # Given an order read while Pending, with no address yet
    pending = order("A-1", platform="amazon", status=OrderStatus.PENDING, platform_status="Pending")
    pending = dataclasses.replace(pending, buyer_country=None, shipping_address=None, total=None,
                                  lines=[dataclasses.replace(line, unit_price=None) for line in pending.lines])
    with db.write() as s:
        orders.store_orders(s, CHANNEL, [pending], Clock())
    assert tuple(_stored(db, "A-1")) == (None, None) and _amounts(db, "A-1") == (None, [None])
    # When it is read again once paid, with its address
    paid = dataclasses.replace(order("A-1", platform="amazon", platform_status="Unshipped",
                                     updated_at=NOW + dt.timedelta(minutes=1), buyer_country="DE"),
                               shipping_address=Address(country_code="DE", city="Leipzig", postal_code="04109"))
    with db.write() as s:
        orders.store_orders(s, CHANNEL, [paid], Clock())
    # Then the stored order has the country and the address
    country, address = _stored(db, "A-1")
    assert country == "DE" and address["city"] == "Leipzig", address
    # and its amounts
    total, prices = _amounts(db, "A-1")
    assert total == paid.total.amount and prices == [paid.lines[0].unit_price.amount], (total, prices)

    # And an address crossdock erased (the country is kept) is not filled again by a later read
    with db.write() as s:
        s.execute(update(m.Order).where(m.Order.platform_order_id == "A-1")
                  .values(shipping_address={"country_code": "DE"}))
    later = dataclasses.replace(paid, platform_status="Shipped", status=OrderStatus.SHIPPED,
                                updated_at=NOW + dt.timedelta(minutes=5))
    with db.write() as s:
        orders.store_orders(s, CHANNEL, [later], Clock())
    assert tuple(_stored(db, "A-1")) == ("DE", {"country_code": "DE"})
