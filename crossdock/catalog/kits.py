"""SKU aliases and bundles in the catalogue: ``crossdock catalog alias …``,
``crossdock catalog bundle …`` and the catalogue file's ``aliases`` and
``bundle`` columns.

An **alias** is a SKU a channel lists a catalogue SKU under (``alias add
LISTING_SKU SKU [--channel C]``; without a channel it holds on every
channel). Orders, reservations, pushes and ``listings pull`` resolve it
(:mod:`crossdock.sync_engine.skumap`). Refused with XD-INV-004 (unknown SKU)
or XD-INV-014 (the alias is a catalogue SKU, names another SKU already, or
the SKU has another alias on that channel).

A **bundle** (kit) is a catalogue SKU made of components (``bundle set
BUNDLE COMPONENT:QTY …``). It has no stock of its own: what it may sell is
worked out from its components (:mod:`crossdock.sync_engine.bundles`).
Refused with XD-INV-015: an unknown component, a quantity not above 0, a
component that is the bundle or a bundle itself (bundles do not nest, so no
cycle can form), a bundle that is a component elsewhere, or a bundle SKU
with stock of its own.

Every change marks the SKUs it concerns dirty, so the channels get the
quantities (and the SKUs) that follow from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from crossdock.db.base import utcnow
from crossdock.db.models import Product, StockLevel
from crossdock.errors import InventoryError
from crossdock.sync_engine import dirty
from crossdock.sync_engine.skumap import ALIASES, ALL_CHANNELS, BUNDLES

PRODUCTS = Product.__table__
STOCK = StockLevel.__table__
ALIAS_REFUSED = "XD-INV-014"
BUNDLE_REFUSED = "XD-INV-015"
UNKNOWN_SKU = "XD-INV-004"
CHANNEL_MARK = "@"            # in the catalogue file: LISTING_SKU@CHANNEL
ITEM_SEPARATOR = "|"

__all__ = ["add_alias", "aliases_named", "aliases_text", "bundle_text", "list_aliases", "parse_aliases", "parse_bundle",
           "bundle_components", "parse_components", "kit_columns", "remove_alias", "remove_bundle", "set_bundle", "show_bundle"]


def _known(session: Session, skus: Iterable[str]) -> set[str]:
    wanted = sorted(set(skus))
    return set(session.scalars(select(PRODUCTS.c.sku).where(PRODUCTS.c.sku.in_(wanted)))) if wanted else set()


# ------------------------------------------------------------------ aliases
def add_alias(session: Session, listing_sku: str, sku: str, *, channel: str | None = None,
              mark: bool = True) -> dict[str, Any]:
    """``listing_sku`` stands for ``sku`` on ``channel`` (None: every channel). Adding
    the same alias again changes nothing."""
    listing_sku, sku, scope = listing_sku.strip(), sku.strip(), (channel or ALL_CHANNELS)
    where = f"alias {listing_sku}" + (f" on {channel}" if channel else "")
    if not listing_sku:
        raise InventoryError(ALIAS_REFUSED, entity=where, detail="the alias is empty")
    if sku not in _known(session, [sku]):
        raise InventoryError(UNKNOWN_SKU, entity=f"sku {sku}", detail="not in the catalogue (crossdock catalog import)")
    if listing_sku == sku:
        raise InventoryError(ALIAS_REFUSED, entity=where, detail="an alias must differ from the SKU it stands for")
    if listing_sku in _known(session, [listing_sku]):
        raise InventoryError(ALIAS_REFUSED, entity=where,
                             detail=f"{listing_sku} is a catalogue SKU itself: an order or listing under it "
                                    "would be ambiguous")
    c = ALIASES.c
    current = session.execute(select(c.sku).where(c.channel == scope, c.listing_sku == listing_sku)).scalar()
    if current == sku:
        return {"alias": listing_sku, "sku": sku, "channel": channel, "added": False}
    if current is not None:
        raise InventoryError(ALIAS_REFUSED, entity=where, detail=f"already the alias of {current}")
    other = session.execute(select(c.listing_sku).where(c.channel == scope, c.sku == sku)).scalar()
    if other is not None:
        raise InventoryError(ALIAS_REFUSED, entity=where,
                             detail=f"{sku} already has the alias {other} there (remove it first: a channel "
                                    "lists a catalogue SKU once)")
    session.execute(insert(ALIASES).values(channel=scope, listing_sku=listing_sku, sku=sku, created_at=utcnow()))
    if mark:
        dirty.mark_dirty(session, [sku])
    return {"alias": listing_sku, "sku": sku, "channel": channel, "added": True}


def remove_alias(session: Session, listing_sku: str, *, channel: str | None = None) -> dict[str, Any]:
    scope = channel or ALL_CHANNELS
    c = ALIASES.c
    sku = session.execute(select(c.sku).where(c.channel == scope, c.listing_sku == listing_sku)).scalar()
    if sku is None:
        raise InventoryError(ALIAS_REFUSED, entity=f"alias {listing_sku}" + (f" on {channel}" if channel else ""),
                             detail="no such alias (crossdock catalog alias list)")
    session.execute(delete(ALIASES).where(c.channel == scope, c.listing_sku == listing_sku))
    dirty.mark_dirty(session, [sku])
    return {"alias": listing_sku, "sku": sku, "channel": channel, "removed": True}


def list_aliases(session: Session, *, sku: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
    c = ALIASES.c
    stmt = select(c.channel, c.listing_sku, c.sku).order_by(c.sku, c.channel, c.listing_sku)
    if sku:
        stmt = stmt.where(c.sku == sku)
    if channel:
        stmt = stmt.where(c.channel.in_((ALL_CHANNELS, channel)))
    return [{"alias": r.listing_sku, "sku": r.sku, "channel": r.channel or None} for r in session.execute(stmt)]


def aliases_named(session: Session, skus: Sequence[str], where: Mapping[int, str]) -> list[tuple[int, str]]:
    """(position, SKU) of those of ``skus`` that are an alias already (``where``: position → SKU)."""
    taken = set(session.scalars(select(ALIASES.c.listing_sku).where(ALIASES.c.listing_sku.in_(list(skus)))))
    return [(at, sku) for at, sku in where.items() if sku in taken]


def parse_aliases(value: Any) -> list[tuple[str | None, str]]:
    """The file's ``aliases`` column: ``LEGACY-1|LEGACY-2@ebay-us`` (JSON: a list of such
    strings) → [(channel or None, listing SKU)]. Raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    items = value.split(ITEM_SEPARATOR) if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError(f"must be aliases separated by '|' or a list, got {type(value).__name__}")
    out: list[tuple[str | None, str]] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"alias {item!r} is not text")
        if not item.strip():
            continue
        alias, _, channel = item.strip().rpartition(CHANNEL_MARK) if CHANNEL_MARK in item else (item.strip(), "", "")
        if not alias.strip() or (CHANNEL_MARK in item and not channel.strip()):
            raise ValueError(f"alias {item!r}: ALIAS or ALIAS@CHANNEL")
        out.append((channel.strip() or None, alias.strip()))
    return out


