"""A restored database is settled before any sync: a channel whose rotating
refresh token was used up after the backup is paused with XD-AUTH-010 (and
says which command re-authorises it), and the import cursors move back by
the backup's age; the go-live mark stays."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sqlalchemy import select

from crossdock.backups.restore import restore_backup
from crossdock.backups.take import take_backup
from crossdock.backups.tables import RESTORES
from crossdock.db.engine import Database
from crossdock.db.models import Channel, SyncCursor
from crossdock.sync_engine.after_restore import settle_restores
from crossdock.sync_engine.auth_refresh import refresh_channel_token
from crossdock.sync_engine.cursors import GO_LIVE, advance_cursor
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.pauses import paused
from tests.sync_engine.catalog_env import CHANNELS, catalog_env


def _cursors(db: Database) -> dict[tuple[str, str], dt.datetime]:
    with db.read() as s:
        return {(r.channel, r.stream): r.position for r in s.scalars(select(SyncCursor))}


def _restored(env, tmp_path: Path, *, rotate_after_backup: bool):
    # Given the shop's cursors and a fresh Shopify token, and a backup of that
    now = env.ctx.clock.now()
    with env.db.write() as s:
        for name in CHANNELS:
            advance_cursor(s, name, "orders", now)
            advance_cursor(s, name, GO_LIVE, now - dt.timedelta(days=3))
    refresh_channel_token(env.cfg, env.db, "shopify-eu")
    backup = take_backup(env.db, to=f"{tmp_path}/bk/")
    if rotate_after_backup:
        # and Shopify's refresh token rotated twice since (the backup's one is retired)
        refresh_channel_token(env.cfg, env.db, "shopify-eu")
        refresh_channel_token(env.cfg, env.db, "shopify-eu")
    time.sleep(0.5)                                   # the backup ages: 30 sandbox seconds at time scale 60
    # When the backup is restored into a new database and a worker settles it
    target = f"sqlite:///{tmp_path / 'restored.sqlite'}"
    restore_backup(backup["path"], target)
    db = Database(target)
    ctx = context_from_config(env.cfg, db)
    return db, ctx, backup


def test_a_rotated_token_pauses_its_channel_with_the_restore_code_and_cursors_move_back(sqlite_db, tmp_path,
                                                                                         monkeypatch):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        db, ctx, backup = _restored(env, tmp_path, rotate_after_backup=True)
        try:
            before = _cursors(db)
            started = dt.datetime.now(dt.timezone.utc)
            [outcome] = settle_restores(ctx, "test-host:1")
            # Then the Shopify channel is paused with XD-AUTH-010, naming the command that re-authorises it
            assert outcome["credentials"] == {"shopify-eu": "paused"}
            assert paused(db, "shopify-eu") == "XD-AUTH-010"
            with db.read() as s:
                reason = s.scalar(select(Channel.paused_reason).where(Channel.name == "shopify-eu"))
            assert "restored from a backup" in reason and "crossdock auth set shopify-eu" in reason
            # and the channels whose tokens do not rotate were not touched
            assert all(paused(db, n) is None for n in CHANNELS if n != "shopify-eu")
            # and every order cursor moved back by the backup's age in sandbox time (60× real), go-live did not
            after = _cursors(db)
            taken = dt.datetime.fromisoformat(backup["at"])
            age_min = (started - taken).total_seconds() * 60
            for name in CHANNELS:
                moved = (before[(name, "orders")] - after[(name, "orders")]).total_seconds()
                assert age_min - 1 <= moved <= age_min + 120, (name, moved, age_min)
                assert after[(name, GO_LIVE)] == before[(name, GO_LIVE)]
            # and the restore is settled once: a second worker finds nothing to do
            assert settle_restores(ctx, "other-host:2") == []
            with db.read() as s:
                row = s.execute(select(RESTORES)).one()
            assert row.settled_by == "test-host:1" and row.outcome["cursors_rewound"] == len(CHANNELS)
        finally:
            ctx.connectors.close()
            db.dispose()


def test_a_token_that_still_works_leaves_the_channel_running(sqlite_db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        db, ctx, _ = _restored(env, tmp_path, rotate_after_backup=False)
        try:
            [outcome] = settle_restores(ctx, "test-host:1")
            assert outcome["credentials"] == {"shopify-eu": "ok"}
            assert all(paused(db, n) is None for n in CHANNELS)
        finally:
            ctx.connectors.close()
            db.dispose()
