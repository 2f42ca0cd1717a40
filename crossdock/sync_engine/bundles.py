"""Bundles and the oversell guard: what a bundle's and its components'
listings may show so that, together, they never sell more of a component
than there is.

A bundle has no stock: its availability is ``min(⌊component available / units
per bundle⌋)`` (:func:`crossdock.sync_engine.availability.availability_snapshot`).
But a unit of a component can be sold as itself on one channel and inside a
bundle on another, so the guard's sum (docs/overselling.md) is kept per
*component*, counting what every bundle listing may sell in its units:

    Σ (exposure + held) of the component's listings
      + Σ over bundles b containing it of  units per b × Σ (exposure + held) of b's listings
    ≤  the component's available to sell

Each decision keeps it by deciding on a *room* that leaves out what the
others may sell (:func:`for_decision`):

- a component's listings: its available less what its bundles' listings may
  sell (in its units);
- a bundle's listings: for each component, what is left after the
  component's own listings and the other bundles containing it, ⌊… / units
  per bundle⌋; the least of these.

The *share* each listing is given (the guard's fair split) comes from a pool
instead, so that a component's listings do not take every unit before a
bundle's listing is pushed: each component's available is split between its
own listings and the listings of the bundles containing it, one part per
listing (a bundle listing's part in bundles, ⌊part / units per bundle⌋; a
bundle's pool is the least over its components). The pools sum to at most
what is available, so shares worked out from nothing all fit; the room keeps
the sum whatever the order the listings are pushed in.

The decisions read the exposures of every SKU involved under a lock on
their product rows (:func:`lock_set`: a bundle's with its components'), so
a bundle's push and a component's push cannot both take the same units.
Any change to a component marks every bundle containing it dirty
(:func:`with_bundles`), in the same mark, so one push plan carries both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from crossdock.sync_engine import skumap
from crossdock.sync_engine._sql import chunks
from crossdock.sync_engine._tables import LISTINGS

__all__ = ["for_decision", "lock_set", "with_bundles", "with_components"]

_INACTIVE = ("ended", "deleted", "removed", "inactive", "draft", "rejected")    # dirty.INACTIVE_LISTING_STATUSES


def with_bundles(session: Session, skus: Iterable[str]) -> set[str]:
    """``skus`` and every bundle containing one of them (their availability moves with them)."""
    wanted = set(skus)
    if not wanted or not skumap.any_bundles(session):
        return wanted
    for bundles in skumap.bundles_containing(session, wanted).values():
        wanted |= bundles
    return wanted


def lock_set(session: Session, skus: Iterable[str]) -> set[str]:
    """The SKUs whose product rows a decision about ``skus`` locks: with each bundle's components
    (also: the SKUs whose availability moves with a bundle's unseen sales)."""
    wanted = set(skus)
    if not wanted or not skumap.any_bundles(session):
        return wanted
    for comps in skumap.components_of(session, wanted).values():
        wanted |= set(comps)
    return wanted


with_components = lock_set


# read in every push run's decision where bundles exist: built once
_SOLD_BY = (select(LISTINGS.c.sku, func.count(),
                   func.sum(func.coalesce(LISTINGS.c.exposure_qty, LISTINGS.c.last_pushed_qty, 0)),
                   func.sum(func.coalesce(LISTINGS.c.held_qty, 0)))
            .where(LISTINGS.c.sku.in_(bindparam("p_skus", expanding=True)), LISTINGS.c.status.not_in(_INACTIVE))
            .group_by(LISTINGS.c.sku))


def _sold_by(session: Session, skus: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
    """SKU → what its selling listings may still sell (exposure + held, summed), and how many there are."""
    total: dict[str, int] = {}
    count: dict[str, int] = {}
    for part in chunks(sorted(set(skus))):
        for sku, n, t, h in session.execute(_SOLD_BY, {"p_skus": part}):
            count[sku] = int(n)
            total[sku] = max(0, int(t or 0)) + max(0, int(h or 0))
    return total, count


def for_decision(session: Session, available: Mapping[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """(room, pools) for the SKUs of ``available`` (SKU → available to sell, as
    :func:`~crossdock.sync_engine.availability.availability_snapshot` gives it):
    the availability each decision keeps within, and the pool its shares are
    worked out from (see the module doc). SKUs neither bundles nor components
    of one keep their availability for both."""
    avail = {s: max(0, int(q)) for s, q in available.items()}
    if not avail or not skumap.any_bundles(session):
        return avail, dict(avail)
    kits = skumap.components_of(session, avail)                      # bundles among the SKUs
    parts = set(avail) - set(kits)
    containing = skumap.bundles_containing(session, parts | {c for k in kits.values() for c in k})
    if not kits and not containing:
        return avail, dict(avail)
    bundles = set(kits) | {b for bs in containing.values() for b in bs}
    recipes = {**kits, **skumap.components_of(session, bundles - set(kits))}
    components = {c for comps in recipes.values() for c in comps}
    from crossdock.sync_engine.availability import availability_snapshot

    raw = availability_snapshot(session, sorted(components - set(avail)))
    raw.update({c: avail[c] for c in components if c in avail})
    sold, listed = _sold_by(session, components | bundles)
    users: dict[str, list[tuple[str, int]]] = {}                    # component → (bundle, units per bundle)
    for b, comps in recipes.items():
        for c, q in comps.items():
            users.setdefault(c, []).append((b, q))

    def consumers(c: str) -> int:
        return listed.get(c, 0) + sum(listed.get(b, 0) for b, _ in users.get(c, ()))

    room, pools = dict(avail), dict(avail)
    for c in components & set(avail):
        inside = sum(q * sold.get(b, 0) for b, q in users.get(c, ()))
        room[c] = max(0, raw[c] - inside)
        n = consumers(c)
        pools[c] = raw[c] * listed.get(c, 0) // n if n and listed.get(c, 0) < n else raw[c]
    for b in kits:
        fits, parts_of = [], []
        for c, q in recipes[b].items():
            others = sold.get(c, 0) + sum(q2 * sold.get(b2, 0) for b2, q2 in users.get(c, ()) if b2 != b)
            fits.append(max(0, raw[c] - others) // q)
            n = consumers(c)
            parts_of.append((raw[c] * listed.get(b, 0) // n if n else raw[c]) // q)
        room[b] = min([avail[b], *fits])
        pools[b] = min([avail[b], *parts_of])
    return room, pools
