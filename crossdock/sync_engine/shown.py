"""What each channel shows for a listing, as far as crossdock knows: the one writer.

Three columns of ``channel_listings`` hold it:

- ``last_pushed_qty`` — the quantity the channel shows now, as crossdock
  believes (NULL: unknown, e.g. while a push is in flight);
- ``last_pushed_at`` — when that belief was last set from a push or a read
  back (a sale on the platform after it is the platform's own change);
- ``pushed_until`` — when that push's calls had answered (NULL: not a push,
  or the same moment): a sale between the two may have come before the push
  arrived, or after;
- ``listed_qty_seen`` — the quantity last read back from the channel;
- ``exposure_qty`` — the most units the channel may still sell: what it was
  last known to show less its sales since, raised to a push's quantity from
  the moment that push may reach it (:func:`expose`, before the call) until
  the channel has answered. The oversell guard
  (:mod:`crossdock.sync_engine.exposure`) keeps a SKU's exposures summed over
  its channels within what is available. It follows every belief below.

The planner compares its target with that belief (``ListingState.shown_qty``),
:func:`~crossdock.sync_engine.dirty.mark_dirty` reads it to spot a zero, and
:mod:`~crossdock.sync_engine.unseen` compares it with a read back. Every
change to it goes through one of the named functions below, each in the
caller's transaction; ``tests/architecture/test_shown_owner.py`` fails on a
write anywhere else.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Integer, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from crossdock.models import StockUpdate
from crossdock.sync_engine._sql import chunks, dialect, now_or
from crossdock.sync_engine._tables import LISTINGS

__all__ = ["adopt_listed", "expose", "follow_platform_change", "forget", "release_held", "linked", "pulled", "pushed_since", "record_pushed",
           "record_read_back", "restore", "seed"]

_C = LISTINGS.c


def _listing(channel: str, sku: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return _C.channel == channel, _C.sku == sku


def record_pushed(session: Session, channel: str, updates: Iterable[StockUpdate], *,
                  now: dt.datetime | None = None, until: dt.datetime | None = None) -> int:
    """The channel accepted these quantities (call in the transaction that
    acks the push's dirty marks). ``now``: when the push started — a sale
    before it was overwritten by it; ``until``: when its calls had answered —
    a sale after it lowered what was pushed; one between the two may have
    done either (:func:`follow_platform_change`). Returns the listings updated."""
    at = now_or(now)
    params = [{"c": channel, "s": u.sku, "q": u.quantity, "at": at, "until": until} for u in updates]
    if not params:
        return 0
    session.execute(_PUSHED, params)
    return len(params)


# Every push run's statements (record_pushed, expose, forget, restore): built once
_ONE = (_C.channel == bindparam("c"), _C.sku == bindparam("s"))
_PUSHED = update(LISTINGS).where(*_ONE).values(last_pushed_qty=bindparam("q"), last_pushed_at=bindparam("at"),
                                               pushed_until=bindparam("until"), exposure_qty=bindparam("q"))
_BEFORE = func.coalesce(_C.exposure_qty, _C.listed_qty_seen, 0)
_EXPOSE = update(LISTINGS).where(*_ONE).values(held_qty=func.coalesce(_C.held_qty, 0) + _BEFORE,
                                               held_since=bindparam("since"), exposure_qty=bindparam("q"))
_SOME = (_C.channel == bindparam("c"), _C.sku.in_(bindparam("skus", expanding=True)))
_BELIEVED = select(_C.sku, _C.last_pushed_qty).where(*_SOME)
_FORGET = update(LISTINGS).where(*_SOME).values(last_pushed_qty=None)
_RESTORE = update(LISTINGS).where(*_ONE, _C.last_pushed_qty.is_(None)).values(last_pushed_qty=bindparam("q"),
                                                                              exposure_qty=bindparam("q"))


def pushed_since(session: Session, channel: str, skus: Iterable[str], *, since: dt.datetime) -> set[str]:
    """Which of ``skus`` a push has set on the channel at or after ``since``
    (accepted quantities only: a refused push restores the belief, not the time)."""
    out: set[str] = set()
    for part in chunks(sorted(set(skus))):
        out.update(session.scalars(select(_C.sku).where(_C.channel == channel, _C.sku.in_(part),
                                                        _C.last_pushed_qty.is_not(None), _C.last_pushed_at >= since)))
    return out


def expose(session: Session, channel: str, quantities: Mapping[str, int], *, since: dt.datetime) -> None:
    """A push of these quantities may reach the channel from now on (call in
    the transaction that decided to send them; ``since``: when the push
    started, real time). It sets the quantity absolutely: whatever the channel
    sold that crossdock has not seen yet is forgotten by the listing, so what
    it was exposing before is *held* — counted as sold — until the channel's
    order import has passed ``since`` (:func:`release_held`) or the orders
    explaining it arrive (:func:`follow_platform_change`); the pushed
    quantity is exposed from now on."""
    if not quantities:
        return
    # one statement for the whole push (executemany): the run holds the database's write lock meanwhile
    session.execute(_EXPOSE, [{"c": channel, "s": sku, "q": int(qty), "since": since}
                              for sku, qty in sorted(quantities.items())])


def release_held(session: Session, channel: str, *, imported_until: dt.datetime) -> list[str]:
    """The channel's order import has brought every order placed before
    ``imported_until`` (real time): units held by pushes before it are proven
    unsold (their sales would be imported by now). Returns the SKUs released."""
    params = {"c": channel, "until": imported_until}
    skus = sorted(session.scalars(_HELD, params))
    session.execute(_RELEASE, params)
    return skus


# release_held runs on every order import (most of them empty polls): its statements are built once
_HELD_WHERE = (_C.channel == bindparam("c"), _C.held_qty.is_not(None), _C.held_since <= bindparam("until"))
_HELD = select(_C.sku).where(*_HELD_WHERE, _C.held_qty > 0)
_RELEASE = update(LISTINGS).where(*_HELD_WHERE).values(held_qty=None, held_since=None)


def forget(session: Session, channel: str, skus: Iterable[str]) -> dict[str, int | None]:
    """What the channel shows for ``skus`` is unknown from now on (a push is
    about to go out, or a listing was published without a quantity). Returns
    the beliefs before, for :func:`restore`."""
    believed: dict[str, int | None] = {}
    for part in chunks(sorted(set(skus))):
        params = {"c": channel, "skus": part}
        believed.update((sku, qty) for sku, qty in session.execute(_BELIEVED, params))
        session.execute(_FORGET, params)
    return believed


def restore(session: Session, channel: str, believed: Mapping[str, int | None]) -> None:
    """Pushes the platform refused changed nothing: the belief from before
    :func:`forget` stands again (unless another run recorded a newer one)."""
    params = [{"c": channel, "s": sku, "q": qty} for sku, qty in sorted(believed.items()) if qty is not None]
    if params:
        session.execute(_RESTORE, params)


def follow_platform_change(session: Session, channel: str, deltas: Mapping[tuple[str, dt.datetime], int], *,
                           precision: dt.timedelta = dt.timedelta(0)) -> None:
    """The platform changed its own listings: ``(SKU, when, real time)`` →
    units (negative: it sold them, positive: a cancel put them back). Applied
    to what the channel is believed to show (never below 0), but only where
    the change came after the last push had arrived: an absolute push that
    reached the platform after the sale already overwrote the platform's
    decrement.

    When the push arrived is known only to lie between its start
    (``last_pushed_at``) and its calls' answers (``pushed_until``), and the
    platform gives ``when`` only to ``precision`` (real), truncated. A change
    in that span may have come before the push arrived or after it: what the
    channel shows is unknown from then on (NULL), so the next push sets it
    again, and the most it may still sell is the higher of the two — a sale
    leaves the exposure as it is, a cancel raises it."""
    stmts = _FOLLOW["sqlite" if dialect(session) == "sqlite" else "postgresql"]
    params: list[dict[str, Any]] = [
        {"c": channel, "s": sku, "d": d, "happened": happened, "arrived_before": happened + precision}
        for (sku, happened), d in sorted(deltas.items()) if d]
    # a sale from before a push that overwrote the listing: the units it held for it are explained
    # (held_qty only: independent of the belief's statements below, so all in one executemany)
    explained = [p for p in params if p["d"] < 0]
    if explained:
        session.execute(stmts.explained, explained)
    # one statement for both cases (the order import's hot path): after the push arrived for sure,
    # the change applies; within the span it may have arrived in, the belief is unknown. In key order,
    # one executemany per run of sales or of cancels
    for lowered, run in itertools.groupby(params, key=lambda p: p["d"] < 0):
        session.execute(stmts.lowered if lowered else stmts.raised, list(run))


class _Follow(NamedTuple):
    explained: Any     # a sale explains units held for it
    lowered: Any       # a sale lowers the belief (or makes it unknown)
    raised: Any        # a cancel raises it (and the exposure, even when the belief becomes unknown)


def _follow(greatest: Any) -> _Follow:
    """follow_platform_change's statements for one dialect (``greatest``: its
    two-argument maximum), built once: the import runs them for every SKU a
    window's new orders sold (parameters c, s, d, happened, arrived_before)."""
    d, happened = bindparam("d", type_=Integer), bindparam("happened", type_=_C.held_since.type)
    listing = (_C.channel == bindparam("c"), _C.sku == bindparam("s"))
    explained = (update(LISTINGS).where(*listing, _C.held_qty.is_not(None), _C.held_since > happened)
                 .values(held_qty=greatest(_C.held_qty + d, 0)))
    pushed_until = func.coalesce(_C.pushed_until, _C.last_pushed_at)
    after = _C.last_pushed_at.is_(None) | (pushed_until < happened)
    exposed = func.coalesce(_C.exposure_qty, _C.last_pushed_qty)
    where = (*listing, _C.last_pushed_qty.is_not(None),
             _C.last_pushed_at.is_(None) | (_C.last_pushed_at < bindparam("arrived_before", type_=_C.last_pushed_at.type)))

    def change(else_exposure: Any) -> Any:
        return update(LISTINGS).where(*where).values(
            last_pushed_qty=case((after, greatest(_C.last_pushed_qty + d, 0)), else_=None),
            exposure_qty=case((after, greatest(exposed + d, 0)), else_=else_exposure))

    return _Follow(explained, lowered=change(_C.exposure_qty), raised=change(exposed + d))


