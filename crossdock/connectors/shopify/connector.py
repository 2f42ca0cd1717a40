"""The Shopify connector: normalised operations on top of the GraphQL client.

How each operation uses the platform:

* **orders** — ``orders(query: "updated_at:>='A' updated_at:<'B'", sortKey:
  UPDATED_AT)`` with cursor paging; lines come inline (``line_items_page_size``)
  and an order with more lines is completed with ``order.lineItems`` pages. The
  window is half-open [A, B) at second precision and deduplicated by order id.
  ``safety_lag_s``: Shopify's search index trails writes by a few seconds, so
  the window must end at least that long before the platform's "now" (the
  caller owns the cursor; :meth:`window_end` gives the latest allowed end).
  Without the ``read_all_orders`` scope Shopify shows only orders created in
  the last 60 days, whatever the window.
* **stock** — ``inventorySetQuantities`` (name "available"), at most 250
  quantities a call, with an ``@idempotent`` key. With
  ``StockUpdate.expected_current`` set, the quantity is compare-and-set
  (``changeFromQuantity``): use it whenever the engine's value may be stale,
  i.e. a sale on Shopify since crossdock last read or pushed the quantity must
  not be overwritten unseen. A stale item is re-read and sent once more with the
  fresh value as ``changeFromQuantity`` (the rest of the batch is resent too:
  Shopify applies a batch all or nothing); stale again -> XD-PLATFORM-005 for
  that item. Without ``expected_current`` the quantity is set outright
  (``changeFromQuantity: null``): for when crossdock is the source of truth
  (initial publication, ``reconcile --apply``).
* **prices** — ``productVariantsBulkUpdate`` per product (variants grouped by
  product), several products aliased in one request
  (``price_mutations_per_request``, 10 points each).
* **listings** — validated first (``crossdock.mapping.validation``); a new SKU
  is ``productCreate`` + ``productVariantsBulkUpdate`` of its default variant
  (SKU, price, HS code, origin) + stock; an existing one is ``productUpdate`` +
  the variant update.
* **shipments** — the order's open fulfillment orders are read, the requested
  lines allocated over them, and ``fulfillmentCreate`` is sent per location with
  ``trackingInfo`` (company names from :mod:`.carriers`).
  Whether a shipment is already on Shopify is read from the order's fulfillments,
  which carry its tracking number (:meth:`ShopifyConnector.shipment_confirmed`).

SKU resolution: :mod:`.variants` (variant, product and inventory item ids per
SKU, cached; the location stock is set at).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from crossdock.clock import Clock
from crossdock.connectors.base import TokenStore
from crossdock.connectors.contract import Connector, OrderQuery
from crossdock.connectors.http import Budget
from crossdock.connectors.shopify import hooks
from crossdock.connectors.shopify.returns import SellerOrderActions
from crossdock.connectors.shopify.refunds import RefundsOrders
from crossdock.connectors.shopify import mapping as m
from crossdock.connectors.shopify.carriers import CARRIER_CODES
from crossdock.connectors.shopify.client import ShopifyClient
from crossdock.connectors.shopify.order_pages import complete_lines, orders_by_id, orders_pages
from crossdock.connectors.shopify.errors import user_error_code
from crossdock.connectors.shopify.settings import ShopifySettings
from crossdock.connectors.shopify.variants import VariantIds
from crossdock.errors import MappingError, OrderError, PlatformError, QuotaError, ShippingError
from crossdock.mapping.carriers import CarrierTable, platform_carrier, tracking_url
from crossdock.mapping.validation import ListingChannel, validate_or_raise
from crossdock.models import ItemResult, ListedOffer, Order, PriceUpdate, Product, ShipmentConfirmation, StockUpdate
from crossdock.ratelimit.budget import Priority
from crossdock.ratelimit.waits import PartialRead

log = logging.getLogger(__name__)

STALE = ("CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE")


class ShopifyConnector(SellerOrderActions, RefundsOrders, Connector):
    """crossdock's Connector for one Shopify shop."""

    platform = "shopify"
    #: The search index trails writes; never ask for orders updated more recently than this.
    safety_lag_s: float = 120.0
    #: How far the engine should re-read before its cursor (duplicates are harmless: ids dedupe).
    overlap_s: float = 60.0
    orders_in_update_order = True           # orders pages sorted by UPDATED_AT

    def __init__(self, settings: ShopifySettings, *, token_store: TokenStore, clock: Clock,
                 budget: Budget | None = None, transport: httpx.BaseTransport | None = None,
                 client: ShopifyClient | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.channel = settings.channel
        self.clock = clock
        self.client = client or ShopifyClient(settings, store=token_store, clock=clock, budget=budget,
                                              transport=transport, sleep=sleep)
        self.skus = VariantIds(settings, self.client, clock)

    def close(self) -> None:
        self.client.close()

    def refresh_access_token(self, *, rejected: str | None = None) -> None:
        self.client.auth.refresh(rejected=rejected)

    def setup_events(self, *, endpoint: str, secret: str) -> list[dict[str, Any]]:
        """webhookSubscriptionCreate for the order topics (Shopify signs with the client secret)."""
        return hooks.subscribe(self.client.graphql, channel=self.channel, uri=endpoint)

    def event_subscriptions(self) -> list[dict[str, Any]]:
        return hooks.parse_subscriptions(self.client.graphql(hooks.subscriptions_request()))

    # --- SKU resolution (the ids live in :class:`~crossdock.connectors.shopify.variants.VariantIds`) ---
    def forget(self, sku: str) -> None:
        self.skus.forget(sku)

    def location_id(self) -> str:
        return self.skus.location_id()

    def resolve(self, skus: Sequence[str], *, priority: Priority = Priority.NORMAL) -> dict[str, m.VariantRef]:
        """SKU -> ids, from the cache when fresh; SKUs Shopify does not know are absent."""
        return self.skus.resolve(skus, priority=priority)

    # --- orders ---------------------------------------------------------------------------
    def window_end(self) -> dt.datetime:
        """The latest ``updated_before`` :meth:`fetch_orders` accepts now."""
        return self.clock.now() - dt.timedelta(seconds=self.safety_lag_s)

    def fetch_orders(self, query: OrderQuery) -> list[Order]:
        """Orders updated in the window (``updated_at`` search); Shopify reads no
        window by creation time (``order_changes_every_s`` stays 0)."""
        updated_after, updated_before = query.start, query.end
        limit = self.window_end()
        if updated_before > limit + dt.timedelta(seconds=1):
            too_new = (updated_before - limit).total_seconds()
            raise OrderError("XD-ORD-001", channel=self.channel, retry_after_s=self.clock.to_real_s(too_new),
                             detail=f"updated_before {updated_before.isoformat()} is later than now - safety_lag_s "
                                    f"({limit.isoformat()}): Shopify's search index may not show those orders yet")
        if updated_after >= updated_before:
            return []
        read: list[Order] = []
        try:
            for order in orders_pages(self.client, self.settings, query, updated_after, updated_before):
                read.append(order)
        except QuotaError as exc:
            if not read:
                raise
            # the pages before the wait are kept by the engine (orders_in_update_order)
            raise PartialRead(exc.retry_after_s if exc.retry_after_s is not None else 1.0, items=read,
                              code=exc.code, platform=self.platform, account=self.settings.shop,
                              operation="graphql", channel=self.channel) from exc
        return read

    def order_from_payload(self, payload: Mapping[str, Any]) -> Order:
        """A GraphQL ``Order`` node as Shopify sent it (``Order.raw``) as an Order; lines
        beyond the node's first page are read from Shopify."""
        order = m.parse_order(payload)
        li = (payload.get("lineItems") or {}).get("pageInfo") or {}
        if li.get("hasNextPage"):
            self._complete_lines(order, li.get("endCursor"))
        return order

    def fetch_order(self, order_id: str, *, with_items: bool = True) -> Order:
        """One order as Shopify shows it now, with every line (``order(id:)`` with the
        import's fields; more lines than ``line_items_page_size`` are paged in). Not found
        (or not visible to this app: older than 60 days without ``read_all_orders``) is
        XD-PLATFORM-002."""
        entity = f"order {order_id}"
        data = self.client.graphql(m.order_request(order_id, lines=self.settings.line_items_page_size),
                                   priority=Priority.CRITICAL, entity=entity)
        parsed = m.parse_single_order(data)
        if parsed is None:
            raise PlatformError("XD-PLATFORM-002", channel=self.channel, entity=entity, detail="order not found")
        order, more_lines = parsed
        if more_lines:
            self._complete_lines(order, more_lines)
        return order

    def fetch_orders_by_id(self, order_ids: Sequence[str], *,
                           missing: Callable[[str, str, str], None]) -> Iterable[Order]:
        """Orders by id, ``orders_page_size`` a request (:func:`order_pages.orders_by_id`)."""
        return orders_by_id(self.client, self.settings, order_ids, missing=missing, parse=self.order_from_payload)

    def _complete_lines(self, order: Order, cursor: str | None) -> None:
        complete_lines(self.client, order, cursor)

    # --- stock ------------------------------------------------------------------------------
    def stock_calls_needed(self, n_updates: int) -> int:
        """inventorySetQuantities calls (250 quantities each); SKUs not yet in the
        cache cost one productVariants query per ``sku_batch_size`` on top."""
        return math.ceil(max(0, n_updates) / self.settings.stock_batch_size)

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        results: dict[int, ItemResult] = {}
        last: dict[str, int] = {}
        for i, u in enumerate(updates):
            last[u.sku] = i
        todo: list[int] = []
        for i, u in enumerate(updates):
            if last[u.sku] != i:
                results[i] = ItemResult(u.sku, True, message="superseded by a later update of the same SKU")
            elif u.quantity < 0:
                results[i] = ItemResult(u.sku, False, "XD-PLATFORM-001", f"negative quantity {u.quantity}")
            else:
                todo.append(i)
        refs = self.resolve([updates[i].sku for i in todo], priority=Priority.STOCK) if todo else {}
        entries: list[tuple[int, m.StockEntry]] = []
        loc = self.location_id() if todo else ""
        for i in todo:
            u = updates[i]
            ref = refs.get(u.sku)
            if ref is None:
                results[i] = ItemResult(u.sku, False, "XD-PLATFORM-002", "SKU not found on Shopify")
                continue
            entries.append((i, m.StockEntry(u.sku, ref.inventory_item_id, loc, u.quantity, u.expected_current)))
        size = self.settings.stock_batch_size
        for start in range(0, len(entries), size):
            chunk = entries[start:start + size]
            outcome = self._push_stock_batch([e for _, e in chunk])
            for i, e in chunk:
                results[i] = outcome[e.sku]
        return [results[i] for i in range(len(updates))]

    def _push_stock_batch(self, entries: list[m.StockEntry]) -> dict[str, ItemResult]:
        out: dict[str, ItemResult] = {}
        pending = list(entries)
        reread: set[str] = set()
        while pending:
            request = m.inventory_set_request(pending, reason=self.settings.inventory_reason,
                                              reference=self.settings.reference_document_uri,
                                              idempotency_key=str(uuid.uuid4()))
            errors = m.parse_inventory_set(self.client.graphql(request, priority=Priority.STOCK))
            if not errors:
                for e in pending:
                    out[e.sku] = ItemResult(e.sku, True)
                break
            by_index = {ue.index: ue for ue in errors if ue.index is not None and 0 <= ue.index < len(pending)}
            if len(by_index) < len(errors):     # an error about the whole call: nothing was applied
                whole = next(ue for ue in errors if ue.index is None or ue.index not in by_index)
                for e in pending:
                    out[e.sku] = ItemResult(e.sku, False, user_error_code(whole.code),
                                            f"{whole.code}: {whole.message}")
                break
            next_round: list[m.StockEntry] = []
            stale: list[m.StockEntry] = []
            for i, e in enumerate(pending):
                ue = by_index.get(i)
                if ue is None:
                    next_round.append(e)         # Shopify applies a batch all or nothing: send it again
                elif ue.code in STALE and e.sku not in reread:
                    stale.append(e)
                else:
                    code = user_error_code(ue.code)
                    out[e.sku] = ItemResult(e.sku, False, code, f"{ue.code}: {ue.message}")
                    if code == "XD-PLATFORM-002":
                        self.forget(e.sku)
            if stale:
                fresh = self.skus.lookup([e.sku for e in stale], priority=Priority.STOCK)
                for e in stale:
                    reread.add(e.sku)
                    ref = fresh.get(e.sku)
                    if ref is None or ref.available is None:
                        out[e.sku] = ItemResult(e.sku, False, "XD-PLATFORM-002", "SKU vanished on Shopify")
                        continue
                    log.info("%s: %s changed on Shopify (expected %s, now %s); sending again",
                             self.channel, e.sku, e.change_from, ref.available)
                    next_round.append(dataclasses.replace(e, change_from=ref.available))
            pending = next_round
        return out

    # --- prices -----------------------------------------------------------------------------
    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        results: dict[int, ItemResult] = {}
        last: dict[str, int] = {}
        for i, u in enumerate(updates):
            last[u.sku] = i
        todo = []
        for i, u in enumerate(updates):
            if last[u.sku] != i:
                results[i] = ItemResult(u.sku, True, message="superseded by a later update of the same SKU")
            elif u.price.currency != self.settings.currency:
                results[i] = ItemResult(u.sku, False, "XD-MAP-004",
                                        f"price in {u.price.currency}, shop sells in {self.settings.currency}")
            elif u.price.amount <= 0:
                results[i] = ItemResult(u.sku, False, "XD-MAP-003", f"price {u.price.amount} is not above zero")
            else:
                todo.append(i)
        refs = self.resolve([updates[i].sku for i in todo], priority=Priority.PRICE) if todo else {}
        by_product: dict[str, list[tuple[str, str, Decimal]]] = {}
        index_of: dict[str, int] = {}
        for i in todo:
            u = updates[i]
            ref = refs.get(u.sku)
            if ref is None:
                results[i] = ItemResult(u.sku, False, "XD-PLATFORM-002", "SKU not found on Shopify")
                continue
            index_of[u.sku] = i
            by_product.setdefault(ref.product_id, []).append((u.sku, ref.variant_id, u.price.amount))
        groups = [m.PriceGroup(pid, tuple(vs[j:j + m.MAX_FIRST]))
                  for pid, vs in by_product.items() for j in range(0, len(vs), m.MAX_FIRST)]
        outcome = self._push_price_groups(groups, retry=True)
        for sku, res in outcome.items():
            results[index_of[sku]] = res
        return [results[i] for i in range(len(updates))]

    def _push_price_groups(self, groups: list[m.PriceGroup], *, retry: bool) -> dict[str, ItemResult]:
        out: dict[str, ItemResult] = {}
        resend: list[m.PriceGroup] = []
        per = self.settings.price_mutations_per_request
        for start in range(0, len(groups), per):
            chunk = groups[start:start + per]
            data = self.client.graphql(m.prices_request(chunk), priority=Priority.PRICE)
            for group, errors in zip(chunk, m.parse_prices(data, chunk)):
                if not errors:
                    for sku, _, price in group.variants:
                        out[sku] = ItemResult(sku, True)
                    continue
                bad = {ue.index: ue for ue in errors if ue.index is not None}
                general = [ue for ue in errors if ue.index is None]
                keep = []
                for j, (sku, vid, price) in enumerate(group.variants):
                    ue = bad.get(j) or (general[0] if general else None)
                    if ue is not None:
                        code = user_error_code(ue.code)
                        out[sku] = ItemResult(sku, False, code, f"{ue.code}: {ue.message}")
                        if code == "XD-PLATFORM-002":
                            self.forget(sku)
                    else:
                        keep.append((sku, vid, price))
                if keep and retry:        # the bulk update is all or nothing: resend the good ones
                    resend.append(m.PriceGroup(group.product_id, tuple(keep)))
                elif keep:
                    for sku, _, _ in keep:
                        out[sku] = ItemResult(sku, False, "XD-PLATFORM-001", "not applied: rejected with its product")
        if resend:
            out.update(self._push_price_groups(resend, retry=False))
        return out

    # --- listings -------------------------------------------------------------------------------
    def _validate(self, product: Product) -> None:
        if not product.sku or not product.sku.strip():
            raise MappingError("XD-MAP-001", channel=self.channel, detail="the product has no SKU")
        validate_or_raise(product, ListingChannel(self.channel, self.platform, self.settings.currency),
                          price=product.price)

    def publish_listing(self, product: Product) -> ItemResult:
        self._validate(product)
        existing = self.resolve([product.sku], priority=Priority.CONTENT).get(product.sku)
        if existing is not None:
            data = self.client.graphql(m.product_update_request(existing.product_id, product),
                                       priority=Priority.CONTENT, entity=f"sku {product.sku}")
            errs = (data.get("productUpdate") or {}).get("userErrors") or []
            if errs:
                return self._rejected(product.sku, errs)
            product_id, variant_id = existing.product_id, existing.variant_id
        else:
            data = self.client.graphql(m.product_create_request(product), priority=Priority.CONTENT,
                                       entity=f"sku {product.sku}")
            payload = data.get("productCreate") or {}
            if payload.get("userErrors"):
                return self._rejected(product.sku, payload["userErrors"])
            created = payload.get("product") or {}
            try:
                product_id = created["id"]
                variant_id = created["variants"]["nodes"][0]["id"]
            except (KeyError, IndexError, TypeError) as exc:
                raise MappingError("XD-MAP-010", channel=self.channel, entity=f"sku {product.sku}",
                                   detail=f"productCreate answer without product/variant: {exc}") from exc
        data = self.client.graphql(m.variant_setup_request(product_id, variant_id, product, price=product.price),
                                   priority=Priority.CONTENT, entity=f"sku {product.sku}")
        payload = data.get("productVariantsBulkUpdate") or {}
        if payload.get("userErrors"):
            return self._rejected(product.sku, payload["userErrors"])
        variants = payload.get("productVariants") or []
        ids = None
        if variants:
            v = variants[0]
            ref = m.VariantRef(sku=product.sku, variant_id=v["id"], product_id=product_id,
                               inventory_item_id=v["inventoryItem"]["id"],
                               price=product.price.amount if product.price else None)
            self.skus.remember([ref])
            ids = {"variant_id": ref.variant_id, "product_id": ref.product_id,
                   "inventory_item_id": ref.inventory_item_id}
        else:
            self.forget(product.sku)
        if product.quantity is not None:
            stock = self.push_stock([StockUpdate(product.sku, product.quantity)])[0]
            if not stock.ok:
                return ItemResult(product.sku, False, stock.code, f"listed, but stock not set: {stock.message}")
        verb = "updated" if existing is not None else "created"
        return ItemResult(product.sku, True, message=f"{verb} {product_id}", platform_ids=ids)

    @staticmethod
    def _rejected(sku: str, errors: list[dict[str, Any]]) -> ItemResult:
        text = "; ".join(f"{'.'.join(e.get('field') or [])}: {e.get('message')}" for e in errors)
        return ItemResult(sku, False, "XD-PLATFORM-003", text)

    # --- shipments ----------------------------------------------------------------------------------
    def _carrier(self, name: str, number: str, url: str | None) -> tuple[str, str | None]:
        pc = platform_carrier(CarrierTable(self.platform, CARRIER_CODES), name,
                              overrides=self.settings.carrier_overrides)
        company = pc.name if pc.name else pc.code
        return company, url or tracking_url(name, number)

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        oid = confirmation.platform_order_id
        entity = f"order {oid}"
        company, url = self._carrier(confirmation.carrier, confirmation.tracking_number, confirmation.tracking_url)
        data = self.client.graphql(m.fulfillment_orders_request(oid), priority=Priority.CRITICAL, entity=entity)
        parsed = m.parse_fulfillment_orders(data)
        if parsed is None:
            raise PlatformError("XD-PLATFORM-002", channel=self.channel, entity=entity, detail="order not found")
        cancelled, fos = parsed
        if cancelled:
            raise PlatformError("XD-PLATFORM-007", channel=self.channel, entity=entity,
                                detail="the order is cancelled on Shopify")
        plan, shortfalls = m.plan_fulfillment(fos, confirmation.lines)
        if shortfalls:
            log.warning("%s: %s lines already fulfilled or unknown, not sent again: %s", self.channel, entity,
                        shortfalls)
        if not plan:
            raise ShippingError("XD-SHIP-005", channel=self.channel, entity=entity,
                                detail="nothing left to fulfil on Shopify")
        for location, groups in plan.items():
            request = m.fulfillment_create_request(groups, company=company, number=confirmation.tracking_number,
                                                   url=url, notify_customer=self.settings.notify_customer)
            payload = self.client.graphql(request, priority=Priority.CRITICAL, entity=entity).get(
                "fulfillmentCreate") or {}
            errs = payload.get("userErrors") or []
            if errs or not payload.get("fulfillment"):
                text = "; ".join(str(e.get("message")) for e in errs) or "no fulfillment returned"
                raise PlatformError("XD-PLATFORM-007", channel=self.channel, entity=entity,
                                    detail=f"fulfillmentCreate at {location}: {text}")

    def shipment_confirmed(self, confirmation: ShipmentConfirmation, *, shipments_of_order: int = 1) -> bool | None:
        """Is this shipment on Shopify? :meth:`tracking_confirmed` answers exactly;
        when it cannot (no such order visible), the order's only shipment is
        compared with its fulfillment orders: it is there when nothing of its
        lines remains to fulfil (a cancelled order holds none)."""
        answer = self.tracking_confirmed(confirmation.platform_order_id, confirmation.tracking_number)
        if answer is not None or shipments_of_order != 1:
            return answer
        oid = confirmation.platform_order_id
        data = self.client.graphql(m.fulfillment_orders_request(oid), priority=Priority.CRITICAL,
                                   entity=f"order {oid}")
        return m.lines_fulfilled(m.parse_fulfillment_orders(data), confirmation.lines)

    def tracking_confirmed(self, platform_order_id: str, tracking_number: str) -> bool | None:
        """Does the order hold a fulfillment with this tracking number? An exact answer:
        :meth:`confirm_shipment` sends the parcel's tracking number as ``trackingInfo.number``
        of every fulfillment it creates, and ``Order.fulfillments`` lists them with it
        (cancelled and failed fulfillments do not count). A shipment split over several
        locations is several fulfillments with the same number; any one of them answers True.
        None when Shopify shows no such order (deleted, or older than 60 days without
        ``read_all_orders``): then nothing can be told. One query of about 3 points."""
        data = self.client.graphql(m.order_tracking_request(platform_order_id), priority=Priority.CRITICAL,
                                   entity=f"order {platform_order_id}")
        numbers = m.parse_tracking_numbers(data)
        if numbers is None:
            return None
        return tracking_number.strip() in numbers

    # --- read back ----------------------------------------------------------------------------------
    def read_listings(self, skus: Sequence[str] | None = None) -> list[ListedOffer]:
        """What the shop shows: up to ``sku_batch_size`` SKUs with one ``productVariants``
        search by SKU (:meth:`VariantIds.lookup`); more SKUs, or ``None`` (every variant),
        from the shop's variants page by page, as many a page as one query may cost
        (:func:`~crossdock.connectors.shopify.mapping.variants_page_size`), stopping once
        every SKU asked for is found."""
        cur = self.settings.currency
        wanted = None if skus is None else list(dict.fromkeys(skus))
        if wanted is not None and len(wanted) <= self.settings.sku_batch_size:
            found = self.skus.lookup(wanted, priority=Priority.NORMAL) if wanted else {}
            return [m.listed_offer(found[s], cur) for s in wanted if s in found]
        left = None if wanted is None else set(wanted)
        refs: list[m.VariantRef] = []
        after, loc = None, self.location_id()
        while left is None or left:
            data = self.client.graphql(m.variants_request(None, location_id=loc, first=m.variants_page_size(),
                                                          after=after), priority=Priority.NORMAL)
            page, has_next, after = m.parse_variants(data)
            self.skus.remember(page)
            refs.extend(r for r in page if left is None or r.sku in left)
            left = None if left is None else left - {r.sku for r in page}
            if not has_next:
                break
        if wanted is None:
            return [m.listed_offer(r, cur) for r in refs]
        by_sku = {r.sku: r for r in refs}          # a SKU on two variants: the last one read, as lookup
        return [m.listed_offer(by_sku[s], cur) for s in wanted if s in by_sku]
