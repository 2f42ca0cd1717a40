"""Listings that already exist on the platforms: ``crossdock listings pull``,
``listings list`` and ``listings link``.

**pull** reads every listing of a channel through its connector
(``read_listings(None)``: Amazon searchListingsItems, eBay inventory items and
offers plus Trading GetMyeBaySelling, Shopify productVariants — all paged) and
links each to the catalogue by SKU in ``channel_listings``:

- a SKU crossdock has and does not link yet → a new row (**linked, new**) with
  the platform's ids, ``listed_qty_seen`` and ``last_pushed_qty`` set to the
  quantity the channel shows (that is what it shows now) and the shown price as
  the last pushed price (a price push then only sends what differs);
- a SKU already linked to that listing → its row refreshed (**linked, already**);
- a listing whose SKU is not in the catalogue → **unknown** (XD-INV-004); with
  ``adopt`` it becomes a product (title, price and currency from the platform)
  and is linked;
- a listing the platform fulfils itself (Amazon FBA) is not linked (**platform_fulfilled**): its
  quantity is the platform's, and a stock push must never write it; its stock is read by
  ``crossdock stock platform-pull`` (and by this pull, for a channel whose platform holds stock)
  into a location of its own, and a SKU alias naming it is never a push target;
- a listing under a SKU alias (``crossdock catalog alias add``, :mod:`crossdock.catalog.kits`) is
  matched as the catalogue SKU it stands for (the report names it ``platform_sku``);
- **conflicts** (XD-INV-011), left as they are: a SKU listed more than once on the
  channel, a SKU linked to another listing id than the one the channel lists it as.
  A listing linked by hand to another SKU (``listings link``) stays linked to it.

Every linked SKU is then marked dirty (one :func:`~crossdock.sync_engine.dirty.mark_dirty`
per channel, in the pull's transaction), so the engine pushes the quantity
crossdock computes wherever the channel shows another one; and since the rows
are in ``channel_listings``, ``crossdock sync reconcile`` checks them too. The
report lists that drift per channel.

**link** ties one SKU to one listing id by hand, for the odd listing whose SKU
on the platform differs; the id is checked on the platform first
(``Connector.find_listing``).

A linked row keeps the listing's ``listing_id`` (the id a person reads) and
the ids its connector gave (``platform_ids``, the connector's binding, stored
as they are and handed back to the connector).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.catalog import columns as C
from crossdock.db.base import utcnow
from crossdock.db.models import ChannelListing, Product
from crossdock.errors import CrossdockError, InventoryError, PlatformError
from crossdock.models import ListedOffer

log = logging.getLogger(__name__)

LISTINGS = ChannelListing.__table__
PRODUCTS = Product.__table__
UNKNOWN_SKU = "XD-INV-004"
CONFLICT = "XD-INV-011"
#: Platform statuses of a listing that is gone: linked, but no stock push goes there.
ENDED_STATUSES = frozenset({"ENDED", "COMPLETED", "ARCHIVED", "DELETED"})
_IN = 900


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _IN):
        yield items[i:i + _IN]


def crossdock_status(platform_status: str | None) -> str:
    return "ended" if (platform_status or "").upper() in ENDED_STATUSES else "active"


def _offer_dict(o: ListedOffer) -> dict[str, Any]:
    return {"sku": o.sku, "listing_id": o.listing_id, "title": o.title, "quantity": o.quantity,
            "price": o.price.to_dict() if o.price is not None else None, "status": o.status}


@dataclass
class ChannelPull:
    channel: str
    platform: str
    read: int = 0
    linked_new: list[dict[str, Any]] = field(default_factory=list)
    linked_already: list[dict[str, Any]] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)   # linked in crossdock, not on the channel
    drift: list[dict[str, Any]] = field(default_factory=list)     # linked, listed quantity ≠ crossdock's
    #: listings the platform fulfils itself (Amazon FBA): their quantity is the platform's, never linked
    platform_fulfilled: list[dict[str, Any]] = field(default_factory=list)
    marked: int = 0
    error: dict[str, Any] | None = None
    error_exit: int | None = None

    @property
    def problems(self) -> bool:
        return bool(self.unknown or self.conflicts)

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "platform": self.platform, "read": self.read,
                "linked": len(self.linked_new) + len(self.linked_already),
                "counts": {"new": len(self.linked_new), "already": len(self.linked_already),
                           "adopted": len(self.adopted), "unknown": len(self.unknown),
                           "conflicts": len(self.conflicts), "missing": len(self.missing), "drift": len(self.drift),
                           "platform_fulfilled": len(self.platform_fulfilled)},
                "platform_fulfilled": self.platform_fulfilled,
                "linked_new": self.linked_new, "linked_already": self.linked_already, "adopted": self.adopted,
                "unknown": self.unknown, "conflicts": self.conflicts, "missing": self.missing,
                "drift": self.drift, "marked_dirty": self.marked, "error": self.error}


# ------------------------------------------------------------------ pull
def pull_listings(ctx: Any, channels: Sequence[str] | None = None, *, adopt: bool = False) -> dict[str, Any]:
    """Pull every configured channel (or ``channels``); see the module doc.
    A channel whose read fails (auth, network, quota) is reported with its
    error and the others go on."""
    names = [ctx.cfg.channel(c).name for c in channels] if channels else sorted(ctx.cfg.channels)
    results = []
    for name in names:
        report = ChannelPull(channel=name, platform=ctx.platform(name))
        try:
            _pull_channel(ctx, report, adopt=adopt)
            if ctx.connectors.get(name).holds_stock:
                # the SKUs the platform fulfils itself are known before any push (see skumap.ChannelSkus)
                from crossdock.sync_engine.platform_stock import pull_platform_stock

                pull_platform_stock(ctx, name)
        except CrossdockError as exc:
            log.info("listings pull %s: %s", name, exc)
            report.error, report.error_exit = exc.to_dict(), exc.spec.exit_code
            synclog.record_now(ctx.db, synclog.event_from_error("listings.pull", exc, channel=name,
                                                                entity_type="channel", entity=name))
        results.append(report)
    totals = {k: sum(len(getattr(r, k)) for r in results)
              for k in ("linked_new", "linked_already", "adopted", "unknown", "conflicts", "missing", "drift")}
    failed = [r for r in results if r.error is not None]
    if failed:
        exit_code = failed[0].error_exit or 1
    elif any(r.problems for r in results):
        from crossdock.output import EXIT_PARTIAL

        exit_code = EXIT_PARTIAL
    else:
        exit_code = 0
    return {"channels": [r.to_dict() for r in results], "totals": totals, "adopt": adopt,
            "failed": [r.channel for r in failed], "exit_code": exit_code}


def _pull_channel(ctx: Any, report: ChannelPull, *, adopt: bool) -> None:
    channel = report.channel
    conn = ctx.connectors.get(channel)
    with synclog.timed() as t:
        offers = [o for o in conn.read_listings(None) if (o.status or "").upper() != "NOT_FOUND"]
    report.read = len(offers)
    # a listing the platform fulfils (FBA) shows the platform's units: never linked, so never pushed
    fulfilled = [o for o in offers if o.fulfilled_by_platform]
    report.platform_fulfilled = [_offer_dict(o) for o in fulfilled]
    offers = [o for o in offers if not o.fulfilled_by_platform]
    from crossdock.sync_engine import skumap

    with ctx.db.read() as s:
        names = skumap.aliases_of(s, channel)       # the channel's SKU aliases: matched as their catalogue SKU
    aliased = {names[o.sku]: o.sku for o in offers if o.sku in names}
    offers = [dataclasses.replace(o, sku=names[o.sku]) if o.sku in names else o for o in offers]
    currency = ctx.cfg.channel(channel).currency
    by_sku: dict[str, list[ListedOffer]] = {}
    for o in offers:
        if not o.sku:
            report.unknown.append({**_offer_dict(o), "code": UNKNOWN_SKU,
                                   "message": "the listing has no SKU: give it one on the platform, or link it "
                                              "with `crossdock listings link SKU --channel C --listing-id ID`"})
            continue
        by_sku.setdefault(o.sku, []).append(o)
    now = utcnow()
    with ctx.db.write() as s:
        rows = {r.sku: r for r in s.execute(select(LISTINGS).where(LISTINGS.c.channel == channel))}
        owner = {r.listing_id: r.sku for r in rows.values() if r.listing_id}
        skus = sorted(by_sku)
        known: set[str] = set()
        for part in _chunks([x for x in skus if len(x) <= C.SKU_MAX]):
            known.update(s.scalars(select(PRODUCTS.c.sku).where(PRODUCTS.c.sku.in_(part))))
        new_products: list[dict[str, Any]] = []
        new_rows: list[dict[str, Any]] = []
        refreshed: list[dict[str, Any]] = []
        for sku in skus:
            group = by_sku[sku]
            if len(group) > 1:
                report.conflicts.append({"sku": sku, "code": CONFLICT, "listing_ids": [o.listing_id for o in group],
                                         "message": f"SKU {sku} is listed {len(group)} times on {channel}: "
                                                    f"listings {', '.join(str(o.listing_id) for o in group)}"})
                continue
            offer = group[0]
            row = rows.get(sku)
            lid = str(offer.listing_id) if offer.listing_id else None
            if lid and owner.get(lid) not in (None, sku):
                # linked by hand (`listings link`) to another SKU: that link stands
                mine = rows[owner[lid]]
                refreshed.append(_refresh(mine, offer, _row_values(offer, currency, now), now))
                report.linked_already.append({"sku": mine.sku, "listing_id": lid, "quantity": offer.quantity,
                                              "platform_sku": sku})
                continue
            if row is not None and row.listing_id and lid and row.listing_id != lid:
                report.conflicts.append({"sku": sku, "code": CONFLICT, "listing_ids": [row.listing_id, lid],
                                         "message": f"SKU {sku} is linked to listing {row.listing_id}, but {channel} "
                                                    f"lists it as listing {lid}"})
                continue
            if sku not in known:
                if not adopt or len(sku) > C.SKU_MAX:
                    why = (f"SKU {sku} is not in the catalogue: import it (`crossdock catalog import`) or pull "
                           "with --adopt" if len(sku) <= C.SKU_MAX
                           else f"SKU of {len(sku)} characters: crossdock keeps at most {C.SKU_MAX}")
                    report.unknown.append({**_offer_dict(offer), "code": UNKNOWN_SKU if len(sku) <= C.SKU_MAX
                                           else C.INVALID, "message": why})
                    continue
                new_products.append(_adopted(offer, now))
                report.adopted.append(sku)
            values = _row_values(offer, currency, now)
            alias = {"platform_sku": aliased[sku]} if sku in aliased else {}
            if row is None:
                new_rows.append({"channel": channel, "sku": sku, **values, "platform_ids": _ids(offer, {})})
                report.linked_new.append({"sku": sku, "listing_id": lid, "quantity": offer.quantity, **alias})
            else:
                refreshed.append(_refresh(row, offer, values, now))
                report.linked_already.append({"sku": sku, "listing_id": lid or row.listing_id,
                                              "quantity": offer.quantity, **alias})
            if lid:
                owner[lid] = sku
        refreshed.extend(_now_fulfilled_by_platform(fulfilled, rows, names, by_sku, now))
        if new_products:
            s.execute(insert(PRODUCTS), new_products)
        if new_rows:
            s.execute(insert(LISTINGS), new_rows)
        for values in refreshed:
            s.execute(update(LISTINGS).where(LISTINGS.c.id == values.pop("_id")).values(**values))
        # what the channel shows now is the best knowledge; the planner compares its target with it
        from crossdock.sync_engine import shown

        shown.pulled(s, channel, {d["sku"]: d["quantity"] for d in (*report.linked_new, *report.linked_already)},
                     now=now)
        seen = set(by_sku)
        report.missing = [{"sku": r.sku, "listing_id": r.listing_id, "status": r.status}
                          for r in sorted(rows.values(), key=lambda r: r.sku)
                          if r.sku not in seen and r.status == "active"]
        linked = sorted({d["sku"] for d in (*report.linked_new, *report.linked_already)})
        if linked:
            from crossdock.sync_engine import dirty

            report.marked = dirty.mark_dirty(s, linked).marked
        synclog.record(s, operation="listings.pull", outcome="ok" if not report.problems else "partial",
                       channel=channel, entity_type="channel", entity=channel, duration_ms=t.ms,
                       code=CONFLICT if report.conflicts else UNKNOWN_SKU if report.unknown else None,
                       message=f"{report.read} listings read: {len(report.linked_new)} newly linked, "
                               f"{len(report.linked_already)} already linked, {len(report.adopted)} adopted, "
                               f"{len(report.unknown)} unknown SKU, {len(report.conflicts)} conflicts",
                       details={"unknown": [u["sku"] for u in report.unknown][:50],
                                "conflicts": [c["sku"] for c in report.conflicts][:50],
                                "adopted": report.adopted[:50]})
    report.drift = _drift(ctx, channel, {o.sku: o.quantity for o in offers if o.sku},
                          [d["sku"] for d in (*report.linked_new, *report.linked_already)])
    log.info("listings pull %s: %d read, %d new, %d already, %d unknown, %d conflicts", channel, report.read,
             len(report.linked_new), len(report.linked_already), len(report.unknown), len(report.conflicts))


def _now_fulfilled_by_platform(fulfilled: list[ListedOffer], rows: dict[str, Any], names: dict[str, str],
                               merchant: dict[str, Any], now: Any) -> list[dict[str, Any]]:
    """A linked row whose listing the platform now fulfils itself (moved to FBA), with no merchant
    listing of its SKU left: made inactive (out of every push plan), its binding saying so."""
    out = []
    for o in fulfilled:
        sku = names.get(o.sku, o.sku)
        row = rows.get(sku)
        if row is not None and row.status == "active" and sku not in merchant:
            out.append({"_id": row.id, "status": "inactive", "seen_at": now,
                        "platform_ids": _ids(o, dict(row.platform_ids or {}))})
    return out


def _ids(offer: ListedOffer, current: dict[str, Any]) -> dict[str, Any]:
    ids = {**current, **{k: v for k, v in (offer.ids or {}).items() if v}}
    if offer.status:
        ids["platform_status"] = offer.status
    return ids


def _row_values(offer: ListedOffer, currency: str, now) -> dict[str, Any]:
    price = offer.price
    pushed = price if price is not None and price.currency == currency else None
    return {"listing_id": str(offer.listing_id) if offer.listing_id else None,
            "status": crossdock_status(offer.status),
            "last_pushed_price": pushed.amount if pushed is not None else None,
            "last_pushed_currency": pushed.currency if pushed is not None else None,
            "listed_price_seen": price.amount if price is not None else None,
            "seen_at": now, "hs_code": offer.hs_code, "country_of_origin": offer.country_of_origin}


def _customs(offer: ListedOffer) -> dict[str, Any]:
    """The product data for customs the listing gave (a read that gives none leaves what was stored)."""
    return {k: v for k, v in (("hs_code", offer.hs_code), ("country_of_origin", offer.country_of_origin)) if v}


def _refresh(row: Any, offer: ListedOffer, values: dict[str, Any], now) -> dict[str, Any]:
    """The update of an already linked row: the price it shows and the ids it
    gives (its quantity: :func:`crossdock.sync_engine.shown.pulled`);
    crossdock's last pushed price stays (the price push decides)."""
    out: dict[str, Any] = {"_id": row.id, "status": values["status"],
                           "listed_price_seen": values["listed_price_seen"], "seen_at": now,
                           "platform_ids": _ids(offer, dict(row.platform_ids or {})), **_customs(offer)}
    if values["listing_id"]:
        out["listing_id"] = values["listing_id"]
    return out