_FOLLOW = {"sqlite": _follow(func.max), "postgresql": _follow(func.greatest)}


def record_read_back(session: Session, channel: str, shown: Mapping[str, int], *, at: dt.datetime) -> None:
    """The channel was read back showing these quantities at ``at``, and that
    is what it shows now (a sale its order API does not show yet: the order,
    when it comes, must not lower it again)."""
    for sku, qty in sorted(shown.items()):
        session.execute(update(LISTINGS).where(*_listing(channel, sku))
                        .values(last_pushed_qty=int(qty), last_pushed_at=at, pushed_until=None,
                                exposure_qty=int(qty)))


def adopt_listed(session: Session, channel: str, listed: Mapping[str, int | None], *,
                 read_from: dt.datetime, read_until: dt.datetime) -> None:
    """A reconcile read these quantities back (None: the channel did not list
    the SKU): that is what the channel shows, seen and believed, so the next
    stock push compares its target with it. The read went out after
    ``read_from`` and had answered by ``read_until`` (real time): a sale before
    the first is in the quantity read, one after the second is not, one in
    between may be either (:func:`follow_platform_change` treats it as in
    doubt, as for a push on its way). Without that, a sale read back here and
    imported later was taken off the listing a second time."""
    for sku, qty in sorted(listed.items()):
        session.execute(update(LISTINGS).where(*_listing(channel, sku))
                        .values(last_pushed_qty=qty, listed_qty_seen=qty, exposure_qty=qty,
                                last_pushed_at=read_from, pushed_until=read_until))


