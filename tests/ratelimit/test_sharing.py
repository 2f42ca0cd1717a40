"""One budget shared by many workers: processes and threads hammering one
bucket get exactly its burst between them, never more."""

from __future__ import annotations

import multiprocessing
import threading
import uuid

from crossdock.ratelimit import Priority, QuotaBudget, UsagePlan
from crossdock.ratelimit.backends.memory import MemoryBackend
from tests.ratelimit.hammer import hammer

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
