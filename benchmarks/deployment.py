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


class Deployment:
    """What a benchmark of ``crossdock worker`` processes stands on: a temporary
    PostgreSQL database (migrated by ``crossdock db upgrade``), the in-process
    sandbox seeded like ``crossdock demo``, and a config file whose broker is
    ``redis_url`` (plus any ``[sync]`` keys in ``sync``). Workers are started
    with :meth:`start_worker`; :meth:`close` kills what is left and drops the
    database (unless ``keep``). benchmarks/chaos.py builds on it too."""

    def __init__(self, *, folder: Path, skus: int, minutes: float, time_scale: float, seed: int,
                 orders_per_min: float, redis_url: str | None = None, sync: dict[str, str] | None = None,
                 keep: bool = False) -> None:
        from cryptography.fernet import Fernet

        from crossdock import config as config_mod
        from crossdock.db.engine import Database
        from crossdock.demo import DemoOptions, _load_sample_rates, _sandbox_channels, _seed, _write_config
        from crossdock.sandbox.core import Sandbox
        from tests.deploy.harness import set_keys
        from tests.services import REDIS_URL, TempPostgresDatabase, require_postgres, require_redis

        require_postgres()
        if redis_url is None:
            require_redis()
        os.environ.setdefault("CROSSDOCK_SECRET_KEY", Fernet.generate_key().decode())
        self.folder, self.keep = folder, keep
        self.workers: list[subprocess.Popen] = []
        self.pg = TempPostgresDatabase()
        self.sb = Sandbox(time_scale=time_scale, seed=seed).start()
        self.db: Database
        try:
            desc = self.sb.describe()
            self.sb_channels = _sandbox_channels(desc)
            self.opts = DemoOptions(skus=skus, minutes=minutes, time_scale=time_scale, seed=seed,
                                    orders_per_min=orders_per_min, folder=folder, database_url=self.pg.url)
            secrets: dict[str, str] = {}
            self.config_path = path = _write_config(folder, desc, self.opts, secrets)
            set_keys(path, "broker", {"url": f'"{redis_url or REDIS_URL}"'})
            if sync:
                set_keys(path, "sync", sync)
            self.env = {**os.environ, **secrets, "CROSSDOCK_CONFIG": str(path), "PYTHONUNBUFFERED": "1",
                        "CROSSDOCK_BROKER_NAMESPACE": f"xd-bench-{uuid.uuid4().hex[:10]}"}
            for var in ("CROSSDOCK_DATABASE_URL", "CROSSDOCK_BROKER_URL", "CROSSDOCK_RATELIMIT_URL"):
                self.env.pop(var, None)
            os.environ.update(secrets)
            self.crossdock("db", "upgrade")
            self.cfg = config_mod.load(path, env={})
            self.db = Database(self.cfg.database_url)
            _seed(self.db, self.sb, self.cfg, self.opts, self.sb_channels)
            _load_sample_rates(self.db, self.sb.clock.now().date())
        except BaseException:
            self.close()
            raise

    def crossdock(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """One ``crossdock`` command on this deployment's config, as an operator types it."""
        return subprocess.run([sys.executable, "-m", "crossdock", *args], env=self.env, cwd=self.folder,
                              check=check, capture_output=True, text=True)

    def start_worker(self, *, threads: int, name: str) -> subprocess.Popen:
        """``crossdock worker --threads N`` in its own session, output in FOLDER/NAME.log."""
        log = open(self.folder / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "crossdock", "worker", "--threads", str(threads)],
                                env=self.env, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.workers.append(proc)
        return proc

    def close(self) -> None:
        for w in self.workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
                w.wait(timeout=10)
        self.sb.stop()
        if hasattr(self, "db"):
            self.db.dispose()
        if self.keep:
            print(f"  kept database {self.pg.url}", file=sys.stderr)
        else:
            self.pg.close()


def run_deployment(args: argparse.Namespace, folder: Path, progress) -> dict:
    from crossdock.demo import drive_buyers, summarize
    from crossdock.sync_engine.engine import Engine, context_from_config

    started = time.monotonic()
    dep = Deployment(folder=folder, skus=args.skus, minutes=args.minutes, time_scale=args.time_scale,
                     seed=args.seed, orders_per_min=args.orders_per_min, keep=bool(args.keep))
    try:
        workers = [dep.start_worker(threads=args.threads, name=f"worker-{i + 1}") for i in range(args.workers)]
        progress(f"{args.workers} crossdock worker process(es) on PostgreSQL + Redis")
        # this process only watches: an Engine here is used for its read-only idle() query
        ctx = context_from_config(dep.cfg, dep.db)
        drive_buyers(dep.sb, dep.db, dep.opts, Engine(ctx).idle, progress)
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=60)
        summary = summarize(dep.db, dep.cfg, dep.sb, ctx, progress, {
            "time_scale": args.time_scale, "sandbox_minutes": args.minutes, "skus": args.skus,
            "workers": args.workers, "worker_exit_codes": [w.returncode for w in workers]})
        summary["wall_s"] = round(time.monotonic() - started, 1)
        return summary
    finally:
        dep.close()


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
        if d and d["p95"] and v["p95"] is not None:
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
