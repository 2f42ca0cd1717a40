"""One budget shared by many workers: processes and threads hammering one
bucket get exactly its burst between them, never more, and while it refills
never more than burst + rate x elapsed on the store's own clock."""

from __future__ import annotations

import multiprocessing
import threading
import uuid

from crossdock.ratelimit import Priority, QuotaBudget, UsagePlan
from crossdock.ratelimit.backends.memory import MemoryBackend
from tests.ratelimit.hammer import hammer, hammer_stamps

BURST = 25
ATTEMPTS_EACH = 20  # 4 x 20 = 80 attempts on a bucket of 25
SLOW = 0.0001  # refill during the test is negligible


def test_four_processes_share_one_bucket_exactly(shared_store):
    # Given one bucket of 25 tokens in a shared store
    spec = {"url": shared_store.url, "db_url": shared_store.db_url,
            "key_prefix": shared_store.key_prefix, "account": f"acct-{uuid.uuid4().hex[:8]}",
            "rate_per_s": SLOW, "burst": BURST, "attempts": ATTEMPTS_EACH}
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=hammer, args=(spec, start, results)) for _ in range(4)]
    for w in workers:
        w.start()
    # When four processes hammer it at once
    start.set()
    granted = [results.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    # Then exactly the burst was granted, spread over the workers
    assert sum(granted) == BURST
    budget = shared_store.budget(plans={("test", "op"): UsagePlan(SLOW, BURST)})
    [entry] = [e for e in budget.snapshot() if e["account"] == spec["account"]]
    assert entry["calls_last_hour"] == BURST


def conforms(stamps: list[float], *, rate_per_s: float, burst: float) -> tuple[bool, str]:
    """Whether grants at ``stamps`` fit a token bucket that starts full: every
    run of grants i..j needs (j - i + 1) <= burst + rate x (t_j - t_i)."""
    stamps = sorted(stamps)
    for i, first in enumerate(stamps):
        for j in range(i, len(stamps)):
            allowed = burst + rate_per_s * (stamps[j] - first) + 1e-6
            if j - i + 1 > allowed:
                return False, f"{j - i + 1} grants in {stamps[j] - first:.4f} s, bucket allows {allowed:.3f}"
    return True, ""


def test_four_processes_never_outrun_a_refilling_bucket(shared_store):
    # Given a bucket of 10 refilling at 40/s, 50 ms of arrival jitter kept back (2 tokens)
    rate, burst, jitter_s = 40.0, 10.0, 0.05
    spec = {"url": shared_store.url, "db_url": shared_store.db_url,
            "key_prefix": shared_store.key_prefix, "account": f"acct-{uuid.uuid4().hex[:8]}",
            "rate_per_s": rate, "burst": burst, "arrival_jitter_s": jitter_s, "seconds": 0.8}
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=hammer_stamps, args=(spec, start, results)) for _ in range(4)]
    for w in workers:
        w.start()
    # When four processes ask as fast as they can while it refills
    start.set()
    stamps = [t for _ in workers for t in results.get(timeout=60)]
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    # Then the grants, stamped on the store's clock, never outrun the bucket
    # less its jitter margin: at most (burst - rate x jitter) + rate x elapsed
    assert len(stamps) > burst
    ok, why = conforms(stamps, rate_per_s=rate, burst=burst - rate * jitter_s)
    assert ok, why
    # and every grant was counted once
    budget = shared_store.budget(plans={("test", "op"): UsagePlan(rate, burst)})
    [entry] = [e for e in budget.snapshot() if e["account"] == spec["account"]]
    assert entry["calls_last_hour"] == len(stamps)


def test_conformance_check_catches_one_grant_too_many():
    assert conforms([0.0, 0.0, 0.1], rate_per_s=10, burst=2)[0]
    assert not conforms([0.0, 0.0, 0.05], rate_per_s=10, burst=2)[0]


def test_threads_share_the_memory_bucket_exactly():
    budget = QuotaBudget(MemoryBackend(), plans={("test", "op"): UsagePlan(SLOW, BURST)})
    granted: list[int] = []
    barrier = threading.Barrier(8)

    def run() -> None:
        barrier.wait()
        granted.append(sum(budget.try_acquire("test", "a", "op", priority=Priority.CRITICAL) == 0
                           for _ in range(ATTEMPTS_EACH)))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(granted) == BURST
