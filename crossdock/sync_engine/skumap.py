"""SKU aliases and bundles as the engine reads them.

**Aliases** (``sku_aliases``): a channel may list a catalogue SKU under
another SKU (a legacy eBay SKU, an Amazon MSKU with a suffix). An alias holds
on one channel, or on every channel (channel ``''``); one for the channel
wins over one for every channel. Inside crossdock everything is keyed by the
catalogue SKU (listings, reservations, dirty marks, exposures); the channel's
SKU is used only at the edge:

- :func:`resolve_orders`: an order's lines read from a channel name the
  catalogue SKU before they are stored, so they reserve it;
- :class:`ChannelSkus`: the platform calls of a channel (stock and price
  pushes, listings read back) go out under the channel's SKU, and their
  answers come back under the catalogue's.

**Bundles** (``bundle_components``): read by
:mod:`crossdock.sync_engine.bundles`; this module only has the lookups both
need.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from crossdock.db.models import BundleComponent, PlatformStockRow, SkuAlias
from crossdock.models import Order
from crossdock.sync_engine._sql import chunks

ALIASES = SkuAlias.__table__
BUNDLES = BundleComponent.__table__
PLATFORM_STOCK = PlatformStockRow.__table__
ALL_CHANNELS = ""

__all__ = ["ALIASES", "ALL_CHANNELS", "BUNDLES", "ChannelSkus", "aliases_of", "any_bundles", "bundles_containing",
           "components_of", "resolve", "resolve_orders"]

T = TypeVar("T")


# Built once: every stored window of orders reads its channel's aliases.
_ALIASES_OF = select(ALIASES.c.channel, ALIASES.c.listing_sku, ALIASES.c.sku).where(
    ALIASES.c.channel.in_((ALL_CHANNELS, bindparam("channel"))))


# Built once as well: every push run that calls its platform reads the names
_PLATFORM_HELD = select(PLATFORM_STOCK.c.platform_sku).where(PLATFORM_STOCK.c.channel == bindparam("channel"))


def aliases_of(session: Session, channel: str) -> dict[str, str]:
    """Listing SKU → catalogue SKU on ``channel`` (its own aliases over those for every channel)."""
    rows = session.execute(_ALIASES_OF, {"channel": channel}).all()
    out = {r.listing_sku: r.sku for r in rows if r.channel == ALL_CHANNELS}
    out.update({r.listing_sku: r.sku for r in rows if r.channel == channel})
    return out


def resolve(session: Session, channel: str, skus: Iterable[str]) -> dict[str, str]:
    """SKU as the channel gives it → catalogue SKU (unchanged where no alias)."""
    names = aliases_of(session, channel)
    return {s: names.get(s, s) for s in skus}


def resolve_orders(session: Session, channel: str, orders: Sequence[Order], *,
                   names: dict[str, str] | None = None) -> list[Order]:
    """``orders`` with every line's SKU resolved through the channel's aliases
    (new objects where a line changes; the others as they are). ``names``: the
    channel's aliases (:func:`aliases_of`) the caller read already in this transaction."""
    if names is None:
        names = aliases_of(session, channel) if orders else {}
    if not names:
        return list(orders)
    out: list[Order] = []
    for o in orders:
        if not any(line.sku in names for line in o.lines):
            out.append(o)
            continue
        lines = [dataclasses.replace(line, sku=names[line.sku]) if line.sku in names else line for line in o.lines]
        out.append(dataclasses.replace(o, lines=lines))
    return out