def _adopted(offer: ListedOffer, now) -> dict[str, Any]:
    title = (offer.title or offer.sku).strip()[:C.TITLE_MAX] or offer.sku
    price = offer.price
    amount = None
    if price is not None:
        try:
            amount = C.base_price(price.amount)
        except C.BadValue:
            amount = None
    return {"sku": offer.sku, "title": C._CONTROL.sub(" ", title), "description": "", "category": None,
            "brand": None, "attributes": {}, "images": [], "weight_g": None, "hs_code": None,
            "country_of_origin": None, "base_price": amount,
            "base_currency": price.currency if price is not None and amount is not None else None,
            "safety_stock": 0,
            "created_at": now, "updated_at": now}


def _drift(ctx: Any, channel: str, shown: dict[str, int | None], linked: Sequence[str]) -> list[dict[str, Any]]:
    from crossdock.sync_engine.jobs import expected_quantities

    if not linked:
        return []
    expected = expected_quantities(ctx, channel)
    return [{"sku": sku, "listed": shown.get(sku), "expected": expected[sku]}
            for sku in sorted(linked) if sku in expected and shown.get(sku) != expected[sku]]


# ------------------------------------------------------------------ list
def list_listings(session: Session, *, channel: str | None = None, sku: str | None = None,
                  limit: int = 1000) -> list[dict[str, Any]]:
    from crossdock.catalog.export import _listing_dict

    stmt = select(ChannelListing).order_by(ChannelListing.channel, ChannelListing.sku).limit(limit)
    if channel:
        stmt = stmt.where(ChannelListing.channel == channel)
    if sku:
        stmt = stmt.where(ChannelListing.sku == sku)
    return [_listing_dict(r) for r in session.scalars(stmt)]


