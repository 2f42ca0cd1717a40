"""Amazon payloads <-> crossdock's normalised models. Pure functions only:
every field mapping of Amazon lives here, and nothing here touches the network.

Notes on Amazon's semantics that the mapping encodes:

- ``OrderItem.ItemPrice`` is the price of the whole line (unit price x
  quantity), so ``OrderLine.unit_price`` is ItemPrice / QuantityOrdered,
  rounded to the currency's minor unit.
- ``Pending`` orders carry no prices (Amazon hides them until payment is
  authorised): lines then have ``unit_price=None`` and the order may have no
  ``OrderTotal``.
- Cross-border tax data is kept: ``TaxCollection.Model`` (marketplace
  facilitator), ``IossNumber`` and ``DeemedResellerCategory`` (IOSS / UOSS),
  and the ``ItemTax`` amounts.
- Buyer country is ``ShippingAddress.CountryCode`` when Amazon shows it; it is
  never guessed from the marketplace.
- Request bodies carry prices as exact JSON numbers written from Decimal
  (:func:`to_json_bytes`), never through float.

One module per kind of operation (codec, orders, shipments, listings, feeds, tokens); the names below are the
public surface the connector, its client and the tests use.
"""

from crossdock.connectors.amazon.mapping.codec import (
    FEED_CONTENT_TYPE,
    loads_exact,
    to_json_bytes,
)
from crossdock.connectors.amazon.mapping.feeds import (
    create_feed_body,
    decode_document,
    feed_chunks,
    feed_messages,
    feeds_needed,
    listings_feed,
    report_results,
)
from crossdock.connectors.amazon.mapping.listings import (
    LISTING_INCLUDED,
    PULL_INCLUDED,
    included_for,
    listing_condition,
    SEARCH_PAGE,
    listing_params,
    search_params,
    searchable_sku,
    listing_product_type,
    listing_put_body,
    parse_listing,
    patch_body,
    price_patches,
    stock_patches,
    submission_result,
)
from crossdock.connectors.amazon.mapping.orders import (
    MAX_MARKETPLACES,
    ORDER_FILTERS,
    next_page_params,
    order_tax,
    orders_params,
    parse_address,
    parse_items_page,
    parse_line,
    parse_money,
    parse_order,
    parse_order_address,
    parse_orders_page,
    rdt_body,
)
from crossdock.connectors.amazon.mapping.shipments import (
    confirm_shipment_body,
    package_reference_id,
    shipment_items,
    units_shipped,
)
from crossdock.connectors.amazon.mapping.tokens import (
    lwa_form,
)

__all__ = [
    "FEED_CONTENT_TYPE",
    "loads_exact",
    "to_json_bytes",
    "MAX_MARKETPLACES",
    "ORDER_FILTERS",
    "next_page_params",
    "order_tax",
    "orders_params",
    "parse_address",
    "parse_items_page",
    "parse_line",
    "parse_money",
    "parse_order",
    "parse_order_address",
    "parse_orders_page",
    "rdt_body",
    "confirm_shipment_body",
    "package_reference_id",
    "shipment_items",
    "units_shipped",
    "LISTING_INCLUDED",
    "PULL_INCLUDED",
    "included_for",
    "listing_condition",
    "SEARCH_PAGE",
    "listing_params",
    "search_params",
    "searchable_sku",
    "listing_product_type",
    "listing_put_body",
    "parse_listing",
    "patch_body",
    "price_patches",
    "stock_patches",
    "submission_result",
    "create_feed_body",
    "decode_document",
    "feed_chunks",
    "feed_messages",
    "feeds_needed",
    "listings_feed",
    "report_results",
    "lwa_form",
]
