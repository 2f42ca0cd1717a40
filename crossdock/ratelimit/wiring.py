"""The quota budget as configured: backend from ``ratelimit_url`` (``sql://``
shares crossdock's database), plan overrides and the time scale from config;
and what ``crossdock quota`` shows of it (:func:`quota_doc`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from crossdock.errors import ConfigError, lookup
from crossdock.ratelimit.backends import backend_from_url
from crossdock.ratelimit.budget import DEFAULT_ARRIVAL_JITTER_S, DEFAULT_RATE_HEADROOM, QuotaBudget

if TYPE_CHECKING:
    from crossdock.db.engine import Database

__all__ = ["QuotaSettings", "budget_from_config", "budget_from_env", "quota_doc", "uses_database"]

DEFAULT_RATELIMIT_URL = "sql://"
DEFAULT_DATABASE_URL = "sqlite:///crossdock.sqlite"


class QuotaSettings(Protocol):
    """What the budget reads of the configuration (:class:`crossdock.config.Config`)."""

    @property
    def ratelimit_url(self) -> str: ...

    @property
    def database_url(self) -> str: ...

    @property
    def time_scale(self) -> float: ...

    @property
    def ratelimit_plans(self) -> Mapping[str, Mapping[str, float]]: ...


def budget_from_config(cfg: QuotaSettings, db: Database | None = None, *, time_scale: float | None = None,
                       key_prefix: str | None = None) -> QuotaBudget:
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


def uses_database(cfg: QuotaSettings) -> bool:
    """The budget lives in crossdock's database (``sql://``)."""
    return urlsplit(cfg.ratelimit_url).scheme.lower() == "sql"


def quota_doc(cfg: QuotaSettings, db: Database | None = None, *, platform: str | None = None,
              account: str | None = None) -> dict[str, Any]:
    """``crossdock quota``: per account and operation the bucket (rate, burst,
    available now, calls and 429s in the last hour, next token at) and the
    long windows, optionally of one ``platform`` / ``account`` (an entry for
    every account, ``*``, stays in); ``problems``: the XD-QUOTA codes seen,
    with their remedies."""
    budget = budget_from_config(cfg, db)
    try:
        entries = budget.snapshot()
    finally:
        budget.close()
    entries = [e for e in entries
               if (platform is None or e["platform"] == platform)
               and (account is None or e["account"] in (account, "*"))]
    problems = [{"code": code, "title": lookup(code).title, "remedy": lookup(code).remedy}
                for code in sorted({e["code"] for e in entries if e["code"]})]
    return {"quota": entries, "problems": problems}


def budget_from_env(environ: Mapping[str, str] | None = None) -> QuotaBudget:
    """Budget from CROSSDOCK_RATELIMIT_URL (default ``sql://`` on
    CROSSDOCK_DATABASE_URL, default ``sqlite:///crossdock.sqlite``) and
    CROSSDOCK_TIME_SCALE (default 1), for tools and tests that run without a
    configuration file."""
    env = os.environ if environ is None else environ
    url = env.get("CROSSDOCK_RATELIMIT_URL") or DEFAULT_RATELIMIT_URL
    engine = None
    if urlsplit(url).scheme.lower() == "sql":
        from crossdock.db.engine import make_engine

        engine = make_engine(env.get("CROSSDOCK_DATABASE_URL") or DEFAULT_DATABASE_URL)
    raw_scale = env.get("CROSSDOCK_TIME_SCALE") or "1"
    try:
        time_scale = float(raw_scale)
    except ValueError:
        raise ConfigError("XD-CFG-003", detail=f"CROSSDOCK_TIME_SCALE={raw_scale!r} is not a "
                                               f"number") from None
    return QuotaBudget(backend_from_url(url, engine=engine), time_scale=time_scale)
