"""The default demo's CPU seconds, and the share of them spent deciding quota.

    .venv/bin/python benchmarks/demo_cpu.py [--runs 1] [--skus 40] [--minutes 30] [--time-scale 30]
                                            [--cli]

Runs :func:`crossdock.demo.run_demo` with the options of ``crossdock demo``
in this process (the engine, its worker threads and the in-process sandbox
all run here) and prints, per run:

- ``cpu``: this process's user + system CPU seconds over the run
  (``resource.getrusage``), beside the wall time; target <= 20 s;
- ``quota``: CPU seconds spent in quota decisions, measured exactly with each
  thread's own CPU clock (``time.thread_time``) around every call of
  :meth:`QuotaBudget.attempt`, :meth:`QuotaBudget.on_response`,
  :meth:`QuotaBudget.adopt_window` and the Shopify client's query cost
  estimate — everything a platform call spends on its budget before and
  after the request; its share of ``cpu`` (target <= 3 %);
- the correctness figures of the run's summary: orders lost (placed minus
  imported), units oversold, SKUs in drift after the final reconcile, calls
  throttled (all must stay 0).

``--cli`` also runs ``crossdock demo --json`` as a child process and prints its
CPU seconds (interpreter start and imports included), the figure the issue
quotes.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_CPU_S = 20.0
TARGET_QUOTA_SHARE = 0.03


class QuotaMeter:
    """CPU seconds spent inside the wrapped functions, per label; a call nested
    in another wrapped call counts once, under the outer label."""

    def __init__(self) -> None:
        self.cpu_s: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        local = self._local

        @functools.wraps(fn)
        def measured(*args: Any, **kwargs: Any) -> Any:
            if getattr(local, "inside", False):
                return fn(*args, **kwargs)
            local.inside = True
            t0 = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.thread_time() - t0
                local.inside = False
                with self._lock:
                    self.cpu_s[label] += spent
                    self.calls[label] += 1

        return measured

    def install(self) -> Callable[[], None]:
        """Wrap the quota entry points; returns the undo."""
        from crossdock.connectors.shopify import client as shopify_client
        from crossdock.ratelimit.budget import QuotaBudget

        saved: list[tuple[Any, str, Any]] = []

        def patch(owner: Any, name: str, label: str) -> None:
            original = getattr(owner, name)
            saved.append((owner, name, original))
            setattr(owner, name, self.wrap(label, original))

        patch(QuotaBudget, "attempt", "budget.attempt")
        patch(QuotaBudget, "on_response", "budget.on_response")
        patch(QuotaBudget, "adopt_window", "budget.adopt_window")
        patch(shopify_client, "estimate_cost", "shopify estimate_cost")

        def undo() -> None:
            for owner, name, original in reversed(saved):
                setattr(owner, name, original)

        return undo


def _cpu_s(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def run_once(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from crossdock.demo import DemoOptions, run_demo

    meter = QuotaMeter()
    undo = meter.install()
    opts = DemoOptions(skus=args.skus, minutes=args.minutes, time_scale=args.time_scale, seed=args.seed,
                       folder=folder)
    try:
        u0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        summary = run_demo(opts)
        u1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    finally:
        undo()
    cpu = _cpu_s(u1) - _cpu_s(u0)
    quota = sum(meter.cpu_s.values())
    return {"cpu_s": cpu, "wall_s": t1 - t0, "quota_cpu_s": quota, "quota_share": quota / cpu if cpu else 0.0,
            "quota_parts": {k: (meter.cpu_s[k], meter.calls[k]) for k in sorted(meter.cpu_s)},
            "lost": summary["orders_placed"] - summary["orders_imported"], "placed": summary["orders_placed"],
            "oversold": summary["oversold_units"], "drift": summary["drift_skus"],
            "throttled": summary["throttled"], "api_calls": summary["api_calls"]}


def run_cli(args: argparse.Namespace, folder: Path) -> tuple[float, float, dict[str, Any]]:
    exe = Path(sys.executable).with_name("crossdock")
    cmd = [str(exe), "demo", "--json", "--folder", str(folder), "--skus", str(args.skus),
           "--minutes", str(args.minutes), "--time-scale", str(args.time_scale), "--seed", str(args.seed)]
    before = _cpu_s(resource.getrusage(resource.RUSAGE_CHILDREN))
    t0 = time.monotonic()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.monotonic() - t0
    return _cpu_s(resource.getrusage(resource.RUSAGE_CHILDREN)) - before, wall, json.loads(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--skus", type=int, default=40)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--time-scale", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cli", action="store_true", help="also run `crossdock demo --json` as a child process")
    args = ap.parse_args()

    print(f"default demo ({args.skus} SKUs, {args.minutes:g} sandbox minutes at time scale {args.time_scale:g}), "
          f"in this process; CPU = user + system seconds of the whole process (engine, workers, sandbox)")
    ok = True
    with tempfile.TemporaryDirectory(prefix="xd_demo_cpu_") as tmp:
        for i in range(args.runs):
            r = run_once(args, Path(tmp) / f"run{i}")
            parts = ", ".join(f"{k} {s:.2f} s / {n} calls" for k, (s, n) in r["quota_parts"].items())
            print(f"run {i + 1}: cpu {r['cpu_s']:6.2f} s (wall {r['wall_s']:5.1f} s)  "
                  f"quota {r['quota_cpu_s']:5.2f} s = {r['quota_share']:5.1%} of cpu  [{parts}]")
            calls = sum(r["api_calls"].values())
            print(f"       correctness: {r['lost']} lost of {r['placed']} placed, {r['oversold']} oversold, "
                  f"{r['drift']} drift, {r['throttled']} throttled; API calls {r['api_calls']} "
                  f"({r['cpu_s'] * 1000 / max(calls, 1):.1f} ms CPU per call: the engine does more rounds "
                  f"when its schedules run on time, so compare runs by this too)")
            ok = ok and not (r["lost"] or r["oversold"] or r["drift"] or r["throttled"])
            print(f"       targets: cpu <= {TARGET_CPU_S:g} s: {'met' if r['cpu_s'] <= TARGET_CPU_S else 'not met'}; "
                  f"quota <= {TARGET_QUOTA_SHARE:.0%}: "
                  f"{'met' if r['quota_share'] <= TARGET_QUOTA_SHARE else 'not met'}", flush=True)
            if args.cli:
                cpu, wall, s = run_cli(args, Path(tmp) / f"cli{i}")
                print(f"       `crossdock demo --json`: cpu {cpu:6.2f} s (wall {wall:5.1f} s); "
                      f"{s['orders_placed'] - s['orders_imported']} lost, {s['oversold_units']} oversold, "
                      f"{s['drift_skus']} drift, {s['throttled']} throttled", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
