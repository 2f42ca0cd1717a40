"""Stock the platforms hold themselves (issue 18: Amazon FBA), read into its
own location per channel.

``pull_platform_stock`` reads every SKU the channel's platform holds
(``Connector.read_platform_stock``, paged) and replaces the channel's rows of
``platform_stock``: each SKU as the platform names it and as the catalogue SKU
it stands for (the channel's SKU aliases). A SKU the platform no longer holds
loses its row. These units are the platform's to sell: nothing here touches
``stock_levels``, availability or a push plan.

The job :data:`PLATFORM_STOCK` runs it per channel on
``[channels.NAME.intervals_s] platform_stock``, scheduled only for channels
whose platform holds stock (``PlatformSpec.holds_stock``);
``crossdock stock platform-pull`` runs it by hand. Unlike the other jobs, a
read sleeps through short quota waits (:data:`READ_WAIT_S`, see there).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update

from crossdock.config import Config
from crossdock.db.base import utcnow
from crossdock.db.models_stock import PlatformStockRow
from crossdock.ratelimit.waits import inline_waits
from crossdock.sync_engine import outbox, skumap
from crossdock.sync_engine.jobs.context import EngineContext, entry_channel

log = logging.getLogger(__name__)

__all__ = ["PLATFORM_STOCK", "holds_stock", "platform_stock_job", "pull_platform_stock", "stock_rows"]

PLATFORM_STOCK = "platform_stock"
#: The longest quota wait slept through inside one read (real seconds). A read is one pass over
#: the platform's pages: Amazon's nextToken expires 30 s after it is issued (fbaInventory model),
#: so a read handed back for quota and resumed later could not go on from where it stopped, and
#: at 2 calls/s (burst 2) a catalogue of more than two pages would never be read whole.
READ_WAIT_S = 10.0
TABLE = PlatformStockRow.__table__


def holds_stock(cfg: Config, channel: str) -> bool:
    """Does ``channel``'s platform keep sellers' stock (its schedule is on)?"""
    from crossdock.platforms import find

    spec = find(cfg.channel(channel).platform)
    return bool(spec is not None and spec.holds_stock)


def pull_platform_stock(ctx: EngineContext, channel: str) -> dict[str, Any]:
    """Read the channel's platform-held stock and store it (see module doc)."""
    conn = ctx.connectors.get(channel)
    if not conn.holds_stock:
        return {"channel": channel, "read": 0, "skipped": "the platform holds no stock of the seller's"}
    with inline_waits(READ_WAIT_S):
        read = conn.read_platform_stock(None)
    now = utcnow()
    with ctx.db.write() as s:
        names = skumap.aliases_of(s, channel)
        held = {r.platform_sku: r.id for r in s.execute(select(TABLE.c.platform_sku, TABLE.c.id)
                                                         .where(TABLE.c.channel == channel))}
        new: list[dict[str, Any]] = []
        for r in read:
            values = {"sku": names.get(r.sku, r.sku), "fulfillable": r.fulfillable, "inbound": r.inbound,
                      "reserved": r.reserved, "unfulfillable": r.unfulfillable, "total": r.total,
                      "platform_ids": dict(r.ids) if r.ids else None, "read_at": now}
            row_id = held.pop(r.sku, None)
            if row_id is None:
                new.append({"channel": channel, "platform_sku": r.sku, **values})
            else:
                s.execute(update(TABLE).where(TABLE.c.id == row_id).values(**values))
        if new:
            s.execute(insert(TABLE), new)
        if held:
            s.execute(delete(TABLE).where(TABLE.c.id.in_(list(held.values()))))
    log.info("%s: platform stock: %d SKUs read, %d new, %d gone", channel, len(read), len(new), len(held))
    return {"channel": channel, "read": len(read), "new": len(new), "gone": len(held),
            "fulfillable": sum(r.fulfillable for r in read), "read_at": now.isoformat()}


def platform_stock_job(ctx: EngineContext, entry: outbox.ClaimedEntry) -> Mapping[str, Any]:
    return pull_platform_stock(ctx, entry_channel(entry))


def stock_rows(session: Any, *, sku: str | None = None) -> list[dict[str, Any]]:
    """The stored platform-held stock (``stock show``): per channel and SKU, newest read."""
    q = select(TABLE).order_by(TABLE.c.sku, TABLE.c.channel, TABLE.c.platform_sku)
    if sku is not None:
        q = q.where((TABLE.c.sku == sku) | (TABLE.c.platform_sku == sku))
    return [{"location": f"platform:{r.channel}", "channel": r.channel, "sku": r.sku,
             "platform_sku": r.platform_sku, "fulfillable": r.fulfillable, "inbound": r.inbound,
             "reserved": r.reserved, "unfulfillable": r.unfulfillable, "total": r.total,
             "read_at": r.read_at.isoformat() if r.read_at else None} for r in session.execute(q)]
