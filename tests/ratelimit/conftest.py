"""Backends for the quota tests: the same suite runs on memory, SQLite,
PostgreSQL (a temporary database of our own) and Redis (a unique key prefix).
Unreachable services skip with the reason, or fail when CI=true."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import create_engine, delete

from crossdock.ratelimit import QuotaBudget
from crossdock.ratelimit.backends import QuotaBackend
from tests.services import REDIS_URL, TempPostgresDatabase, require_postgres, require_redis

BACKENDS = ["memory", "sqlite", "postgres", "redis"]
SHARED_BACKENDS = ["sqlite", "postgres", "redis"]


def pg_sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class BackendHandle:
    """A backend plus what another process needs to open the same store."""

    kind: str
    backend: QuotaBackend
    url: str  # CROSSDOCK_RATELIMIT_URL
    db_url: str | None = None
    key_prefix: str | None = None
    engine: Any = None
    budgets: list[QuotaBudget] = field(default_factory=list)

    def budget(self, **kwargs: Any) -> QuotaBudget:
        budget = QuotaBudget(self.backend, **kwargs)
        self.budgets.append(budget)
        return budget


@pytest.fixture(scope="session")
def pg_ratelimit_url():
    require_postgres()
    tmp = TempPostgresDatabase()
    url = pg_sqlalchemy_url(tmp.url)
    from crossdock.ratelimit.backends.sql_tables import create_tables

    engine = create_engine(url)
    create_tables(engine)
    engine.dispose()
    yield url
    tmp.close()


def _open(kind: str, request, tmp_path) -> BackendHandle:
    from crossdock.ratelimit.backends import backend_from_url

    if kind == "memory":
        return BackendHandle(kind, backend_from_url("memory://"), "memory://")
    if kind == "sqlite":
        from crossdock.ratelimit.backends.sql_tables import create_tables

        db_url = f"sqlite:///{tmp_path / 'quota.sqlite'}"
        engine = create_engine(db_url)
        create_tables(engine)
        return BackendHandle(kind, backend_from_url("sql://", engine=engine), "sql://", db_url,
                             engine=engine)
    if kind == "postgres":
        from crossdock.ratelimit.backends.sql_tables import TABLES

        db_url = request.getfixturevalue("pg_ratelimit_url")
        engine = create_engine(db_url)
        with engine.begin() as conn:  # every test starts from empty tables
            for table in TABLES:
                conn.execute(delete(table))
        return BackendHandle(kind, backend_from_url("sql://", engine=engine), "sql://", db_url,
                             engine=engine)
    if kind == "redis":
        require_redis()
        prefix = f"xdtest:rl:{uuid.uuid4().hex}:"
        return BackendHandle(kind, backend_from_url(REDIS_URL, key_prefix=prefix), REDIS_URL,
                             key_prefix=prefix)
    raise AssertionError(kind)


def _close(handle: BackendHandle) -> None:
    if handle.kind == "redis":
        handle.backend.delete_all()  # type: ignore[attr-defined]
    handle.backend.close()
    if handle.engine is not None:
        handle.engine.dispose()


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    handle = _open(request.param, request, tmp_path)
    yield handle
    _close(handle)


@pytest.fixture(params=SHARED_BACKENDS)
def shared_store(request, tmp_path):
    handle = _open(request.param, request, tmp_path)
    yield handle
    _close(handle)


class FakeClock:
    """Injectable clock for exact arithmetic on the memory backend."""

    def __init__(self, start_s: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00Z
        self.now_s = start_s

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
