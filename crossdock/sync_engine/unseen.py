"""Sales a channel has made that its order API does not show yet.

Amazon shows an order to getOrders only two minutes after it changed (and a
``Pending`` order changes again when it is paid), so for two to three and a
half minutes crossdock does not know about an Amazon sale. Amazon itself
lowers the listing's quantity at once. Meanwhile a sale of the same SKU on
eBay or Shopify would be propagated from stock that is no longer there: the
other channels keep showing one unit too many until Amazon's order arrives.

So a stock push to such a channel first reads the quantities its listings
show for the SKUs it is about to push (cheap: a few getListingsItem calls on
their own quota). A listing showing fewer units than crossdock last pushed,
with no push in flight and the last push settled, has sold units crossdock
has not seen. They are held here, per channel and SKU, and subtracted from
the availability every channel is given
(:func:`crossdock.sync_engine.availability.unseen_held` reads them), until:

- the channel's order import brings the order: :func:`consume` takes the
  units off in the import's transaction (its reservation now holds them);
- or nothing explains the drop within ``max_age_s`` (a seller edited the
  quantity in Seller Central, say): :func:`expire` lets them go with
  XD-INV-007 in the sync log, and the SKU is pushed again.

Holding too many units for a while only shows less stock than there is; it
never oversells.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Mapping

from sqlalchemy import ForeignKey, Integer, UniqueConstraint, bindparam, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from crossdock.db.base import Base
from crossdock.db.models import BigId, SkuType
from crossdock.sync_engine._sql import chunks, event_row, insert_events, now_or, upsert_insert
from crossdock.sync_engine._tables import LISTINGS
from crossdock.sync_engine.shown import record_read_back

log = logging.getLogger(__name__)

#: A push must be this old (platform seconds) before a lower quantity on the
#: channel counts as a sale: a platform may apply a push with a delay, and
#: until then it shows the quantity from before.
SETTLE_S = 30.0
#: Units held longer than this (platform seconds) with no order to explain
#: them are let go. Amazon shows an order within about 3.5 minutes.
MAX_AGE_S = 600.0

__all__ = ["MAX_AGE_S", "SETTLE_S", "UnseenSale", "consume", "detect", "expire", "shortfalls"]


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.timezone.utc)


class UnseenSale(Base):
    """Units a channel sold that its order import has not brought yet."""

    __tablename__ = "unseen_sales"
    __table_args__ = (UniqueConstraint("channel", "sku"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(ForeignKey("channels.name", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(SkuType)
    quantity: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


UNSEEN = UnseenSale.__table__


def shortfalls(session: Session, channel: str, shown: Mapping[str, int | None], *, settle_real_s: float,
               now: dt.datetime | None = None) -> dict[str, int]:
    """What :func:`detect` would hold, read only: SKU → units the channel
    shows fewer than crossdock last pushed, for pushes at least
    ``settle_real_s`` old. A push run reads this first and opens a write
    transaction only when something is found (most read-backs find nothing)."""
    at = now_or(now)
    found: dict[str, int] = {}
    read = {s: int(q) for s, q in shown.items() if q is not None}
    for part in chunks(sorted(read)):
        rows = session.execute(
            select(LISTINGS.c.sku, LISTINGS.c.last_pushed_qty, LISTINGS.c.last_pushed_at)
            .where(LISTINGS.c.channel == channel, LISTINGS.c.sku.in_(part),
                   LISTINGS.c.last_pushed_qty.is_not(None))).all()
        for sku, believed, pushed_at in rows:
            q = read[sku]
            if q >= believed:
                continue
            if pushed_at is not None and (at - pushed_at).total_seconds() < settle_real_s:
                continue
            found[sku] = believed - q
    return found


def detect(session: Session, channel: str, shown: Mapping[str, int | None], *, settle_real_s: float,
           now: dt.datetime | None = None) -> dict[str, int]:
    """Compare what ``channel`` shows (SKU → quantity read back) with what
    crossdock last pushed; hold the difference of every listing that shows
    less and whose last push is at least ``settle_real_s`` old (real seconds:
    pushes are recorded in real time; :data:`SETTLE_S` is in platform
    seconds, which a sandbox's scaled clock converts). Returns SKU → units
    newly held (the caller marks them dirty, so every channel gets the lower
    availability)."""
    at = now_or(now)
    found = shortfalls(session, channel, shown, settle_real_s=settle_real_s, now=at)
    if not found:
        return {}
    read = {s: int(q) for s, q in shown.items() if q is not None}
    for sku, units in sorted(found.items()):
        stmt = upsert_insert(session, UNSEEN).values(channel=channel, sku=sku, quantity=units, first_seen_at=at,
                                                     updated_at=at)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["channel", "sku"],
            set_={"quantity": UNSEEN.c.quantity + stmt.excluded.quantity, "updated_at": stmt.excluded.updated_at}))
    # the channel shows this now; the order, when it comes, must not lower it again
    record_read_back(session, channel, {sku: read[sku] for sku in found}, at=at)
    insert_events(session, [event_row(
        operation="stock.unseen_sale", outcome="ok", at=at, channel=channel, entity_type="sku", entity=sku,
        message=f"{channel} shows {units} unit(s) fewer than pushed: a sale its order API does not show yet; "
                f"held from every channel until the order is imported",
        details={"units": units}) for sku, units in sorted(found.items())])
    log.info("%s: unseen sales held: %s", channel, ", ".join(f"{s} x{n}" for s, n in sorted(found.items())))
    return found


def consume(session: Session, channel: str, lines: Iterable[tuple[str, int]], *,
            now: dt.datetime | None = None) -> dict[str, int]:
    """New orders of ``channel`` arrived with these (SKU, units): they explain
    held units, which are released (their reservation holds the stock now).
    Returns SKU → units released."""
    want: Counter[str] = Counter()
    for sku, qty in lines:
        if sku and qty > 0:
            want[sku] += int(qty)
    if not want:
        return {}
    rows: dict[str, tuple[int, int]] = {}
    for part in chunks(sorted(want)):
        rows.update((sku, (rid, q)) for rid, sku, q in session.execute(_HELD_OF, {"c": channel, "skus": part}))
    released: dict[str, int] = {}
    at = now_or(now)
    for sku, (rid, q) in sorted(rows.items()):
        take = min(q, want[sku])
        if take >= q:
            session.execute(delete(UNSEEN).where(UNSEEN.c.id == rid))
        else:
            session.execute(update(UNSEEN).where(UNSEEN.c.id == rid).values(quantity=q - take, updated_at=at))
        released[sku] = take
    return released


# consume runs for every window of new orders: its lookup is built once
_HELD_OF = (select(UNSEEN.c.id, UNSEEN.c.sku, UNSEEN.c.quantity)
            .where(UNSEEN.c.channel == bindparam("c"), UNSEEN.c.sku.in_(bindparam("skus", expanding=True))))


def expire(session: Session, *, max_age_real_s: float, now: dt.datetime | None = None,
           imported_until: Mapping[str, dt.datetime | None] | None = None) -> list[str]:
    """Let go of units held longer than ``max_age_real_s`` (real seconds;
    :data:`MAX_AGE_S` converted by the caller's clock) with no order to
    explain them — but only once the channel's order import has brought every
    order placed before they were seen (``imported_until``: channel → real
    time, None or missing: not known, so they stay held). An import running
    behind (a quota wait at peak, a paused channel) has not proven them
    unsold. Returns their SKUs (to mark dirty)."""
    at = now_or(now)
    old = session.execute(select(UNSEEN.c.id, UNSEEN.c.channel, UNSEEN.c.sku, UNSEEN.c.quantity,
                                 UNSEEN.c.first_seen_at)
                          .where(UNSEEN.c.first_seen_at < at - dt.timedelta(seconds=max_age_real_s))).all()
    if imported_until is not None:
        old = [r for r in old if (until := imported_until.get(r.channel)) is not None
               and _aware(r.first_seen_at) <= until]
    if not old:
        return []
    session.execute(delete(UNSEEN).where(UNSEEN.c.id.in_([r.id for r in old])))
    insert_events(session, [event_row(
        operation="stock.unseen_sale", outcome="partial", at=at, channel=r.channel, entity_type="sku",
        entity=r.sku, code="XD-INV-007",
        message=f"{r.quantity} unit(s) held since {r.channel} showed fewer than pushed; no order explained "
                f"them in time, so they are released and the SKU pushed again",
        details={"units": r.quantity}) for r in old])
    return sorted({r.sku for r in old})
