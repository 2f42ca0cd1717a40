"""Acceptance of issue 16: a database lost mid-run and restored from a scheduled backup.

    crossdock sandbox serve → config init --from-sandbox (+ [backup]) → catalogue, stock,
    listings pull → crossdock worker(s) → buyers order → a scheduled backup with orders in
    it → Shopify's refresh token rotates → more orders → workers stopped, database dropped
    → crossdock db restore → workers started again

Then, by the sandbox's own record: every order placed is in the database once, none
oversold, stock and reservations as before the loss; the Shopify channel whose token
rotated after the backup was paused with XD-AUTH-010 before it synced, and resumes
once `crossdock auth set` stores a new token. Every step is a `crossdock` process.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.deploy.harness import (
    Process,
    SandboxProcess,
    clean_env,
    crossdock,
    crossdock_json,
    go_live_setup,
    log_tails,
    start_workers,
    wait_for,
)
from tests.services import REDIS_URL, TempPostgresDatabase, require_postgres, require_redis

pytestmark = pytest.mark.slow

TIME_SCALE = 20.0


def _read(db_url: str, fn):
    from crossdock.db.engine import Database

    db = Database(db_url)
    try:
        with db.read() as s:
            return fn(s)
    finally:
        db.dispose()


def _orders(db_url: str) -> list[tuple[str, str]]:
    from crossdock.db.models import Order

    return _read(db_url, lambda s: [tuple(r) for r in s.execute(select(Order.channel, Order.platform_order_id))])


def _stock(db_url: str) -> dict[tuple[str, str], tuple[int, int]]:
    from crossdock.db.models import StockLevel

    return _read(db_url, lambda s: {(r.sku, r.warehouse): (r.on_hand, r.reserved) for r in s.execute(
        select(StockLevel.sku, StockLevel.warehouse, StockLevel.on_hand, StockLevel.reserved))})


def _reservations(db_url: str) -> dict[str, int]:
    from crossdock.db.models import Reservation

    return _read(db_url, lambda s: {r[0]: int(r[1]) for r in s.execute(
        select(Reservation.sku, func.sum(Reservation.quantity)).group_by(Reservation.sku))})


def _credential_version(db_url: str, channel: str) -> int:
    from crossdock.db.models import Credential

    return _read(db_url, lambda s: s.scalar(select(Credential.version).where(Credential.channel == channel)) or 0)


def _drop(db_url: str, tmp_path: Path, pg: TempPostgresDatabase | None) -> None:
    """The database is lost: the SQLite file deleted, or the PostgreSQL database dropped and made anew, empty."""
    if pg is None:
        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"crossdock.sqlite{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    admin = pg._admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{pg.name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{pg.name}"')


def _restore_run(tmp_path: Path, *, database_url: str, broker_url: str | None, workers: int,
                 pg: TempPostgresDatabase | None) -> None:
    rng = random.Random(16)
    sandbox = SandboxProcess(cwd=tmp_path, time_scale=TIME_SCALE, seed=16)
    procs: list[Process] = []
    env = clean_env(CROSSDOCK_BROKER_NAMESPACE=f"xd-restore-{uuid.uuid4().hex[:10]}")

    def start(tag: str) -> list[Process]:
        started = start_workers(tmp_path, env, workers, tag=tag, timeout_s=90)
        procs.extend(started)
        return started

    def info() -> str:
        return log_tails(procs, 25)

    try:
        # Given a seller set up as in the go-live test, with scheduled backups every 5 real seconds
        stock = {f"GL-{i:03d}": rng.randint(6, 20) for i in range(1, 17)}
        shown = go_live_setup(tmp_path, sandbox, stock, env=env, database_url=database_url,
                              broker_url=broker_url, sections={"backup": {
                                        "every": str(int(5 * TIME_SCALE)), "keep": '"20 last"',
                                        "folder": '"backups"', "verify_every": '"weekly"'}})
        shopify = sorted(n for n, c in shown["channels"].items() if c["platform"] == "shopify")[0]
        first = start("a")
        names = sorted(shown["channels"])

        def no_drift() -> bool:
            return all(not crossdock_json("sync", "reconcile", n, cwd=tmp_path, env=env)["drift"] for n in names)

        wait_for("every channel corrected after the pull", no_drift, timeout_s=90, every_s=2, info=info)

        # When buyers order, and a scheduled backup is taken with orders in it
        sandbox.admin("POST", "/buyers", {"channels": {"*": {"orders_per_min": 1, "max_qty": 1,
                                                               "cancel_probability": 0.0}}, "running": True})

        def backup_with_orders() -> dict | None:
            rows = crossdock_json("db", "backups", cwd=tmp_path, env=env)["backups"]
            for r in rows:
                manifest = json.loads(Path(r["path"] + ".manifest.json").read_text())
                if r["kind"] == "scheduled" and manifest["row_counts"].get("orders", 0) >= 2:
                    return {**r, "orders": manifest["row_counts"]["orders"]}
            return None

        backup = wait_for("a scheduled backup holding orders", backup_with_orders, timeout_s=120, every_s=1,
                          info=info)
        # and Shopify's refresh token rotates twice after it (the backup's token is used up)
        for _ in range(2):
            seen = _credential_version(database_url, shopify)
            sandbox.admin("POST", "/auth/shopify/expire_access_tokens", {})
            wait_for("the worker refreshing Shopify's token", lambda: _credential_version(database_url, shopify)
                     > seen, timeout_s=60, every_s=0.5, info=info)
        time.sleep(4)                                   # more orders after the backup
        sandbox.admin("POST", "/buyers", {"running": False})
        placed = {(s["order_id"]) for s in sandbox.admin("GET", "/sales")["sales"]}
        wait_for("every placed order imported before the loss",
                 lambda: placed <= {pid for _, pid in _orders(database_url)}, timeout_s=120, every_s=1, info=info)
        before_stock, before_reserved = _stock(database_url), _reservations(database_url)
        assert sandbox.admin("GET", "/stats")["market"]["oversold_units"] == 0
        assert len(placed) > backup["orders"], "no order was placed after the backup: nothing to prove"

        # When the workers stop, the database is lost, and the backup is restored
        for p in first:
            rc, _ = p.terminate(timeout_s=40)
            assert rc == 0, p.tail()
        _drop(database_url, tmp_path, pg)
        restored = crossdock("db", "restore", backup["path"], "--json", cwd=tmp_path, env=env)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert json.loads(restored.stdout)["check"]["ok"]
        start("b")

        # Then the Shopify channel whose token rotated is paused with the restore's code, before any sync
        def shopify_pause() -> str | None:
            ran = crossdock("auth", "status", "--json", cwd=tmp_path, env=env)     # exit 3 while paused
            row = next(c for c in json.loads(ran.stdout)["channels"] if c["channel"] == shopify)
            return row["paused_code"]

        assert wait_for("the Shopify channel paused", shopify_pause, timeout_s=60, info=info) == "XD-AUTH-010"
        # When the seller re-authorises it as the code says
        tokens = sandbox.admin("POST", "/auth/shopify/reauthorise",
                               {"account": shown["channels"][shopify]["account"]})["tokens"]
        new_token = next(iter(tokens.values()))["refresh_token"]
        ran = crossdock("auth", "set", shopify, "--refresh-token-env", "NEW_SHOPIFY_TOKEN", cwd=tmp_path,
                        env={**env, "NEW_SHOPIFY_TOKEN": new_token})
        assert ran.returncode == 0, ran.stderr
        # Then every order placed is in the database exactly once (the sandbox's record)
        wait_for("every placed order imported again", lambda: placed <= {pid for _, pid in _orders(database_url)},
                 timeout_s=180, every_s=1,
                 info=lambda: f"missing {sorted(placed - {p for _, p in _orders(database_url)})[:10]}" + info())
        orders = _orders(database_url)
        assert len(orders) == len(set(orders)) == len({pid for _, pid in orders}) == len(placed)
        # and stock and reservations are what they were before the loss, with nothing oversold
        assert _reservations(database_url) == before_reserved
        assert _stock(database_url) == before_stock
        assert sandbox.admin("GET", "/stats")["market"]["oversold_units"] == 0
        for p in procs:
            if p.proc.poll() is None:
                rc, _ = p.terminate(timeout_s=40)
                assert rc == 0, p.tail()
            assert "Traceback" not in p.output(), p.tail()
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.kill()
        sandbox.stop()


def test_restore_after_a_lost_database_on_the_embedded_default(tmp_path: Path):
    _restore_run(tmp_path, database_url=f"sqlite:///{tmp_path / 'crossdock.sqlite'}", broker_url=None, workers=1,
                 pg=None)


@pytest.mark.postgres
@pytest.mark.redis
def test_restore_after_a_lost_database_on_postgres_with_two_workers(tmp_path: Path):
    require_postgres()
    require_redis()
    pg = TempPostgresDatabase()
    try:
        _restore_run(tmp_path, database_url=pg.url, broker_url=REDIS_URL, workers=2, pg=pg)
    finally:
        pg.close()
