"""Settings of one Shopify channel (one shop).

Secrets arrive already resolved as plain ``str``; they are excluded from
``repr`` and never logged. The shop is reached at ``https://<shop>.myshopify.com``
unless ``shop_url`` says otherwise (the sandbox: ``<base_url>/shops/<shop>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from crossdock.errors import ConfigError

MAX_PAGE = 250          # Shopify caps every connection page and input array at 250


@dataclass(frozen=True, kw_only=True)
class ShopifySettings:
    """One channel. Page and batch sizes are settings because they trade query
    cost (max 1,000 points a query) against the number of calls."""

    channel: str
    shop: str                                   # the myshopify name, e.g. "crossdock-eu"
    client_id: str
    client_secret: str = field(repr=False)
    currency: str = "EUR"                       # the shop's currency (shopMoney)
    api_version: str = "2026-10"
    shop_url: str | None = None                 # None -> https://<shop>.myshopify.com
    location_id: str | None = None              # gid; None -> the shop's first active location
    timeout_s: float = 30.0
    refresh_margin_s: float = 300.0             # refresh this long before the access token expires
    orders_page_size: int = 10                  # orders per page (cost 2 + n × (15 + 11 × lines))
    line_items_page_size: int = 5               # lines fetched inline; more are paged per order
    stock_batch_size: int = MAX_PAGE            # quantities per inventorySetQuantities
    sku_batch_size: int = 50                    # SKUs resolved per productVariants query
    price_mutations_per_request: int = 20       # productVariantsBulkUpdate calls aliased in one request
    sku_cache_ttl_s: float = 3600.0             # platform seconds a SKU -> ids mapping is trusted
    max_throttle_retries: int = 3               # THROTTLED answers waited out before XD-QUOTA-001
    max_throttle_wait_s: float = 60.0           # platform seconds; a longer wait goes back to the caller
    inventory_reason: str = "correction"
    reference_document_uri: str = "gid://crossdock/SyncJob/stock"
    notify_customer: bool = True
    carrier_overrides: Mapping[str, str] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("orders_page_size", "line_items_page_size", "stock_batch_size", "sku_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
                raise ConfigError("XD-CFG-003", channel=self.channel,
                                  detail=f"{name} must be an integer from 1 to {MAX_PAGE}, not {value!r}")
        if self.max_throttle_retries < 0 or self.max_throttle_wait_s < 0:
            raise ConfigError("XD-CFG-003", channel=self.channel, detail="throttle retries and wait must be >= 0")
        if not 1 <= self.price_mutations_per_request <= 100:
            raise ConfigError("XD-CFG-003", channel=self.channel,
                              detail="price_mutations_per_request must be from 1 to 100 (10 points each)")
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ConfigError("XD-CFG-003", channel=self.channel, detail=f"bad currency {self.currency!r}")
        if not self.shop or "/" in self.shop:
            raise ConfigError("XD-CFG-003", channel=self.channel, detail=f"bad shop name {self.shop!r}")

    @property
    def base_url(self) -> str:
        return (self.shop_url or f"https://{self.shop}.myshopify.com").rstrip("/")

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/admin/api/{self.api_version}/graphql.json"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/admin/oauth/access_token"

    @property
    def shop_domain(self) -> str:
        return f"{self.shop}.myshopify.com"
