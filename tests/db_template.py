"""A migrated, empty database for a test without running the migrations again.

Alembic's upgrade of a fresh SQLite file takes about 0.3 s (1 s cold), and
hundreds of tests start from one; a copy of a file migrated once per test
process takes milliseconds and is the same database. The migrations
themselves are tested where they are the point (tests/core/test_migration_*,
``crossdock db upgrade`` in the deployment tests), never through this."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

_lock = threading.Lock()
_template: Path | None = None


def _migrated_template() -> Path:
    global _template
    with _lock:
        if _template is None:
            from crossdock.db.engine import Database
            from crossdock.db.migrate import upgrade

            folder = Path(tempfile.mkdtemp(prefix="crossdock-test-template-"))
            atexit.register(shutil.rmtree, folder, True)
            db = Database(f"sqlite:///{folder / 'template.sqlite'}")
            try:
                upgrade(db)
            finally:
                db.dispose()       # checkpointed: the one file is the whole database
            _template = folder / "template.sqlite"
        return _template


def migrate(db) -> None:
    """Bring ``db`` (a :class:`crossdock.db.engine.Database` no connection
    has opened yet) to the head revision: a SQLite file still empty (as
    ``Database`` creates it, mode 0600) gets the template's content, any other
    database is upgraded."""
    from crossdock.db.engine import sqlite_path

    path = sqlite_path(db.url) if db.is_sqlite else None
    if path is not None and path.is_file() and path.stat().st_size == 0 \
            and not Path(f"{path}-wal").exists():
        shutil.copyfile(_migrated_template(), path)      # into the file: its mode stays
        return
    from crossdock.db.migrate import upgrade

    upgrade(db)
