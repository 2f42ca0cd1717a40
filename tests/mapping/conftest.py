from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

PG_URL = os.environ.get("CROSSDOCK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL needed in CI: {reason}")
    pytest.skip(f"PostgreSQL unreachable ({reason}); set CROSSDOCK_TEST_PG_URL")


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """An engine on a fresh database ``xd_map_<random>``, dropped afterwards."""
    url = make_url(PG_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT",
                             connect_args={"connect_timeout": 3})
    name = f"xd_map_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _unavailable(str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc))
    engine = sa.create_engine(url.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