def aliases_text(rows: Sequence[Mapping[str, Any]]) -> str:
    return ITEM_SEPARATOR.join(r["alias"] + (f"{CHANNEL_MARK}{r['channel']}" if r["channel"] else "")
                               for r in sorted(rows, key=lambda r: (r["channel"] or "", r["alias"])))


def replace_aliases(session: Session, sku: str, aliases: Sequence[tuple[str | None, str]]) -> None:
    """The catalogue file's aliases of ``sku``: exactly these from now on."""
    session.execute(delete(ALIASES).where(ALIASES.c.sku == sku))
    for channel, alias in aliases:
        add_alias(session, alias, sku, channel=channel, mark=False)


# ------------------------------------------------------------------ bundles
def parse_components(items: Iterable[str]) -> dict[str, int]:
    """``COMPONENT:QTY`` arguments → component → quantity (XD-INV-015 when malformed)."""
    out: dict[str, int] = {}
    for item in items:
        comp, sep, qty = str(item).strip().rpartition(":")
        if not sep or not comp.strip():
            raise InventoryError(BUNDLE_REFUSED, entity=f"component {item}", detail="give components as SKU:QTY")
        try:
            n = int(qty.strip())
        except ValueError:
            raise InventoryError(BUNDLE_REFUSED, entity=f"component {item}",
                                 detail=f"quantity {qty!r} is not a whole number") from None
        if comp.strip() in out:
            raise InventoryError(BUNDLE_REFUSED, entity=f"component {comp.strip()}", detail="given twice")
        out[comp.strip()] = n
    return out


