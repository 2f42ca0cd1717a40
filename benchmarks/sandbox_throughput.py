"""Sandbox benchmark: start-up time and requests per second on ONE core.

The sandbox runs as `crossdock sandbox serve --json` in its own process pinned
to CPU 0; the load comes from client threads in this process pinned to CPU 1,
over keep-alive HTTP/1.1 connections on loopback. Rate limits are switched off
through the admin API so the figure is the server's, not Amazon's quota.

    .venv/bin/python benchmarks/sandbox_throughput.py [--seconds 5] [--threads 8]

Prints: start-up time (spawn → description on stdout) and requests/s per
endpoint mix. Targets: start-up < 2 s, ≥ 500 requests/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request


def post_json(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


def lwa_token(desc: dict) -> str:
    acct = desc["amazon"]["accounts"][0]
    form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": acct["refresh_token"],
                                   "client_id": acct["client_id"], "client_secret": acct["client_secret"]}).encode()
    req = urllib.request.Request(desc["amazon"]["lwa_url"], data=form, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["access_token"]


def hammer(base: str, paths: list[str], headers: dict, seconds: float, threads: int) -> tuple[int, int]:
    host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
    counts = [0] * threads
    errors = [0] * threads
    stop_at = time.perf_counter() + seconds

    def run(i: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        n = 0
        while time.perf_counter() < stop_at:
            conn.request("GET", paths[n % len(paths)], headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status >= 400:
                errors[i] += 1
            counts[i] += 1
            n += 1
        conn.close()

    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts), sum(errors)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()

    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = cpus[0], cpus[-1]
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "crossdock", "sandbox", "serve", "--json", "--seed", "7",
                             "--time-scale", "60"],
                            stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: os.sched_setaffinity(0, {server_cpu}))
    try:
        line = proc.stdout.readline()
        startup_s = time.perf_counter() - started
        desc = json.loads(line)
        os.sched_setaffinity(0, {client_cpu})
        post_json(desc["admin_url"] + "/ratelimits", {"enabled": False})
        acct = desc["amazon"]["accounts"][0]
        seller, mp = acct["seller_id"], acct["marketplace_ids"][0]
        skus = [f"BENCH-{i}" for i in range(20)]
        channel = f"amazon:{seller}:{mp}"
        post_json(desc["admin_url"] + "/seed", {
            "catalogue": [{"sku": s, "title": s, "price": "10.00", "currency": "USD", "stock": 50} for s in skus],
            "listings": {channel: {s: {"quantity": 50, "price": "19.99"} for s in skus}}})
        for _ in range(30):
            post_json(desc["admin_url"] + "/buy", {"channel": channel})
        time.sleep(3)  # 3 real s = 3 sandbox minutes: past Amazon's 2-minute visibility rule
        token = lwa_token(desc)
        headers = {"x-amz-access-token": token}
        base = desc["amazon"]["base_url"]
        created_after = "2020-01-01T00:00:00Z"
        mixes = {
            "getOrders": [f"/orders/v0/orders?MarketplaceIds={mp}&CreatedAfter={created_after}&MaxResultsPerPage=20"],
            "getListingsItem": [f"/listings/2021-08-01/items/{seller}/{s}?marketplaceIds={mp}" for s in skus],
            "admin /clock": None,
        }
        print(f"sandbox start-up: {startup_s:.2f} s (target < 2 s)")
        print(f"server pinned to CPU {server_cpu}, {args.threads} client threads on CPU {client_cpu}, "
              f"{args.seconds:.0f} s per mix")
        for name, paths in mixes.items():
            if paths is None:
                n, errs = hammer(desc["admin_url"], ["/clock"], {}, args.seconds, args.threads)
            else:
                n, errs = hammer(base, paths, headers, args.seconds, args.threads)
            print(f"  {name:<16} {n / args.seconds:8.0f} requests/s  ({n} requests, {errs} errors)")
        with urllib.request.urlopen(urllib.request.Request(base + mixes["getOrders"][0], headers=headers)) as r:
            sample = json.loads(r.read())
        print(f"  (getOrders answered {len(sample['payload']['Orders'])} orders per page)")
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
