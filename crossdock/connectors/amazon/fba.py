"""The Amazon connector's FBA side (issue 18): FBA inventory read with
getInventorySummaries (2 requests/s, burst 2), and the guard that keeps a stock
push off Amazon-fulfilled listings (a mixin: the connector module is full).

An FBA offer's quantity is what Amazon's fulfilment centres hold; a
patchListingsItem or listings feed writing ``fulfillment_availability`` with
the ``DEFAULT`` channel to it would make it a merchant-fulfilled offer. A
listing whose binding (read by ``listings pull``: :func:`parse_listing`)
names an ``AMAZON_*`` channel is therefore never sent: its update fails with
XD-INV-016 before any call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from crossdock.connectors.amazon.mapping import fba as F
from crossdock.models import ItemResult, PlatformStock, StockUpdate

if TYPE_CHECKING:
    from crossdock.connectors.amazon.client import SpApiClient
    from crossdock.connectors.amazon.settings import AmazonSettings

log = logging.getLogger(__name__)

__all__ = ["FbaStock"]


class FbaStock:
    """``read_platform_stock`` and the FBA push guard of the Amazon connector."""

    channel: str
    client: SpApiClient
    settings: AmazonSettings
    #: Amazon keeps FBA stock: the engine schedules the read for Amazon channels.
    holds_stock = True

    def read_platform_stock(self, skus: Sequence[str] | None = None) -> list[PlatformStock]:
        """Every FBA inventory summary of the channel's marketplace (None: every
        SKU, all ``nextToken`` pages; ``skus``: 50 a call, each call paged too)."""
        mp = self.settings.marketplace_id
        groups: list[list[str] | None] = [None] if skus is None else \
            [list(skus[i:i + F.MAX_SELLER_SKUS]) for i in range(0, len(skus), F.MAX_SELLER_SKUS)]
        out: dict[str, PlatformStock] = {}
        pages = 0
        for group in groups:
            token: str | None = None
            while True:
                rows, token = F.parse_summaries_page(self.client.get_inventory_summaries(
                    F.summaries_params(marketplace_id=mp, skus=group, next_token=token)))
                pages += 1
                out.update((r.sku, r) for r in rows)
                if not token:
                    break
        log.info("%s: FBA inventory: %d SKUs in %d pages", self.channel, len(out), pages)
        return list(out.values())

    def merchant_fulfilled(self, updates: Sequence[StockUpdate]) -> tuple[list[StockUpdate], list[ItemResult]]:
        """``updates`` split into those that may be sent and a refusal (XD-INV-016) for each
        whose listing is Amazon-fulfilled."""
        send: list[StockUpdate] = []
        refused: list[ItemResult] = []
        for u in updates:
            code = F.binding_fulfilled(u.platform_ids)
            if code is None:
                send.append(u)
            else:
                refused.append(ItemResult(sku=u.sku, ok=False, code="XD-INV-016",
                                          message=f"the listing is fulfilled by Amazon ({code}); its quantity is "
                                                  "Amazon's: nothing was sent"))
        return send, refused
