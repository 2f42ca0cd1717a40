"""How fast each quota store answers try_acquire, from 1 and 4 worker processes.

    .venv/bin/python benchmarks/ratelimit_backends.py [--seconds 2] [--backends sqlite,redis]

Prints one line per (backend, processes): decisions per second, latency
percentiles, and the tokens granted against what the bucket could give (burst +
rate x elapsed), which must never be exceeded. PostgreSQL runs in a temporary
database and Redis under a unique key prefix; both are cleaned up. The sandbox
benchmark (4 workers against the marketplace sandbox) can reuse ``_worker``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RATE_PER_S = 200.0
BURST = 50.0


def _worker(spec: dict[str, Any], start: Any, results: Any) -> None:
    from sqlalchemy import create_engine

    from crossdock.ratelimit import Priority, QuotaBudget, UsagePlan, backend_from_url

    engine = create_engine(spec["db_url"]) if spec.get("db_url") else None
    backend = backend_from_url(spec["url"], engine=engine, key_prefix=spec.get("key_prefix"))
    budget = QuotaBudget(backend, plans={("bench", "op"): UsagePlan(RATE_PER_S, BURST)})
    latencies: list[float] = []
    granted = 0
    start.wait(60)
    deadline = time.perf_counter() + spec["seconds"]
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        if budget.try_acquire("bench", spec["account"], "op", priority=Priority.CRITICAL) == 0:
            granted += 1
        latencies.append(time.perf_counter() - t0)
    backend.close()
    if engine is not None:
        engine.dispose()
    results.put((granted, latencies))


def _run(spec: dict[str, Any], processes: int) -> str:
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    spec = {**spec, "account": uuid.uuid4().hex}
    procs = [ctx.Process(target=_worker, args=(spec, start, results)) for _ in range(processes)]
    for p in procs:
        p.start()
    time.sleep(1.5)  # let the spawned interpreters import
    start.set()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    granted = sum(g for g, _ in outcomes)
    lat = sorted(x for _, xs in outcomes for x in xs)
    allowed = BURST + RATE_PER_S * spec["seconds"] * 1.05  # 5 % for start-up skew
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000
    verdict = "ok" if granted <= allowed else "OVER BUDGET"
    return (f"{spec['name']:<9} procs={processes}  {len(lat) / spec['seconds']:>8.0f} decisions/s  "
            f"p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  granted {granted} of <= {allowed:.0f} [{verdict}]")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--backends", default="memory,sqlite,postgres,redis")
    args = parser.parse_args()
    wanted = args.backends.split(",")
    from sqlalchemy import create_engine

    from crossdock.ratelimit.backends.sql_tables import create_tables

    pg_admin = os.environ.get("CROSSDOCK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CROSSDOCK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    with tempfile.TemporaryDirectory() as tmp:
        specs: list[dict[str, Any]] = []
        cleanup = []
        if "memory" in wanted:
            specs.append({"name": "memory", "url": "memory://"})
        if "sqlite" in wanted:
            db_url = f"sqlite:///{tmp}/bench.sqlite"
            engine = create_engine(db_url)
            create_tables(engine)
            engine.dispose()
            specs.append({"name": "sqlite", "url": "sql://", "db_url": db_url})
        if "postgres" in wanted:
            import psycopg

            name = f"xd_bench_{uuid.uuid4().hex[:10]}"
            admin = pg_admin.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            db_url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
            engine = create_engine(db_url)
            create_tables(engine)
            engine.dispose()
            specs.append({"name": "postgres", "url": "sql://", "db_url": db_url})

            def drop(name: str = name) -> None:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

            cleanup.append(drop)
        if "redis" in wanted:
            prefix = f"xdbench:rl:{uuid.uuid4().hex}:"
            specs.append({"name": "redis", "url": redis_url, "key_prefix": prefix})

            def flush(prefix: str = prefix) -> None:
                from crossdock.ratelimit.backends.redis import RedisBackend

                backend = RedisBackend.from_url(redis_url, prefix=prefix)
                backend.delete_all()
                backend.close()

            cleanup.append(flush)
        try:
            print(f"bucket: rate {RATE_PER_S}/s, burst {BURST}; {args.seconds} s per run")
            for spec in specs:
                spec["seconds"] = args.seconds
                for processes in (1, 4) if spec["name"] != "memory" else (1,):
                    print(_run(spec, processes), flush=True)
        finally:
            for fn in cleanup:
                fn()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
