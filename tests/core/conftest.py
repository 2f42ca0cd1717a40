"""Fixtures of the core tests."""

from __future__ import annotations

import pytest

from tests.services import TempPostgresDatabase, require_postgres


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    """An empty database of each kind (the migrations alone build its schema):
    what the migration tests upgrade and downgrade step by step."""
    from crossdock.db.engine import Database

    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'migrated.sqlite'}")
        yield db
        db.dispose()
        return
    require_postgres()
    tmp = TempPostgresDatabase()
    db = Database(tmp.url)
    try:
        yield db
    finally:
        db.dispose()
        tmp.close()
