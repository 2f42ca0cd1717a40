"""The scale-out chaos run (issue 19): `crossdock worker` processes on
PostgreSQL + Redis while everything that can go wrong does, then the damage
counted from the sandbox's own record and the database.

    .venv/bin/python benchmarks/chaos.py [--seed 1] [--duration-s 360 | --minutes M] [--time-scale 20]
        [--workers 3] [--lease-s 20] [--quick] [--keep FOLDER] [--json]

Bounded (under 10 minutes by default, about 3 with --quick) and loopback only.
It stands on benchmarks/deployment.py (a temporary PostgreSQL database, the
in-process sandbox seeded like `crossdock demo`, a config file, `crossdock
worker` subprocesses started from it exactly as an operator starts them) with
a private `redis-server` on a free port as the broker, so killing Redis never
touches the machine's shared one. The quota budget stays in PostgreSQL
(`sql://`, the config's default), as in deployment.py.

Worker groups: crossdock has no group concept — any worker runs any job, the
schedules are claimed in the database (compare-and-set, never fired twice),
the relay is one lease, and there is one broker queue, so `--queue` cannot
split the work. "Two worker groups" are therefore two sets of worker processes
with different thread counts, as two machines of different size would run:
group a gets the larger half of --workers with 3 threads each, group b the
rest with 2 threads each. A killed worker is started again 2 s later (what a
supervisor does), in its group, with its thread count.

While buyers buy on all four channels, over --duration-s seconds (real time):
  - a worker is SIGKILLed every 10-30 s (at random among those holding work
    at that moment, if any, so that most kills have a recovery to measure);
  - Redis is SIGKILLed at 30% and started again on the same port 15 s later;
  - a worker (holding work, if any) is SIGSTOPped at 40% for longer than [sync] lease_s (and the
    heartbeat timeout), then SIGCONTed;
  - fault storms rotate through 503, 429, slow, dropped and malformed answers,
    on one platform at a time, 10 s each (sandbox faults, probability 0.5);
  - at 20%, stalls longer than the lease: the next call to each platform is
    answered lease_s + 10 s late;
  - at 15%, a poison order: a Shopify order whose SKU is 100 characters long
    (Shopify allows 255; crossdock stores order line SKUs in 64);
  - at 35%, refresh tokens revoked and access tokens expired on every channel;
    25 s later the sandbox restores them (Amazon, eBay) or the app is installed
    again (Shopify: `crossdock auth set --refresh-token-env`), then the
    operator's remedy: `crossdock auth resume CH` and, where it reports
    failed jobs, `crossdock jobs retry --all --channel CH`;
  - at 65% (or once the credentials are back, if later: with revoked tokens
    no push can stop an oversell), a peak-demand drain: buyers at
    --peak-orders-per-min (20) on every channel until no channel shows any
    stock.
Then the chaos stops, buyers stop, and the workers get a bounded time to
settle; drift is a reconcile (check only) after they stopped.

Recovery after a SIGKILL is read from the database: the outbox entries the
dead worker held (status running, claimed by its host:pid) at kill time
reaching done (their done_at), and the dirty SKU rows it had claimed being
pushed and gone; the recovery time is the later of the two, from the kill.
A kill that held nothing has no recovery time. The SIGSTOP is measured the
same way. Beside it, "handed back": when nothing the worker held was still
claimed under its id (another worker may take it); a held order import that
was catching up through quota waits is handed back in seconds and done much
later, which the recovery time counts in full.

This is a measuring tool: it reports what it measures and tunes nothing.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from chaos_parts import (POISON_SKU, Claims, Fleet, Member, RedisServer, account, ask_quarantined,  # noqa: E402
                         free_port, storms)
from crossdock.sandbox.core import Fault  # noqa: E402

Event = tuple[float, str, Callable[[], None]]

STORM_KINDS = ("html_503", "throttle", "slow", "drop", "malformed_json")
EVENTS = ("sigkill", "redis", "sigstop", "storm", "stall", "poison", "revoke", "peak")


class Chaos:
    """The timeline and what it did, for the report."""

    def __init__(self, dep, fleet: Fleet, redis: RedisServer, args: argparse.Namespace, progress) -> None:
        self.dep, self.fleet, self.redis, self.args, self.progress = dep, fleet, redis, args, progress
        self.rng = random.Random(args.seed)
        self.sb = dep.sb
        self.claims = Claims(dep.db)
        self.did: dict = {"sigkills": 0, "redis_kills": 0, "redis_down_s": 0.0, "sigstop_s": 0.0,
                          "storms": [], "stalls": 0, "tokens_revoked_s": 0.0, "restore_commands": [],
                          "poison_order": None, "peak": {}}
        self._storm: Fault | None = None
        self._stopped: tuple[Member, float] | None = None
        self._peak_on = False
        self._restoring: threading.Thread | None = None
        self._credentials_ok = threading.Event()
        self._credentials_ok.set()

    # ------------------------------------------------------------ events
    def kill_one(self) -> None:
        victim = self.fleet.pick(self.rng, self.claims.busy())
        if victim is None:
            return
        wid = self.fleet.kill(victim)
        self.did["sigkills"] += 1
        self.claims.watch("sigkill", wid)
        self.progress(f"SIGKILL {wid} ({victim.group})")

    def redis_down(self) -> None:
        self.redis.kill()
        self.did["redis_kills"] += 1
        self._redis_down_at = time.monotonic()
        self.progress("Redis SIGKILLed")

    def redis_up(self) -> None:
        self.redis.start()
        self.did["redis_down_s"] += round(time.monotonic() - self._redis_down_at, 1)
        self.progress("Redis started again on the same port")

    def stop_one(self) -> None:
        victim = self.fleet.pick(self.rng, self.claims.busy())
        if victim is None:
            return
        os.kill(victim.proc.pid, signal.SIGSTOP)
        self._stopped = (victim, time.monotonic())
        self.fleet.stopped = victim
        self.claims.watch("sigstop", self.fleet.worker_id(victim))
        self.progress(f"SIGSTOP {self.fleet.worker_id(victim)} for {self.args.stop_s:.0f} s")

    def cont(self) -> None:
        if self._stopped is None:
            return
        victim, at = self._stopped
        if victim.proc.poll() is None:
            os.kill(victim.proc.pid, signal.SIGCONT)
        self.did["sigstop_s"] = round(time.monotonic() - at, 1)
        self.fleet.stopped = self._stopped = None
        self.progress("SIGCONT")

    def storm(self, kind: str, platform: str) -> None:
        self.calm()
        self._storm = self.sb.faults.add(Fault(kind=kind, platform=platform, probability=0.5,
                                               delay_s=3.0 if kind == "slow" else 0.0))
        self.did["storms"].append(f"{kind}@{platform}")

    def calm(self) -> None:
        if self._storm is not None:
            self.sb.faults.clear(self._storm.id)
            self._storm = None

    def stall(self) -> None:
        for platform in self.sb.sims:
            self.sb.faults.add(Fault(kind="slow", platform=platform, count=1, delay_s=self.args.lease_s + 10))
            self.did["stalls"] += 1
        self.progress(f"stalls: the next call to each platform answered {self.args.lease_s + 10:.0f} s late")

    def poison(self) -> None:
        """A Shopify order for a listing whose SKU is 100 characters long."""
        from crossdock.demo import CHANNELS

        name = next(n for n in CHANNELS if self.dep.cfg.channel(n).platform == "shopify")
        channel = self.dep.sb_channels[name]
        sim = self.sb.sims["shopify"]
        sim.set_listing(channel, POISON_SKU, 1)
        order_id = sim.place_order(channel, [(POISON_SKU, 1)], buyer_country="DE")
        sim.set_listing(channel, POISON_SKU, 0)      # scripted buyers never pick it
        self.did["poison_order"] = {"channel": name, "order_id": order_id, "sku_length": len(POISON_SKU)}
        self.progress(f"poison order {order_id} on {name} (SKU of {len(POISON_SKU)} characters)")

    def revoke(self) -> None:
        from crossdock.demo import CHANNELS

        for name in CHANNELS:
            ch = self.dep.cfg.channel(name)
            for action in ("revoke_refresh_token", "expire_access_tokens"):
                self.sb.sims[ch.platform].auth_scenario(action, ch.account)
        self._revoked_at = time.monotonic()
        self._credentials_ok.clear()
        self.progress("tokens revoked on every channel")

    def restore(self) -> None:
        """In a thread of its own: the commands take seconds and the kills go on meanwhile."""
        self._restoring = threading.Thread(target=self._restore, name="restore", daemon=True)
        self._restoring.start()

    def _restore(self) -> None:
        """The sandbox restores the grants (Shopify: the app installed again, a new
        refresh token), then what the remedies say: auth set / resume / jobs retry."""
        from crossdock.demo import CHANNELS

        ran = self.did["restore_commands"]
        for name in CHANNELS:
            ch = self.dep.cfg.channel(name)
            if ch.platform == "shopify":
                out = self.sb.sims[ch.platform].auth_scenario("reauthorise", ch.account)
                self.dep.env["XD_CHAOS_REFRESH_TOKEN"] = out["tokens"][ch.account]["refresh_token"]
                done = self.dep.crossdock("auth", "set", name, "--refresh-token-env", "XD_CHAOS_REFRESH_TOKEN",
                                          check=False)
                ran.append([f"crossdock auth set {name} --refresh-token-env VAR", done.returncode])
            else:
                self.sb.sims[ch.platform].auth_scenario("restore", ch.account)
        for name in CHANNELS:
            done = self.dep.crossdock("auth", "resume", name, "--json", check=False)
            ran.append([f"crossdock auth resume {name}", done.returncode])
            try:
                failed = json.loads(done.stdout).get("failed_jobs", 0)
            except ValueError:
                failed = 0
            if failed:
                done = self.dep.crossdock("jobs", "retry", "--all", "--channel", name, check=False)
                ran.append([f"crossdock jobs retry --all --channel {name} ({failed} failed)", done.returncode])
        self.did["tokens_revoked_s"] = round(time.monotonic() - self._revoked_at, 1)
        self._credentials_ok.set()
        self.progress("credentials restored; " + "; ".join(f"{c} → {rc}" for c, rc in ran))

    def peak(self) -> None:
        self._set_buyers(self.args.peak_orders_per_min)
        self._peak_on = True
        self._peak_at = time.monotonic()
        self._peak_placed = self.placed()
        self.progress(f"peak demand: {self.args.peak_orders_per_min:g} orders/min on every channel")

    def watch_peak(self) -> None:
        if not self._peak_on:
            return
        shown = sum(q for ch, sim in self.sb.all_channels().items() if ch in self.dep.sb_channels.values()
                    for q in sim.listed(ch).values() if q > 0)
        if shown == 0:
            self._end_peak(stock_out=True)

    def _end_peak(self, *, stock_out: bool) -> None:
        self._peak_on = False
        self.did["peak"] = {"orders_per_min": self.args.peak_orders_per_min,
                            "seconds": round(time.monotonic() - self._peak_at, 1),
                            "orders": self.placed() - self._peak_placed, "stock_ran_out": stock_out}
        self.progress(f"peak over: {self.did['peak']}")

    def _set_buyers(self, per_min: float) -> None:
        from crossdock.demo import BUYER_COUNTRIES, CHANNELS
        from crossdock.sandbox.core import BuyerProfile

        for name in CHANNELS:
            self.sb.set_buyers(self.dep.sb_channels[name], BuyerProfile(
                orders_per_min=per_min, max_qty=2, cancel_probability=0.02, countries=BUYER_COUNTRIES[name]))

    def placed(self) -> int:
        with self.sb.market.lock:
            return len({s["order_id"] for s in self.sb.market.sales})

    # ------------------------------------------------------------ the run
    def timeline(self) -> list[Event]:
        d, a = self.args.duration_s, self.args
        events: list[Event] = [
            (0.15 * d, "poison", self.poison), (0.20 * d, "stall", self.stall),
            (0.30 * d, "redis down", self.redis_down), (0.30 * d + 15, "redis up", self.redis_up),
            (0.40 * d, "sigstop", self.stop_one), (0.40 * d + a.stop_s, "sigstop end", self.cont),
            (0.35 * d, "revoke", self.revoke), (0.35 * d + 25, "revoke end", self.restore),
            (0.65 * d, "peak", self.peak)]
        for at, kind, platform in storms(self.rng, d, STORM_KINDS, sorted(self.sb.sims)):
            events += [(at, f"storm {kind}@{platform}", functools.partial(self.storm, kind, platform)),
                       (at + 10, "storm end", self.calm)]
        t = 10.0
        while True:
            t += self.rng.uniform(10, 30)
            if t > d - 10:
                break
            events.append((t, "sigkill", self.kill_one))
        skip = set(self.args.skip)
        return sorted((e for e in events if e[1].split(" ")[0] not in skip), key=lambda e: e[0])

    def run(self) -> None:
        self._set_buyers(self.args.orders_per_min)
        self.sb.start_buyers()
        events = self.timeline()
        t0 = time.monotonic()
        last_note = 0.0
        while True:
            now = time.monotonic() - t0
            while events and events[0][0] <= now:
                _, name, fn = events.pop(0)
                if name == "peak" and not self._credentials_ok.is_set():
                    # the peak waits for the credentials: with revoked tokens no push can stop an oversell
                    events = sorted([*events, (now + 1.0, name, fn)], key=lambda e: e[0])
                    continue
                fn()
            if now >= self.args.duration_s and not events:
                break
            self.fleet.restart_dead(after_s=2.0)
            self.watch_peak()
            self.claims.poll()
            if now - last_note >= 15:
                last_note = now
                self.progress(f"t+{now:5.0f} s: {self.placed()} placed, {self.claims.imported()} imported, "
                              f"{self.fleet.running()} workers running")
            time.sleep(0.25)
        if self._peak_on:
            self._end_peak(stock_out=False)
        if self._restoring is not None:
            self._restoring.join(timeout=120)
        self.sb.stop_buyers()
        self.sb.faults.clear()
        self.cont()
        self.fleet.restart_dead(after_s=0.0)

    def settle(self, idle: Callable[[], bool], budget_s: float) -> tuple[float, bool]:
        """Until every order placed (but the poison one) is imported and the engine idle."""
        poison = (self.did["poison_order"] or {}).get("order_id")
        t0 = time.monotonic()
        settled = False
        while not settled and time.monotonic() - t0 < budget_s:
            self.fleet.restart_dead(after_s=0.0)
            self.claims.poll()
            with self.sb.market.lock:
                placed = {s["order_id"] for s in self.sb.market.sales} - {poison}
            settled = placed <= self.claims.imported_ids() and idle()
            if not settled:
                time.sleep(0.5)
        self.claims.poll()
        return round(time.monotonic() - t0, 1), settled


def run(args: argparse.Namespace, folder: Path, progress) -> dict:
    from deployment import Deployment

    started = time.monotonic()
    redis = RedisServer(free_port(), folder / "redis.log").start()
    dep = None
    try:
        dep = Deployment(folder=folder, skus=args.skus, minutes=args.duration_s * args.time_scale / 60,
                         time_scale=args.time_scale, seed=args.seed, orders_per_min=args.orders_per_min,
                         redis_url=redis.url, sync={"lease_s": str(args.lease_s)},
                         keep=bool(args.keep))
        fleet = Fleet(dep, args.workers)
        fleet.start_all()
        progress(f"{fleet.describe()} on PostgreSQL + a private Redis on port {redis.port}")
        chaos = Chaos(dep, fleet, redis, args, progress)
        chaos.run()
        from crossdock.sync_engine.engine import Engine, context_from_config

        ctx = context_from_config(dep.cfg, dep.db)
        progress("chaos over; settling")
        settle_s, settled = chaos.settle(Engine(ctx).idle, args.settle_s)
        exits = fleet.stop_all()
        return account(dep, ctx, chaos, progress, ask_quarantined(dep), {
            "seed": args.seed, "skipped": args.skip, "duration_s": args.duration_s, "settle_s": settle_s, "settled": settled,
            "time_scale": args.time_scale, "lease_s": args.lease_s, "skus": args.skus,
            "groups": fleet.groups_doc(), "worker_exit_codes": exits,
            "wall_s": round(time.monotonic() - started, 1)})
    finally:
        if dep is not None:
            dep.close()
        redis.stop()


def _kill_line(w: dict) -> str:
    held = f"held {', '.join(w['held_entries']) or 'no entry'} and {w['held_dirty_skus']} dirty SKU(s)"
    back = f"handed back {w['handed_back_s']} s, " if w.get("handed_back_s") is not None else ""
    if w["recovered_s"] is not None:
        return f"  {w['worker']}: {held} -> {back}processed by others {w['recovered_s']} s after the signal"
    if not w["held_entries"] and not w["held_dirty_skus"]:
        return f"  {w['worker']}: {held}"
    return f"  {w['worker']}: {held} -> not processed by the end (entries now {w['entry_states_at_end']})"


def _recovered(rec: dict) -> str:
    return (f"p50 {rec['p50_s']} s, max {rec['max_s']} s  ({rec['recovered']} recovered, {rec['held_nothing']} "
            f"held nothing, {rec['not_recovered']} not recovered by the end); handed back to the other workers "
            f"p50 {rec.get('handed_back_p50_s')} s, max {rec.get('handed_back_max_s')} s")


def report(r: dict) -> str:
    rec = r["recovery_after_sigkill"]
    q = r["quarantined_orders"]
    lines = [
        f"chaos run: seed {r['seed']}, {r['duration_s']:.0f} s of chaos + {r['settle_s']:.0f} s settling "
        f"({'settled' if r['settled'] else 'NOT settled: every order imported and the engine idle not reached'}), "
        f"{r['groups']}, lease_s {r['lease_s']:g}, time scale {r['time_scale']:g}, wall {r['wall_s']} s"
        + (f", skipped: {', '.join(r['skipped'])}" if r["skipped"] else ""),
        f"events: {r['events']['sigkills']} SIGKILLs, Redis killed {r['events']['redis_kills']}x "
        f"(down {r['events']['redis_down_s']} s), a worker SIGSTOPped {r['events']['sigstop_s']} s, "
        f"{len(r['events']['storms'])} fault storms, {r['events']['stalls']} stalls, tokens revoked "
        f"{r['events']['tokens_revoked_s']} s, poison order {r['poison'].get('order_id')}, peak {r['events']['peak']}",
        f"orders placed          {r['orders_placed']}",
        f"orders imported        {r['orders_imported']}",
        f"orders lost            {r['orders_lost']}   (not imported when the run ended; poison order: {r['poison']['state']}; "
        f"lost by channel {r['orders_lost_by_channel']})",
        f"orders duplicated      {r['orders_duplicated']}",
        f"oversold units         {r['oversold_units']}",
        f"double confirmations   {r['double_confirmations']}"
        + (f"   (orders {', '.join(r['double_confirmed_ids'])})" if r["double_confirmed_ids"] else ""),
        f"drift (SKUs)           {r['drift_skus']}   (reconcile after settling, before any repair)",
        f"quarantined orders     {'n/a' if q is None else q}",
        f"recovery after SIGKILL {_recovered(rec)}",
        *(_kill_line(w) for w in rec["each"]),
        f"recovery after SIGSTOP {_recovered(r['recovery_after_sigstop'])}",
        *(_kill_line(w) for w in r["recovery_after_sigstop"]["each"]),
        f"outbox at the end      {r['outbox_at_end']}",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration-s", type=float, help="Real seconds of chaos (default 360; --quick 120).")
    ap.add_argument("--minutes", type=float, help="Sandbox minutes of chaos instead (at --time-scale).")
    ap.add_argument("--time-scale", type=float, default=20)
    ap.add_argument("--workers", type=int, default=3, help="Worker processes, split into two groups.")
    ap.add_argument("--lease-s", type=float, default=20, help="[sync] lease_s of the run.")
    ap.add_argument("--skus", type=int, help="Catalogue size (default 40; --quick 24): the stock the peak drains.")
    ap.add_argument("--orders-per-min", type=float, default=0.5, help="Per channel, sandbox minutes.")
    ap.add_argument("--peak-orders-per-min", type=float, default=20)
    ap.add_argument("--quick", action="store_true", help="A ~3 minute variant.")
    ap.add_argument("--skip", type=lambda v: [x.strip() for x in v.split(",") if x.strip()], default=[],
                    help="Leave out events, to see what each one costs: comma-separated of " + ", ".join(EVENTS) + ".")
    ap.add_argument("--keep", metavar="FOLDER", help="Keep the config, worker and Redis logs here.")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.duration_s is not None and args.minutes is not None:
        ap.error("give --duration-s or --minutes, not both")
    if args.minutes is not None:
        args.duration_s = args.minutes * 60 / args.time_scale
    elif args.duration_s is None:
        args.duration_s = 120.0 if args.quick else 360.0
    unknown = set(args.skip) - set(EVENTS)
    if unknown:
        ap.error(f"--skip: unknown event(s) {', '.join(sorted(unknown))}; one of {', '.join(EVENTS)}")
    if args.workers < 2:
        ap.error("--workers must be at least 2 (two groups)")
    if args.skus is None:
        args.skus = 24 if args.quick else 40
    args.settle_s = 60.0 if args.quick else 170.0
    args.stop_s = max(args.lease_s + 10, 30.0) if args.quick else max(args.lease_s + 25, 45.0)
    progress = (lambda m: None) if args.json else (lambda m: print(f"  {m}", file=sys.stderr, flush=True))
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="xd-chaos-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        result = run(args, folder, progress)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(result, indent=2, default=str) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
