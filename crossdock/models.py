"""Normalised data: the one shape every connector produces and consumes.

Connectors change the *shape* of data (platform payload <-> these classes);
``mapping/`` applies the seller's rules to them; ``sync_engine/`` decides what
to do with them. Money is :class:`Money` (Decimal + ISO 4217 code), never a
float. Times are aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from collections.abc import Mapping
from enum import Enum
from typing import Any


#: A platform's registered name (``platform = "…"`` of a channel): what
#: :func:`crossdock.platforms.platform` knows it by. Platforms are plug-ins
#: (:mod:`crossdock.platforms`), so the name is open text, not an enum.
Platform = str


class OrderStatus(str, Enum):
    """crossdock's own order states (the platform's raw status is kept beside)."""

    PENDING = "pending"            # placed, not yet payable/paid (Amazon Pending)
    UNSHIPPED = "unshipped"        # paid, waiting to be shipped
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    PARTIALLY_RETURNED = "partially_returned"   # some units came back (crossdock's RMAs, issue 18)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str  # ISO 4217, upper case

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("Money.amount must be Decimal or str, never float")
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", Decimal(str(self.amount)))
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ValueError(f"bad currency code {self.currency!r}")
        object.__setattr__(self, "currency", self.currency.upper())

    def to_dict(self) -> dict[str, str]:
        return {"amount": str(self.amount), "currency": self.currency}


@dataclass(frozen=True, slots=True)
class TaxInfo:
    """Cross-border tax data of an order or line."""

    model: str | None = None            # e.g. "MarketplaceFacilitator"
    ioss_number: str | None = None      # EU IOSS / UK VOEC / … reference
    scheme: str | None = None           # IOSS, OSS, VOEC, UOSS, …
    deemed_reseller_category: str | None = None
    tax_amount: Money | None = None


@dataclass(slots=True)
class OrderLine:
    platform_line_id: str
    sku: str | None
    quantity: int
    unit_price: Money | None = None
    title: str | None = None
    listing_id: str | None = None       # ASIN / eBay item or listing id / Shopify variant id
    tax: TaxInfo | None = None
    quantity_shipped: int = 0
    # what the platform gives beside the price, for support and customs (None: the platform has none)
    shipping: Money | None = None                   # this line's shipping charge, shop currency
    shipping_tax: Money | None = None
    presentment_unit_price: Money | None = None     # the unit price in the buyer's currency
    hs_code: str | None = None                      # the platform's tariff code of the item
    country_of_origin: str | None = None            # ISO 3166-1 alpha-2


@dataclass(frozen=True, slots=True)
class RefundLine:
    """One order line's part of a refund: units and/or money (None: the platform gives none)."""

    platform_line_id: str
    quantity: int = 0
    amount: Money | None = None


@dataclass(frozen=True, slots=True)
class PlatformRefund:
    """A refund as the platform holds it (issued by crossdock or made on the
    platform: buyer-initiated, customer service). ``platform_refund_id`` is
    unique per channel; ``status``: pending, refunded or failed."""

    platform_refund_id: str
    amount: Money
    created_at: dt.datetime | None = None
    status: str = "refunded"
    reason: str | None = None
    lines: tuple[RefundLine, ...] = ()


@dataclass(slots=True)
class Address:
    country_code: str | None = None
    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    phone: str | None = None
    #: The buyer's account name on the platform (eBay's buyer.username): how a platform's account
    #: deletion names a buyer to erase (crossdock.erasure matches it).
    buyer_id: str | None = None


@dataclass(slots=True)
class Order:
    platform: Platform
    platform_order_id: str
    platform_status: str
    status: OrderStatus
    purchased_at: dt.datetime
    updated_at: dt.datetime
    total: Money | None
    buyer_country: str | None
    marketplace_id: str | None = None
    lines: list[OrderLine] = field(default_factory=list)
    tax: TaxInfo | None = None
    ship_by: dt.datetime | None = None
    shipping_address: Address | None = None
    fulfillment_channel: str | None = None   # MFN / AFN (Amazon), …
    raw: dict[str, Any] | None = None       # the platform payload, for `inspect` and traces
    shipping: Money | None = None            # shipping charged, shop currency (``total``'s)
    shipping_tax: Money | None = None
    # the same in the currency the buyer paid in, when the platform converted (None: the shop's)
    presentment_total: Money | None = None
    presentment_tax: Money | None = None
    presentment_shipping: Money | None = None
    #: The refunds the order payload carries (Shopify ``refunds``, eBay ``paymentSummary.refunds``);
    #: None: the platform's order payload says nothing of refunds (Amazon).
    refunds: list[PlatformRefund] | None = None


