"""Shared fixtures. ``db`` runs a test on SQLite and on PostgreSQL."""

from __future__ import annotations

import os

import pytest

from tests.services import TempPostgresDatabase, require_postgres


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch):
    """Stored tokens are encrypted; tests get a throwaway key."""
    if not os.environ.get("CROSSDOCK_SECRET_KEY"):
        from cryptography.fernet import Fernet

        monkeypatch.setenv("CROSSDOCK_SECRET_KEY", Fernet.generate_key().decode())


@pytest.fixture(autouse=True)
def _coalescing_window():
    """An engine context sets the process's stock coalescing window from its
    config (scaled to a sandbox's time); the next test starts from the default."""
    yield
    from crossdock.sync_engine import dirty

    dirty.set_window_s(dirty.DEFAULT_WINDOW_S)


@pytest.fixture(scope="session")
def pg_database():
    require_postgres()
    tmp = TempPostgresDatabase()
    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade

    db = Database(tmp.url)
    upgrade(db)
    db.dispose()
    yield tmp
    tmp.close()


def _truncate_all(db) -> None:
    from sqlalchemy import text

    from crossdock.db.schema import metadata

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    """A migrated, empty crossdock database on each backend."""
    from crossdock.db.engine import Database
    from tests.db_template import migrate

    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'crossdock.sqlite'}")
        migrate(database)
        yield database
        database.dispose()
    else:
        tmp = request.getfixturevalue("pg_database")
        database = Database(tmp.url)
        _truncate_all(database)
        yield database
        database.dispose()


@pytest.fixture
def sqlite_db(tmp_path):
    from crossdock.db.engine import Database
    from tests.db_template import migrate

    database = Database(f"sqlite:///{tmp_path / 'crossdock.sqlite'}")
    migrate(database)
    yield database
    database.dispose()


@pytest.fixture
def no_transient_retries():
    """Calls made in the test are not retried within the call (``http.send``
    gives up on the first 5xx / reset / timeout): for tests of what a job or
    an import window does with such a failure."""
    from crossdock.connectors.http import TransientRetry, transient_retries

    with transient_retries(TransientRetry(attempts=1)):
        yield


@pytest.fixture
def quota_waits_slept():
    """Jobs the test runs in its own thread sleep through short quota waits,
    as a person's command does (``inline_waits``), instead of handing the
    work back with a QuotaWait as a worker does: for tests of what a job
    does, not of how it waits (tests/connectors/test_http_send.py and
    tests/sync_engine/test_quota_wait_actor.py cover that)."""
    from crossdock.ratelimit.waits import PERSON_WAIT_S, inline_waits

    with inline_waits(PERSON_WAIT_S):
        yield


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``-n``), the slow tests — each runs workers and a
    sandbox of its own, in subprocesses — run one after another on one xdist
    worker (``--dist loadgroup``), while the other workers take the many quick tests."""
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(pytest.mark.xdist_group("slow"))
