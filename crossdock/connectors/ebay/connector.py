"""The eBay connector: one seller account on one marketplace.

Orders: Fulfillment ``getOrders`` over a ``lastmodifieddate`` window, 200 per
page with ``offset`` (lines come inline), deduplicated by order id within the
window. eBay's polling advice — window from (last run − 2 min) to (now − 2 min)
— is expressed by :attr:`safety_lag_s` and :attr:`overlap_s`; a window ending
later than now − ``safety_lag_s`` on the connector's (platform) clock is
refused with XD-ORD-001 rather than silently shortened.

Stock and prices: Inventory-API listings in ``bulk_update_price_quantity``
batches of 25; legacy listings (created outside the Inventory API) in Trading
``ReviseInventoryStatus`` batches of 4 through ebaysdk. Which is which comes
from the listing map (:mod:`.binder`); a SKU it does not know is an
Inventory-API listing (stock needs no offer id; a price looks the offer up
once with ``getOffers``).

Failures: authorisation and quota errors raise (they stop the whole channel);
a network or platform failure of one batch call marks that batch's items
failed with the error's code, and other batches still go out.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Mapping
from functools import partial
from typing import Any, Callable, Iterable, Sequence, TypeVar

import httpx
from requests.adapters import BaseAdapter

from crossdock.clock import Clock
from crossdock.connectors.base import TokenStore
from crossdock.connectors.contract import Connector, ListingBindings, OrderQuery
from crossdock.connectors.ebay import mapping
from crossdock.connectors.ebay.auth import EbayAuth
from crossdock.connectors.ebay.cancel import CancelsOrders
from crossdock.connectors.ebay.returns import ReadsReturns
from crossdock.connectors.ebay.refunds import RefundsOrders
from crossdock.connectors.ebay.binder import ListingBinder, ListingMap
from crossdock.connectors.ebay.carriers import CARRIER_CODES
from crossdock.connectors.ebay.client import EbayRestClient, EbayTradingClient
from crossdock.connectors.ebay.mapping import ListingRef
from crossdock.connectors.ebay.mapping.shapes import ListingPolicies
from crossdock.connectors.ebay.notification import EbayNotifications
from crossdock.connectors.ebay.reads import ListingReader
from crossdock.connectors.ebay.settings import EbaySettings
from crossdock.connectors.http import Budget
from crossdock.errors import CrossdockError, MappingError, NetError, OrderError, PlatformError, ShippingError
from crossdock.mapping.carriers import CarrierTable, platform_carrier_code
from crossdock.mapping.validation import ListingChannel, validate_or_raise
from crossdock.models import (
    ItemResult,
    ListedOffer,
    Money,
    Order,
    PriceUpdate,
    Product,
    ShipmentConfirmation,
    StockUpdate,
)

log = logging.getLogger(__name__)

U = TypeVar("U", bound=StockUpdate | PriceUpdate)
#: (index in the caller's list, the update, the listing it goes to)
Routed = tuple[int, U, ListingRef]
_BATCH_ERRORS = (NetError, PlatformError)     # a batch fails, the run goes on
_CLOCK_TOLERANCE_S = 1.0


#: Fulfillment getOrders takes at most 50 ``orderIds`` per call.
ORDER_IDS_PER_CALL = 50


class EbayConnector(CancelsOrders, ReadsReturns, RefundsOrders, Connector):
    platform = "ebay"
    safety_lag_s: float = 120.0     # eBay: poll up to now − 2 min
    overlap_s: float = 120.0        # eBay: start at last run − 2 min
    max_window_restarts = 3

    def __init__(self, settings: EbaySettings, *, token_store: TokenStore, clock: Clock | None = None,
                 budget: Budget | None = None, transport: httpx.BaseTransport | None = None,
                 trading_adapter: BaseAdapter | None = None, listing_map: ListingMap | None = None) -> None:
        self.settings = settings
        self.channel = settings.channel
        self.clock = clock or Clock()
        self.http = httpx.Client(transport=transport)
        self.auth = EbayAuth(settings, store=token_store, clock=self.clock, http=self.http)
        self.rest = EbayRestClient(settings, self.auth, self.http, budget=budget)
        self.trading = EbayTradingClient(settings, self.auth, budget=budget, adapter=trading_adapter,
                                         quota_wait=self.rest.quota_wait)
        self.binder = ListingBinder(self.rest, listing_map or {})
        self.listings = self.binder.refs
        self.reader = ListingReader(self.rest, self.trading, self.listings)
        self._notifications: EbayNotifications | None = None

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ events (Notification API)
    @property
    def notifications(self) -> EbayNotifications:
        if self._notifications is None:
            self._notifications = EbayNotifications(self.rest, self.http)
        return self._notifications

    def notification_public_key(self, kid: str) -> str:
        """The PEM of the key eBay signed a notification with (``getPublicKey``)."""
        return self.notifications.public_key(kid)

    def setup_events(self, *, endpoint: str, secret: str) -> list[dict[str, Any]]:
        subs = self.notifications.setup(name=f"crossdock {self.channel}", endpoint=endpoint, token=secret)
        return [_subscription_doc(s, endpoint) for s in subs]

    def event_subscriptions(self) -> list[dict[str, Any]]:
        dests = self.notifications.destinations()
        return [_subscription_doc(s, ((dests.get(str(s.get("destinationId"))) or {}).get("deliveryConfig") or {})
                                  .get("endpoint", "")) for s in self.notifications.subscriptions()]

    def refresh_access_token(self, *, rejected: str | None = None) -> None:
        self.auth.refresh(rejected=rejected)

    # ------------------------------------------------------------------ listing map (:class:`ListingBinder`)
    def update_listing_map(self, entries: ListingMap) -> None:
        self.binder.update(entries)

    def listing_map(self) -> dict[str, dict[str, str]]:
        return self.binder.as_dict()

    def bind_listings(self, bindings: ListingBindings) -> None:
        self.binder.bind(bindings)

    def resolve(self, sku: str, listing_id: str | None = None) -> ListingRef:
        return self.binder.resolve(sku, listing_id)

    # ------------------------------------------------------------------ orders
    def window_end(self) -> dt.datetime:
        """The latest window end eBay's polling advice allows now."""
        return self.clock.now() - dt.timedelta(seconds=self.safety_lag_s)

    def fetch_orders(self, query: OrderQuery) -> list[Order]:
        """Orders changed in the window (``lastmodifieddate``); eBay has no
        window by creation time (``order_changes_every_s`` stays 0)."""
        updated_after, updated_before = query.start, query.end
        latest = self.window_end()
        if updated_before > latest + dt.timedelta(seconds=_CLOCK_TOLERANCE_S):
            too_new = (updated_before - latest).total_seconds()
            raise OrderError("XD-ORD-001", channel=self.channel, retry_after_s=self.clock.to_real_s(too_new),
                             detail=f"window end {mapping.iso_ms(updated_before)} is later than now − "
                                    f"{self.safety_lag_s:.0f} s ({mapping.iso_ms(latest)}); eBay advises polling "
                                    "up to now − 2 min")
        if updated_after >= updated_before:
            return []
        seen: dict[str, Order] = {}
        limit = self.settings.orders_page_size
        for attempt in range(1, self.max_window_restarts + 1):
            offset, total, moved = 0, None, False
            while True:
                page = self.rest.get_orders(mapping.get_orders_params(updated_after, updated_before,
                                                                      limit=limit, offset=offset))
                raws, page_total, has_next = mapping.orders_page(page)
                orders = [o for raw in raws if (o := query.mapped(raw, mapping.order_id_of(raw),
                                                                  partial(mapping.parse_order, raw))) is not None]
                if total is None:
                    total = page_total
                elif page_total != total:
                    moved = True      # an order changed while paging: offsets shifted, page again
                    break
                for order in orders:
                    prev = seen.get(order.platform_order_id)
                    if prev is None or order.updated_at >= prev.updated_at:
                        seen[order.platform_order_id] = order
                offset += len(raws)
                if not has_next or not raws:
                    break
            if not moved:
                log.info("%s: %d order(s) modified in %s..%s", self.channel, len(seen),
                         mapping.iso_ms(updated_after), mapping.iso_ms(updated_before))
                return sorted(seen.values(), key=lambda o: (o.updated_at, o.platform_order_id))
            log.info("%s: order set changed while paging (attempt %d); paging the window again",
                     self.channel, attempt)
        raise OrderError("XD-ORD-001", channel=self.channel,
                         detail=f"the order set kept changing while paging {self.max_window_restarts} times")

    def order_from_payload(self, payload: Mapping[str, Any]) -> Order:
        """A Fulfillment API ``Order`` as eBay sent it (``Order.raw``) as an Order."""
        return mapping.parse_order(payload)

    def fetch_order(self, order_id: str, *, with_items: bool = True) -> Order:
        """One order as eBay shows it now, with its lines (Fulfillment ``getOrder``)."""
        return mapping.parse_order(self.rest.get_order(order_id))

    def fetch_orders_by_id(self, order_ids: Sequence[str], *,
                           missing: Callable[[str, str, str], None]) -> Iterable[Order]:
        """Orders by id, 50 a call (Fulfillment ``getOrders`` with ``orderIds``); an id
        eBay does not return is XD-PLATFORM-002, an order that cannot be mapped its own code."""
        ids = list(dict.fromkeys(str(i) for i in order_ids))
        for start in range(0, len(ids), ORDER_IDS_PER_CALL):
            chunk = ids[start:start + ORDER_IDS_PER_CALL]
            page = self.rest.get_orders({"orderIds": ",".join(chunk), "limit": str(len(chunk))})
            seen: set[str] = set()
            for raw in page.get("orders") or []:
                oid = str((raw or {}).get("orderId") or "")
                seen.add(oid)
                try:
                    yield mapping.parse_order(raw)
                except MappingError as exc:
                    missing(oid, exc.code, exc.message)
            for oid in chunk:
                if oid not in seen:
                    missing(oid, "XD-PLATFORM-002", "eBay returned no order with this id")

    # ------------------------------------------------------------------ stock and prices
    def _split(self, updates: Sequence[U]) -> tuple[list[Routed[U]], list[Routed[U]], dict[int, ItemResult]]:
        """(inventory [(index, update, ref)], trading [...], early results) — the last update of a SKU wins."""
        latest: dict[str, int] = {}
        for i, u in enumerate(updates):
            latest[u.sku] = i
        inventory: list[Routed[U]] = []
        trading: list[Routed[U]] = []
        results: dict[int, ItemResult] = {}
        for i, u in enumerate(updates):
            if latest[u.sku] != i:
                continue
            try:
                ref = self.binder.ref_of(u)
            except MappingError as exc:
                results[i] = ItemResult(u.sku, False, exc.code, exc.detail)
                continue
            (inventory if ref.kind == "inventory" else trading).append((i, u, ref))
        return inventory, trading, results

    @staticmethod
    def _fill(updates: Sequence[StockUpdate | PriceUpdate], results: dict[int, ItemResult]) -> list[ItemResult]:
        by_sku = {updates[i].sku: r for i, r in results.items()}
        return [results.get(i) or by_sku[u.sku] for i, u in enumerate(updates)]

    def _batch_failed(self, batch: Iterable[Routed[StockUpdate | PriceUpdate]], exc: CrossdockError,
                      results: dict[int, ItemResult]) -> None:
        log.warning("%s: batch of %s failed: %s", self.channel, exc.context.get("operation"), exc)
        for i, u, _ in batch:
            results[i] = ItemResult(u.sku, False, exc.code, str(exc))

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        valid = [u for u in updates if u.quantity >= 0]
        inventory, trading, results = self._split(valid)
        out_of_range = {id(u) for u in updates if u.quantity < 0}
        for batch in mapping.chunks(inventory, self.settings.inventory_batch_size):
            body = mapping.bulk_stock_body([(u.sku, ref, u.quantity) for _, u, ref in batch])
            try:
                per_sku = mapping.parse_bulk_response(self.rest.bulk_update_price_quantity(body),
                                                      [u.sku for _, u, _ in batch])
            except _BATCH_ERRORS as exc:
                self._batch_failed(batch, exc, results)
                continue
            for i, u, _ in batch:
                results[i] = per_sku[u.sku]
        self._trading_batches(trading, results, lambda u: (u.quantity, None))
        mapped = self._fill(valid, results) if valid else []
        it = iter(mapped)
        return [ItemResult(u.sku, False, "XD-INV-005", f"quantity {u.quantity} is negative")
                if id(u) in out_of_range else next(it) for u in updates]

    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        inventory, trading, results = self._split(updates)
        currency = self.settings.currency
        priced: list[tuple[int, PriceUpdate, ListingRef]] = []
        for i, u, ref in [*inventory, *trading]:
            if u.price.currency != currency:
                results[i] = ItemResult(u.sku, False, "XD-MAP-004",
                                        f"price in {u.price.currency}; {self.channel} sells in {currency}")
            elif u.price.amount <= 0:
                results[i] = ItemResult(u.sku, False, "XD-MAP-003", f"price {u.price.amount} is not above zero")
            else:
                priced.append((i, u, ref))
        inv_ready: list[Routed[PriceUpdate]] = []
        for i, u, ref in (p for p in priced if p[2].kind == "inventory"):
            if ref.offer_id:
                inv_ready.append((i, u, ref))
                continue
            try:
                found = self.binder.find_offer(u.sku)
            except _BATCH_ERRORS as exc:
                results[i] = ItemResult(u.sku, False, exc.code, str(exc))
                continue
            if found is None:
                results[i] = ItemResult(u.sku, False, "XD-PLATFORM-002", f"no offer for SKU {u.sku} on eBay")
                continue
            inv_ready.append((i, u, found[0]))
        for batch in mapping.chunks(inv_ready, self.settings.inventory_batch_size):
            body = mapping.bulk_price_body([(u.sku, str(ref.offer_id), u.price) for _, u, ref in batch])
            try:
                per_sku = mapping.parse_bulk_response(self.rest.bulk_update_price_quantity(body),
                                                      [u.sku for _, u, _ in batch])
            except _BATCH_ERRORS as exc:
                self._batch_failed(batch, exc, results)
                continue
            for i, u, _ in batch:
                results[i] = per_sku[u.sku]
        self._trading_batches([p for p in priced if p[2].kind == "trading"], results, lambda u: (None, u.price))
        return self._fill(updates, results)

    def _trading_batches(self, items: Sequence[Routed[U]], results: dict[int, ItemResult],
                         values: Callable[[U], tuple[int | None, Money | None]]) -> None:
        for batch in mapping.chunks(items, self.settings.trading_batch_size):
            rows = [(u.sku, str(ref.item_id), *values(u)) for _, u, ref in batch]
            try:
                reply = self.trading.revise_inventory_status(mapping.revise_inventory_status_data(rows))
            except _BATCH_ERRORS as exc:
                self._batch_failed(batch, exc, results)
                continue
            per_sku = mapping.parse_revise_inventory_status(reply, [(u.sku, str(ref.item_id)) for _, u, ref in batch])
            for i, u, _ in batch:
                results[i] = per_sku[u.sku]

    def stock_calls_needed(self, n_updates: int) -> int:
        """Calls for ``n_updates`` stock changes: Inventory-API listings go 25 per
        call, legacy listings 4 per call. The mix comes from the listing map: its
        share of legacy entries when it lists both kinds, otherwise (a map that
        names only the legacy listings, everything else being Inventory-API)
        ``min(n_updates, legacy entries)``. :meth:`stock_calls_for` is exact for a
        concrete batch."""
        if n_updates <= 0:
            return 0
        kinds = [r.kind for r in self.listings.values()]
        n_legacy = kinds.count("trading")
        if n_legacy and "inventory" in kinds:
            legacy = round(n_updates * n_legacy / len(kinds))
        else:
            legacy = min(n_updates, n_legacy)
        return (math.ceil((n_updates - legacy) / self.settings.inventory_batch_size)
                + math.ceil(legacy / self.settings.trading_batch_size))

    def stock_calls_for(self, updates: Sequence[StockUpdate]) -> int:
        inventory, trading, _ = self._split([u for u in updates if u.quantity >= 0])
        return (math.ceil(len(inventory) / self.settings.inventory_batch_size)
                + math.ceil(len(trading) / self.settings.trading_batch_size))

    # ------------------------------------------------------------------ listings
    def _validate(self, product: Product, price: Money | None) -> None:
        validate_or_raise(product, ListingChannel.for_marketplace(self.channel, self.platform,
                                                                  self.settings.marketplace_id), price=price)

    def publish_listing(self, product: Product) -> ItemResult:
        """createOrReplaceInventoryItem, then createOffer/updateOffer, then publishOffer.
        Validation problems raise MappingError before any call; an eBay rejection
        is a failed ItemResult (XD-PLATFORM-003)."""
        s = self.settings
        price = product.price
        self._validate(product, price)
        known = self.listings.get(product.sku)
        if known is not None and known.kind == "trading":
            return ItemResult(product.sku, False, "XD-PLATFORM-001",
                              f"SKU {product.sku} is a legacy listing (ItemID {known.item_id}); the Inventory API "
                              "cannot revise it — migrate it with bulkMigrateListing first")
        category = str(product.attributes.get("category_id") or s.default_category_id or "")
        policies = {"fulfillmentPolicyId": product.attributes.get("fulfillment_policy_id") or s.fulfillment_policy_id,
                    "paymentPolicyId": product.attributes.get("payment_policy_id") or s.payment_policy_id,
                    "returnPolicyId": product.attributes.get("return_policy_id") or s.return_policy_id}
        missing = [k for k, v in policies.items() if not v]
        if missing or not s.merchant_location_key:
            raise MappingError("XD-MAP-001", channel=self.channel, entity=f"sku {product.sku}",
                               detail="eBay offers need business policies and a merchant location; missing: "
                                      + ", ".join(missing + ([] if s.merchant_location_key else ["merchant_location_key"])))
        qty = product.quantity if product.quantity is not None else 0
        assert price is not None
        chosen = ListingPolicies(fulfillmentPolicyId=str(policies["fulfillmentPolicyId"]),
                                 paymentPolicyId=str(policies["paymentPolicyId"]),
                                 returnPolicyId=str(policies["returnPolicyId"]))
        offer = mapping.offer_body(product, marketplace_id=s.marketplace_id, quantity=qty, price=price,
                                   category_id=category, merchant_location_key=s.merchant_location_key,
                                   policies=chosen)
        try:
            self.rest.put_inventory_item(product.sku, mapping.inventory_item_body(product, quantity=qty))
            found = (known, None) if known is not None and known.offer_id else self.binder.find_offer(product.sku)
            if found is None:
                ref, published = ListingRef("inventory", offer_id=self.rest.create_offer(offer)), False
            else:
                ref, status = found
                self.rest.update_offer(str(ref.offer_id), offer)
                published = status == "PUBLISHED" or (status is None and bool(ref.item_id))
            listing_id = (ref.item_id if published and ref.item_id
                          else self.rest.publish_offer(str(ref.offer_id)))
        except PlatformError as exc:
            return ItemResult(product.sku, False, exc.code, exc.detail)
        bound = ListingRef("inventory", offer_id=ref.offer_id, item_id=listing_id)
        self.listings[product.sku] = bound
        return ItemResult(product.sku, True, message=f"listing {listing_id}", platform_ids=bound.to_dict(),
                          listing_id=str(listing_id) if listing_id else None)

    def read_listings(self, skus: Sequence[str] | None = None) -> list[ListedOffer]:
        """What buyers see (:class:`~crossdock.connectors.ebay.reads.ListingReader`):
        many SKUs from ``GetMyeBaySelling``'s pages, a few (and those the pages
        do not show) with ``getOffers`` or Trading ``GetItem`` each. Without
        ``skus``, every listing of the account."""
        return self.reader.read_all() if skus is None else self.reader.read(skus)

    def find_listing(self, listing_id: str, *, sku: str) -> ListedOffer | None:
        """Any eBay listing has an ItemID: Trading ``GetItem`` finds it. An
        Inventory-API listing is addressed by its SKU (XD-INV-011 when that is
        not ``sku``); a legacy listing by its ItemID, so it links to ``sku``
        whatever SKU it carries."""
        from crossdock.errors import InventoryError

        try:
            item = mapping.parse_trading_item(self.trading.get_item(listing_id))
        except PlatformError as exc:
            if exc.code == "XD-PLATFORM-002":
                return None
            raise
        if item.sku:
            mine = [o for o in self.read_listings([item.sku]) if o.listing_id == item.listing_id]
            if mine:                                   # an Inventory-API listing: addressed by its SKU
                offer = mine[0]
                if offer.sku != sku:
                    raise InventoryError("XD-INV-011", channel=self.channel, entity=f"sku {sku}",
                                         detail=f"listing {listing_id} is the Inventory-API offer of SKU "
                                                f"{offer.sku}; eBay addresses it by that SKU")
                return offer
        return ListedOffer(sku=sku, quantity=item.quantity, price=item.price, listing_id=item.listing_id,
                           status=item.status, title=item.title, ids=item.ids)

    # ------------------------------------------------------------------ shipments
    def shipment_confirmed(self, confirmation: ShipmentConfirmation, *, shipments_of_order: int = 1) -> bool | None:
        """``getOrder`` lists the order's shipping fulfillments, named after their
        tracking number: an exact answer, whatever the number of shipments."""
        order = self.rest.get_order(confirmation.platform_order_id)
        return confirmation.tracking_number in mapping.fulfillment_ids(order)

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> str | None:
        """createShippingFulfillment; returns eBay's fulfillment id. Repeating a
        confirmation eBay already holds (34500, same carrier and tracking) is a no-op."""
        c = confirmation
        code = platform_carrier_code(CarrierTable(self.platform, CARRIER_CODES), c.carrier,
                                     overrides=self.settings.carrier_overrides or None)
        lines = list(c.lines)
        if not lines:
            order = self.rest.get_order(c.platform_order_id)
            lines = mapping.unshipped_lines(order)
            if not lines:
                if c.tracking_number in mapping.fulfillment_ids(order):
                    return c.tracking_number        # this very shipment is already on eBay
                raise ShippingError("XD-SHIP-005", channel=self.channel, entity=f"order {c.platform_order_id}",
                                    detail="every line is already marked shipped on eBay")
        body = mapping.shipping_fulfillment_body(lines, carrier_code=code, tracking_number=c.tracking_number,
                                                 shipped_at=c.shipped_at)
        try:
            resp = self.rest.create_shipping_fulfillment(c.platform_order_id, body)
        except PlatformError as exc:
            if exc.context.get("error_id") == 34500:
                log.info("%s: order %s already has tracking %s; nothing to do", self.channel,
                         c.platform_order_id, c.tracking_number)
                return c.tracking_number
            raise
        fid = mapping.fulfillment_id_from_location(resp.headers.get("Location"))
        log.info("%s: order %s shipped with %s %s (fulfillment %s)", self.channel, c.platform_order_id, code,
                 c.tracking_number, fid)
        return fid


def _subscription_doc(s: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
    return {"topic": s.get("topicId"), "status": s.get("status"), "endpoint": endpoint,
            "id": s.get("subscriptionId")}
