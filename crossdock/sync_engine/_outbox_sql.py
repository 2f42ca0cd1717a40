"""The outbox's hot statements, built once (private to :mod:`crossdock.sync_engine.outbox`).

Every job run claims its entry, fences it before a side effect and completes
it, and every mark, event and job enqueues one: building a Core statement and
its cache key per call cost more CPU than SQLite takes to run it (claiming was
10 % of the default demo's CPU, half of it the expired-lease reclaim). Each is
run with its ``p_…`` parameters.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crossdock.db.models import OutboxEntry

OUTBOX = OutboxEntry.__table__

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"


@functools.lru_cache(maxsize=2)
def enqueue_statement(postgres: bool) -> Any:
    """The outbox INSERT, built once per dialect: every job run, mark and event enqueues."""
    insert = pg_insert(OUTBOX) if postgres else sqlite_insert(OUTBOX)
    return insert.values(
        kind=bindparam("p_kind"), channel=bindparam("p_channel"), entity=bindparam("p_entity"),
        payload=bindparam("p_payload"), idempotency_key=bindparam("p_key"), status=PENDING,
        priority=bindparam("p_priority"), attempts=0, available_at=bindparam("p_due"),
        correlation_id=bindparam("p_cid"), created_at=bindparam("p_at"), updated_at=bindparam("p_at"),
    ).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(OUTBOX.c.id, OUTBOX.c.available_at)


@functools.lru_cache(maxsize=64)
def claim_statement(by_kind: bool, by_channel: bool, by_ids: bool, limit: int) -> Any:
    conds = [OUTBOX.c.status == PENDING, OUTBOX.c.available_at <= bindparam("p_at")]
    if by_kind:
        conds.append(OUTBOX.c.kind.in_(bindparam("p_kinds", expanding=True)))
    if by_channel:
        conds.append(OUTBOX.c.channel == bindparam("p_channel"))
    if by_ids:
        conds.append(OUTBOX.c.id.in_(bindparam("p_ids", expanding=True)))
    pick = (select(OUTBOX.c.id).where(*conds)
            .order_by(OUTBOX.c.priority, OUTBOX.c.available_at, OUTBOX.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True))   # not rendered on SQLite: BEGIN IMMEDIATE serialises
    return (update(OUTBOX)
            .where(OUTBOX.c.id.in_(pick.scalar_subquery()), OUTBOX.c.status == PENDING)
            .values(status=RUNNING, claimed_by=bindparam("p_worker"), claimed_until=bindparam("p_until"),
                    updated_at=bindparam("p_at"))
            .returning(*OUTBOX.c))


#: Is any lease run out? One indexed read; the reclaiming updates run only when one is.
ANY_EXPIRED = (select(OUTBOX.c.id)
                .where(OUTBOX.c.status == RUNNING, OUTBOX.c.claimed_until < bindparam("p_at")).limit(1))

FENCE = (update(OUTBOX)
          .where(OUTBOX.c.id == bindparam("p_id"), OUTBOX.c.status == RUNNING,
                 OUTBOX.c.claimed_by == bindparam("p_worker"), OUTBOX.c.attempts == bindparam("p_attempts"))
          .values(claimed_until=bindparam("p_until")))
COMPLETE = (update(OUTBOX)
             .where(OUTBOX.c.id == bindparam("p_id"), OUTBOX.c.status == RUNNING,
                    OUTBOX.c.claimed_by == bindparam("p_worker"))
             .values(status=DONE, done_at=bindparam("p_at"), claimed_until=None, last_code=None, last_error=None,
                     updated_at=bindparam("p_at")))
