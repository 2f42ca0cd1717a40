"""Real services for tests: PostgreSQL, Redis, RabbitMQ.

A test that needs a service it cannot reach is skipped with the reason — except
in CI (``CI=true``), where it fails: CI must exercise the real services.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

PG_URL = os.environ.get("CROSSDOCK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CROSSDOCK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("CROSSDOCK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1.0):
            return True
    except OSError:
        return False


def require(name: str, url: str, default_port: int) -> None:
    if _reachable(url, default_port):
        return
    msg = f"{name} not reachable at {url} (start it, or set the CROSSDOCK_TEST_* URL)"
    if IN_CI:
        pytest.fail(f"CI=true: {msg}")
    pytest.skip(msg)


def require_postgres() -> None:
    require("PostgreSQL", PG_URL, 5432)


def require_redis() -> None:
    require("Redis", REDIS_URL, 6379)


def require_rabbitmq() -> None:
    require("RabbitMQ", AMQP_URL, 5672)


class TempPostgresDatabase:
    """CREATE DATABASE xd_test_<random> on the test server; dropped on close."""

    def __init__(self) -> None:
        import psycopg

        self.name = f"xd_test_{uuid.uuid4().hex[:12]}"
        parts = urlsplit(PG_URL)
        self._admin = PG_URL
        with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = parts._replace(path="/" + self.name).geturl()

    def close(self) -> None:
        import psycopg

        with psycopg.connect(self._admin.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
