"""CPU of stock push runs, in-process, on a finished demo's database.

Copies the SQLite database of a finished ``crossdock demo --folder DIR`` (its
listings, stock and history), then times ``--runs`` push runs of one channel
through the actor's path (``claim_and_process`` of one ``push_stock`` outbox
entry) with ``time.process_time``:

- empty runs: nothing is dirty (the run takes no marks);
- runs with ``--dirty`` D dirty SKUs: before each (untimed) D SKUs' stock
  moves by one unit and they are marked dirty, so the run plans, fences,
  "pushes" (a stand-in connector accepts everything), records and acks them.

Usage: .venv/bin/python benchmarks/push_cpu.py DEMO_DIR [--runs 200] [--dirty 5] [--channel amazon-de]
(make DEMO_DIR with ``crossdock demo --folder DEMO_DIR``; it is read, never changed).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from crossdock.models import ItemResult


class _Connector:
    """Accepts every update; no unseen-sales reads."""

    unseen_sales_s = 0.0

    def push_stock(self, items: Sequence[Any]) -> list[ItemResult]:
        return [ItemResult(sku=u.sku, ok=True) for u in items]


class _Connectors:
    def get(self, channel: str) -> Any:
        return _Connector()

    def close(self) -> None:
        pass


def _copy_db(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("demo_dir", type=Path)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--dirty", type=int, default=5)
    ap.add_argument("--channel", default="amazon-de")
    ap.add_argument("--only", choices=("empty", "dirty"), help="time one kind of run only (to profile it)")
    args = ap.parse_args()

    from crossdock import config as config_mod
    from crossdock.db.base import utcnow
    from crossdock.sync_engine import dirty, outbox
    from crossdock.sync_engine._tables import LISTINGS, STOCK
    from crossdock.sync_engine.engine import context_from_config
    from crossdock.sync_engine.jobs import claim_and_process

    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "crossdock.sqlite"
        _copy_db(args.demo_dir / "crossdock.sqlite", db_path)
        for name in ("crossdock.toml", "crossdock.key"):
            shutil.copy(args.demo_dir / name, Path(tmp) / name)
        cfg = config_mod.load(Path(tmp) / "crossdock.toml")
        ctx = context_from_config(cfg)
        db = ctx.db
        ctx.connectors = _Connectors()
        channel = args.channel
        with db.write() as s:       # start from a quiet channel: no marks, no pending runs
            s.execute(delete(dirty.DIRTY))
            s.execute(update(outbox.OUTBOX).where(outbox.OUTBOX.c.status.in_(("pending", "running")))
                      .values(status="done"))
            skus = sorted(s.scalars(select(LISTINGS.c.sku).where(LISTINGS.c.channel == channel,
                                                                 LISTINGS.c.status == "active")))
        if not skus:
            raise SystemExit(f"no active listings on {channel}")

        def entry() -> int:
            with db.write() as s:
                key = f"bench:{channel}:{time.monotonic_ns()}"
                outbox.enqueue(s, dirty.PUSH_STOCK, channel=channel, payload={"channel": channel},
                               idempotency_key=key)
                return int(s.scalar(select(outbox.OUTBOX.c.id).where(outbox.OUTBOX.c.idempotency_key == key)))

        def timed(n_dirty: int) -> float:
            cpu = 0.0
            for i in range(args.runs):
                if n_dirty:
                    chosen = [skus[((i // 2) * n_dirty + k) % len(skus)] for k in range(n_dirty)]
                    with db.write() as s:
                        s.execute(update(STOCK).where(STOCK.c.sku.in_(chosen))
                                  .values(on_hand=STOCK.c.on_hand + (-10 if i % 2 else 10)))
                        dirty.mark_dirty(s, chosen, now=utcnow())
                        # the marks' own window entries are left out: this run is the one timed
                        s.execute(delete(outbox.OUTBOX).where(outbox.OUTBOX.c.kind == dirty.PUSH_STOCK,
                                                              outbox.OUTBOX.c.status == "pending"))
                entry_id = entry()
                t0 = time.process_time()
                out = claim_and_process(ctx, ids=[entry_id])
                cpu += time.process_time() - t0
                if out != ["done"]:
                    raise SystemExit(f"push run {entry_id}: {out}")
            return cpu

        timed(0) if args.runs > 20 else None     # warm-up (statement caches, imports)
        empty = timed(0) if args.only != "dirty" else 0.0
        busy = timed(args.dirty) if args.only != "empty" else 0.0
        print(f"{channel}: {args.runs} empty runs {1000 * empty / args.runs:.2f} ms CPU each; "
              f"{args.runs} runs with {args.dirty} dirty SKUs {1000 * busy / args.runs:.2f} ms CPU each")


if __name__ == "__main__":
    main()