def pulled(session: Session, channel: str, shown: Mapping[str, int | None], *, now: dt.datetime) -> None:
    """``crossdock listings pull`` read these listings: the quantity each shows
    is seen, and believed as of ``now`` where the channel gave one that
    differs from the belief (a listing without a quantity leaves it)."""
    for sku, qty in sorted(shown.items()):
        session.execute(update(LISTINGS).where(*_listing(channel, sku)).values(listed_qty_seen=qty))
        if qty is not None:
            session.execute(update(LISTINGS)
                            .where(*_listing(channel, sku),
                                   _C.last_pushed_qty.is_(None) | (_C.last_pushed_qty != qty))
                            .values(last_pushed_qty=qty, last_pushed_at=now, pushed_until=None, exposure_qty=qty))


def linked(session: Session, channel: str, sku: str, quantity: int | None, *, now: dt.datetime) -> None:
    """``crossdock listings link`` tied the SKU to a listing read just now: what
    crossdock believed of the one before no longer applies; the listing shows
    ``quantity`` as of ``now`` (None: it gave none, so it is unknown)."""
    session.execute(update(LISTINGS).where(*_listing(channel, sku))
                    .values(last_pushed_qty=quantity, listed_qty_seen=quantity, exposure_qty=quantity,
                            last_pushed_at=now if quantity is not None else None, pushed_until=None))


def seed(session: Session, channel: str, shown: Mapping[str, int]) -> None:
    """Listings created showing these quantities (the demo's seeded sandbox)."""
    if shown:
        session.execute(update(LISTINGS).where(_C.channel == bindparam("c"), _C.sku == bindparam("s"))
                        .values(last_pushed_qty=bindparam("q"), exposure_qty=bindparam("q")),
                        [{"c": channel, "s": sku, "q": qty} for sku, qty in sorted(shown.items())])
