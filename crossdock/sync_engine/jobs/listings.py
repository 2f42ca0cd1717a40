"""Listings (:func:`publish_listings`, outbox kind ``listings``). Products
without a listing on the channel, and listings left ``draft`` or
``rejected``, are checked against the channel's listing rules
(:mod:`crossdock.mapping.validation`, with the price the channel would get)
and published with ``publish_listing``. The listing row records the outcome:
``active`` with the ids the connector gave (its ``platform_ids``, stored as
they are), or ``rejected`` with the code and message in
``platform_ids["rejection"]`` (a rejected listing is
tried again on the next run). A published listing is marked dirty in the
same transaction (:func:`~crossdock.sync_engine.dirty.mark_dirty`), so the
stock push gives it its quantity: listings are published without one.

Listing rules per channel, all optional::

    [rules.listings.ebay-uk.categories]          # crossdock.mapping.categories
    default = "29223"
    map = {"Clothing/Shirts" = "57990"}
    [rules.listings.ebay-uk.attributes]          # crossdock.mapping.attributes
    rules = {condition = {constant = "NEW"}}
    [rules.listings.ebay-uk.validation]          # crossdock.mapping.validation
    title_max_chars = 80

The mapped platform category becomes the product's category and fills the
platform's category attribute (Amazon ``product_type``, eBay ``category_id``)
when the product does not name one itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.config import Config
from crossdock.connectors.base import Connector
from crossdock.db.base import utcnow
from crossdock.db.models import ChannelListing
from crossdock.db.models import Product as ProductRow
from crossdock.errors import ConfigError, CrossdockError, MappingError
from crossdock.errors.catalogue import ACTION_FAIL
from crossdock.mapping.attributes import attribute_mapping_from_config, map_attributes
from crossdock.mapping.categories import category_mapping_from_config
from crossdock.mapping.pricing import compute_price
from crossdock.mapping.validation import ListingChannel, platform_rules_from_config, validate_listing
from crossdock.models import ItemResult, Money, Product
from crossdock.ratelimit.budget import Priority, job_priority
from crossdock.sync_engine import dirty, outbox, shown
from crossdock.sync_engine._sql import chunks, upsert_insert
from crossdock.sync_engine.jobs.context import EngineContext, entry_channel
from crossdock.sync_engine.jobs.prices import ACTIVE, fx_table, price_rule, today_on_platform

log = logging.getLogger(__name__)

LISTINGS = "listings"
#: Listing rows that are not (yet) on the platform: the listings job tries them again.
NOT_LISTED_STATUSES = ("draft", "rejected")
DEFAULT_LISTINGS_PER_RUN = 200
_LISTING_RULE_KEYS = ("categories", "attributes", "validation")

__all__ = ["LISTINGS", "NOT_LISTED_STATUSES", "listing_channel", "listing_product", "listings_job", "product_of_row",
           "publish_listings"]


def listing_channel(cfg: Config, channel: str) -> ListingChannel:
    """What validation needs to know about ``channel``: its platform and
    currency plus ``[rules.listings.NAME]`` (see module doc)."""
    ch = cfg.channel(channel)
    where = f"rules.listings.{channel}"
    conf = (cfg.rules.get("listings") or {}).get(channel) or {}
    if not isinstance(conf, Mapping):
        raise ConfigError("XD-CFG-003", detail=f"{where}: expected a table", key=where)
    unknown = sorted(set(conf) - set(_LISTING_RULE_KEYS))
    if unknown:
        raise ConfigError("XD-CFG-003", detail=f"{where}.{unknown[0]}: unknown key (allowed: "
                                               f"{', '.join(_LISTING_RULE_KEYS)})", key=f"{where}.{unknown[0]}")
    categories = (category_mapping_from_config(conf["categories"], channel=channel, where=f"{where}.categories")
                  if "categories" in conf else None)
    attributes = (attribute_mapping_from_config(conf["attributes"], where=f"{where}.attributes")
                  if "attributes" in conf else None)
    rules = (platform_rules_from_config(ch.platform, conf["validation"], where=f"{where}.validation")
             if "validation" in conf else None)
    return ListingChannel(channel, ch.platform, ch.currency, categories=categories, attributes=attributes,
                          rules=rules)


def listing_product(product: Product, channel: ListingChannel) -> Product:
    """``product`` as ``channel`` should receive it: attributes through the
    channel's attribute mapping, and the mapped platform category as its
    category and as the platform's category attribute (unless the product
    names one itself). Call after :func:`validate_listing` found nothing."""
    attrs = (map_attributes(product, channel.attributes, channel=channel.channel)
             if channel.attributes is not None else dict(product.attributes))
    category = product.category
    found = channel.categories.lookup(product.category) if channel.categories is not None else None
    if found is not None:
        category = found
        key = channel.effective_rules.category_attribute
        if key and attrs.get(key) in (None, ""):
            attrs[key] = found
    return replace(product, attributes=attrs, category=category)



# ---------------------------------------------------------------- listings
def _candidates(session: Session, channel: str, skus: Sequence[str] | None, limit: int) -> list[ProductRow]:
    """Products without a listing on ``channel``, or whose listing is draft / rejected."""
    L, P = ChannelListing, ProductRow
    stmt = (select(P).outerjoin(L, and_(L.sku == P.sku, L.channel == channel))
            .where(or_(L.id.is_(None), L.status.in_(NOT_LISTED_STATUSES))).order_by(P.sku))
    if skus is None:
        return list(session.scalars(stmt.limit(limit)))
    out: list[ProductRow] = []
    for part in chunks(sorted(set(skus))):
        out.extend(session.scalars(stmt.where(P.sku.in_(part))))
    return sorted(out, key=lambda p: p.sku)[:limit]


def product_of_row(row: ProductRow) -> Product:
    """The catalogue row as the normalised product the listing rules validate (no price: it is computed per channel)."""
    return Product(sku=row.sku, title=row.title, description=row.description or "",
                   attributes=dict(row.attributes or {}), images=list(row.images or []), category=row.category,
                   weight_g=row.weight_g, hs_code=row.hs_code, country_of_origin=row.country_of_origin)


def _upsert_listing(session: Session, channel: str, sku: str, **values: Any) -> None:
    L = ChannelListing
    session.execute(upsert_insert(session, L.__table__).values(channel=channel, sku=sku, status=values["status"],
                                                               platform_ids={})
                    .on_conflict_do_nothing(index_elements=["channel", "sku"]))
    session.execute(update(L).where(L.channel == channel, L.sku == sku).values(**values))


def _platform_ids(session: Session, channel: str, sku: str) -> dict[str, Any]:
    L = ChannelListing
    current = session.scalar(select(L.platform_ids).where(L.channel == channel, L.sku == sku))
    return dict(current or {})


def _record_published(session: Session, channel: str, sku: str, price: Money, result: ItemResult) -> None:
    """The listing is on the platform: the ids its connector gave are its binding (``platform_ids``)."""
    ids = {k: v for k, v in (result.platform_ids or {}).items() if v}
    platform_ids = _platform_ids(session, channel, sku)
    platform_ids.pop("rejection", None)
    platform_ids.update(ids)
    values: dict[str, Any] = {"status": ACTIVE, "platform_ids": platform_ids, "last_pushed_price": price.amount,
                              "last_pushed_currency": price.currency}
    if result.listing_id:
        values["listing_id"] = result.listing_id
    message = result.message
    _upsert_listing(session, channel, sku, **values)
    shown.forget(session, channel, [sku])
    # published without a quantity: the stock push gives it one, in this transaction's outbox entries
    dirty.mark_dirty(session, [sku])
    synclog.record(session, operation="listing.publish", outcome="ok", channel=channel, entity_type="sku",
                   entity=sku, message=f"published at {price.amount} {price.currency}"
                                       + (f" ({message})" if message else ""),
                   details={"price": price.to_dict(), **ids,
                            **({"listing_id": result.listing_id} if result.listing_id else {})})


def _record_rejected(session: Session, channel: str, sku: str, code: str, message: str,
                     issues: list[dict[str, str]] | None = None) -> None:
    platform_ids = _platform_ids(session, channel, sku)
    platform_ids["rejection"] = {"code": code, "message": message[:1000], "at": utcnow().isoformat(),
                                 **({"issues": issues} if issues else {})}
    _upsert_listing(session, channel, sku, status="rejected", platform_ids=platform_ids)
    synclog.record(session, operation="listing.publish", outcome="failed", channel=channel, entity_type="sku",
                   entity=sku, code=code, message=message, details={"issues": issues} if issues else None)


#: Catalogue areas of errors about one product's data or the platform's rules for it.
_PRODUCT_AREAS = frozenset({"MAP", "PLATFORM"})


def _refused_for_good(exc: CrossdockError) -> bool:
    """A publish error that concerns this product only (its data or the
    platform's rules): record it on the listing and go on with the next one.
    Quota, network, auth and retryable errors stop the run instead (by the
    catalogue: its ``action`` is ``fail``, its area MAP or PLATFORM)."""
    return exc.spec.action == ACTION_FAIL and exc.spec.area in _PRODUCT_AREAS


def publish_listings(ctx: EngineContext, channel: str, skus: Sequence[str] | None = None, *,
                     limit: int | None = None) -> dict[str, Any]:
    """Publish the channel's missing, draft and rejected listings (of
    ``skus``), at most ``limit`` (``[sync] listings_per_run``, 200) per run.
    See the module doc."""
    limit = int(limit or ctx.cfg.sync.get("listings_per_run", DEFAULT_LISTINGS_PER_RUN))
    if limit < 1:
        raise ConfigError("XD-CFG-003", detail=f"sync.listings_per_run must be at least 1, got {limit}")
    target = listing_channel(ctx.cfg, channel)
    rule = price_rule(ctx.cfg, channel)
    today = today_on_platform(ctx)
    with ctx.db.read() as s:
        rows = _candidates(s, channel, skus, limit + 1)
        fx = fx_table(s)
    more = len(rows) > limit
    rows = rows[:limit]
    published: list[str] = []
    rejected: list[dict[str, str]] = []
    conn = ctx.connectors.get(channel) if rows else None
    if conn is None:
        return {"channel": channel, "candidates": 0, "published": [], "rejected": [], "more": more}

    def reject(sku: str, code: str, message: str, issues: list[dict[str, str]] | None = None) -> None:
        rejected.append({"sku": sku, "code": code, "message": message})
        with ctx.db.write() as s:
            _record_rejected(s, channel, sku, code, message, issues)

    with job_priority(Priority.CONTENT):
        for row in rows:
            product = product_of_row(row)
            if row.base_price is None or not row.base_currency:
                reject(row.sku, "XD-MAP-003", f"product {row.sku} has no base price and currency")
                continue
            try:
                price = compute_price(Money(Decimal(row.base_price), row.base_currency), target.currency, rule, fx,
                                      today, sku=row.sku)
            except MappingError as exc:
                reject(row.sku, exc.code, exc.message)
                continue
            product = replace(product, price=price)
            issues = validate_listing(product, target, price=price)
            if issues:
                summary = "; ".join(f"{i.field}: {i.message}" for i in issues)
                reject(row.sku, issues[0].code, f"{len(issues)} problem(s): {summary}", [i.to_dict() for i in issues])
                continue
            try:
                result = conn.publish_listing(listing_product(product, target))
            except CrossdockError as exc:
                if not _refused_for_good(exc):
                    raise
                reject(row.sku, exc.code, exc.message, exc.context.get("issues"))
                continue
            if not result.ok:
                reject(row.sku, result.code or "XD-PLATFORM-003", result.message or "rejected by the platform")
                continue
            with ctx.db.write() as s:
                _record_published(s, channel, row.sku, price, result)
            published.append(row.sku)
    if published:
        _read_back_ids(ctx, channel, conn, published)
    return {"channel": channel, "candidates": len(rows), "published": published, "rejected": rejected,
            "more": more}


def _read_back_ids(ctx: EngineContext, channel: str, conn: Connector, published: list[str]) -> None:
    """Best effort: the listing id (ASIN, variant id …) of published SKUs
    whose row has none yet, read back from the channel."""
    L = ChannelListing
    with ctx.db.read() as s:
        missing = [sku for part in chunks(published) for sku in s.scalars(
            select(L.sku).where(L.channel == channel, L.sku.in_(part), L.listing_id.is_(None)))]
    if not missing:
        return
    try:
        with job_priority(Priority.CONTENT):
            offers = conn.read_listings(sorted(missing))
    except CrossdockError as exc:
        log.warning("%s: could not read back the ids of %d published listings (%s)", channel, len(missing),
                    exc.code)
        return
    with ctx.db.write() as s:
        for offer in offers:
            if offer.listing_id and offer.sku in missing:
                s.execute(update(L).where(L.channel == channel, L.sku == offer.sku, L.listing_id.is_(None))
                          .values(listing_id=str(offer.listing_id)))


def listings_job(ctx: EngineContext, entry: outbox.ClaimedEntry) -> dict[str, Any]:
    """Outbox entry ``listings``: payload ``skus`` and ``limit`` (both optional)."""
    payload = entry.payload or {}
    skus = payload.get("skus")
    return publish_listings(ctx, entry_channel(entry), skus=list(skus) if skus else None, limit=payload.get("limit"))

