"""What the simulated Amazon holds: sellers and their credentials, tokens,
listings, orders and feeds. Plain dataclasses; times are sandbox timestamps
(seconds, :class:`crossdock.clock.ScaledClock`)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Seller:
    """One selling partner, with the private developer app it authorised."""

    seller_id: str
    marketplace_ids: tuple[str, ...]
    client_id: str
    client_secret: str
    refresh_token: str
    refresh_revoked: bool = False
    secret_revoked: bool = False
    authorisation_expired_at: float | None = None

    def channel(self, marketplace_id: str) -> str:
        return f"amazon:{self.seller_id}:{marketplace_id}"


@dataclass
class Token:
    """An LWA access token or a Restricted Data Token."""

    value: str
    seller_id: str
    expires_at: float
    kind: str = "access"                      # access | rdt | grantless
    revoked: bool = False
    resources: tuple[tuple[str, str, frozenset[str]], ...] = ()   # RDT: (method, path, dataElements)
    scopes: frozenset[str] = frozenset()      # grantless: the LWA scopes granted


@dataclass
class Listing:
    sku: str
    asin: str
    product_type: str
    quantity: int
    price: Decimal | None
    currency: str
    attributes: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    #: DEFAULT: merchant-fulfilled; AMAZON_NA / AMAZON_EU …: an FBA listing showing Amazon's units (fba.py)
    fulfillment_channel: str = "DEFAULT"

    @property
    def buyable(self) -> bool:
        return self.price is not None and self.price > 0 and self.quantity > 0


@dataclass
class OrderItem:
    order_item_id: str
    asin: str
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal
    quantity_shipped: int = 0
    ioss_number: str | None = None
    deemed_reseller: str | None = None      # IOSS | UOSS
    tax_model: str | None = None            # MarketplaceFacilitator


@dataclass
class Package:
    reference_id: str
    carrier_code: str
    carrier_name: str | None
    tracking_number: str
    ship_date: str
    items: tuple[tuple[str, int], ...]


@dataclass
class Order:
    amazon_order_id: str
    seller_id: str
    marketplace_id: str
    channel: str
    currency: str
    status: str
    purchase_date: float
    last_update: float
    buyer_country: str
    items: list[OrderItem]
    address: dict[str, str]
    buyer_name: str
    buyer_email: str
    vat_included: bool
    packages: list[Package] = field(default_factory=list)
    pending_until: float | None = None
    #: POST_PAYMENT_ADJUSTMENT_DATA refunds (adjustment_feeds.py): feed_id, at, items (item id -> amount), amount
    adjustments: list[dict] = field(default_factory=list)

    @property
    def shipped_units(self) -> int:
        return sum(i.quantity_shipped for i in self.items)

    @property
    def ordered_units(self) -> int:
        return sum(i.quantity for i in self.items)


@dataclass
class FeedDocument:
    document_id: str
    seller_id: str
    content_type: str
    created_at: float
    body: bytes | None = None
    kind: str = "input"                      # input | result
    compression: str | None = None           # GZIP for results
    requests: int = 0                        # requests so far for this document (create, upload)
    stock: bool = False                      # an input document setting listed quantities
    stock_channel: str | None = None         # a result document of such a feed: the channel it counts for


@dataclass
class Feed:
    feed_id: str
    seller_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    created_at: float
    status: str = "IN_QUEUE"
    started_at: float | None = None
    ended_at: float | None = None
    result_document_id: str | None = None
    stock_channel: str | None = None         # a feed setting listed quantities: the channel it counts for


class Ids:
    """Deterministic identifiers from one seeded generator (string seeds are
    stable across processes, unlike ``hash()``)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"crossdock-amazon-sandbox:{seed}")

    def digits(self, n: int) -> str:
        return "".join(str(self.rng.randint(0, 9)) for _ in range(n))

    def alnum(self, n: int, alphabet: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def uuid(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def order_id(self, prefix: str) -> str:
        return f"{prefix}{self.digits(1)}-{self.digits(7)}-{self.digits(7)}"


def asin_for(sku: str) -> str:
    """A stable ASIN-shaped id for a SKU (B0 + 8 characters)."""
    digest = hashlib.sha1(sku.encode("utf-8")).hexdigest().upper()
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    n = int(digest, 16)
    out = []
    for _ in range(8):
        n, r = divmod(n, len(alphabet))
        out.append(alphabet[r])
    return "B0" + "".join(out)
