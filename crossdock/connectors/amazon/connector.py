"""The Amazon connector: what the sync engine calls for one Amazon channel.

Orders come from getOrders over a LastUpdated window (every NextToken page,
deduplicated by AmazonOrderId) plus one getOrderItems call per order — at
0.5 requests/s that call, not getOrders, bounds how fast a busy seller's
orders can be imported. The window end must be at least ``safety_lag_s``
(Amazon's 2-minute rule) before the platform's now; the engine owns the
cursor and may start the next window ``overlap_s`` early.

Stock and prices go out as patchListingsItem calls for a few SKUs and as one
JSON_LISTINGS_FEED for more than ``feed_threshold`` SKUs. Call counting for
:meth:`stock_calls_needed` (SP-API calls charged against usage plans):

- up to ``feed_threshold`` SKUs: one patchListingsItem per SKU;
- more: per feed document (at most 25,000 messages / 10 MiB) createFeedDocument
  + createFeed + at least one getFeed poll + getFeedDocument = 4 calls. The document upload and
  the report download go to Amazon's pre-signed S3 URLs, which are not SP-API calls and have no
  usage plan; extra getFeed polls (2/s, burst 15) depend on how long Amazon takes and are not counted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from crossdock.clock import Clock, parse_iso
from crossdock.connectors.amazon import mapping as M
from crossdock.connectors.amazon.cancel import CancelsOrders
from crossdock.connectors.amazon.refunds import RefundsOrders
from crossdock.connectors.amazon.carriers import CARRIER_CODES
from crossdock.connectors.amazon.fba import FbaStock
from crossdock.connectors.amazon.returns import ReadsReturnsReport
from crossdock.connectors.amazon.client import SpApiClient
from crossdock.connectors.amazon.notifications import NotificationEvents
from crossdock.connectors.amazon.settings import AmazonSettings
from crossdock.connectors.amazon.statuses import STATUSES
from crossdock.connectors.base import TokenStore
from crossdock.connectors.contract import Connector, OrderQuery
from crossdock.connectors.http import Budget
from crossdock.errors import AuthError, MappingError, NetError, OrderError, PlatformError, ShippingError
from crossdock.mapping.carriers import CarrierTable, platform_carrier
from crossdock.mapping.status import status_map_from_config
from crossdock.mapping.validation import ListingChannel, validate_or_raise
from crossdock.models import (Address, ItemResult, ListedOffer, Order, PriceUpdate, Product, ShipmentConfirmation,
                              StockUpdate)

log = logging.getLogger(__name__)

ADDRESS_RESOURCE = "/orders/v0/orders/{orderId}/address"
CALLS_PER_FEED = 4
#: Status changes of a stored order that need its items read again: shipped
#: quantities per line (a partial shipment), units back on sale (a cancel).
ITEMS_ON_CHANGE = frozenset({"PartiallyShipped", "Canceled"})

U = TypeVar("U", bound=StockUpdate | PriceUpdate)


class AmazonConnector(CancelsOrders, RefundsOrders, NotificationEvents, FbaStock, ReadsReturnsReport, Connector):
    """Connector for one Amazon channel (seller + marketplace)."""

    platform = "amazon"
    #: Window ends must be this far behind the platform clock (Amazon rejects
    #: CreatedBefore/LastUpdatedBefore within two minutes of the request).
    safety_lag_s: float = 120.0
    #: How far back the engine should start the next window; LastUpdatedAfter
    #: is inclusive, so this only guards against clock skew.
    overlap_s: float = 60.0
    #: Amazon lowers a listing's quantity the moment it sells, but shows the
    #: order only minutes later: the engine reads listings back before a
    #: stock push to find those sales (sync_engine/unseen.py).
    unseen_sales_s: float = 240.0
    #: An order stored unchanged is skipped, and a changed one read without its items
    #: unless the change touches lines: getOrderItems (0.5/s) is the ingest bottleneck.
    uses_known_orders = True

    def __init__(self, settings: AmazonSettings, *, store: TokenStore | None = None, clock: Clock | None = None,
                 budget: Budget | None = None, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.channel = settings.channel
        #: New orders are polled by creation time; changes to known orders (payment,
        #: cancellation) by LastUpdated this often (platform seconds;
        #: ``options.order_changes_every_s``, 0 = always by LastUpdated).
        self.order_changes_every_s = settings.order_changes_every_s
        self.clock = clock or Clock()
        self.client = SpApiClient(settings, store=store, clock=self.clock, budget=budget, transport=transport,
                                  sleep=sleep)
        self._sleep = sleep
        self._status_map = status_map_from_config(STATUSES, settings.order_status_overrides,
                                                  where=f"channels.{settings.channel}.order_status")
        self._rdt: tuple[str, float] | None = None

    def close(self) -> None:
        self.client.close()

    def refresh_access_token(self, *, rejected: str | None = None) -> None:
        self.client.auth.refresh(rejected=rejected)

    # ------------------------------------------------------------ orders
    def latest_window_end(self) -> dt.datetime:
        """The latest ``updated_before`` Amazon accepts right now."""
        return self.window_end()

    def fetch_orders(self, query: OrderQuery) -> Iterator[Order]:
        """Every order created or changed in [query.start, query.end] with its
        lines, each once. Orders are yielded as they are complete; the window
        is complete only when iteration ends without an exception (an error
        mid-window raises, it never ends the iteration early).
        ``query.known_updates`` (order id -> LastUpdateDate already stored)
        skips unchanged orders, and reads a changed one without its items
        unless the change touches lines (:data:`ITEMS_ON_CHANGE`): its lines
        are stored already, and getOrderItems (0.5/s) is the ingest bottleneck.

        ``query.siblings``: connectors of the same seller in other marketplaces
        of the same region. getOrders' quota (one call a minute,
        docs/platform-facts.md#amazon-usage-plans) is per seller and application, not per marketplace, so one call names
        every marketplace (up to 50) and each order is parsed as its
        marketplace's channel; polling each marketplace separately would halve
        how often each is read.

        ``query.created``: orders placed in the window (CreatedAfter/Before)
        instead of changed in it; see ``order_changes_every_s``."""
        updated_after, updated_before = query.start, query.end
        known_updates, siblings = query.known_updates, query.siblings
        family = "Created" if query.created else "LastUpdated"
        limit = self.latest_window_end()
        if updated_before > limit:
            wait_s = (updated_before - limit).total_seconds()
            raise OrderError("XD-ORD-001", channel=self.channel, retry_after_s=self.clock.to_real_s(wait_s),
                             detail=f"window end {updated_before.isoformat()} is within {self.safety_lag_s:.0f} s "
                                    f"of Amazon's now; ask again in {wait_s:.0f} s (platform time)")
        if updated_after >= updated_before:
            return iter(())
        by_marketplace: dict[str, AmazonConnector] = {self.settings.marketplace_id: self}
        for other in siblings:
            if not isinstance(other, AmazonConnector):
                raise ValueError(f"{other.channel} is not an Amazon channel")
            if other.settings.seller_id != self.settings.seller_id or other.settings.endpoint != self.settings.endpoint:
                raise ValueError(f"{other.channel} is not a marketplace of {self.channel}'s seller and region")
            by_marketplace.setdefault(other.settings.marketplace_id, other)
        if len(by_marketplace) > M.MAX_MARKETPLACES:
            raise ValueError(f"getOrders takes at most {M.MAX_MARKETPLACES} marketplaces")
        return self._iter_orders(updated_after, updated_before, known_updates or {}, by_marketplace, family, query)

    def _iter_orders(self, after: dt.datetime, before: dt.datetime, known: Mapping[str, dt.datetime],
                     by_marketplace: Mapping[str, "AmazonConnector"], family: str,
                     query: OrderQuery) -> Iterator[Order]:
        s = self.settings
        marketplaces = ",".join(sorted(by_marketplace))
        params = M.orders_params(marketplace_id=marketplaces, updated_after=after, updated_before=before,
                                 page_size=s.page_size, family=family)
        seen: set[str] = set()
        pages = 0
        while True:
            raw_orders, token = M.parse_orders_page(self.client.get_orders(params))
            pages += 1
            for raw in raw_orders:
                oid = str(raw.get("AmazonOrderId"))
                if oid in seen:
                    continue
                seen.add(oid)
                stored = known.get(oid)
                if stored is not None and raw.get("LastUpdateDate") and \
                        parse_iso(str(raw["LastUpdateDate"])) <= stored:
                    continue
                owner = by_marketplace.get(str(raw.get("MarketplaceId") or ""), self)
                # a stored order that only changed status keeps its stored lines: getOrderItems
                # (0.5/s) is spent on new orders, and on the changes that touch lines
                items = self._order_items(oid) if stored is None or \
                    str(raw.get("OrderStatus")) in ITEMS_ON_CHANGE else None
                order = query.mapped(
                    {"order": raw, "items": items or []}, oid,      # the shape of Order.raw
                    lambda: M.parse_order(raw, items, channel=owner.channel, status_map=owner._status_map),
                    channel=owner.channel)
                if order is None:
                    continue
                if not order.marketplace_id:
                    order.marketplace_id = owner.settings.marketplace_id
                yield order
            if not token:
                break
            params = M.next_page_params(marketplace_id=marketplaces, next_token=token)
        log.info("%s: order window %s..%s: %d orders in %d pages", self.channel, after.isoformat(),
                 before.isoformat(), len(seen), pages)

    def _order_items(self, order_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = None
        while True:
            _, page, token = M.parse_items_page(self.client.get_order_items(order_id, token))
            items.extend(page)
            if not token:
                return items

    def order_from_payload(self, payload: Mapping[str, Any]) -> Order:
        """``{"order": getOrder's Order, "items": its OrderItems}`` (``Order.raw``) as an Order."""
        raw, items = payload.get("order"), payload.get("items")
        order = M.parse_order(raw, items if isinstance(items, list) else None, channel=self.channel,
                              status_map=self._status_map)
        if not order.marketplace_id:
            order.marketplace_id = self.settings.marketplace_id
        return order

    def fetch_order(self, order_id: str, *, with_items: bool = True) -> Order | None:
        """One order with its lines (getOrder + getOrderItems); ``with_items=False``:
        getOrder only, no lines (a status check)."""
        body = self.client.get_order(order_id)
        raw = body.get("payload")
        if not isinstance(raw, dict):
            raise MappingError("XD-MAP-010", channel=self.channel, entity=f"order {order_id}",
                               detail="getOrder: no payload")
        items = self._order_items(order_id) if with_items else None
        return M.parse_order(raw, items, channel=self.channel, status_map=self._status_map)

    def fetch_shipping_address(self, order_id: str) -> Address | None:
        """The buyer's full shipping address (personal data: needs a Restricted
        Data Token; only call this when a label must be printed). None while
        the order is Pending or Canceled."""
        for attempt in (1, 2):
            rdt = self._restricted_token(force=attempt == 2)
            try:
                return M.parse_order_address(self.client.get_order_address(order_id, rdt=rdt))
            except AuthError as exc:
                if attempt == 1 and exc.context.get("reason") in ("expired", "revoked"):
                    continue
                raise
        raise AssertionError("unreachable")

    def _restricted_token(self, *, force: bool = False) -> str:
        now = self.clock.timestamp()
        if not force and self._rdt is not None and self._rdt[1] - self.settings.refresh_margin_s > now:
            return self._rdt[0]
        body = self.client.create_rdt(M.rdt_body([("GET", ADDRESS_RESOURCE, ())]))
        try:
            token, expires_in = str(body["restrictedDataToken"]), float(body.get("expiresIn", 3600))
        except (KeyError, TypeError, ValueError) as exc:
            raise AuthError("XD-AUTH-006", channel=self.channel,
                            detail="createRestrictedDataToken answered without a token") from exc
        self._rdt = (token, now + expires_in)
        return token

    # ------------------------------------------------------------ stock and prices
    def stock_calls_needed(self, n_updates: int) -> int:
        """SP-API calls (usage-plan charged) to push ``n_updates`` stock changes
        the way :meth:`push_stock` does (see the module doc for the count)."""
        if n_updates <= 0:
            return 0
        if n_updates <= self.settings.feed_threshold:
            return n_updates
        return CALLS_PER_FEED * M.feeds_needed(n_updates, max_messages=self.settings.max_feed_messages)

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        """Absolute quantities; one result per SKU (the last update of a SKU
        wins). Rejected SKUs are failed results; an auth, network or quota
        error raises (the push is idempotent: retry it whole)."""
        latest = _last_per_sku(updates)
        merchant, refused = self.merchant_fulfilled(list(latest.values()))    # never an FBA offer (fba.py)
        results: dict[str, ItemResult] = {r.sku: r for r in refused}
        valid: list[StockUpdate] = []
        for u in merchant:
            if u.quantity < 0:
                results[u.sku] = ItemResult(sku=u.sku, ok=False, code="XD-INV-005",
                                            message=f"quantity {u.quantity} is negative; nothing was sent")
            else:
                valid.append(u)
        results.update(self._push(valid))
        return [results[sku] for sku in latest]

    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        """Prices in the marketplace's currency (anything else is XD-MAP-004,
        zero or negative XD-MAP-003, without a call)."""
        latest = _last_per_sku(updates)
        results: dict[str, ItemResult] = {}
        valid: list[PriceUpdate] = []
        for u in latest.values():
            if u.price.currency != self.settings.currency:
                results[u.sku] = ItemResult(sku=u.sku, ok=False, code="XD-MAP-004",
                                            message=f"price in {u.price.currency}; {self.channel} sells in "
                                                    f"{self.settings.currency}")
            elif u.price.amount <= 0:
                results[u.sku] = ItemResult(sku=u.sku, ok=False, code="XD-MAP-003",
                                            message=f"price {u.price.amount} must be greater than 0")
            else:
                valid.append(u)
        results.update(self._push(valid))
        return [results[sku] for sku in latest]

    def _push(self, updates: Sequence[StockUpdate | PriceUpdate]) -> dict[str, ItemResult]:
        if not updates:
            return {}
        if len(updates) > self.settings.feed_threshold:
            return self._push_by_feed(updates)
        s = self.settings
        out: dict[str, ItemResult] = {}
        for u in updates:
            patches = M.stock_patches(u) if isinstance(u, StockUpdate) else \
                M.price_patches(u, marketplace_id=s.marketplace_id)
            out[u.sku] = self._patch(u.sku, patches)
        return out

    def _patch(self, sku: str, patches: list[dict[str, Any]]) -> ItemResult:
        s = self.settings
        try:
            body = self.client.patch_listing(sku, M.listing_params(marketplace_id=s.marketplace_id),
                                             M.patch_body(patches, product_type=s.product_type))
        except PlatformError as exc:
            return ItemResult(sku=sku, ok=False, code=exc.code, message=exc.detail)
        return M.submission_result(body, sku=sku)

    def _push_by_feed(self, updates: Sequence[StockUpdate | PriceUpdate]) -> dict[str, ItemResult]:
        s = self.settings
        messages = M.feed_messages(updates, marketplace_id=s.marketplace_id, product_type=s.product_type)
        submitted: list[tuple[str, list[Mapping[str, Any]]]] = []
        for content, batch in M.feed_chunks(messages, seller_id=s.seller_id, max_messages=s.max_feed_messages,
                                            max_bytes=s.max_feed_bytes):
            submitted.append((self.submit_feed(content), batch))
        out: dict[str, ItemResult] = {}
        for feed_id, sent in submitted:
            report = self.feed_report(feed_id)
            for r in M.report_results(report, sent):
                out[r.sku] = r
        return out

    def submit_feed(self, content: bytes) -> str:
        """createFeedDocument, upload, createFeed; returns the feed id."""
        doc = self.client.create_feed_document(M.FEED_CONTENT_TYPE)
        self.client.upload_document(doc["url"], content, M.FEED_CONTENT_TYPE)
        feed = self.client.create_feed(M.create_feed_body(document_id=doc["feedDocumentId"],
                                                          marketplace_id=self.settings.marketplace_id))
        log.info("%s: feed %s submitted (%d bytes)", self.channel, feed["feedId"], len(content))
        return str(feed["feedId"])

    def feed_report(self, feed_id: str) -> dict[str, Any]:
        """Wait for the feed to finish and return its processing report.
        FATAL/CANCELLED is XD-PLATFORM-004 (retryable: resubmit); still not
        done after ``feed_timeout_s`` is XD-NET-002."""
        s = self.settings
        deadline = self.clock.timestamp() + s.feed_timeout_s
        while True:
            feed = self.client.get_feed(feed_id)
            status = feed.get("processingStatus")
            if status == "DONE":
                return self._read_report(feed)
            if status in ("FATAL", "CANCELLED"):
                detail = f"feed {feed_id} ended {status}"
                if feed.get("resultFeedDocumentId"):
                    report = self._read_report(feed)
                    messages = [i.get("message") for i in report.get("issues", []) if i.get("message")]
                    if messages:
                        detail += ": " + "; ".join(messages[:5])
                raise PlatformError("XD-PLATFORM-004", channel=self.channel, entity=f"feed {feed_id}",
                                    detail=detail, feed_id=feed_id)
            if self.clock.timestamp() > deadline:
                raise NetError("XD-NET-002", channel=self.channel, entity=f"feed {feed_id}",
                               detail=f"feed {feed_id} still {status} after {s.feed_timeout_s:.0f} s", feed_id=feed_id)
            self._sleep(self.clock.to_real_s(s.feed_poll_s))

    def _read_report(self, feed: Mapping[str, Any]) -> dict[str, Any]:
        doc = self.client.get_feed_document(str(feed["resultFeedDocumentId"]))
        content = self.client.download_document(doc["url"])
        report = M.decode_document(content, doc.get("compressionAlgorithm"))
        if not isinstance(report, dict):
            raise MappingError("XD-MAP-010", channel=self.channel, detail="processing report is not an object")
        return report

    # ------------------------------------------------------------ listings
    def publish_listing(self, product: Product) -> ItemResult:
        """Create or replace the listing (putListingsItem). The shared listing
        validation (crossdock.mapping.validation) runs first and raises
        MappingError before any call; Amazon's own rejections come back as a
        failed result (XD-PLATFORM-003)."""
        self._validate(product)
        s = self.settings
        body = M.listing_put_body(product, marketplace_id=s.marketplace_id, language_tag=s.language_tag or "en_US",
                                  product_type=s.product_type)
        try:
            resp = self.client.put_listing(product.sku, M.listing_params(marketplace_id=s.marketplace_id,
                                                                         included=("identifiers", "issues")), body)
        except PlatformError as exc:
            return ItemResult(sku=product.sku, ok=False, code=exc.code, message=exc.detail)
        return M.submission_result(resp, sku=product.sku)

    def _validate(self, product: Product) -> None:
        """crossdock.mapping.validation's Amazon rules, on the product as this
        connector will send it (its product type and condition defaults filled)."""
        s = self.settings
        view = dataclasses.replace(product, attributes={
            **product.attributes,
            "product_type": M.listing_product_type(product, default=s.product_type),
            "condition_type": M.listing_condition(product)})
        validate_or_raise(view, ListingChannel(self.channel, self.platform, s.currency or ""))

    def read_listings(self, skus: Sequence[str] | None = None) -> list[ListedOffer]:
        """What the marketplace shows now, read in pages of searchListingsItems:
        ``skus`` twenty at a time (``identifiers``, one page each), ``None`` every
        listing 20 a page. A SKU Amazon does not know comes back with
        ``status="NOT_FOUND"`` and no quantity or price; a SKU the search cannot
        name (a comma in it) is read alone with getListingsItem."""
        mp = self.settings.marketplace_id
        search = functools.partial(M.search_params, marketplace_id=mp, included=M.included_for(skus))
        out: list[ListedOffer] = []
        token: str | None = None
        while skus is None:
            body = self.client.search_listings(search(page_token=token))
            out.extend(M.parse_listing(i, marketplace_id=mp) for i in body.get("items", []))
            if not (token := (body.get("pagination") or {}).get("nextToken")):
                return out
        wanted = list(dict.fromkeys(skus or ()))
        named = [sku for sku in wanted if M.searchable_sku(sku)]
        for i in range(0, len(named), M.SEARCH_PAGE):
            body = self.client.search_listings(search(skus=named[i:i + M.SEARCH_PAGE]))
            out.extend(M.parse_listing(item, marketplace_id=mp) for item in body.get("items", []))
        found = {o.sku: o for o in out}
        return [found.get(sku) or self._read_one(sku, named=M.searchable_sku(sku)) for sku in wanted]

    def _read_one(self, sku: str, *, named: bool) -> ListedOffer:
        """getListingsItem for a SKU the search could not name; NOT_FOUND for one it named and missed."""
        try:
            if not named:
                return M.parse_listing(self.client.get_listing(sku, M.listing_params(
                    marketplace_id=self.settings.marketplace_id, included=M.LISTING_INCLUDED)),
                    marketplace_id=self.settings.marketplace_id)
        except PlatformError as exc:
            if exc.code != "XD-PLATFORM-002":
                raise
        return ListedOffer(sku=sku, quantity=None, price=None, status="NOT_FOUND")

    # ------------------------------------------------------------ shipments
    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        """confirmShipment with Amazon's carrier code ("Other" + carrierName for
        a carrier without one). No lines = every unshipped unit of the order."""
        carrier = platform_carrier(CarrierTable(self.platform, CARRIER_CODES), confirmation.carrier,
                                   overrides=self.settings.carrier_overrides)
        oid = confirmation.platform_order_id
        order_items = None if confirmation.lines else self._order_items(oid)
        items = M.shipment_items(confirmation, order_items)
        if not items:
            raise ShippingError("XD-SHIP-005", channel=self.channel, entity=f"order {oid}",
                                detail="every unit of the order is already shipped")
        body = M.confirm_shipment_body(confirmation, marketplace_id=self.settings.marketplace_id,
                                       carrier_code=carrier.code, carrier_name=carrier.name, items=items)
        self.client.confirm_shipment(oid, body)

    def shipment_confirmed(self, confirmation: ShipmentConfirmation, *, shipments_of_order: int = 1) -> bool | None:
        """Is this shipment confirmed on Amazon? From :meth:`package_confirmed`
        (False exactly when nothing of the order shipped), else from the units
        of the order's only shipment (``Connector.confirmed_by_units``), else None."""
        answer = self.package_confirmed(confirmation.platform_order_id, confirmation.tracking_number)
        if answer is not None:
            return answer
        return self.confirmed_by_units(confirmation, shipments_of_order=shipments_of_order)

    def package_confirmed(self, platform_order_id: str, tracking_number: str) -> bool | None:
        """Is the package with ``tracking_number`` confirmed on Amazon? False, or None
        when a read cannot tell — never True.

        What Amazon's reads carry (Orders v0 model): getOrder counts the order's shipped
        units (``NumberOfItemsShipped``), getOrderItems each item's ``QuantityShipped``;
        neither names a package, a tracking number or a ``packageReferenceId``, and the
        Orders API has no read of an order's packages. So:

        - no unit of the order shipped → False, exactly: confirmShipment marks a
          package's units shipped when it accepts it, so no package of the order is
          there, this one included (a cancelled order has shipped nothing, too);
        - some units shipped → None: they may be this package's, another package's, or
          confirmed in Seller Central; units cannot tell which. :meth:`shipment_confirmed`
          then compares the units of an order's only shipment.

        The one thing that does tell a package apart is the write: confirmShipment names
        the package with a ``packageReferenceId`` derived from the tracking number
        (:func:`~crossdock.connectors.amazon.mapping.package_reference_id`), unique per
        order per the model. The model does not say what Amazon answers to a repeat;
        the sandbox answers an identical repeat with 204 and changes nothing, and a
        reference reused for different items with 400. Sending it is a write whose
        answer on a real account is undocumented — no substitute for a read.

        One getOrder call (0.5/s, burst 30) through the quota budget."""
        body = self.client.get_order(platform_order_id)
        shipped = M.units_shipped(body.get("payload"))
        if shipped is None:
            return None
        return False if shipped == 0 else None


def _last_per_sku(updates: Iterable[U]) -> dict[str, U]:
    out: dict[str, U] = {}
    for u in updates:
        out[u.sku] = u
    return out
