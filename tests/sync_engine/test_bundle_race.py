"""The bundle race (issue 18's acceptance): buyers on the sandbox buy a bundle
and its component on two channels at once while workers (threads, or
processes) import the orders and push the stock, on SQLite and PostgreSQL.
Nothing is oversold — every order reserves in full, never more of a
component than there is — and after one push plan every listing of the
bundle and of the component shows what crossdock computes for it, all
together within the component's stock."""

from __future__ import annotations

import multiprocessing as mp
import re
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crossdock import config as config_mod
from crossdock.catalog import kits
from crossdock.catalog.listings import pull_listings
from crossdock.db.models import Order, Product, Reservation
from crossdock.sync_engine import inventory
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs import expected_quantities, import_orders, push_stock
from tests.catalog.env import listings_env
from tests.sync_engine.support import sync_channels, wait_ticking

pytestmark = [pytest.mark.usefixtures("quota_waits_slept")]

CHANNELS = ("ebay-uk", "shopify-eu")
KIT, X, Y = "KIT", "X", "Y"           # KIT = 2 × X + 1 × Y
RACE_S = 6.0
# (stock, units each buyer buys per channel: None, as many as it can). Scarce: the bundle's buyers
# and the component's compete for X until it is gone. Plenty: stock is left to list after the race.
CASES = {"scarce": ({X: 20, Y: 12}, {X: 3, KIT: None}), "plenty": ({X: 40, Y: 12}, {X: 4, KIT: 3})}


def _buyer(env, channel: str, sku: str, most: int | None, stop: threading.Event,
           bought: list[tuple[str, str]]) -> None:
    sim, key = env.sim(channel), env.sb_channels[channel]
    mine = 0
    while not stop.is_set() and (most is None or mine < most):
        if sim.listed(key).get(sku, 0) > 0:
            oid = sim.place_order(key, [(sku, 1)], buyer_country="GB" if channel == "ebay-uk" else "DE")
            if oid:
                bought.append((oid, sku))
                mine += 1
        time.sleep(0.005)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_bundle_and_component_bought_on_two_channels_at_once_are_never_oversold(db, tmp_path, monkeypatch,
                                                                               processes, case):
    stock, buys = CASES[case]
    with listings_env(tmp_path, monkeypatch, db) as env:
        # every channel's rule lists all it may (the demo's config lists a share of 0.2-0.3 per channel):
        # the listings together take all of X, so a guard that counted a unit twice would oversell it
        path = env.config_path
        path.write_text(re.sub(r"(?m)^stock = \{ share = .*\}$", "", path.read_text()))
        env.ctx.connectors.close()
        env.ctx = context_from_config(config_mod.load(path), db)
        try:
            _race(env, db, stock, buys, processes)
        finally:
            env.ctx.connectors.close()


def _race(env, db, stock: dict[str, int], buys: dict[str, int | None], processes: bool) -> None:
    with env.db.write() as s:
        for sku in (X, Y, KIT):
            s.add(Product(sku=sku, title=f"Product {sku}", base_price=Decimal("10"), base_currency="EUR"))
    env.stock(stock)
    with env.db.write() as s:
        kits.set_bundle(s, KIT, {X: 2, Y: 1})
    # Given the bundle and its component listed on both channels, linked and pushed once
    for channel in CHANNELS:
        for sku in (X, KIT):
            env.put(channel, sku, 0)
    pull_listings(env.ctx, list(CHANNELS))
    for channel in CHANNELS:
        import_orders(env.ctx, channel)       # the first import: what came before is history
        push_stock(env.ctx, channel)
    assert all(env.listed(c)[s] > 0 for c in CHANNELS for s in (X, KIT)), \
        {c: env.listed(c) for c in CHANNELS}

    # When buyers buy the bundle and the component on both channels while two workers import and push
    stop = threading.Event()
    bought: list[tuple[str, str]] = []
    buyers = [threading.Thread(target=_buyer, args=(env, c, s, buys[s], stop, bought))
              for c in CHANNELS for s in (X, KIT)]
    args = [(str(env.config_path), db.url, list(CHANNELS), RACE_S)] * 2
    if processes:
        ctx = mp.get_context("spawn")
        start = ctx.Event()
        workers = [ctx.Process(target=sync_channels, args=(*a, start)) for a in args]
    else:
        start = threading.Event()
        workers = [threading.Thread(target=sync_channels, args=(*a, start)) for a in args]
    for w in (*workers, *buyers):
        w.start()
    start.set()
    for w in workers:
        w.join(timeout=120)
    stop.set()
    for b in buyers:
        b.join(timeout=10)
    if processes:
        assert [w.exitcode for w in workers] == [0, 0]
    assert bought, "nobody could buy"

    # and every order is imported
    def all_stored() -> bool:
        with env.db.read() as s:
            return s.scalar(select(func.count()).select_from(Order)) == len(bought)

    wait_ticking(f"{len(bought)} orders imported", all_stored,
                 tick=lambda: [import_orders(env.ctx, c) for c in CHANNELS])

    # Then nothing was oversold: every order holds its units, never more than there is
    with env.db.read() as s:
        flags = [f for (f,) in s.execute(select(Order.flags)) if f]
        held = dict(s.execute(select(Reservation.sku, func.sum(Reservation.quantity))
                              .group_by(Reservation.sku)).all())
    kits_bought = sum(1 for _, sku in bought if sku == KIT)
    assert flags == []
    assert held == {X: 2 * kits_bought + (len(bought) - kits_bought), Y: kits_bought}, (held, bought)
    assert held[X] <= stock[X] and held[Y] <= stock[Y], held

    # And after one push plan, every listing shows what crossdock computes for it ...
    for channel in CHANNELS:
        push_stock(env.ctx, channel)
    shown = {(c, sku): env.listed(c).get(sku, 0) for c in CHANNELS for sku in (X, KIT)}
    for channel in CHANNELS:
        want = expected_quantities(env.ctx, channel, [X, KIT])
        assert {sku: shown[(channel, sku)] for sku in (X, KIT)} == want, (channel, shown, want)
    # ... all of them together within the component's stock
    with env.db.read() as s:
        avail = inventory.availability_snapshot(s, [X, Y, KIT])
    x_listed = sum(q for (c, sku), q in shown.items() if sku == X)
    kit_listed = sum(q for (c, sku), q in shown.items() if sku == KIT)
    assert x_listed + 2 * kit_listed <= avail[X], (shown, avail)
    assert kit_listed <= avail[Y] and kit_listed <= avail[KIT], (shown, avail)
