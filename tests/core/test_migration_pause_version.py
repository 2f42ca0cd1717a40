"""Migration 0005_restore: ``channels.paused_credential_version``, up and down,
with the rows that reference ``channels`` (credentials, listings) kept, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from crossdock.db.engine import Database
from crossdock.db.migrate import alembic_config, current_revision, upgrade


def _columns(db: Database) -> set[str]:
    with db.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns("channels")}


def _count(db: Database, table: str) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_pause_version_column_up_and_down_keeps_the_channels_rows(database):
    # Given a database at 0004 with a paused channel and its credentials
    upgrade(database, "0004")
    with database.begin() as conn:
        conn.execute(sa.text("INSERT INTO channels (name, platform, account, currency, paused_code, created_at, "
                             "updated_at) VALUES ('amazon-de', 'amazon', 'A1', 'EUR', 'XD-AUTH-002', "
                             "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO credentials (channel, version, updated_at) "
                             "VALUES ('amazon-de', 3, CURRENT_TIMESTAMP)"))
    # When it is upgraded: the column is there, empty (an old pause waits for a person, as before)
    upgrade(database, "0005_restore")
    assert current_revision(database) == "0005_restore"
    assert "paused_credential_version" in _columns(database)
    with database.connect() as conn:
        assert conn.execute(sa.text("SELECT paused_code, paused_credential_version FROM channels")).one() == (
            "XD-AUTH-002", None)
    # And when it is downgraded again, the column goes and the rows stay
    cfg = alembic_config(database)
    with database.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert "paused_credential_version" not in _columns(database)
    assert (_count(database, "channels"), _count(database, "credentials")) == (1, 1)
