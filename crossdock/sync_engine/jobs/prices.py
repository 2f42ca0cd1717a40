"""Prices (:func:`push_prices`, outbox kind ``prices``). For every *active*
listing of the channel, the price is the channel's price rule
(``[channels.NAME.price]``, :mod:`crossdock.mapping.pricing`) applied to the
product's base price, in the channel's currency, with the FX rates stored in
the database (``crossdock fx load``) as they stand on the platform's today.
A price equal to the one last pushed (``last_pushed_price`` and
``last_pushed_currency``) is not sent: a run with nothing changed makes no
call. Changed prices go out in the batches the platform allows
(:func:`~crossdock.sync_engine.planner.plan_prices` with the engine's batch
policies); what the platform accepted is recorded, what it refused is logged
with its code. A SKU whose price cannot be computed (no FX rate XD-MAP-005,
stale rate XD-MAP-006, no or zero base price XD-MAP-003) is logged with that
code and skipped; the other SKUs still go. ``last_pushed_at`` is left alone:
it dates the last *stock* push, which order import compares sales with.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.config import Config
from crossdock.db.models import ChannelListing
from crossdock.db.models import Product as ProductRow
from crossdock.errors import CrossdockError, MappingError
from crossdock.mapping.fx import FxTable
from crossdock.mapping.pricing import PriceRule, compute_price, price_rule_from_config
from crossdock.models import ItemResult, Money, PriceUpdate
from crossdock.ratelimit.budget import Priority, job_priority
from crossdock.sync_engine import outbox, skumap
from crossdock.sync_engine._sql import chunks
from crossdock.sync_engine.jobs.batches import BatchSend, checked_by
from crossdock.sync_engine.jobs.context import EngineContext, entry_channel, hold_claim
from crossdock.sync_engine.planner import ListingState, plan_prices

log = logging.getLogger(__name__)

PRICES = "prices"
ACTIVE = "active"

__all__ = ["ACTIVE", "PRICES", "expected_prices", "fx_table", "price_rule", "prices_job", "push_prices",
           "today_on_platform"]


def price_rule(cfg: Config, channel: str) -> PriceRule:
    """The channel's price rule (``[channels.NAME.price]``; none = base price converted as is)."""
    return price_rule_from_config(cfg.channel(channel).price or None, where=f"channels.{channel}.price")




def today_on_platform(ctx: EngineContext) -> dt.date:
    """The platforms' today (the sandbox's scaled clock, or real time)."""
    return ctx.clock.now().date()


def fx_table(session: Session) -> FxTable:
    from crossdock.mapping.fx_store import table_from_db

    return table_from_db(session)



# ---------------------------------------------------------------- prices
@dataclass(frozen=True, slots=True)
class _Priced:
    state: ListingState
    base: Money | None


def _active_listings(session: Session, ctx: EngineContext, channel: str,
                     skus: Sequence[str] | None) -> list[_Priced]:
    """The channel's active listings (of ``skus``) with their product's base price."""
    L, P = ChannelListing, ProductRow
    stmt = (select(L.sku, L.listing_id, L.platform_ids, L.last_pushed_price,
                   L.last_pushed_currency, P.base_price, P.base_currency)
            .join(P, P.sku == L.sku).where(L.channel == channel, L.status == ACTIVE))
    rows: list[Row[Any]] = []
    if skus is None:
        rows = list(session.execute(stmt).all())
    else:
        for part in chunks(sorted(set(skus))):
            rows.extend(session.execute(stmt.where(L.sku.in_(part))).all())
    platform = ctx.platform(channel)
    out = []
    for r in sorted(rows, key=lambda r: r.sku):
        base = (Money(Decimal(r.base_price), r.base_currency)
                if r.base_price is not None and r.base_currency else None)
        ids = dict(r.platform_ids or {})
        out.append(_Priced(ListingState(channel=channel, sku=r.sku, platform=platform, kind=ids.get("kind"),
                                        listing_id=r.listing_id, platform_ids=ids,
                                        last_pushed_price=r.last_pushed_price,
                                        last_pushed_currency=r.last_pushed_currency), base))
    return out


def _no_base(sku: str) -> dict[str, str]:
    return {"sku": sku, "code": "XD-MAP-003", "message": f"product {sku} has no base price and currency"}


def expected_prices(ctx: EngineContext, channel: str, skus: Sequence[str] | None = None
                    ) -> tuple[dict[str, Money], list[dict[str, str]]]:
    """What each active listing of ``channel`` should cost today, and the SKUs
    whose price cannot be computed (with their XD code)."""
    rule = price_rule(ctx.cfg, channel)
    currency = ctx.cfg.channel(channel).currency
    today = today_on_platform(ctx)
    with ctx.db.read() as s:
        listed = _active_listings(s, ctx, channel, skus)
        fx = fx_table(s)
    prices: dict[str, Money] = {}
    problems: list[dict[str, str]] = []
    for item in listed:
        sku = item.state.sku
        if item.base is None:
            problems.append(_no_base(sku))
            continue
        try:
            prices[sku] = compute_price(item.base, currency, rule, fx, today, sku=sku)
        except MappingError as exc:
            problems.append({"sku": sku, "code": exc.code, "message": exc.message})
    return prices, problems


