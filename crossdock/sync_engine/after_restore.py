"""After ``crossdock db restore``: what a restored database cannot know, settled
before any sync.

The restore leaves a ``restores`` row (the backup's time). The first worker to
start claims it (compare-and-set on the row; a claim expires so a worker that
dies half-way is replaced) and, before its threads take any job:

1. **credentials that rotate** (a platform whose refresh token changes on every
   use: ``CredentialLifetimes.authorisation_dated`` is False, Shopify): the
   token in the backup may have been used up since. Each such channel is
   asked for a new access token with it; a refusal pauses the channel with
   XD-AUTH-010 (restored from a backup; ``crossdock auth set CHANNEL
   --refresh-token-env VAR`` re-authorises it) instead of failing job after
   job. Other failures (network) are left to the jobs.
2. **import cursors** move back by the backup's age (in platform time): orders
   bought or changed since the backup are read again; the order import
   deduplicates them, so none is lost and none doubled. The go-live mark never
   moves.

Other workers starting meanwhile wait until the row is settled. The outcome
is stored on the row and in the sync log (``db.restore_settled``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

from sqlalchemy import select, update

from crossdock import synclog
from crossdock.backups.tables import RESTORES
from crossdock.db.models import SyncCursor
from crossdock.errors import AuthError, CrossdockError
from crossdock.platforms.registry import find as find_platform
from crossdock.sync_engine._sql import changed
from crossdock.sync_engine.cursors import GO_LIVE

log = logging.getLogger(__name__)

__all__ = ["CLAIM_S", "RESTORED_CODE", "pending_restores", "settle_restores"]

RESTORED_CODE = "XD-AUTH-010"
CLAIM_S = 120.0
CUR = SyncCursor.__table__


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def pending_restores(db: Any) -> list[Any]:
    with db.read() as s:
        return list(s.execute(select(RESTORES).where(RESTORES.c.settled_at.is_(None)).order_by(RESTORES.c.id)))


def _claim(db: Any, restore_id: int, worker_id: str) -> bool:
    at = _now()
    with db.write() as s:
        return changed(s, update(RESTORES).where(
            RESTORES.c.id == restore_id, RESTORES.c.settled_at.is_(None),
            (RESTORES.c.claimed_until.is_(None)) | (RESTORES.c.claimed_until < at) | (RESTORES.c.settled_by ==
                                                                                       worker_id))
            .values(settled_by=worker_id, claimed_until=at + dt.timedelta(seconds=CLAIM_S))) == 1


def _rotating(platform: str) -> bool:
    spec = find_platform(platform)
    return spec is not None and not spec.credentials.authorisation_dated


def _check_credentials(ctx: Any, taken_at: dt.datetime) -> dict[str, str]:
    """channel → what happened: ``ok`` (refreshed), ``paused`` or ``error CODE``."""
    from crossdock.sync_engine.pauses import credential_version, pause_channel

    out: dict[str, str] = {}
    for name in sorted(ctx.cfg.channels):
        ch = ctx.cfg.channels[name]
        if not _rotating(ch.platform):
            continue
        with ctx.db.read() as s:
            seen = credential_version(s, name)
        conn = ctx.connectors.get(name)
        try:
            current = ctx.connectors.store.load(name).access_token
            conn.refresh_access_token(rejected=current)
            out[name] = "ok"
        except AuthError as exc:
            paused = AuthError(RESTORED_CODE, channel=name, detail=(
                f"the database was restored from a backup taken {taken_at.isoformat(timespec='seconds')}; the "
                f"refresh token it holds was refused ({exc.code}: {exc.detail[:200]}). Re-authorise with "
                f"`crossdock auth set {name} --refresh-token-env VAR`"))
            pause_channel(ctx.db, name, paused, seen_version=seen)
            log.error("%s: %s", name, paused.message)
            out[name] = "paused"
        except CrossdockError as exc:
            log.warning("%s: credentials not checked after the restore (%s); its jobs will tell", name, exc.code)
            out[name] = f"error {exc.code}"
    return out


def _rewind_cursors(ctx: Any, by: dt.timedelta) -> int:
    """Every import cursor (not the go-live mark) moved back by ``by``: the one
    place a cursor moves back, on purpose (see module doc)."""
    with ctx.db.write() as s:
        rows = s.execute(select(CUR.c.channel, CUR.c.stream, CUR.c.position).where(CUR.c.stream != GO_LIVE)).all()
        for r in rows:
            s.execute(update(CUR).where(CUR.c.channel == r.channel, CUR.c.stream == r.stream)
                      .values(position=r.position - by, updated_at=_now()))
    return len(rows)


def _settle(ctx: Any, row: Any, worker_id: str) -> dict[str, Any]:
    real_age_s = max(0.0, (_now() - row.backup_taken_at).total_seconds())
    platform_age = dt.timedelta(seconds=real_age_s / ctx.clock.to_real_s(1.0))
    credentials = _check_credentials(ctx, row.backup_taken_at)
    cursors = _rewind_cursors(ctx, platform_age)
    outcome = {"credentials": credentials, "cursors_rewound": cursors,
               "rewound_by_s": round(platform_age.total_seconds(), 1)}
    with ctx.db.write() as s:
        s.execute(update(RESTORES).where(RESTORES.c.id == row.id)
                  .values(settled_at=_now(), settled_by=worker_id, outcome=outcome))
        paused = sorted(c for c, v in credentials.items() if v == "paused")
        synclog.record(s, operation="db.restore_settled", outcome="partial" if paused else "ok",
                       entity_type="database", entity=str(row.backup_path)[-255:],
                       code=RESTORED_CODE if paused else None,
                       message=f"restored from the backup of {row.backup_taken_at.isoformat(timespec='seconds')}: "
                               f"{cursors} cursor(s) moved back {platform_age.total_seconds():.0f} s, "
                               f"{len(credentials)} rotating credential(s) checked"
                               + (f", paused: {', '.join(paused)}" if paused else ""),
                       details=outcome)
    log.warning("restored database settled: %s", outcome)
    return outcome


def settle_restores(ctx: Any, worker_id: str, *, stop: threading.Event | None = None,
                    poll_s: float = 0.5) -> list[dict[str, Any]]:
    """Settle every pending restore (see module doc), or wait while another
    worker does. Returns the outcomes this process settled."""
    done: list[dict[str, Any]] = []
    while True:
        rows = pending_restores(ctx.db)
        if not rows:
            return done
        row = rows[0]
        if _claim(ctx.db, row.id, worker_id):
            done.append(_settle(ctx, row, worker_id))
            continue
        log.info("waiting for another worker to settle the restored database")
        if stop is not None and stop.wait(poll_s):
            return done
        if stop is None:
            time.sleep(poll_s)
