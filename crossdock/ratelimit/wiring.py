"""The quota budget as configured: backend from ``ratelimit_url`` (``sql://``
shares crossdock's database), plan overrides and the time scale from config."""

from __future__ import annotations

from urllib.parse import urlsplit

from crossdock.ratelimit.backends import backend_from_url
from crossdock.ratelimit.budget import DEFAULT_ARRIVAL_JITTER_S, DEFAULT_RATE_HEADROOM, QuotaBudget


def budget_from_config(cfg, db=None, *, time_scale: float | None = None, key_prefix: str | None = None) -> QuotaBudget:
    engine = None
    if urlsplit(cfg.ratelimit_url).scheme.lower() == "sql":
        if db is None:
            from crossdock.db.engine import Database

            db = Database(cfg.database_url)
        engine = db.engine
    backend = backend_from_url(cfg.ratelimit_url, engine=engine, key_prefix=key_prefix)
    return QuotaBudget(backend, time_scale=time_scale if time_scale is not None else cfg.time_scale,
                       overrides={"plans": dict(cfg.ratelimit_plans)}, rate_headroom=DEFAULT_RATE_HEADROOM,
                       arrival_jitter_s=DEFAULT_ARRIVAL_JITTER_S)
