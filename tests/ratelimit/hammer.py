"""A worker process that hammers one bucket (multi-process sharing test; the
sandbox benchmark can reuse it)."""

from __future__ import annotations

from typing import Any


def hammer(spec: dict[str, Any], start: Any, results: Any) -> None:
    """Open the store named in ``spec`` as a separate process would, wait for
    ``start``, then try ``attempts`` times; report how many were granted."""
    from sqlalchemy import create_engine

    from crossdock.ratelimit import Priority, QuotaBudget, UsagePlan, backend_from_url

    engine = create_engine(spec["db_url"]) if spec.get("db_url") else None
    backend = backend_from_url(spec["url"], engine=engine, key_prefix=spec.get("key_prefix"))
    budget = QuotaBudget(backend, plans={("test", "op"): UsagePlan(spec["rate_per_s"],
                                                                   spec["burst"])})
    try:
        start.wait(30)
        granted = sum(budget.try_acquire("test", spec["account"], "op",
                                         priority=Priority.CRITICAL) == 0
                      for _ in range(spec["attempts"]))
        results.put(granted)
    finally:
        backend.close()
        if engine is not None:
            engine.dispose()


def hammer_stamps(spec: dict[str, Any], start: Any, results: Any) -> None:
    """Like :func:`hammer`, but ask the store directly for ``seconds`` and report
    the store's own clock stamp of every grant (to check the grants against the
    bucket while it refills)."""
    import time

    from sqlalchemy import create_engine

    from crossdock.ratelimit import backend_from_url
    from crossdock.ratelimit.backends.base import AcquireRequest, BucketParams, BucketRef

    engine = create_engine(spec["db_url"]) if spec.get("db_url") else None
    backend = backend_from_url(spec["url"], engine=engine, key_prefix=spec.get("key_prefix"))
    request = AcquireRequest(BucketRef("test", spec["account"], "op"),
                             BucketParams(spec["rate_per_s"], spec["burst"],
                                          arrival_jitter_s=spec["arrival_jitter_s"]))
    stamps: list[float] = []
    try:
        start.wait(30)
        deadline = time.monotonic() + spec["seconds"]
        while time.monotonic() < deadline:
            result = backend.acquire(request)
            if result.granted:
                stamps.append(result.now_s)
        results.put(stamps)
    finally:
        backend.close()
        if engine is not None:
            engine.dispose()
