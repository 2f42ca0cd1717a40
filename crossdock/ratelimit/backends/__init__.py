"""Quota stores behind one interface, chosen by ``CROSSDOCK_RATELIMIT_URL``:

* ``memory://`` — in-process (unit tests, one-shot tools)
* ``sql://`` — crossdock's own database (SQLite or PostgreSQL), the default
* ``redis://host:port/db`` (or ``rediss://``) — shared Redis for scale-out;
  ``?key_prefix=...`` changes the key prefix
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from crossdock.errors import ConfigError
from crossdock.ratelimit.backends.base import QuotaBackend

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["QuotaBackend", "backend_from_url"]


def backend_from_url(url: str, *, engine: Engine | None = None,
                     key_prefix: str | None = None) -> QuotaBackend:
    """Build the quota store named by ``url``. ``engine`` is crossdock's
    database engine, needed by ``sql://``. Unknown scheme: ConfigError XD-CFG-008."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        from crossdock.ratelimit.backends.memory import MemoryBackend

        return MemoryBackend()
    if scheme == "sql":
        if engine is None:
            raise ConfigError("XD-CFG-004", detail="CROSSDOCK_RATELIMIT_URL=sql:// needs "
                                                   "crossdock's database engine")
        from crossdock.ratelimit.backends.sql import SqlBackend

        return SqlBackend(engine)
    if scheme in ("redis", "rediss", "unix"):
        from crossdock.ratelimit.backends.redis import RedisBackend

        return RedisBackend.from_url(url, prefix=key_prefix)
    what = f"scheme {scheme!r}" if scheme else "a URL without a scheme"  # never echo credentials
    raise ConfigError("XD-CFG-008", detail=f"CROSSDOCK_RATELIMIT_URL has {what}; "
                                           f"use memory://, sql:// or redis://host:port/db")
