"""One stock push run of a channel, around the platform calls, fenced.

A run takes the channel's dirty SKUs under a claim (:func:`prepare_stock_push`),
sends them in planned batches and reports (:func:`finish_stock_push`). The
claim is a lease: a worker stopped longer than it (SIGSTOP, a stalled VM, a
long GC pause) or declared dead by its missed heartbeats loses its SKUs to
the next run, which pushes what is available *then*. When the stalled worker
comes back, nothing it decided before the stall may reach the platform, or an
old, higher quantity would be listed again over the new one — stock that is
gone, sold twice.

So every claim carries a fencing token (``StockPush.claim``: the worker id
and a nonce, written to ``dirty_skus.claimed_by``), and before each batch
call :func:`fence_batch`, in one transaction:

- renews the run's claim only where the token is still its own (a
  compare-and-set ``UPDATE``; a run that takes SKUs over writes its own
  token, a reaper of dead workers clears it): SKUs another run took over are
  left out of the call;
- reads their availability again and decides each quantity *then* (as the
  planner did at plan time: the channel's stock rule, or with the oversell
  guard its share, :mod:`crossdock.sync_engine.exposure`, the SKUs locked):
  quantities are read at send time, not at plan time. The quantities sent
  raise the channel's exposure in the same transaction, before the call;
- notes each SKU's mark version, so the ack after the call keeps a SKU dirty
  exactly when its availability changed after that read.

What the fence cannot close is a stall after it and before the request
leaves (microseconds, or a transport retry's back-off): such a late push
lands after the new run's. :func:`finish_stock_push` finds those — accepted
SKUs whose claim is no longer the run's — forgets what the channel is
believed to show and marks them dirty on that channel again, so a run
re-asserts the current quantity.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from crossdock.db.engine import Database
from crossdock.errors import lookup
from crossdock.mapping.inventory_rules import ChannelStockRule
from crossdock.models import StockUpdate
from crossdock.sync_engine import exposure, shown, skumap
from crossdock.sync_engine._sql import chunks, event_row, insert_events, now_or, write_tx
from crossdock.sync_engine.availability import availability_snapshot
from crossdock.sync_engine.dirty import (
    DEFAULT_LEASE_S,
    DIRTY,
    DirtyMark,
    ack_dirty,
    listing_states,
    release_dirty,
    remark_channel,
    take_dirty,
    wake_again,
)
from crossdock.sync_engine.planner import BatchPolicy, ChannelPlan, plan_stock_pushes

log = logging.getLogger(__name__)

__all__ = ["StockPush", "fence_batch", "finish_stock_push", "new_claim", "prepare_stock_push"]


def new_claim(worker_id: str) -> str:
    """A fencing token for one push run: the worker's id (so its heartbeat
    reaper can hand the claims back) and a nonce no other run shares."""
    return f"{worker_id}:{uuid.uuid4().hex[:12]}"


@dataclass(slots=True)
class StockPush:
    """What one push run of a channel must send: the marks it holds, the
    planned calls (``plan`` is None when every listing already shows the right
    quantity), and its claim (the fencing token on its ``dirty_skus`` rows).
    ``fenced`` holds, per SKU, the mark version seen when the SKU last passed
    :func:`fence_batch`; ``lost`` the SKUs a fence found taken over."""

    channel: str
    worker_id: str
    marks: tuple[DirtyMark, ...]
    plan: ChannelPlan[StockUpdate] | None
    rule: ChannelStockRule | None = None
    lease_s: float = DEFAULT_LEASE_S
    fenced: dict[str, int] = field(default_factory=dict)
    lost: set[str] = field(default_factory=set)
    unchanged: set[str] = field(default_factory=set)     # SKUs a fence found already showing their quantity
    rules: exposure.StockRules = field(default_factory=dict)   # every channel's rule (the guard shares)
    guard: bool = False
    # what the channel was believed to show before the run forgot it for its calls, and when they started
    believed: dict[str, int | None] = field(default_factory=dict)
    started: dt.datetime | None = None
    names: skumap.ChannelSkus | None = None       # the channel's SKU names (aliases), read with the plan

    @property
    def my_rules(self) -> exposure.StockRules:
        return {**self.rules, self.channel: self.rule}

    @property
    def claim(self) -> str:
        return self.worker_id

    @property
    def updates(self) -> list[StockUpdate]:
        return list(self.plan.updates) if self.plan else []


def prepare_stock_push(db: Database, channel: str, *, worker_id: str, rule: ChannelStockRule | None,
                       policies: Mapping[str, BatchPolicy | int], lease_s: float = DEFAULT_LEASE_S,
                       limit: int | None = None, now: dt.datetime | None = None,
                       rules: exposure.StockRules | None = None, guard: bool = False) -> StockPush:
    """Take the channel's dirty SKUs under a new claim and plan absolute
    quantities from the availability *now* (zeros first, batched by
    ``policies``): the channel's ``rule``, or with ``guard`` its share of
    what every channel (``rules``) may sell. Then the caller makes the
    platform calls, each batch passed through :func:`fence_batch`, and
    reports with :func:`finish_stock_push`."""
    claim = new_claim(worker_id)
    push = StockPush(channel, claim, (), None, rule, lease_s, rules=dict(rules or {}), guard=guard)
    marks = take_dirty(db, channel, worker_id=claim, lease_s=lease_s, limit=limit, now=now)
    if not marks:
        return push
    skus = [m.sku for m in marks]
    with db.read() as session:
        states = listing_states(session, channel, skus)
        avail = availability_snapshot(session, skus)
        decisions = exposure.decide(session, channel, avail, rules=push.my_rules, guard=guard)
        wanted = {sku: d.quantity for sku, d in decisions.items()}
        plan = plan_stock_pushes(avail, states, {}, policies, targets={channel: wanted}).get(channel)
        rises = {sku: d.rise for sku, d in decisions.items() if d.rise is not None}
        if plan is not None and rises:
            # rises not worth a call of their own ride along where the calls going anyway have room
            riding = plan_stock_pushes(avail, states, {}, policies, targets={channel: {**wanted, **rises}}).get(channel)
            if riding is not None and riding.calls <= plan.calls:
                plan = riding
        # the SKUs the channel lists them under, for the calls (none planned: not needed)
        names = skumap.ChannelSkus.of(session, channel) if plan is not None else None
    return replace(push, marks=tuple(marks), plan=plan, names=names)


def fence_batch(db: Database, push: StockPush, items: Sequence[StockUpdate], *,
                now: dt.datetime | None = None) -> list[StockUpdate]:
    """Just before a batch call: keep the items whose SKUs this run still
    holds (renewing the run's claim), with the quantities available *now*.
    The rest were taken over by another run (this one stalled past its lease,
    or its worker was declared dead) and must not be sent."""
    at = now_or(now)
    skus = sorted({u.sku for u in items})
    with db.write() as session:
        # the whole run's claim is renewed (a heartbeat of the run), but only where the token is
        # still this run's: a compare-and-set. A lease that ran out with nobody taking the SKUs
        # over is renewed too (whoever takes them sets a token of its own, atomically)
        renewed: dict[str, int] = {r.sku: r.version for r in session.execute(_RENEW, {
            "p_channel": push.channel, "p_claim": push.claim,
            "p_until": at + dt.timedelta(seconds=push.lease_s)}).all()}
        held = {sku: renewed[sku] for sku in skus if sku in renewed}
        # the quantities decided on the availability now, as the planner decides them; with the
        # guard the SKUs are locked first, and what is sent counts as exposed before the call
        if push.guard:
            exposure.lock_skus(session, held)
        avail = availability_snapshot(session, sorted(held)) if held else {}
        fresh = exposure.targets(session, push.channel, avail, rules=push.my_rules, guard=push.guard,
                                 shown=push.believed, rises=True)
        # a quantity the channel already shows is not sent again (a push erases the channel's sales
        # crossdock has not seen yet, so each one holds units back): that SKU is done
        same = {sku for sku in held if sku in fresh and push.believed.get(sku) == fresh[sku]}
        push.unchanged.update(same)
        shown.expose(session, push.channel, {u.sku: fresh.get(u.sku, u.quantity) for u in items
                                             if u.sku in held and u.sku not in same}, since=push.started or at)
    gone = [sku for sku in skus if sku not in held]
    if gone:
        push.lost.update(gone)
        log.warning("%s: push run %s lost its claim on %d SKU(s) (stalled past its lease?): %s not sent",
                    push.channel, push.claim, len(gone), ", ".join(gone[:10]))
    push.fenced.update(held)
    out: list[StockUpdate] = []
    for u in items:
        if u.sku not in held or u.sku in push.unchanged:
            continue
        qty = fresh.get(u.sku, u.quantity)
        out.append(u if qty == u.quantity else replace(u, quantity=qty))
    return out


_RENEW = (update(DIRTY).where(DIRTY.c.channel == bindparam("p_channel"), DIRTY.c.claimed_by == bindparam("p_claim"))
          .values(claimed_until=bindparam("p_until")).returning(DIRTY.c.sku, DIRTY.c.version))


def _title(code: str) -> str:
    try:
        return f"{code} {lookup(code).title}"
    except KeyError:
        return code


def _still_held(session: Session, push: StockPush) -> set[str]:
    held: set[str] = set()
    for part in chunks(sorted({m.sku for m in push.marks})):
        held.update(session.scalars(_HELD, {"p_channel": push.channel, "p_skus": part, "p_claim": push.claim}))
    return held


_HELD = select(DIRTY.c.sku).where(DIRTY.c.channel == bindparam("p_channel"),
                                  DIRTY.c.sku.in_(bindparam("p_skus", expanding=True)),
                                  DIRTY.c.claimed_by == bindparam("p_claim"))


def finish_stock_push(db: Database | Session, push: StockPush, accepted: Iterable[StockUpdate], *,
                      dropped: Iterable[str] = (), now: dt.datetime | None = None,
                      code: str | None = None, unsent: Mapping[str, int | None] | None = None,
                      until: dt.datetime | None = None) -> tuple[int, int]:
    """After the calls: remember what the channel accepted, forget the marks
    that are done (pushed, nothing to push, or ``dropped`` SKUs the platform
    refused for good), and give the others back for the next run. ``code``:
    why some were not applied (throttled, network …: the error that stopped
    the calls, or the platform's answer for them); the log row carries it.
    Accepted SKUs whose claim this run no longer holds are in doubt: marked
    dirty on the channel again. ``unsent``: SKU → what the channel was
    believed to show before the run, for SKUs no call carried (the calls
    stopped first): where the run still holds them, that belief stands again.
    ``now``: when the run's calls started; ``until``: when they had all
    answered (the quantities arrived somewhere between the two).
    Returns (marks done, marks given back)."""
    at = now_or(now)
    accepted = list(accepted)
    ok = {u.sku for u in accepted} | set(dropped) | push.unchanged
    planned = {u.sku for u in push.updates}
    with write_tx(db) as session:
        held = _still_held(session, push)
        doubt = sorted({u.sku for u in accepted} - held)
        # a mark is acked at the version its quantity was read at (the fence's), so a change
        # after that read keeps it dirty; only a run that still holds its claim acks
        marks = [m if m.sku not in push.fenced else replace(m, version=push.fenced[m.sku])
                 for m in push.marks if m.sku in held]
        done = [m for m in marks if m.sku not in planned or m.sku in ok]
        retry = [m for m in marks if m.sku in planned and m.sku not in ok]
        shown.record_pushed(session, push.channel, [u for u in accepted if u.sku in held], now=at,
                            until=until or at)
        if unsent:
            shown.restore(session, push.channel, {sku: qty for sku, qty in unsent.items() if sku in held})
        if doubt:
            shown.forget(session, push.channel, doubt)
            remark_channel(session, push.channel, doubt, now=at)
            log.warning("%s: %d quantity(ies) reached the channel after run %s lost its claim: %s marked dirty "
                        "again", push.channel, len(doubt), push.claim, ", ".join(doubt[:10]))
        acked = ack_dirty(session, done, claimed_by=push.claim)
        # rows not deleted — failed, or marked again during the push — go back to the pool,
        # and the next run is woken for them
        release_dirty(session, marks, worker_id=push.claim)
        if acked < len(marks):
            wake_again(session, push.channel)
        if push.marks:
            zeros = sum(1 for u in accepted if u.quantity == 0)
            lost = sorted(push.lost | set(doubt))
            insert_events(session, [event_row(
                operation="stock.push", outcome="ok" if not retry and not lost else "partial", at=at,
                channel=push.channel, entity_type="channel", entity=push.channel, code=code if retry else None,
                message=f"{len(accepted)} quantities accepted ({zeros} zeros) in "
                        f"{push.plan.calls if push.plan else 0} calls; {len(retry)} left for the next run"
                        + (f" ({_title(code)})" if code and retry else "")
                        + (f"; {len(lost)} SKU(s) taken over by another run (claim lost)" if lost else ""),
                details={"skus": len(push.marks), "accepted": len(accepted), "retry": len(retry),
                         "dropped": sorted(set(dropped))[:50], "claim_lost": lost[:50],
                         "pushed": {u.sku: u.quantity for u in accepted[:100]}})])
    return len(done), len(retry)