def parse_bundle(value: Any) -> dict[str, int] | None:
    """The file's ``bundle`` column: ``COMP-A:2|COMP-B:1`` (JSON: that text or an object
    {component: qty}); empty → None (not a bundle). Raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Mapping):
        items = [f"{k}:{v}" for k, v in value.items()]
    elif isinstance(value, str):
        items = [i for i in value.split(ITEM_SEPARATOR) if i.strip()]
    else:
        raise ValueError(f"must be COMPONENT:QTY separated by '|', got {type(value).__name__}")
    try:
        return parse_components(items)
    except InventoryError as exc:
        raise ValueError(f"{exc.entity}: {exc.detail}") from None


def bundle_text(components: Mapping[str, int] | None) -> str:
    return ITEM_SEPARATOR.join(f"{c}:{q}" for c, q in sorted((components or {}).items()))


def bundle_components(session: Session, bundle: str) -> dict[str, int]:
    return {c: int(q) for c, q in session.execute(
        select(BUNDLES.c.component, BUNDLES.c.quantity).where(BUNDLES.c.bundle == bundle))}


def set_bundle(session: Session, bundle: str, components: Mapping[str, int], *, mark: bool = True) -> dict[str, Any]:
    """``bundle`` is made of ``components`` (component → units per bundle) from now on."""
    bundle = bundle.strip()
    where = f"bundle {bundle}"
    if bundle not in _known(session, [bundle]):
        raise InventoryError(UNKNOWN_SKU, entity=f"sku {bundle}", detail="not in the catalogue (crossdock catalog import)")
    if not components:
        raise InventoryError(BUNDLE_REFUSED, entity=where, detail="a bundle needs at least one component")
    bad = {c: q for c, q in components.items() if isinstance(q, bool) or q <= 0}
    if bad:
        raise InventoryError(BUNDLE_REFUSED, entity=where,
                             detail="quantities must be whole numbers above 0: "
                                    + ", ".join(f"{c}:{q}" for c, q in sorted(bad.items())))
    if bundle in components:
        raise InventoryError(BUNDLE_REFUSED, entity=where, detail="a bundle cannot contain itself (a cycle)")
    unknown = sorted(set(components) - _known(session, components))
    if unknown:
        raise InventoryError(BUNDLE_REFUSED, entity=where, detail="unknown component(s): " + ", ".join(unknown))
    nested = sorted(set(session.scalars(select(BUNDLES.c.bundle).where(BUNDLES.c.bundle.in_(sorted(components))))))
    if nested:
        cycle = [c for c in nested if bundle in bundle_components(session, c)]
        raise InventoryError(BUNDLE_REFUSED, entity=where,
                             detail=("a cycle: " if cycle else "bundles do not nest: ")
                                    + ", ".join(nested) + " is a bundle itself")
    inside = sorted(set(session.scalars(select(BUNDLES.c.bundle).where(BUNDLES.c.component == bundle))))
    if inside:
        raise InventoryError(BUNDLE_REFUSED, entity=where,
                             detail=f"{bundle} is a component of {', '.join(inside)}: bundles do not nest")
    on_hand, reserved = session.execute(select(func.coalesce(func.sum(STOCK.c.on_hand), 0),
                                               func.coalesce(func.sum(STOCK.c.reserved), 0))
                                        .where(STOCK.c.sku == bundle)).one()
    if on_hand or reserved:
        raise InventoryError(BUNDLE_REFUSED, entity=where,
                             detail=f"{bundle} has stock of its own ({on_hand} on hand, {reserved} reserved): a "
                                    "bundle's stock is its components'; adjust it to 0 first")
    before = bundle_components(session, bundle)
    if before == dict(components):
        return {"bundle": bundle, "components": dict(sorted(components.items())), "changed": False}
    session.execute(delete(BUNDLES).where(BUNDLES.c.bundle == bundle))
    session.execute(insert(BUNDLES), [{"bundle": bundle, "component": c, "quantity": q}
                                      for c, q in sorted(components.items())])
    if mark:
        dirty.mark_dirty(session, [bundle])
    return {"bundle": bundle, "components": dict(sorted(components.items())), "changed": True}


def remove_bundle(session: Session, bundle: str) -> dict[str, Any]:
    before = bundle_components(session, bundle)
    if not before:
        raise InventoryError(BUNDLE_REFUSED, entity=f"bundle {bundle}", detail="not a bundle")
    session.execute(delete(BUNDLES).where(BUNDLES.c.bundle == bundle))
    dirty.mark_dirty(session, [bundle])
    return {"bundle": bundle, "components": before, "removed": True}


def show_bundle(session: Session, bundle: str) -> dict[str, Any]:
    """A bundle's components with what each has available, and what the bundle may sell."""
    from crossdock.sync_engine.availability import availability_snapshot

    comps = bundle_components(session, bundle)
    if not comps:
        raise InventoryError(BUNDLE_REFUSED, entity=f"bundle {bundle}", detail="not a bundle")
    avail = availability_snapshot(session, [bundle, *comps])
    return {"bundle": bundle, "available": avail[bundle],
            "components": [{"sku": c, "quantity": q, "available": avail[c], "bundles": avail[c] // q}
                           for c, q in sorted(comps.items())]}


def kit_columns(session: Session, skus: Sequence[str]) -> dict[str, dict[str, Any]]:
    """SKU → its file columns: ``aliases`` (ALIAS or ALIAS@CHANNEL, sorted) and
    ``bundle`` (component → quantity), for those of ``skus`` that have any."""
    out: dict[str, dict[str, Any]] = {}
    wanted = sorted(set(skus))
    if not wanted:
        return out
    c = ALIASES.c
    for r in session.execute(select(c.channel, c.listing_sku, c.sku).where(c.sku.in_(wanted))
                             .order_by(c.sku, c.channel, c.listing_sku)):
        out.setdefault(r.sku, {}).setdefault("aliases", []).append(
            r.listing_sku + (f"{CHANNEL_MARK}{r.channel}" if r.channel else ""))
    for b, comp, q in session.execute(select(BUNDLES.c.bundle, BUNDLES.c.component, BUNDLES.c.quantity)
                                      .where(BUNDLES.c.bundle.in_(wanted))):
        out.setdefault(b, {}).setdefault("bundle", {})[comp] = int(q)
    return out
