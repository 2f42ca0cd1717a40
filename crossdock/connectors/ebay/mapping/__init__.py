"""Every eBay field mapping in one place — pure functions, no I/O.

Requests: getOrders parameters (``lastmodifieddate`` window, limit/offset),
``bulk_update_price_quantity`` bodies (≤ 25 SKUs), Trading
``ReviseInventoryStatus`` data (≤ 4 items, the dict ebaysdk turns into XML),
``createShippingFulfillment``, inventory item and offer bodies.

Responses: Fulfillment ``Order`` → :class:`~crossdock.models.Order` (money as
Decimal + currency in the seller's currency, buyer country, listing vs purchase
marketplace, ``ebayCollectAndRemitTaxes`` → :class:`~crossdock.models.TaxInfo`
with the IOSS/OSS/VOEC reference); Trading ``Order`` (GetOrders) likewise;
offers / Trading items → :class:`~crossdock.models.ListedOffer`; per-item
results of the batch calls → :class:`~crossdock.models.ItemResult`.

Trading replies are handled as the dict shape ebaysdk's ``response.dict()``
produces (attributes as ``_name``, text beside attributes as ``value``, a
repeated element as a list); :func:`xml_to_dict` builds the same shape from raw
XML for ``crossdock inspect``.

The listing map: which API revises a SKU is a :class:`ListingRef` —
``inventory`` (Inventory API; ``offer_id`` needed for prices, optional for
stock) or ``trading`` (a listing created outside the Inventory API, revisable
only by ItemID through ``ReviseInventoryStatus``). Its string form, usable as
``StockUpdate.listing_id`` / ``PriceUpdate.listing_id``, is
``inventory:<offerId>``, ``inventory`` or ``trading:<ItemID>``.

One module per kind of operation (common, orders, listings, stock, shipments, limits; the typed request
bodies in shapes); the names below are the
public surface the connector, its client and the tests use.
"""

from crossdock.connectors.ebay.mapping.common import (
    CENT,
    FACILITATOR,
    as_list,
    chunks,
    iso_ms,
    money_from,
    money_from_trading,
    xml_to_dict,
)
from crossdock.connectors.ebay.mapping.limits import (
    next_local_midnight,
    rate_limit_params,
    rate_limit_reset,
)
from crossdock.connectors.ebay.mapping.listings import (
    ACTIVE_LIST_MAX_PAGES,
    ACTIVE_LIST_PAGE,
    ListingRef,
    active_list_request,
    aspects,
    product_origin,
    image_urls,
    inventory_item_body,
    offer_body,
    parse_active_list,
    parse_inventory_item,
    parse_offer,
    parse_trading_item,
)
from crossdock.connectors.ebay.mapping.orders import (
    FULFILLMENT_STATUS,
    PAYMENT_STATUS,
    TRADING_STATUS,
    get_orders_params,
    merge_tax,
    order_filter,
    order_status,
    parse_line,
    parse_order,
    parse_orders_page,
    orders_page,
    order_id_of,
    parse_trading_order,
    parse_trading_orders,
    tax_info,
)
from crossdock.connectors.ebay.mapping.shipments import (
    fulfillment_id_from_location,
    fulfillment_ids,
    shipping_fulfillment_body,
    unshipped_lines,
)
from crossdock.connectors.ebay.mapping.stock import (
    bulk_price_body,
    bulk_stock_body,
    parse_bulk_response,
    parse_revise_inventory_status,
    revise_inventory_status_data,
)

__all__ = [
    "CENT",
    "FACILITATOR",
    "as_list",
    "chunks",
    "iso_ms",
    "money_from",
    "money_from_trading",
    "xml_to_dict",
    "FULFILLMENT_STATUS",
    "PAYMENT_STATUS",
    "TRADING_STATUS",
    "get_orders_params",
    "merge_tax",
    "order_filter",
    "order_status",
    "parse_line",
    "parse_order",
    "parse_orders_page",
    "orders_page",
    "order_id_of",
    "parse_trading_order",
    "parse_trading_orders",
    "tax_info",
    "ACTIVE_LIST_MAX_PAGES",
    "ACTIVE_LIST_PAGE",
    "ListingRef",
    "active_list_request",
    "aspects",
    "product_origin",
    "image_urls",
    "inventory_item_body",
    "offer_body",
    "parse_active_list",
    "parse_inventory_item",
    "parse_offer",
    "parse_trading_item",
    "bulk_price_body",
    "bulk_stock_body",
    "parse_bulk_response",
    "parse_revise_inventory_status",
    "revise_inventory_status_data",
    "fulfillment_id_from_location",
    "fulfillment_ids",
    "shipping_fulfillment_body",
    "unshipped_lines",
    "next_local_midnight",
    "rate_limit_params",
    "rate_limit_reset",
]
