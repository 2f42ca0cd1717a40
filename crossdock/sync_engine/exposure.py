"""The oversell guard on the database: what each channel may still sell of a
SKU, and the quantity to push to one channel so that, together, the SKU's
channels never sell more than is available (:mod:`crossdock.mapping.allocation`
holds the arithmetic; docs/overselling.md the trade-off).

Each channel listing's ``exposure_qty`` is kept by
:mod:`crossdock.sync_engine.shown`. A push raises it before the call
(:func:`crossdock.sync_engine.shown.expose`, in the fence's transaction) and a
confirmed push, a read back or the channel's own sales lower it. The decision
to raise one channel reads the others' exposures under a lock on the SKU's
product row (PostgreSQL; SQLite writes one transaction at a time), so two
channels' pushes cannot both take the same free units.

``[sync] oversell_guard = false`` turns the sharing off: every channel lists
what its rule gives on the whole availability (exposures are still kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from crossdock.config import Config
from crossdock.mapping.allocation import fair_shares, guarded_quantity
from crossdock.mapping.inventory_rules import ChannelStockRule, listed_quantity, stock_rule_from_config
from crossdock.sync_engine import bundles
from crossdock.sync_engine._sql import chunks, is_postgres
from crossdock.sync_engine._tables import LISTINGS, PRODUCTS
from crossdock.sync_engine.dirty import INACTIVE_LISTING_STATUSES

__all__ = ["Decision", "Exposure", "StockRules", "decide", "guard_on", "lock_skus", "read_exposures",
           "stock_rules", "targets", "worth_raising"]

#: channel → its stock rule (None: the default, all of it)
StockRules = Mapping[str, ChannelStockRule | None]


@dataclass(frozen=True, slots=True)
class Exposure:
    """One active listing: the most its channel may still sell, and what it
    is believed to show (None: unknown, a push is in flight or in doubt)."""

    channel: str
    exposure: int
    shown: int | None
    held: int = 0

    @property
    def total(self) -> int:
        """All the channel may sell: exposed, and held for sales not seen yet."""
        return self.exposure + self.held


def guard_on(cfg: Config) -> bool:
    return bool(cfg.sync.get("oversell_guard", True))


def stock_rules(cfg: Config) -> dict[str, ChannelStockRule | None]:
    """Every configured channel's stock rule."""
    return {name: stock_rule_from_config(ch.stock, where=f"channels.{name}.stock") if ch.stock else None
            for name, ch in cfg.channels.items()}


_EXPOSURES = (select(LISTINGS.c.sku, LISTINGS.c.channel, LISTINGS.c.exposure_qty, LISTINGS.c.last_pushed_qty,
                     LISTINGS.c.held_qty)
              .where(LISTINGS.c.sku.in_(bindparam("p_skus", expanding=True)),
                     LISTINGS.c.status.not_in(INACTIVE_LISTING_STATUSES)))


def read_exposures(session: Session, skus: Iterable[str]) -> dict[str, dict[str, Exposure]]:
    """SKU → channel → :class:`Exposure`, for the listings that can sell
    (ended, draft or rejected ones cannot). A listing never pushed nor read
    exposes nothing yet."""
    out: dict[str, dict[str, Exposure]] = {}
    for part in chunks(sorted(set(skus))):
        for r in session.execute(_EXPOSURES, {"p_skus": part}):
            exposure = r.exposure_qty if r.exposure_qty is not None else (r.last_pushed_qty or 0)
            out.setdefault(r.sku, {})[r.channel] = Exposure(r.channel, max(0, int(exposure)), r.last_pushed_qty,
                                                            max(0, int(r.held_qty or 0)))
    return out


def lock_skus(session: Session, skus: Iterable[str]) -> None:
    """Serialise decisions about these SKUs' exposures (PostgreSQL: their
    product rows, locked in SKU order so two runs cannot deadlock; a bundle's
    with its components', :func:`crossdock.sync_engine.bundles.lock_set`)."""
    if not is_postgres(session):
        return
    for part in chunks(sorted(bundles.lock_set(session, skus))):
        session.execute(select(PRODUCTS.c.sku).where(PRODUCTS.c.sku.in_(part))
                        .order_by(PRODUCTS.c.sku).with_for_update())


def _shares(available: int, listings: Mapping[str, Exposure], rules: StockRules) -> dict[str, int]:
    desired = {ch: listed_quantity(available, rules.get(ch)) for ch in listings}
    return fair_shares(available, desired, {ch: e.exposure for ch, e in listings.items()})


@dataclass(frozen=True, slots=True)
class Decision:
    """What one channel should show of one SKU now (``quantity``), and the
    rise it waits to make (``rise``) until a call goes to the channel anyway."""

    quantity: int
    rise: int | None = None


def worth_raising(shown: int, share: int) -> bool:
    """A rise is worth a call of its own when the channel shows nothing, or
    less than a quarter of its share. Otherwise it waits: for a call that goes
    to the channel anyway with room for it (a batch), or for the channel's own
    sales to bring it down to where it is worth one — it still sells meanwhile.
    After a channel's own sale its share rounds back up a unit or two: pushing
    that alone is a call the platform did not need (issue 13)."""
    return shown == 0 or 4 * shown < share


def decide(session: Session, channel: str, available: Mapping[str, int], *, rules: StockRules,
           guard: bool, shown: Mapping[str, int | None] | None = None) -> dict[str, Decision]:
    """SKU → :class:`Decision` for ``channel``, for every SKU of ``available``
    (SKU → units available to sell). ``shown``: what the channel is believed
    to show, where the caller knows better than the database (a push run
    forgets its SKUs' beliefs while its calls are out)."""
    avail = {sku: max(0, int(q)) for sku, q in available.items()}
    rule = rules.get(channel)
    if not guard:
        return {sku: Decision(listed_quantity(q, rule)) for sku, q in avail.items()}
    # bundles and their components share the components' units: each decides within what the
    # others may sell, and shares a pool of its own (crossdock.sync_engine.bundles)
    avail, pools = bundles.for_decision(session, avail)
    exposures = read_exposures(session, avail)
    out: dict[str, Decision] = {}
    for sku, q in avail.items():
        listings = exposures.get(sku, {})
        mine = listings.get(channel)
        if mine is None:                       # not listed (or not selling) here: nothing to share
            out[sku] = Decision(listed_quantity(q, rule))
            continue
        others = sum(e.total for ch, e in listings.items() if ch != channel)
        # the share comes from the pool alone (what is available, split by listing counts), the room
        # caps what is pushed: a share worked out from the room would move with the other SKUs'
        # exposures — a component's units held after its push until the import proves them unsold
        # would lower its bundles' shares, and no mark follows when they are released
        share = _shares(pools.get(sku, q), listings, rules)[channel]
        believed = shown.get(sku, mine.shown) if shown is not None else mine.shown
        qty = guarded_quantity(share, believed, exposed=mine.exposure, held=mine.held, others=others, available=q)
        if believed is not None and qty > believed and not worth_raising(believed, share):
            out[sku] = Decision(believed, rise=qty)
        else:
            out[sku] = Decision(qty)
    return out


def targets(session: Session, channel: str, available: Mapping[str, int], *, rules: StockRules,
            guard: bool, shown: Mapping[str, int | None] | None = None, rises: bool = False) -> dict[str, int]:
    """SKU → the quantity ``channel`` should show now (:func:`decide`);
    ``rises``: with the rises that wait, for SKUs a call carries anyway."""
    return {sku: d.rise if rises and d.rise is not None else d.quantity
            for sku, d in decide(session, channel, available, rules=rules, guard=guard, shown=shown).items()}
