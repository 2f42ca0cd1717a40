"""Reconcile's HTTP requests and wall time, at 40 and 1,000 SKUs on the demo's four channels.

    .venv/bin/python benchmarks/reconcile.py [--skus 40,1000] [--time-scale 30] [--drift 5]

The demo's configuration, catalogue and listings (``crossdock.demo``) on a live
in-process sandbox at the demo's time scale; ``--drift`` listings per channel are
edited by hand on the platform first, so reconcile has something to find. Then
one reconcile (check, no repair) per channel, one after another as the demo's
final check runs them, with quota waits slept through as a person's command
does. Requests are counted from the sandbox's own record, per channel and
operation (token requests included); the wall time is the reconcile's alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _ops(sb) -> dict[str, int]:
    out: dict[str, int] = {}
    for accounts in sb.stats.as_dict().values():
        for ops in accounts.values():
            for op, c in ops.items():
                out[op] = out.get(op, 0) + c["calls"]
    return out


def run(skus: int, time_scale: float, drift: int) -> dict:
    from crossdock import config as config_mod
    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade
    from crossdock.demo import CHANNELS, DemoOptions, _sandbox_channels, _seed, _write_config
    from crossdock.ratelimit.waits import PERSON_WAIT_S, inline_waits
    from crossdock.sandbox.core import Sandbox
    from crossdock.sync_engine.engine import context_from_config
    from crossdock.sync_engine.jobs import reconcile

    with tempfile.TemporaryDirectory() as d, Sandbox(time_scale=time_scale, seed=7) as sb:
        opts = DemoOptions(skus=skus, time_scale=time_scale, folder=Path(d))
        cfg = config_mod.load(_write_config(Path(d), sb.describe(), opts, {}), env={})
        db = Database(cfg.database_url)
        upgrade(db)
        sb_channels = _sandbox_channels(sb.describe())
        _seed(db, sb, cfg, opts, sb_channels)
        for name in CHANNELS:               # a few listings changed by hand on the platform
            sim = sb.sims[cfg.channel(name).platform]
            for i in range(min(drift, skus)):
                sku = f"XD-{i * (skus // max(1, drift)) + 1:04d}"
                sim.set_listing(sb_channels[name], sku, 97, Decimal("19.99"))
        ctx = context_from_config(cfg, db)
        rows: dict[str, dict] = {}
        try:
            with inline_waits(PERSON_WAIT_S):
                total0 = time.perf_counter()
                for name in CHANNELS:
                    before, t0 = _ops(sb), time.perf_counter()
                    result = reconcile(ctx, name, apply=False)
                    after = _ops(sb)
                    rows[name] = {"wall_s": time.perf_counter() - t0, "checked": result["checked"],
                                  "drift": len(result["drift"]),
                                  "ops": {op: n - before.get(op, 0) for op, n in after.items()
                                          if n - before.get(op, 0)}}
                total_s = time.perf_counter() - total0
        finally:
            ctx.connectors.close()
            db.dispose()
    return {"skus": skus, "channels": rows, "wall_s": total_s,
            "requests": sum(sum(r["ops"].values()) for r in rows.values())}


def main() -> int:
    from cryptography.fernet import Fernet

    ap = argparse.ArgumentParser()
    ap.add_argument("--skus", default="40,1000")
    ap.add_argument("--time-scale", type=float, default=30)
    ap.add_argument("--drift", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("CROSSDOCK_SECRET_KEY", Fernet.generate_key().decode())
    for n in (int(x) for x in args.skus.split(",")):
        r = run(n, args.time_scale, args.drift)
        print(f"== reconcile, {n} SKUs x {len(r['channels'])} channels (time scale {args.time_scale:g}): "
              f"{r['requests']} requests, wall {r['wall_s']:.2f} s", flush=True)
        for name, row in r["channels"].items():
            ops = ", ".join(f"{op} {k}" for op, k in sorted(row["ops"].items()))
            print(f"   {name:11s} {sum(row['ops'].values()):5d} requests  {row['wall_s']:6.2f} s  "
                  f"checked {row['checked']} drift {row['drift']}  | {ops}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
