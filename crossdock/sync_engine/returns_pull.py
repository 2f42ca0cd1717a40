"""Returns the buyers opened on the platforms, read into RMAs (issue 18):
``crossdock returns pull [CHANNEL]`` and the scheduled job :data:`RETURNS`.

:func:`pull_returns` reads the channel's returns opened in the last
:data:`LOOKBACK_DAYS` (``ReturnsContract.read_returns``) and, per return:

- one crossdock already holds (same channel and platform return id: the
  import is idempotent) gets the platform's status; an open RMA the platform
  closed (cancelled, declined, closed with nothing received) turns
  ``closed``. Units are never restocked from here: a person receives the
  parcel (``crossdock returns receive``), or the platform's "received" is
  only recorded;
- a new one becomes an RMA (origin ``platform``) with a ``return.open`` event
  on its order's chain, its lines matched to the order's lines by the
  platform's line id, then its listing id, then its SKU (or the SKU's alias),
  each no more than what shipped and is not on another return;
- a return of an order crossdock has not imported is skipped (XD-RMA-008, an
  event on that order id's chain) and read again next time; one of an order
  the platform fulfilled itself (Amazon FBA) is the platform's and skipped.

The job runs per channel on ``[channels.NAME.intervals_s] returns``, only
for channels whose platform reads returns (``PlatformSpec.reads_returns``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from crossdock import synclog
from crossdock.config import Config
from crossdock.connectors.returns_contract import PlatformReturn
from crossdock.db.models import Order
from crossdock.db.models_returns import ReturnRow
from crossdock.errors import ReturnError
from crossdock.platforms import fulfilled_by_platform
from crossdock.ratelimit.waits import inline_waits
from crossdock.sync_engine import outbox, skumap
from crossdock.sync_engine.jobs.context import EngineContext, entry_channel
from crossdock.sync_engine.returns import order_lines, returnable, store_return

log = logging.getLogger(__name__)

__all__ = ["LOOKBACK_DAYS", "RETURNS", "pull_returns", "reads_returns", "returns_job"]

RETURNS = "returns"
#: How far back each read asks for returns (days): beyond the platforms' return windows (eBay's longest is
#: 60 days after delivery, Shopify's and Amazon's 30 by default) with room for a late delivery.
LOOKBACK_DAYS = 90
#: The longest quota wait slept through inside one read (real seconds), as the platform stock read does.
READ_WAIT_S = 10.0


def reads_returns(cfg: Config, channel: str) -> bool:
    """Does ``channel``'s platform give the returns its buyers open (its schedule is on)?"""
    from crossdock.platforms import find

    spec = find(cfg.channel(channel).platform)
    return bool(spec is not None and spec.reads_returns)


def _match(lines: list[dict[str, Any]], ret: PlatformReturn,
           aliases: Mapping[str, str]) -> list[tuple[dict[str, Any], int]]:
    taken: list[tuple[dict[str, Any], int]] = []
    for rl in ret.lines:
        sku = aliases.get(rl.sku or "", rl.sku)
        with_sku = [ln for ln in lines if ln["sku"]]         # a line without a SKU never held crossdock's stock
        mine = ([ln for ln in with_sku if rl.platform_line_id and ln["platform_line_id"] == rl.platform_line_id]
                or [ln for ln in with_sku if rl.listing_id and ln["listing_id"] == rl.listing_id]
                or [ln for ln in with_sku if sku and ln["sku"] == sku])
        left = rl.quantity
        for ln in mine:
            take = min(left, returnable(ln))
            if take:
                taken.append((ln, take))
                ln["returned"] += take
                left -= take
    return taken


def pull_returns(ctx: EngineContext, channel: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Read the channel's returns and store them (see the module doc). Returns the counts."""
    conn = ctx.connectors.get(channel)
    if not conn.reads_returns:
        return {"channel": channel, "read": 0, "skipped": "the platform gives no returns to read"}
    since = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=LOOKBACK_DAYS)
    with inline_waits(READ_WAIT_S):
        read = conn.read_returns(since)
    new: list[str] = []
    changed: list[str] = []
    missing: list[str] = []
    with ctx.db.write() as s:
        aliases = skumap.aliases_of(s, channel)
        held = {r.platform_return_id: r for r in s.scalars(select(ReturnRow).where(
            ReturnRow.channel == channel, ReturnRow.platform_return_id.in_([r.return_id for r in read] or [""])))}
        for ret in read:
            row = held.get(ret.return_id)
            if row is not None:
                if _follow(s, row, ret):
                    changed.append(row.rma)
                continue
            order = s.scalar(select(Order).where(Order.channel == channel,
                                                 Order.platform_order_id == ret.platform_order_id))
            if order is None:
                missing.append(ret.return_id)
                exc = ReturnError("XD-RMA-008", channel=channel, entity=f"order {ret.platform_order_id}",
                                  detail=f"return {ret.return_id}: the order is not imported")
                synclog.record(s, synclog.event_from_error(
                    "return.pull", exc, channel=channel, entity_type="order", entity=ret.platform_order_id,
                    correlation_id=synclog.order_correlation(channel, ret.platform_order_id),
                    details={"platform_return_id": ret.return_id}))
                continue
            if fulfilled_by_platform(order.fulfillment_channel):
                continue            # the platform's own return (FBA): never crossdock's stock (XD-RMA-009)
            lines = order_lines(s, order.id)
            taken = _match(lines, ret, aliases)
            if not taken:
                log.warning("%s: return %s of order %s matches none of its shipped lines", channel, ret.return_id,
                            ret.platform_order_id)
                continue
            st = {"id": order.id, "channel": channel, "platform_order_id": order.platform_order_id}
            status = "closed" if ret.state == "closed" else "open"
            doc = store_return(s, st, taken, reason=ret.reason, note=ret.reason_note, origin="platform", made=ret,
                               status=status)
            new.append(doc["rma"])
    log.info("%s: returns: %d read, %d new, %d changed, %d of orders not imported", channel, len(read), len(new),
             len(changed), len(missing))
    return {"channel": channel, "read": len(read), "new": new, "changed": changed, "skipped": missing}


def _follow(s: Any, row: ReturnRow, ret: PlatformReturn) -> bool:
    """Keep a held RMA's platform status; an open one the platform closed closes. True if it changed."""
    if row.platform_status == ret.platform_status and not (row.status == "open" and ret.state == "closed"):
        return False
    values: dict[str, Any] = {"platform_status": ret.platform_status,
                              "updated_at": dt.datetime.now(dt.timezone.utc)}
    if row.status == "open" and ret.state == "closed":
        values["status"] = "closed"
    s.execute(update(ReturnRow).where(ReturnRow.id == row.id).values(**values))
    return True


def returns_job(ctx: EngineContext, entry: outbox.ClaimedEntry) -> Mapping[str, Any]:
    return pull_returns(ctx, entry_channel(entry))
