"""Quota benchmark: 4 worker processes share one Amazon seller (and one
Shopify shop) through the quota budget, against the sandbox.

Each worker loops: ask the budget (never sleeping while holding anything),
call the sandbox, report the response back. The sandbox enforces the real
token buckets, so any 429 it sends means the shared budget let too much out.

    .venv/bin/python benchmarks/quota_shared.py [--seconds 20] [--time-scale 20]
        [--backend redis|postgres|sqlite|both|all]
        [--rate-headroom 0.99] [--arrival-jitter-s 0.1]

``both`` is Redis and PostgreSQL; ``sqlite`` is the embedded default (``sql://`` on
a SQLite file the four processes share); ``all`` runs the three.

Prints per backend: calls made, 429s received (goal 0), and achieved rate as a
fraction of the allowed rate (goal >= 0.9): successes / (burst + rate x K x elapsed).

``elapsed`` is the window in which workers may call: it opens when every worker
process has started and built its budget (spawning four interpreters and
opening their stores takes 0.4-1.1 s on two cores, more for PostgreSQL than
for Redis, and is not quota the budget could have used) and closes at the
deadline, after which no worker asks again. The platform bucket starts full,
so burst + rate x K x elapsed is exactly what the platform would have accepted.
The budget is the configured one (rate headroom and arrival jitter of
crossdock.ratelimit.budget), so the best it can reach is a little below 1.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORKERS = 4
AMAZON_OP = "getOrderItems"        # 0.5/s, burst 30 (the ingest bottleneck)
# A sync-sized query (orders with their lines): a few cheap calls would measure
# the quota store's round trips, not the budget.
SHOPIFY_QUERY = ("query { orders(first: 25) { nodes { id name updatedAt "
                 "lineItems(first: 5) { nodes { id sku quantity } } } } }")


def _post(url: str, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _get(url: str, headers: dict) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _budget(rl_url: str, db_url: str | None, time_scale: float, prefix: str, margins: tuple[float, float]):
    from crossdock.ratelimit.backends import backend_from_url
    from crossdock.ratelimit.budget import QuotaBudget

    engine = None
    if rl_url.startswith("sql"):
        from crossdock.db.engine import make_engine

        engine = make_engine(db_url)
    headroom, jitter_s = margins
    return QuotaBudget(backend_from_url(rl_url, engine=engine, key_prefix=prefix if "redis" in rl_url else None),
                       time_scale=time_scale, rate_headroom=headroom, arrival_jitter_s=jitter_s)


def _ready_then_deadline(ready, go, deadline) -> float:
    """Tell the parent this worker is set up; wait for the start; the deadline."""
    ready.put(1)
    go.wait(120)
    return deadline.value


def amazon_worker(rl_url, db_url, time_scale, prefix, margins, desc, token, order_ids, ready, go, deadline, out):
    from crossdock.ratelimit.budget import Priority

    budget = _budget(rl_url, db_url, time_scale, prefix, margins)
    seller = desc["amazon"]["accounts"][0]["seller_id"]
    base = desc["amazon"]["base_url"]
    ok = throttled = other = 0
    i = 0
    deadline = _ready_then_deadline(ready, go, deadline)
    while time.time() < deadline:
        wait_ms = budget.try_acquire("amazon", seller, AMAZON_OP, priority=Priority.CRITICAL)
        if wait_ms:
            time.sleep(min(wait_ms / 1000, max(0.0, deadline - time.time())))
            continue
        oid = order_ids[i % len(order_ids)]
        i += 1
        status, headers, _ = _get(f"{base}/orders/v0/orders/{oid}/orderItems", {"x-amz-access-token": token})
        budget.on_response("amazon", seller, AMAZON_OP, status=status, headers=headers)
        if status == 200:
            ok += 1
        elif status == 429:
            throttled += 1
        else:
            other += 1
    budget.close()
    out.put((ok, throttled, other))


def shopify_worker(rl_url, db_url, time_scale, prefix, margins, desc, cost, ready, go, deadline, out):
    from crossdock.ratelimit.budget import Priority

    budget = _budget(rl_url, db_url, time_scale, prefix, margins)
    shop = desc["shopify"]["shops"][0]
    url = f"{desc['shopify']['base_url']}/admin/api/{desc['shopify']['api_version']}/graphql.json"
    headers = {"X-Shopify-Access-Token": shop["access_token"], "Content-Type": "application/json"}
    body = json.dumps({"query": SHOPIFY_QUERY}).encode()
    ok = throttled = other = 0
    points = 0.0
    deadline = _ready_then_deadline(ready, go, deadline)
    while time.time() < deadline:
        wait_ms = budget.try_acquire("shopify", shop["shop"], "graphql", cost=cost, priority=Priority.CRITICAL)
        if wait_ms:
            time.sleep(min(wait_ms / 1000, max(0.0, deadline - time.time())))
            continue
        status, _, raw = _post(url, body, headers)
        doc = json.loads(raw or b"{}")
        cost_info = (doc.get("extensions") or {}).get("cost")
        is_throttled = any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in doc.get("errors") or [])
        budget.on_response("shopify", shop["shop"], "graphql", status=status, cost_report=cost_info,
                           throttled=is_throttled)
        if status == 200 and not is_throttled and "data" in doc:
            ok += 1
            points += float((cost_info or {}).get("actualQueryCost") or cost)
        elif is_throttled or status == 429:
            throttled += 1
        else:
            other += 1
    budget.close()
    out.put((ok, throttled, other, points))


def _start_workers(ctx, target, args: tuple, seconds: float) -> tuple[list, float, float]:
    """Start the workers, wait until each has built its budget, then open the
    calling window for ``seconds``: (results, window start, window end)."""
    ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    deadline = ctx.Value("d", 0.0)
    procs = [ctx.Process(target=target, args=(*args, ready, go, deadline, out)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    start = time.time()
    deadline.value = start + seconds
    go.set()
    results = [out.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join()
    return results, start, start + seconds


def run_backend(name: str, rl_url: str, db_url: str | None, args) -> None:
    from crossdock.sandbox.core import Sandbox

    K = args.time_scale
    margins = (args.rate_headroom, args.arrival_jitter_s)
    print(f"[{name}] budget: rate headroom {args.rate_headroom:g}, arrival jitter {args.arrival_jitter_s:g} s")
    with Sandbox(time_scale=K, seed=11) as sb:
        desc = sb.describe()
        acct = desc["amazon"]["accounts"][0]
        mp_id = acct["marketplace_ids"][0]
        channel = f"amazon:{acct['seller_id']}:{mp_id}"
        sb.sims["amazon"].set_listing(channel, "Q-1", 10_000, __import__("decimal").Decimal("9.99"))
        order_ids = [sb.buy_once(channel, sb.sims["amazon"]) for _ in range(20)]
        shop_channel = next(ch for ch in sb.sims["shopify"].channels())
        for sku in ("Q-1", "Q-2", "Q-3"):
            sb.sims["shopify"].set_listing(shop_channel, sku, 10_000, __import__("decimal").Decimal("9.99"))
        for _ in range(60):  # enough orders that a page costs what it asks for
            sb.buy_once(shop_channel, sb.sims["shopify"])
        form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": acct["refresh_token"],
                                       "client_id": acct["client_id"], "client_secret": acct["client_secret"]})
        _, _, raw = _post(desc["amazon"]["lwa_url"], form.encode(),
                          {"Content-Type": "application/x-www-form-urlencoded"})
        token = json.loads(raw)["access_token"]
        prefix = f"xdbench:{uuid.uuid4().hex[:8]}:"
        ctx = mp.get_context("spawn")

        # Amazon: 4 processes, one seller, getOrderItems
        results, start, end = _start_workers(ctx, amazon_worker, (rl_url, db_url, K, prefix, margins, desc,
                                                                  token, order_ids), args.seconds)
        elapsed = end - start
        ok = sum(r[0] for r in results)
        thr = sum(r[1] for r in results)
        other = sum(r[2] for r in results)
        allowed = 30 + 0.5 * K * elapsed
        print(f"[{name}] amazon {AMAZON_OP} x{WORKERS} processes, {elapsed:.1f} s real at time scale {K}: "
              f"calls {ok + thr + other}, 429s {thr}, other errors {other}, "
              f"achieved {ok / allowed:.3f} of allowed ({ok} of {allowed:.0f})")

        # Shopify: cost-weighted bucket per shop
        shop = desc["shopify"]["shops"][0]
        url = f"{desc['shopify']['base_url']}/admin/api/{desc['shopify']['api_version']}/graphql.json"
        _, _, raw = _post(url, json.dumps({"query": SHOPIFY_QUERY}).encode(),
                          {"X-Shopify-Access-Token": shop["access_token"], "Content-Type": "application/json"})
        probe = json.loads(raw)
        cost_info = probe["extensions"]["cost"]
        cost = float(cost_info["requestedQueryCost"])
        bucket = float(cost_info["throttleStatus"]["maximumAvailable"])
        restore = float(cost_info["throttleStatus"]["restoreRate"])
        time.sleep(bucket / (restore * K) + 0.5)  # let the shop's bucket refill after the probe
        prefix = f"xdbench:{uuid.uuid4().hex[:8]}:"
        results, start, end = _start_workers(ctx, shopify_worker, (rl_url, db_url, K, prefix, margins, desc,
                                                                   cost), args.seconds)
        elapsed = end - start
        ok = sum(r[0] for r in results)
        thr = sum(r[1] for r in results)
        other = sum(r[2] for r in results)
        points = sum(r[3] for r in results)
        allowed_points = bucket + restore * K * elapsed
        print(f"[{name}] shopify graphql (cost {cost:g}, bucket {bucket:g}, restore {restore:g}/s) x{WORKERS} "
              f"processes: calls {ok + thr + other}, THROTTLED {thr}, other errors {other}, "
              f"achieved {points / allowed_points:.3f} of allowed points ({points:.0f} of {allowed_points:.0f})")


def main() -> int:
    from crossdock.ratelimit.budget import DEFAULT_ARRIVAL_JITTER_S, DEFAULT_RATE_HEADROOM

    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--time-scale", type=float, default=20.0)
    ap.add_argument("--backend", choices=("redis", "postgres", "sqlite", "both", "all"), default="both")
    ap.add_argument("--rate-headroom", type=float, default=DEFAULT_RATE_HEADROOM,
                    help="fraction of the platform rate the budget grants (default: the configured one)")
    ap.add_argument("--arrival-jitter-s", type=float, default=DEFAULT_ARRIVAL_JITTER_S,
                    help="real seconds of arrival jitter the budget absorbs (default: the configured one)")
    args = ap.parse_args()
    if args.backend in ("redis", "both", "all"):
        run_backend("redis", "redis://127.0.0.1:6379/0", None, args)
    if args.backend in ("sqlite", "all"):
        import tempfile

        from crossdock.db.engine import Database
        from crossdock.db.migrate import upgrade

        with tempfile.TemporaryDirectory(prefix="xd_quota_") as folder:
            url = f"sqlite:///{folder}/quota.sqlite"
            db = Database(url)
            upgrade(db)
            db.dispose()
            run_backend("sqlite", "sql://", url, args)
    if args.backend in ("postgres", "both", "all"):
        from crossdock.db.engine import Database
        from crossdock.db.migrate import upgrade
        from tests.services import TempPostgresDatabase

        tmp = TempPostgresDatabase()
        try:
            db = Database(tmp.url)
            upgrade(db)
            db.dispose()
            run_backend("postgres", "sql://", tmp.url, args)
        finally:
            tmp.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
