"""The pieces of benchmarks/chaos.py that are not the timeline: the private
Redis, the worker fleet (two groups), the claims a stopped or killed worker
held and when they were processed, and the accounting at the end."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

# A Shopify SKU may be 255 characters long; crossdock keeps order line SKUs in 64.
POISON_SKU = "XD-POISON-" + "P" * 90
GROUPS = (("a", 3), ("b", 2))        # (group, threads per worker process)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A private ``redis-server`` on a loopback port, no persistence: killed
    with SIGKILL and started again on the same port (empty) during the run."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port, self.log_path = port, log_path
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--daemonize", "no"], stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not answer on port {self.port}: see {self.log_path}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Member:
    group: str
    threads: int
    name: str
    proc: subprocess.Popen
    died_at: float | None = None


class Fleet:
    """``--workers`` processes in two groups (see the chaos module doc): group a
    the larger half with 3 threads each, group b the rest with 2."""

    def __init__(self, dep: Any, workers: int) -> None:
        self.dep = dep
        sizes = {"a": math.ceil(workers / 2), "b": workers // 2}
        self.plan = [(g, threads, f"{g}{i + 1}") for g, threads in GROUPS for i in range(sizes[g])]
        self.members: list[Member] = []
        self.stopped: Member | None = None
        self.starts = 0

    def _start(self, group: str, threads: int, name: str) -> Member:
        self.starts += 1
        proc = self.dep.start_worker(threads=threads, name=f"worker-{name}")
        return Member(group, threads, name, proc)

    def start_all(self) -> None:
        self.members = [self._start(*p) for p in self.plan]

    @staticmethod
    def worker_id(m: Member) -> str:
        """The worker's id in the database (crossdock.sync_engine.liveness.process_id: host:pid)."""
        return f"{socket.gethostname()}:{m.proc.pid}"

    def pick(self, rng: random.Random, busy: Collection[str] = ()) -> Member | None:
        """A running worker, one of the ``busy`` ones (worker ids holding claims) where any is."""
        alive = [m for m in self.members if m.proc.poll() is None and m is not self.stopped]
        holding = [m for m in alive if self.worker_id(m) in busy]
        pool = holding or alive
        return rng.choice(pool) if pool else None

    def kill(self, m: Member) -> str:
        wid = self.worker_id(m)
        os.killpg(m.proc.pid, signal.SIGKILL)
        m.proc.wait(timeout=10)
        m.died_at = time.monotonic()
        return wid

    def restart_dead(self, *, after_s: float) -> None:
        """What a supervisor does: a dead worker is started again, in its group."""
        for i, m in enumerate(self.members):
            if m.proc.poll() is not None and time.monotonic() - (m.died_at or 0) >= after_s:
                self.members[i] = self._start(m.group, m.threads, m.name)

    def running(self) -> int:
        return sum(1 for m in self.members if m.proc.poll() is None)

    def stop_all(self) -> list[int | None]:
        for m in self.members:
            if m.proc.poll() is None:
                m.proc.send_signal(signal.SIGTERM)
        out: list[int | None] = []
        for m in self.members:
            try:
                out.append(m.proc.wait(timeout=60))
            except subprocess.TimeoutExpired:
                out.append(None)
        return out

    def groups_doc(self) -> str:
        by: dict[str, list[int]] = {}
        for g, threads, _ in self.plan:
            by.setdefault(g, []).append(threads)
        return ", ".join(f"group {g}: {len(t)} worker(s) x {t[0]} threads" for g, t in by.items())

    def describe(self) -> str:
        return f"{len(self.plan)} crossdock worker processes ({self.groups_doc()})"


def storms(rng: random.Random, duration_s: float, kinds: tuple[str, ...],
           platforms: list[str]) -> list[tuple[float, str, str]]:
    """(start, fault kind, platform) of each storm: from 10% to 85% of the run,
    every 20-25 s, the kinds in turn, on one platform each."""
    out = []
    at, i = 0.1 * duration_s, 0
    step = 20.0 if duration_s < 200 else 25.0
    while at <= 0.85 * duration_s:
        out.append((at, kinds[i % len(kinds)], rng.choice(platforms)))
        at += step
        i += 1
    return out