class ChannelSkus:
    """One channel's catalogue SKU → the SKU it lists it under (for the
    platform calls): ``out`` names an item for the channel, ``back`` names its
    answer for crossdock."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self._out = dict(names)                       # catalogue SKU → listing SKU
        self._back = {v: k for k, v in self._out.items()}

    @classmethod
    def of(cls, session: Session, channel: str) -> "ChannelSkus":
        """Each catalogue SKU's listing SKU on ``channel``: its channel's alias,
        else one for every channel (when a SKU has several, the first by name);
        never a SKU the channel's platform holds stock of (``platform_stock``:
        an FBA offer, whose quantity is the platform's)."""
        rows = session.execute(_ALIASES_OF, {"channel": channel}).all()
        if rows:
            # a listing SKU the platform holds stock of and fulfils itself (Amazon FBA) is never a push
            # target: its alias resolves what is read from it, and calls go to the SKU's own listing
            held = set(session.scalars(_PLATFORM_HELD, {"channel": channel}))
            rows = [r for r in rows if r.listing_sku not in held]
        by_sku: dict[str, str] = {}
        # the channel's own first, then those for every channel; by name within each
        for r in sorted(rows, key=lambda r: (r.channel != channel, r.listing_sku)):
            by_sku.setdefault(r.sku, r.listing_sku)
        return cls(by_sku)

    def __bool__(self) -> bool:
        return bool(self._out)

    def out(self, sku: Any) -> Any:
        return self._out.get(sku, sku)

    def back(self, sku: Any) -> Any:
        return self._back.get(sku, sku)

    def items_out(self, items: Sequence[T]) -> list[T]:
        """Updates (anything with a ``sku``) named as the channel names them."""
        return [_renamed(i, self.out(_sku(i))) for i in items]

    def items_back(self, items: Iterable[T]) -> list[T]:
        """Answers (results, offers: anything with a ``sku``) named as crossdock names them."""
        return [_renamed(i, self.back(_sku(i))) for i in items]

    def call(self, fn: Callable[[Sequence[T]], Sequence[Any]]) -> Callable[[Sequence[T]], list[Any]]:
        """``fn`` (a connector's push) called under the channel's SKUs, its answers under crossdock's."""
        if not self:
            return lambda items: list(fn(items))
        return lambda items: self.items_back(fn(self.items_out(items)))

    def read(self, fn: Callable[[Any], Sequence[Any]]) -> Callable[[Sequence[str] | None], list[Any]]:
        """``fn`` (a connector's ``read_listings``) asked for the channel's SKUs, answering under crossdock's."""
        if not self:
            return lambda skus: list(fn(skus))
        return lambda skus: self.items_back(fn(None if skus is None else [self.out(s) for s in skus]))


def _sku(item: Any) -> Any:
    return getattr(item, "sku", None)


def _renamed(item: T, sku: Any) -> T:
    """``item`` (a dataclass with a ``sku``) under ``sku``: itself when that is its SKU already."""
    if not sku or sku == _sku(item):
        return item
    return cast(T, dataclasses.replace(cast(Any, item), sku=sku))


# The bundle lookups run in every push run's availability and decision: built once.
_ANY_BUNDLE = select(BUNDLES.c.bundle).limit(1)
_RECIPES = (select(BUNDLES.c.bundle, BUNDLES.c.component, BUNDLES.c.quantity)
            .where(BUNDLES.c.bundle.in_(bindparam("p_skus", expanding=True))))
_CONTAINING = (select(BUNDLES.c.bundle, BUNDLES.c.component)
               .where(BUNDLES.c.component.in_(bindparam("p_skus", expanding=True))))


def any_bundles(session: Session) -> bool:
    """Whether the catalogue has a bundle at all (most have none: one cheap query spares the rest).
    A yes is remembered for the session (a push run asks in each of its lookups): a yes gone stale
    only costs the lookups, which then find no bundle — a no is never remembered."""
    if session.info.get(_HAS_BUNDLES):
        return True
    found = session.execute(_ANY_BUNDLE).first() is not None
    if found:
        session.info[_HAS_BUNDLES] = True
    return found


_HAS_BUNDLES = "crossdock.skumap.any_bundles"


def components_of(session: Session, bundles: Iterable[str]) -> dict[str, dict[str, int]]:
    """Bundle SKU → component → units per bundle, for those of ``bundles`` that are bundles."""
    out: dict[str, dict[str, int]] = {}
    for part in chunks(sorted(set(bundles))):
        for b, c, q in session.execute(_RECIPES, {"p_skus": part}):
            out.setdefault(b, {})[c] = int(q)
    return out


def bundles_containing(session: Session, components: Iterable[str]) -> dict[str, set[str]]:
    """Component SKU → the bundles it is part of, for those of ``components`` in any bundle."""
    out: dict[str, set[str]] = {}
    for part in chunks(sorted(set(components))):
        for b, c in session.execute(_CONTAINING, {"p_skus": part}):
            out.setdefault(c, set()).add(b)
    return out
