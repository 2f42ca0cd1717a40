"""No oversell at peak demand (issue 19, item 3), on the deployed path.

Buyers order at 24 orders a minute on every channel until the stock runs
out, with the default stock rules (no shares, no buffers). Amazon shows its
orders two minutes late, so without the oversell guard a unit sold there is
still listed on every other channel for minutes, and sold again (65 units
oversold in the issue's run). With the guard the channels together never
list more than is available: 0 units oversold, by the sandbox's own record.

Everything runs as an operator runs it: ``crossdock sandbox serve``, a config
from ``config init --from-sandbox``, ``crossdock worker`` processes.
"""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

import pytest

from tests.deploy.harness import (
    Process,
    SandboxProcess,
    clean_env,
    crossdock_json,
    go_live_setup,
    imported_orders,
    listed_total,
    log_tails,
    start_workers,
    wait_for,
)
from tests.services import REDIS_URL, TempPostgresDatabase, require_postgres, require_redis

pytestmark = pytest.mark.slow

TIME_SCALE = 20.0
SKUS = 10
ORDERS_PER_MIN = 24          # on every channel
MAX_DRAIN_S = 150            # real seconds of buying at most (50 sandbox minutes)


def _drain(tmp_path: Path, *, database_url: str, broker_url: str | None, workers: int) -> dict:
    rng = random.Random(19)
    sandbox = SandboxProcess(cwd=tmp_path, time_scale=TIME_SCALE, seed=19)
    procs: list[Process] = []
    env = clean_env(CROSSDOCK_BROKER_NAMESPACE=f"xd-peak-{uuid.uuid4().hex[:10]}")
    try:
        stock = {f"PK-{i:03d}": rng.randint(4, 12) for i in range(1, SKUS + 1)}
        names = sorted(go_live_setup(tmp_path, sandbox, stock, database_url=database_url, broker_url=broker_url,
                                     env=env)["channels"])
        procs.extend(start_workers(tmp_path, env, workers))

        def info() -> str:
            return log_tails(procs)

        def listed() -> int:
            return listed_total(sandbox)

        # the pulled listings (every channel showing all the stock) are brought to shares first: down at
        # once, then up again once every channel's order import has proven nothing sold meanwhile
        total = sum(stock.values())
        wait_for("the channels together list most of the stock, and no more",
                 lambda: 0.8 * total <= listed() <= total, timeout_s=120, every_s=1, info=info)

        # When buyers order at peak rate on every channel until no channel lists anything
        sandbox.admin("POST", "/buyers", {"channels": {"*": {"orders_per_min": ORDERS_PER_MIN, "max_qty": 2,
                                                               "cancel_probability": 0.0}}, "running": True})
        started = time.monotonic()
        while time.monotonic() - started < MAX_DRAIN_S:
            market = sandbox.admin("GET", "/stats")["market"]
            if market["units_sold"] >= sum(stock.values()) or listed() == 0:
                break
            time.sleep(1)
        sandbox.admin("POST", "/buyers", {"running": False})
        sales = sandbox.admin("GET", "/sales")["sales"]
        placed = {s["order_id"] for s in sales}
        wait_for("every placed order imported", lambda: placed <= imported_orders(database_url), timeout_s=150,
                 every_s=1, info=lambda: f"missing {sorted(placed - imported_orders(database_url))[:10]}" + info())
        market = sandbox.admin("GET", "/stats")["market"]
        status = crossdock_json("sync", "status", cwd=tmp_path, env=env)
        for p in procs:
            assert "Traceback" not in p.output(), p.tail()
        return {"market": market, "placed": len(placed), "channels": names,
                "sold_on": {s["channel"] for s in sales}, "stock": sum(stock.values()), "status": status}
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.kill()
        sandbox.stop()


def _assert_no_oversell(run: dict) -> None:
    market = run["market"]
    # buyers bought at peak on every channel, Amazon's included, and most of the stock went
    assert run["placed"] >= 20, run
    assert len(run["sold_on"]) == len(run["channels"]), run["sold_on"]
    assert market["units_sold"] >= run["stock"] * 0.6, market["units_sold"]
    # and not one unit was sold twice
    assert market["oversold_units"] == 0, {sku: v for sku, v in market["skus"].items()
                                           if v["net_sold"] > v["physical_stock"]}


def test_peak_drain_oversells_nothing_on_the_embedded_default(tmp_path: Path):
    _assert_no_oversell(_drain(tmp_path, database_url=f"sqlite:///{tmp_path / 'crossdock.sqlite'}",
                               broker_url=None, workers=1))


@pytest.mark.postgres
@pytest.mark.redis
def test_peak_drain_oversells_nothing_on_postgres_with_two_workers(tmp_path: Path):
    require_postgres()
    require_redis()
    pg = TempPostgresDatabase()
    try:
        _assert_no_oversell(_drain(tmp_path, database_url=pg.url, broker_url=REDIS_URL, workers=2))
    finally:
        pg.close()