def push_prices(ctx: EngineContext, channel: str, skus: Sequence[str] | None = None, *,
                force: bool = False, entry: outbox.ClaimedEntry | None = None) -> dict[str, Any]:
    """Push the prices of the channel's active listings (of ``skus``) that
    differ from the last pushed ones (all of them with ``force``: a price
    edited on the platform is put back). Run for an outbox ``entry``, each
    call first checks the entry is still this worker's. See the module doc."""
    ch = ctx.cfg.channel(channel)
    rule = price_rule(ctx.cfg, channel)
    today = today_on_platform(ctx)
    with ctx.db.read() as s:
        listed = _active_listings(s, ctx, channel, skus)
        fx = fx_table(s)
    problems = [_no_base(i.state.sku) for i in listed if i.base is None]
    plan = plan_prices({i.state.sku: i.base for i in listed if i.base is not None}, [i.state for i in listed],
                       rules={channel: rule}, currencies={channel: ch.currency}, fx=fx, on=today,
                       policies=ctx.policies, force=force)
    problems += [{"sku": p.sku, "code": p.code, "message": p.message} for p in plan.problems]
    channel_plan = plan.plans.get(channel)
    updates = list(channel_plan.updates) if channel_plan else []
    sent: BatchSend[PriceUpdate] = BatchSend()
    error: CrossdockError | None = None
    with synclog.timed() as t, job_priority(Priority.PRICE):
        try:
            if channel_plan is not None and updates:
                with ctx.db.read() as s:
                    names = skumap.ChannelSkus.of(s, channel)     # the channel's SKU aliases
                sent.run(channel_plan.batches, names.call(ctx.connectors.get(channel).push_prices),
                         fence=checked_by(lambda: hold_claim(ctx, entry)) if entry is not None else None)
        except CrossdockError as exc:   # quota, network, auth: what was accepted so far is kept
            error = exc
    accepted: list[PriceUpdate] = sent.accepted
    rejected: list[ItemResult] = sent.refused
    calls = sent.calls
    unchanged = len(listed) - len(updates) - len(problems)
    with ctx.db.write() as s:
        _record_prices(s, channel, accepted)
        for p in problems:
            synclog.record(s, operation="prices.push", outcome="failed", channel=channel, entity_type="sku",
                           entity=p["sku"], code=p["code"], message=p["message"])
        for r in rejected:
            synclog.record(s, operation="prices.push", outcome="failed", channel=channel, entity_type="sku",
                           entity=r.sku, code=r.code or "XD-PLATFORM-001",
                           message=r.message or "price refused by the platform")
        if updates or problems:
            left = len(updates) - len(accepted) - len(rejected)
            synclog.record(s, operation="prices.push",
                           outcome="ok" if not (rejected or problems or left) else "partial",
                           channel=channel, entity_type="channel", entity=channel, duration_ms=t.ms,
                           code=error.code if error is not None else None,
                           message=f"{len(accepted)} prices accepted in {calls} calls, {len(rejected)} refused, "
                                   f"{len(problems)} not computable, {unchanged} unchanged"
                                   + (f", {left} not sent ({error.code})" if error is not None else ""),
                           details={"accepted": [u.sku for u in accepted][:50],
                                    "rejected": [r.sku for r in rejected][:50],
                                    "problems": [p["sku"] for p in problems][:50]})
    if error is not None:
        raise error
    return {"channel": channel, "checked": len(listed), "unchanged": unchanged, "changed": len(updates),
            "pushed": len(accepted), "calls": calls,
            "rejected": [{"sku": r.sku, "code": r.code, "message": r.message} for r in rejected],
            "problems": problems,
            "prices": {u.sku: u.price.to_dict() for u in accepted}}


def _record_prices(session: Session, channel: str, accepted: Sequence[PriceUpdate]) -> None:
    L = ChannelListing
    for u in sorted(accepted, key=lambda u: u.sku):
        session.execute(update(L).where(L.channel == channel, L.sku == u.sku)
                        .values(last_pushed_price=u.price.amount, last_pushed_currency=u.price.currency))


def prices_job(ctx: EngineContext, entry: outbox.ClaimedEntry) -> dict[str, Any]:
    """Outbox entry ``prices``: payload ``skus`` (optional) and ``force``."""
    payload = entry.payload or {}
    skus = payload.get("skus")
    return push_prices(ctx, entry_channel(entry), skus=list(skus) if skus else None, force=bool(payload.get("force")),
                       entry=entry)