# ------------------------------------------------------------------ link
def _find_on_platform(ctx: Any, channel: str, sku: str, listing_id: str) -> ListedOffer:
    """The listing ``listing_id`` as the channel shows it, as it would be linked
    to ``sku`` (``Connector.find_listing``). XD-PLATFORM-002 when the channel has
    no such listing; XD-INV-011 when the platform addresses it by a SKU other
    than ``sku``."""
    offer = ctx.connectors.get(channel).find_listing(listing_id, sku=sku)
    if offer is None:
        raise PlatformError("XD-PLATFORM-002", channel=channel, entity=f"listing {listing_id}",
                            detail=f"{channel} has no listing {listing_id}")
    return offer


def link_listing(ctx: Any, sku: str, channel: str, listing_id: str) -> dict[str, Any]:
    """Link ``sku`` to the listing ``listing_id`` of ``channel`` (see the module
    doc): XD-CFG-007 unknown channel, XD-INV-004 unknown SKU, XD-INV-011 when
    the listing is linked to another SKU, XD-PLATFORM-002 when the channel has
    no such listing. Replaces the SKU's earlier link on that channel."""
    ctx.cfg.channel(channel)
    listing_id = listing_id.strip()
    with ctx.db.read() as s:
        if s.scalar(select(PRODUCTS.c.sku).where(PRODUCTS.c.sku == sku)) is None:
            raise InventoryError(UNKNOWN_SKU, channel=channel, entity=f"sku {sku}",
                                 detail="not in the catalogue (crossdock catalog import)")
        other = s.scalar(select(LISTINGS.c.sku).where(LISTINGS.c.channel == channel, LISTINGS.c.listing_id == listing_id,
                                                      LISTINGS.c.sku != sku))
    if other is not None:
        raise InventoryError(CONFLICT, channel=channel, entity=f"sku {sku}",
                             detail=f"listing {listing_id} is already linked to SKU {other}")
    offer = _find_on_platform(ctx, channel, sku, listing_id)
    currency = ctx.cfg.channel(channel).currency
    now = utcnow()
    values = _row_values(offer, currency, now)
    with ctx.db.write() as s:
        row = s.execute(select(LISTINGS).where(LISTINGS.c.channel == channel, LISTINGS.c.sku == sku)).first()
        previous = row.listing_id if row is not None else None
        if row is None:
            s.execute(insert(LISTINGS).values(channel=channel, sku=sku, **values, platform_ids=_ids(offer, {})))
        else:
            s.execute(update(LISTINGS).where(LISTINGS.c.id == row.id)
                      .values(**values, platform_ids=_ids(offer, dict(row.platform_ids or {}))))
        from crossdock.sync_engine import dirty, shown

        shown.linked(s, channel, sku, offer.quantity, now=now)
        marked = dirty.mark_dirty(s, [sku]).marked
        synclog.record(s, operation="listings.link", outcome="ok", channel=channel, entity_type="sku", entity=sku,
                       message=f"linked to listing {offer.listing_id}"
                               + (f" (was {previous})" if previous and previous != offer.listing_id else ""),
                       details={"listing_id": offer.listing_id, "previous": previous, "ids": dict(offer.ids or {})})
    ctx.connectors.get(channel).bind_listings({sku: dict(offer.ids or {})})
    kind = (offer.ids or {}).get("kind")
    return {"channel": channel, "sku": sku, "listing_id": offer.listing_id, "previous": previous,
            "kind": kind, "quantity": offer.quantity,
            "price": offer.price.to_dict() if offer.price is not None else None, "marked_dirty": marked}


__all__ = ["ChannelPull", "crossdock_status", "link_listing", "list_listings", "pull_listings"]