class Claims:
    """What a killed (or stopped) worker held at that moment — outbox entries
    running under its id, dirty SKU rows it had claimed — when none of it was
    held under the worker's id any more (handed back: another worker may take
    it), and when another worker had processed it: every entry done (its
    done_at), every dirty row pushed and gone (seen by polling, every
    0.25-0.5 s). An entry that is a long job (an import catching up through
    quota waits) is done long after it was handed back."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.watches: list[dict[str, Any]] = []

    def watch(self, why: str, worker_id: str) -> None:
        from sqlalchemy import or_, select

        from crossdock.db.models import OutboxEntry
        from crossdock.sync_engine.dirty import DIRTY

        at = dt.datetime.now(dt.timezone.utc)
        mine_entry = or_(OutboxEntry.claimed_by == worker_id, OutboxEntry.claimed_by.like(f"{worker_id}:%"))
        mine_dirty = or_(DIRTY.c.claimed_by == worker_id, DIRTY.c.claimed_by.like(f"{worker_id}:%"))
        with self.db.read() as s:
            held = s.execute(select(OutboxEntry.id, OutboxEntry.kind, OutboxEntry.channel)
                             .where(OutboxEntry.status == "running", mine_entry)).all()
            entries = {r.id for r in held}
            rows = set(s.scalars(select(DIRTY.c.id).where(mine_dirty)))
        self.watches.append({"why": why, "worker": worker_id, "at": at, "entries": entries, "dirty": rows,
                             "kinds": sorted(r.kind + (f"@{r.channel}" if r.channel else "") for r in held),
                             "held": len(entries) + len(rows), "recovered_s": None, "dirty_gone_s": None,
                             "handed_back_s": None, "entry_states": {}})

    def busy(self) -> set[str]:
        """Worker ids (host:pid) holding a running outbox entry or a dirty SKU now."""
        from sqlalchemy import select

        from crossdock.db.models import OutboxEntry
        from crossdock.sync_engine.dirty import DIRTY

        with self.db.read() as s:
            ids = set(s.scalars(select(OutboxEntry.claimed_by).where(OutboxEntry.status == "running")))
            ids |= set(s.scalars(select(DIRTY.c.claimed_by).where(DIRTY.c.claimed_by.is_not(None))))
        return {":".join(i.split(":")[:2]) for i in ids if i}

    def poll(self) -> None:
        from sqlalchemy import select

        from crossdock.db.models import OutboxEntry
        from crossdock.sync_engine.dirty import DIRTY

        now = dt.datetime.now(dt.timezone.utc)
        for w in self.watches:
            if w["recovered_s"] is not None or not w["held"]:
                continue
            with self.db.read() as s:
                states = list(s.execute(select(OutboxEntry.id, OutboxEntry.status, OutboxEntry.done_at,
                                               OutboxEntry.claimed_by)
                                        .where(OutboxEntry.id.in_(w["entries"] or {-1}))))
                left = set(s.scalars(select(DIRTY.c.id).where(DIRTY.c.id.in_(w["dirty"] or {-1}))))
                still = set(s.scalars(select(DIRTY.c.claimed_by).where(DIRTY.c.id.in_(w["dirty"] or {-1}))))
            w["entry_states"] = {r.id: r.status for r in states}
            theirs = [c for c in [*(r.claimed_by for r in states), *still]
                      if c and (c == w["worker"] or c.startswith(w["worker"] + ":"))]
            if w["handed_back_s"] is None and not theirs:
                w["handed_back_s"] = round((now - w["at"]).total_seconds(), 1)
            if w["dirty_gone_s"] is None and not left:
                w["dirty_gone_s"] = (now - w["at"]).total_seconds() if w["dirty"] else 0.0
            if w["dirty_gone_s"] is None or any(r.status != "done" or r.done_at is None for r in states):
                continue
            done = [(_aware(r.done_at) - w["at"]).total_seconds() for r in states]
            w["recovered_s"] = round(max([w["dirty_gone_s"], *done, 0.0]), 1)

    def doc(self, why: str) -> dict[str, Any]:
        ws = [w for w in self.watches if w["why"] == why]
        times = sorted(w["recovered_s"] for w in ws if w["held"] and w["recovered_s"] is not None)
        handed = sorted(w["handed_back_s"] for w in ws if w["held"] and w["handed_back_s"] is not None)
        stuck = [w for w in ws if w["held"] and w["recovered_s"] is None]
        return {"events": len(ws), "held_nothing": sum(1 for w in ws if not w["held"]), "recovered": len(times),
                "not_recovered": len(stuck),
                "p50_s": times[len(times) // 2] if times else None, "max_s": times[-1] if times else None,
                "handed_back_p50_s": handed[len(handed) // 2] if handed else None,
                "handed_back_max_s": handed[-1] if handed else None,
                "each": [{"worker": w["worker"], "held_entries": w["kinds"], "held_dirty_skus": len(w["dirty"]),
                          "recovered_s": w["recovered_s"], "dirty_gone_s": w["dirty_gone_s"],
                          "handed_back_s": w["handed_back_s"],
                          "entry_states_at_end": sorted(set(w["entry_states"].values()))} for w in ws]}

    def imported_ids(self) -> set[str]:
        from sqlalchemy import select

        from crossdock.db.models import Order

        with self.db.read() as s:
            return set(s.scalars(select(Order.platform_order_id)))

    def imported(self) -> int:
        return len(self.imported_ids())


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------- quarantine (SWITCH HERE)
def ask_quarantined(dep: Any) -> set[str] | None:
    """The platform order ids crossdock quarantined (``crossdock orders
    quarantine --json``: a list of rows), or None where it cannot say (the
    command failed; the report then says "n/a")."""
    done = dep.crossdock("orders", "quarantine", "--json", check=False)
    if done.returncode != 0:
        return None
    doc = json.loads(done.stdout)
    rows = doc if isinstance(doc, list) else doc.get("orders", doc.get("quarantined", []))
    return {str(r.get("platform_order_id") or r.get("order_id")) for r in rows}


# ---------------------------------------------------------------- the accounting
def account(dep: Any, ctx: Any, chaos: Any, progress: Callable[[str], None], quarantined: set[str] | None,
            extra: dict[str, Any]) -> dict[str, Any]:
    """The figures, from the sandbox's own record and the database. Drift is a
    reconcile (check only) after the workers stopped, before
    crossdock.demo.summarize repairs anything; the rest of summarize's figures
    (shipments, oversold, propagation) are kept under ``summary``."""
    from sqlalchemy import func, select

    from crossdock.db.models import Order, OutboxEntry
    from crossdock.demo import CHANNELS, summarize
    from crossdock.ratelimit.waits import PERSON_WAIT_S, inline_waits
    from crossdock.sandbox.scenario import confirmations_per_order
    from crossdock.sync_engine.jobs import reconcile

    sb = dep.sb
    progress("reconcile (check only) on every channel")
    with inline_waits(PERSON_WAIT_S):
        drift = {name: reconcile(ctx, name, apply=False)["drift"] for name in CHANNELS}
    with dep.db.read() as s:
        dup_rows = s.execute(select(Order.platform_order_id, func.count()).group_by(Order.platform_order_id)
                             .having(func.count() > 1)).all()
        imported = set(s.scalars(select(Order.platform_order_id)))
        outbox = {f"{st}{'/' + (code or '-') if st == 'failed' else ''}": n for st, code, n in s.execute(
            select(OutboxEntry.status, OutboxEntry.last_code, func.count())
            .group_by(OutboxEntry.status, OutboxEntry.last_code)).all()}
    with sb.market.lock:
        placed: dict[str, str] = {}
        for sale in sb.market.sales:
            placed.setdefault(sale["order_id"], sale["channel"])
    names = {ident: name for name, ident in dep.sb_channels.items()}
    confirms = confirmations_per_order(sb)
    quarantine = quarantined or set()
    lost = {oid: names.get(ch, ch) for oid, ch in placed.items() if oid not in imported and oid not in quarantine}
    by_channel: dict[str, int] = {}
    for ch in lost.values():
        by_channel[ch] = by_channel.get(ch, 0) + 1
    poison = chaos.did["poison_order"] or {}
    pid = poison.get("order_id")
    state = ("not placed" if pid is None else "imported" if pid in imported
             else "quarantined" if pid in quarantine else "not imported (counted lost)")
    summary = summarize(dep.db, dep.cfg, sb, ctx, progress, {})
    return {
        **extra,
        "orders_placed": len(placed),
        "orders_imported": len(imported),
        "orders_lost": len(lost),
        "orders_lost_by_channel": by_channel,
        "orders_lost_ids": sorted(lost)[:20],
        "orders_duplicated": sum(n - 1 for _, n in dup_rows),
        "oversold_units": summary["oversold_units"],
        "double_confirmations": sum(1 for oid in placed if confirms.get(oid, 0) > 1),
        "double_confirmed_ids": sorted(oid for oid in placed if confirms.get(oid, 0) > 1)[:20],
        "drift_skus": len({d["sku"] for r in drift.values() for d in r}),
        "drift_by_channel": {name: len(r) for name, r in drift.items()},
        "quarantined_orders": None if quarantined is None else len(quarantined),
        "poison": {**poison, "state": state},
        "recovery_after_sigkill": chaos.claims.doc("sigkill"),
        "recovery_after_sigstop": chaos.claims.doc("sigstop"),
        "outbox_at_end": outbox,
        "events": chaos.did,
        "summary": summary,
    }