@dataclass(frozen=True, slots=True)
class UnreadableOrder:
    """One order of a read that its connector could not map to an
    :class:`Order` (an unknown status, a field of the wrong shape): the payload
    exactly as the platform sent it, and the mapping error's code and message.
    The engine sets it aside (quarantine, XD-ORD-008) and the read goes on."""

    platform_order_id: str | None
    payload: Mapping[str, Any]
    code: str                            # the MappingError's code: XD-MAP-010, XD-MAP-011 …
    message: str
    channel: str | None = None           # whose order it is, when one read serves several channels


@dataclass(frozen=True, slots=True)
class ListedOffer:
    """What a channel shows for one SKU right now (read back for reconciliation)."""

    sku: str
    quantity: int | None
    price: Money | None
    listing_id: str | None = None
    status: str | None = None
    title: str | None = None
    #: The platform's ids of this listing, as its connector names them (an opaque
    #: binding: eBay kind/offer_id/item_id, Shopify variant/product/inventory item gids, Amazon ASIN).
    ids: Mapping[str, str] | None = field(default=None, hash=False)
    #: The platform's product data for customs, where its listing carries them (Amazon's
    #: ``country_of_origin`` attribute …): order lines of the SKU get them when the order gives none.
    hs_code: str | None = None
    country_of_origin: str | None = None
    #: The platform keeps and ships this listing's stock itself (Amazon FBA): its
    #: quantity is the platform's, never pushed by crossdock (issue 18).
    fulfilled_by_platform: bool = False


@dataclass(frozen=True, slots=True)
class PlatformStock:
    """Units of one SKU the platform holds in its own fulfilment network for
    one channel (Amazon FBA): a location of its own, the platform's to sell,
    never part of what crossdock may offer on other channels.

    ``inbound``: on the way to the platform (working + shipped + receiving);
    ``reserved``: being picked, moved or processed; ``unfulfillable``: damaged,
    defective, expired."""

    sku: str
    fulfillable: int
    inbound: int = 0
    reserved: int = 0
    unfulfillable: int = 0
    total: int | None = None
    #: The platform's ids of the unit (Amazon: asin, fnSku), opaque to the engine.
    ids: Mapping[str, str] | None = field(default=None, hash=False)


@dataclass(frozen=True, slots=True)
class StockUpdate:
    sku: str
    quantity: int                        # absolute quantity to show
    listing_id: str | None = None        # the listing's id as people see it (ASIN, ItemID, variant id)
    expected_current: int | None = None  # for compare-and-set (Shopify changeFromQuantity)
    #: The listing's binding as its connector stored it (``channel_listings.platform_ids``),
    #: passed through by the engine untouched.
    platform_ids: Mapping[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True, slots=True)
class PriceUpdate:
    sku: str
    price: Money
    listing_id: str | None = None
    platform_ids: Mapping[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """Per-item outcome of a batch push."""

    sku: str
    ok: bool
    code: str | None = None             # XD-… code when not ok
    message: str | None = None
    #: ids the platform gave the listing (publish): stored as the listing's ``platform_ids``,
    #: and its id as people see it (ASIN, ItemID …) when the platform gave one.
    platform_ids: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)
    listing_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ShipmentConfirmation:
    platform_order_id: str
    carrier: str                         # crossdock carrier name; connectors map to platform codes
    tracking_number: str
    shipped_at: dt.datetime
    lines: tuple[tuple[str, int], ...] = ()   # (platform_line_id, quantity); empty = all lines
    service: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    tracking_number: str
    occurred_at: dt.datetime
    status: str                          # in_transit, out_for_delivery, delivered, exception, …
    description: str = ""
    location: str | None = None


@dataclass(slots=True)
class Product:
    """A catalogue entry as connectors see it for listing publication."""

    sku: str
    title: str
    price: Money | None = None
    description: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)
    category: str | None = None
    weight_g: int | None = None
    hs_code: str | None = None
    country_of_origin: str | None = None
    quantity: int | None = None
