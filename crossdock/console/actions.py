"""The console's and the API's state-changing actions, each run as the user
who asked (``audit.acting_as``: the audit log records who and by which way)
in a worker thread (they write to the database).

The functions that change things are the CLI's own (``retry_jobs``) or the
engine's (``pause_by_hand``), and they write the audit record themselves, so a
change is audited the same whichever way it came in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.concurrency import run_in_threadpool

from crossdock import audit
from crossdock.access.users import Account
from crossdock.db.engine import Database

__all__ = ["pause", "refresh", "resume", "retry", "timestamp"]


def _as(account: Account, via: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with audit.acting_as(account.name, via):
        return fn(*args, **kwargs)


async def retry(db: Database, account: Account, via: str, job_id: int) -> dict[str, Any]:
    from crossdock.sync_engine.outbox_admin import retry_jobs

    doc: dict[str, Any] = await run_in_threadpool(_as, account, via, retry_jobs, db, [job_id])
    return doc


async def pause(db: Database, account: Account, via: str, channel: str, reason: str) -> dict[str, Any]:
    from crossdock.sync_engine.hand_pause import pause_by_hand

    doc: dict[str, Any] = await run_in_threadpool(_as, account, via, pause_by_hand, db, channel, reason=reason)
    return doc


async def resume(db: Database, account: Account, via: str, channel: str) -> dict[str, Any]:
    from crossdock.sync_engine.hand_pause import resume_by_hand

    doc: dict[str, Any] = await run_in_threadpool(_as, account, via, resume_by_hand, db, channel)
    return doc


async def refresh(cfg: Any, db: Database, account: Account, via: str, channel: str) -> dict[str, Any]:
    """A new access token now, as ``crossdock auth refresh CHANNEL`` gets it (audited there)."""
    from crossdock.sync_engine.auth_refresh import refresh_channel_token

    doc: dict[str, Any] = await run_in_threadpool(_as, account, via, refresh_channel_token, cfg, db, channel)
    return doc


def timestamp() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
