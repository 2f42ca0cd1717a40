"""The demo's load on the path an operator deploys: `crossdock worker` processes
on PostgreSQL + Redis, beside `crossdock demo`'s own run of the same load.

    .venv/bin/python benchmarks/deployment.py [--skus 40] [--minutes 30] [--time-scale 30]
        [--orders-per-min 1.5] [--workers 2] [--threads 4] [--seed 7] [--no-demo] [--json]

The sandbox, the scripted buyers and the accounting run in this process (the
sandbox serves HTTP on loopback); the engine runs only in `crossdock worker`
subprocesses, started with a config file and no other wiring, exactly as an
operator starts them. The figures come from the sandbox's own record (orders
placed, units oversold, what every channel showed when) and the database —
the same accounting as `crossdock demo` (crossdock.demo.summarize). With the
demo (default) it prints both and how far the deployment is from the demo.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIGURES = ("orders_placed", "orders_imported", "oversold_units", "drift_skus", "throttled")


def run_deployment(args: argparse.Namespace, folder: Path, progress) -> dict:
    from cryptography.fernet import Fernet

    from crossdock import config as config_mod
    from crossdock.db.engine import Database
    from crossdock.demo import (DemoOptions, _load_sample_rates, _sandbox_channels, _seed, _write_config,
                                drive_buyers, summarize)
    from crossdock.sandbox.core import Sandbox
    from crossdock.sync_engine.engine import Engine, context_from_config
    from tests.services import REDIS_URL, TempPostgresDatabase, require_postgres, require_redis

    require_postgres()
    require_redis()
    os.environ.setdefault("CROSSDOCK_SECRET_KEY", Fernet.generate_key().decode())
    pg = TempPostgresDatabase()
    sb = Sandbox(time_scale=args.time_scale, seed=args.seed).start()
    workers: list[subprocess.Popen] = []
    started = time.monotonic()
    try:
        desc = sb.describe()
        opts = DemoOptions(skus=args.skus, minutes=args.minutes, time_scale=args.time_scale, seed=args.seed,
                           orders_per_min=args.orders_per_min, folder=folder, database_url=pg.url)
        secrets: dict[str, str] = {}
        path = _write_config(folder, desc, opts, secrets)
        text = path.read_text(encoding="utf-8").replace('url = "stub://"', f'url = "{REDIS_URL}"')
        path.write_text(text, encoding="utf-8")
        env = {**os.environ, **secrets, "CROSSDOCK_CONFIG": str(path), "PYTHONUNBUFFERED": "1",
               "CROSSDOCK_BROKER_NAMESPACE": f"xd-bench-{uuid.uuid4().hex[:10]}"}
        for var in ("CROSSDOCK_DATABASE_URL", "CROSSDOCK_BROKER_URL", "CROSSDOCK_RATELIMIT_URL"):
            env.pop(var, None)
        os.environ.update(secrets)
        subprocess.run([sys.executable, "-m", "crossdock", "db", "upgrade"], env=env, check=True,
                       capture_output=True)
        cfg = config_mod.load(path, env={})
        db = Database(cfg.database_url)
        _seed(db, sb, cfg, opts, _sandbox_channels(desc))
        _load_sample_rates(db, sb.clock.now().date())
        for i in range(args.workers):
            log = open(folder / f"worker-{i + 1}.log", "ab")
            workers.append(subprocess.Popen([sys.executable, "-m", "crossdock", "worker", "--threads",
                                             str(args.threads)], env=env, cwd=folder, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True))
        progress(f"{args.workers} crossdock worker process(es) on PostgreSQL + Redis")
        # this process only watches: an Engine here is used for its read-only idle() query
        ctx = context_from_config(cfg, db)
        drive_buyers(sb, db, opts, Engine(ctx).idle, progress)
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=60)
        summary = summarize(db, cfg, sb, ctx, progress, {
            "time_scale": args.time_scale, "sandbox_minutes": args.minutes, "skus": args.skus,
            "workers": args.workers, "worker_exit_codes": [w.returncode for w in workers]})
        db.dispose()
        summary["wall_s"] = round(time.monotonic() - started, 1)
        return summary
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
        sb.stop()
        if args.keep:
            print(f"  kept database {pg.url}", file=sys.stderr)
        else:
            pg.close()


def run_demo(args: argparse.Namespace) -> dict:
    done = subprocess.run([sys.executable, "-m", "crossdock", "demo", "--json", "--skus", str(args.skus),
                           "--minutes", str(args.minutes), "--time-scale", str(args.time_scale), "--seed",
                           str(args.seed), "--orders-per-min", str(args.orders_per_min),
                           "--folder", tempfile.mkdtemp(prefix="xd-demo-")],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"crossdock demo failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def row(name: str, s: dict) -> str:
    p = s["propagation_s"]
    by = {k: v for k, v in sorted(p["by_source"].items())}
    src = "  ".join(f"{k} {v['p50']}/{v['p95']}" for k, v in by.items())
    return (f"{name:<12} placed {s['orders_placed']:>4}  imported {s['orders_imported']:>4}  oversold "
            f"{s['oversold_units']}  drift {s['drift_skus']}  throttled {s['throttled']}  propagation p50/p95 "
            f"{p['p50']}/{p['p95']} s  by source {src}  wall {s['wall_s']} s")


def compare(demo: dict, dep: dict) -> dict:
    """Relative difference of the propagation percentiles (deployment vs demo)."""
    out = {}
    for key in ("p50", "p95"):
        a, b = demo["propagation_s"][key], dep["propagation_s"][key]
        out[f"propagation_{key}"] = round((b - a) / a * 100, 1) if a and b is not None else None
    for src, v in dep["propagation_s"]["by_source"].items():
        d = demo["propagation_s"]["by_source"].get(src)
        if d and d["p95"]:
            out[f"{src}_p95"] = round((v["p95"] - d["p95"]) / d["p95"] * 100, 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skus", type=int, default=40)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--time-scale", type=float, default=30)
    ap.add_argument("--orders-per-min", type=float, default=1.5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-demo", action="store_true", help="Only the deployment run.")
    ap.add_argument("--keep", metavar="FOLDER", help="Keep the deployment's config and worker logs here.")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    progress = (lambda m: None) if args.json else (lambda m: print(f"  {m}", file=sys.stderr, flush=True))
    result: dict = {}
    if not args.no_demo:
        progress("crossdock demo (embedded default, same load)")
        result["demo"] = run_demo(args)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="xd-deploy-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        result["deployment"] = run_deployment(args, folder, progress)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
    if "demo" in result:
        result["difference_pct"] = compare(result["demo"], result["deployment"])
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    for name in ("demo", "deployment"):
        if name in result:
            print(row(name, result[name]))
    if "difference_pct" in result:
        print("deployment vs demo (%):", result["difference_pct"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
