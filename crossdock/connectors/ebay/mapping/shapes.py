"""The eBay request bodies crossdock builds, as typed dicts.

Names and nesting follow eBay's OpenAPI specs (``sell_inventory_v1_oas3.json``,
``sell_fulfillment_v1_oas3.json``: the schema named in each docstring) and, for
Trading, the XML element names ebaysdk writes from a dict. Only the fields
crossdock sends are declared.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class Amount(TypedDict):
    """``Amount``: a decimal as text and an ISO 4217 currency."""

    value: str
    currency: str


class ShipToLocationAvailability(TypedDict):
    quantity: int


class OfferPriceQuantity(TypedDict):
    """``OfferPriceQuantity``."""

    offerId: str
    availableQuantity: NotRequired[int]
    price: NotRequired[Amount]


class PriceQuantity(TypedDict):
    """``PriceQuantity``: one SKU of a ``bulk_update_price_quantity`` call."""

    sku: str
    shipToLocationAvailability: NotRequired[ShipToLocationAvailability]
    offers: NotRequired[list[OfferPriceQuantity]]


class BulkPriceQuantity(TypedDict):
    """``BulkPriceQuantity``: at most 25 SKUs."""

    requests: list[PriceQuantity]


class InventoryStatus(TypedDict):
    """Trading ``InventoryStatusType``: one item of ``ReviseInventoryStatus``."""

    ItemID: str
    StartPrice: NotRequired[str]
    Quantity: NotRequired[int]


class ReviseInventoryStatusRequest(TypedDict):
    InventoryStatus: list[InventoryStatus]


class Pagination(TypedDict):
    EntriesPerPage: str
    PageNumber: str


class ActiveListRequest(TypedDict):
    Include: str
    Pagination: Pagination


class GetMyeBaySellingRequest(TypedDict):
    ActiveList: ActiveListRequest


class LineItemReference(TypedDict):
    lineItemId: str
    quantity: int


class ShippingFulfillmentDetails(TypedDict):
    """``ShippingFulfillmentDetails``: the body of ``createShippingFulfillment``."""

    lineItems: list[LineItemReference]
    shippedDate: str
    shippingCarrierCode: str
    trackingNumber: str


class Weight(TypedDict):
    value: int
    unit: str


class PackageWeightAndSize(TypedDict):
    weight: Weight


class Availability(TypedDict):
    shipToLocationAvailability: ShipToLocationAvailability


class InventoryProduct(TypedDict):
    """``Product`` of an inventory item."""

    title: str
    description: str
    imageUrls: list[str]
    aspects: NotRequired[dict[str, list[str]]]


class InventoryItem(TypedDict):
    """``InventoryItem``: the body of ``createOrReplaceInventoryItem``."""

    product: InventoryProduct
    condition: str
    availability: Availability
    packageWeightAndSize: NotRequired[PackageWeightAndSize]


class ListingPolicies(TypedDict):
    fulfillmentPolicyId: str
    paymentPolicyId: str
    returnPolicyId: str


class PricingSummary(TypedDict):
    price: Amount


class OfferDetails(TypedDict):
    """``EbayOfferDetailsWithKeys``: the body of ``createOffer`` / ``updateOffer``."""

    sku: str
    marketplaceId: str
    format: str
    availableQuantity: int
    categoryId: str
    listingDescription: str
    listingDuration: str
    listingPolicies: ListingPolicies
    merchantLocationKey: str
    pricingSummary: PricingSummary
