"""Schema migrations (Alembic), run from Python: ``crossdock db upgrade|current``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from crossdock.db.engine import Database, masked_url
from crossdock.errors import DataError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def head_revision(db: Database) -> str | None:
    """The newest migration this crossdock ships (the same for every database)."""
    return _shipped_head()


@functools.cache
def _shipped_head() -> str | None:
    # read once per process: the scripts ship with the package and do not change while it runs, and
    # parsing them all took ~30 ms on every doctor round (the worker's alerts job runs one a minute)
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade to ``revision``; returns (before, after)."""
    before = current_revision(db)
    cfg = alembic_config(db)
    _migrate(db, cfg, command.upgrade, revision)
    after = current_revision(db)
    log.info("database upgraded %s -> %s", before, after)
    return before, after


def downgrade(db: Database, revision: str) -> tuple[str | None, str | None]:
    """Downgrade to ``revision`` (tests, and a person undoing an upgrade by
    hand); returns (before, after)."""
    before = current_revision(db)
    _migrate(db, alembic_config(db), command.downgrade, revision)
    after = current_revision(db)
    log.info("database downgraded %s -> %s", before, after)
    return before, after


def _migrate(db: Database, cfg: Config, step: Callable[[Config, str], None], revision: str) -> None:
    if db.is_sqlite:
        _migrate_sqlite(db, cfg, step, revision)
        return
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        step(cfg, revision)


def _migrate_sqlite(db: Database, cfg: Config, step: Callable[[Config, str], None], revision: str) -> None:
    """SQLite changes a column's type by rebuilding its table (Alembic's batch
    mode), and a table other tables refer to (``products``) cannot be dropped
    while foreign keys are enforced. SQLite's own procedure: foreign keys off
    (outside the transaction: the pragma is ignored inside one), migrate in one
    transaction, check every reference still holds (``PRAGMA
    foreign_key_check``) before committing, foreign keys on again."""
    with db.connect() as conn:
        raw = conn.connection.driver_connection
        if raw is None:                   # never: a pooled connection always has its driver connection
            raise RuntimeError("no SQLite connection")
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg, revision)
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise DataError("XD-DATA-006", detail=f"the migration left {len(broken)} broken reference(s), "
                                                          f"e.g. {tuple(broken[0])}; nothing was changed")
        finally:
            raw.execute("PRAGMA foreign_keys = ON")


def ensure_current(db: Database, *, auto_create: bool = True) -> None:
    """Fail with XD-DATA-002 when the schema is behind. An empty database is
    created when ``auto_create`` (the embedded default: no setup step)."""
    current = current_revision(db)
    head = head_revision(db)
    if current == head:
        return
    if current is None and auto_create:
        upgrade(db)
        return
    raise DataError("XD-DATA-002", detail=f"database is at {current or 'no revision'}, this crossdock needs {head}")


def upgrade_report(url: str, revision: str = "head") -> dict[str, str | None]:
    """``crossdock db upgrade``: create or migrate the database at ``url``;
    the revisions before and after."""
    db = Database(url)
    try:
        before, after = upgrade(db, revision)
    finally:
        db.dispose()
    return {"database": masked_url(url), "from": before, "to": after}


def revision_report(url: str) -> dict[str, str | bool | None]:
    """``crossdock db current``: the schema revision of the database at
    ``url``, this crossdock's, and whether they agree."""
    db = Database(url)
    try:
        current, head = current_revision(db), head_revision(db)
    finally:
        db.dispose()
    return {"database": masked_url(url), "current": current, "head": head, "up_to_date": current == head}
