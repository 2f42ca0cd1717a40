"""A stock-take's push run: every SKU of a channel changed at once (``stock
import`` of a count). The run holds the database's write lock while it fences
its batch and while it records the outcome, and every other channel's push,
order import and quota decision waits for that lock: its statements do not
grow with the SKUs it carries."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from crossdock import config as config_mod
from crossdock.db.models import StockLevel
from crossdock.demo import DemoOptions, _sandbox_channels, _seed, _write_config
from crossdock.sandbox.core import Sandbox
from crossdock.sync_engine import dirty
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs.stock import expected_quantities, push_stock
from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
from crossdock.warehouse.operations import import_stock

SKUS = 300


def _count_file(path: Path, db) -> None:
    """A count of every SKU in CN, each different from what is on hand."""
    with db.read() as s:
        levels = {sku: n for sku, n in s.execute(select(StockLevel.sku, StockLevel.on_hand)
                                                   .where(StockLevel.warehouse == "CN"))}
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sku", "warehouse", "on_hand", "reason"])
        for sku, on_hand in sorted(levels.items()):
            w.writerow([sku, "CN", on_hand * 2 + 7, "count"])


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
def test_a_stock_take_push_run_sends_every_sku_in_statements_that_do_not_grow_with_them(db, tmp_path, monkeypatch):
    opts = DemoOptions(skus=SKUS, time_scale=60, seed=11, folder=tmp_path, database_url=db.url)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        env: dict[str, str] = {}
        path = _write_config(tmp_path, sb.describe(), opts, env)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        cfg = config_mod.load(path, env={})
        channels = _sandbox_channels(sb.describe())
        _seed(db, sb, cfg, opts, channels)
        cfg.sync["oversell_guard"] = False     # each channel lists its rule's quantity: every SKU changes
        ctx = context_from_config(cfg, db)
        try:
            # Given a count of every SKU, imported
            _count_file(tmp_path / "count.csv", db)
            import_stock(db, tmp_path / "count.csv", actor="test", ledger=ENGINE_LEDGER)
            want = expected_quantities(ctx, "amazon-de")
            listed = sb.sims["amazon"].listed(channels["amazon-de"])
            assert sum(1 for sku, q in want.items() if listed.get(sku) != q) == SKUS

            # When the channel's push run sends them (one feed)
            statements: list[str] = []
            listener = lambda *a: statements.append(a[2])      # noqa: E731 (conn, cursor, statement, ...)
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                result = push_stock(ctx, "amazon-de")
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)

            # Then the channel shows every quantity, nothing is left dirty there, and the run's
            # statements are a few per step, not one per SKU (2 x 300 before)
            assert result["pushed"] == SKUS
            assert sb.sims["amazon"].listed(channels["amazon-de"]) == {**listed, **want}
            with db.read() as s:
                assert s.scalar(select(func.count()).select_from(dirty.DIRTY)
                                .where(dirty.DIRTY.c.channel == "amazon-de")) == 0
            assert len(statements) < 80, len(statements)
            assert expected_quantities(ctx, "amazon-de") == want
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
