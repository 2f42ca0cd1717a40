"""Shopify's ids for our SKUs: variant, product and inventory item ids, and the
location stock is set at — the binding the Shopify connector keeps.

Shopify addresses stock by inventory item id and prices by variant and product
id. ``productVariants(query: "sku:…")`` resolves up to ``sku_batch_size`` SKUs
per query; the answer is cached per SKU for ``sku_cache_ttl_s`` platform
seconds, refreshed by every ``read_listings`` and dropped when Shopify says an
id no longer exists. The location is ``settings.location_id`` or the shop's
first active location.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from crossdock.clock import Clock
from crossdock.connectors.shopify import mapping as m
from crossdock.connectors.shopify import queries
from crossdock.connectors.shopify.client import ShopifyClient
from crossdock.connectors.shopify.settings import ShopifySettings
from crossdock.errors import PlatformError
from crossdock.ratelimit.budget import Priority


class VariantIds:
    """SKU -> :class:`~crossdock.connectors.shopify.mapping.VariantRef`, cached, thread-safe."""

    def __init__(self, settings: ShopifySettings, client: ShopifyClient, clock: Clock) -> None:
        self.settings = settings
        self.client = client
        self.clock = clock
        self._refs: dict[str, tuple[m.VariantRef, float]] = {}
        self._lock = threading.Lock()
        self._location_id = settings.location_id

    def remember(self, refs: Iterable[m.VariantRef]) -> None:
        now = self.clock.timestamp()
        with self._lock:
            for r in refs:
                self._refs[r.sku] = (r, now)

    def forget(self, sku: str) -> None:
        with self._lock:
            self._refs.pop(sku, None)

    def cached(self, sku: str) -> m.VariantRef | None:
        with self._lock:
            hit = self._refs.get(sku)
        if hit is None or self.clock.timestamp() - hit[1] > self.settings.sku_cache_ttl_s:
            return None
        return hit[0]

    def location_id(self) -> str:
        if self._location_id is None:
            data = self.client.graphql({"query": queries.LOCATIONS, "variables": {}})
            nodes = (data.get("locations") or {}).get("nodes") or []
            active = [n for n in nodes if n.get("isActive")]
            if not active:
                raise PlatformError("XD-PLATFORM-002", channel=self.settings.channel, detail="the shop has no active location")
            self._location_id = active[0]["id"]
        return self._location_id

    def lookup(self, skus: Sequence[str], *, priority: Priority) -> dict[str, m.VariantRef]:
        """Ask Shopify (no cache) for these SKUs; exact matches only."""
        found: dict[str, m.VariantRef] = {}
        wanted = list(dict.fromkeys(skus))
        loc = self.location_id()
        for i in range(0, len(wanted), self.settings.sku_batch_size):
            batch = wanted[i:i + self.settings.sku_batch_size]
            after = None
            while True:
                first = min(m.MAX_FIRST, 2 * len(batch))
                data = self.client.graphql(m.variants_request(batch, location_id=loc, first=first, after=after),
                                           priority=priority)
                refs, has_next, after = m.parse_variants(data)
                for r in refs:
                    if r.sku in batch:
                        found[r.sku] = r
                if not has_next or all(s in found for s in batch):
                    break
        self.remember(found.values())
        return found

    def resolve(self, skus: Sequence[str], *, priority: Priority = Priority.NORMAL) -> dict[str, m.VariantRef]:
        """SKU -> ids, from the cache when fresh; SKUs Shopify does not know are absent."""
        out: dict[str, m.VariantRef] = {}
        missing = []
        for s in dict.fromkeys(skus):
            ref = self.cached(s)
            if ref is None:
                missing.append(s)
            else:
                out[s] = ref
        if missing:
            out.update(self.lookup(missing, priority=priority))
        return out
