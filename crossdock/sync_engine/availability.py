"""What a SKU has available to sell, read in one place.

    available to sell = Σ on hand − Σ reserved − units held for unseen sales − safety stock
                        (never below 0)

The reservations (:mod:`crossdock.sync_engine.inventory`) and the dirty marks
(:mod:`crossdock.sync_engine.dirty`) both need this number; neither owns it,
so both import it from here and not from each other. The units held for
sales a channel made that its order import has not brought yet are written
by :mod:`crossdock.sync_engine.unseen`; this module only reads them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crossdock.mapping.inventory_rules import available_to_sell
from crossdock.sync_engine import skumap
from crossdock.sync_engine._sql import chunks, in_param, list_kind, list_param, lookup_chunk
from crossdock.sync_engine._tables import PRODUCTS, STOCK
from crossdock.sync_engine.unseen import UnseenSale

UNSEEN = UnseenSale.__table__

__all__ = ["availability_snapshot", "available", "unseen_held"]


def unseen_held(session: Session, skus: Iterable[str]) -> dict[str, int]:
    """SKU → units held for unseen sales (all channels); SKUs holding none are left out."""
    out: dict[str, int] = {}
    kind = list_kind(session)
    for part in chunks(sorted(set(skus)), lookup_chunk(session)):
        out.update((sku, int(q)) for sku, q in session.execute(_statements(kind)[0],
                                                                {"p_skus": list_param(kind, part)}))
    return out


@functools.cache
def _statements(kind: str) -> tuple[Any, Any, Any]:
    """(units held for unseen sales, each product's safety stock with its stock totals, safety stock)
    of a list of SKUs bound as ``p_skus``: built once per way of binding a list (every push run reads
    them, and building them cost more CPU than the database took to answer)."""
    return (select(UNSEEN.c.sku, func.sum(UNSEEN.c.quantity)).where(in_param(kind, UNSEEN.c.sku, "p_skus"))
            .group_by(UNSEEN.c.sku),
            select(PRODUCTS.c.sku, PRODUCTS.c.safety_stock, func.sum(STOCK.c.on_hand), func.sum(STOCK.c.reserved))
            .select_from(PRODUCTS.outerjoin(STOCK, STOCK.c.sku == PRODUCTS.c.sku))
            .where(in_param(kind, PRODUCTS.c.sku, "p_skus")).group_by(PRODUCTS.c.sku, PRODUCTS.c.safety_stock),
            select(PRODUCTS.c.sku, PRODUCTS.c.safety_stock).where(in_param(kind, PRODUCTS.c.sku, "p_skus")))


def availability_snapshot(session: Session, skus: Iterable[str]) -> dict[str, int]:
    """SKU → available to sell across warehouses (0 for unknown SKUs), less
    the units a channel has sold that its order import has not brought yet.
    A bundle (:mod:`crossdock.sync_engine.skumap`) has no stock of its own: it
    may sell as many as its scarcest component makes, ``min(⌊component
    available / units per bundle⌋)``, less its own safety stock; a bundle's
    unseen sales are its components' (in their units)."""
    wanted = sorted(set(skus))
    kits = skumap.components_of(session, wanted) if wanted and skumap.any_bundles(session) else {}
    if not kits:
        return _plain_snapshot(session, wanted)
    parts = {c for comps in kits.values() for c in comps}
    out = _plain_snapshot(session, sorted((set(wanted) - set(kits)) | parts))
    own = _plain_snapshot(session, sorted(kits), stock=False)       # its safety stock, as 0 − …
    for bundle, comps in kits.items():
        made = min(out.get(c, 0) // q for c, q in comps.items())
        out[bundle] = max(0, made + own[bundle])
    return {sku: out[sku] for sku in wanted}


def _plain_snapshot(session: Session, wanted: list[str], *, stock: bool = True) -> dict[str, int]:
    """:func:`availability_snapshot` of SKUs with stock of their own; ``stock=False``: only
    their safety stock, negative (bundles)."""
    out = {sku: 0 for sku in wanted}
    in_bundles = _unseen_in_bundles(session, wanted) if stock else {}
    kind = list_kind(session)
    _, with_totals, safety_of = _statements(kind)
    for part in chunks(wanted, lookup_chunk(session)):
        bound = {"p_skus": list_param(kind, part)}
        if not stock:
            out.update((sku, -(safety or 0)) for sku, safety in session.execute(safety_of, bound))
            continue
        unseen = unseen_held(session, part)
        for sku, safety, on_hand, reserved in session.execute(with_totals, bound):
            held = unseen.get(sku, 0) + in_bundles.get(sku, 0)
            out[sku] = available_to_sell(int(on_hand or 0), int(reserved or 0) + held, safety or 0)
    return out


def _unseen_in_bundles(session: Session, skus: list[str]) -> dict[str, int]:
    """Component SKU → its units in bundles a channel sold that its order import has not brought yet."""
    if not skus or not skumap.any_bundles(session):
        return {}
    containing = skumap.bundles_containing(session, skus)
    if not containing:
        return {}
    bundles = sorted({b for bs in containing.values() for b in bs})
    sold = unseen_held(session, bundles)
    if not sold:
        return {}
    recipes = skumap.components_of(session, sold)
    out: dict[str, int] = {}
    for b, n in sold.items():
        for c, q in recipes.get(b, {}).items():
            out[c] = out.get(c, 0) + q * n
    return out


def available(session: Session, sku: str) -> int:
    return availability_snapshot(session, [sku])[sku]
