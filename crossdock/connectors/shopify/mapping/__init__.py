"""Every Shopify field mapping, as pure functions.

Requests: GraphQL ``{"query", "variables"}`` bodies built from normalised data.
Responses: GraphQL nodes (camelCase) and webhook/REST payloads (snake_case)
parsed into :mod:`crossdock.models`. Cross-border data is kept: shop currency
amounts (``shopMoney``) become the normalised money, the buyer's
``presentmentMoney`` stays in ``raw``; buyer country from the shipping address;
tax lines (``channelLiable`` = a marketplace collected the tax); duties with HS
code and origin stay in ``raw``.

One module per kind of operation (common, cost, orders, listings, shipments, tokens); the names below are the
public surface the connector, its client and the tests use.
"""

from crossdock.connectors.shopify.mapping.common import (
    MAX_FIRST,
    body,
    gid,
    legacy_id,
    order_gid,
)
from crossdock.connectors.shopify.mapping.cost import (
    estimate_cost,
)
from crossdock.connectors.shopify.mapping.listings import (
    PriceGroup,
    StockEntry,
    UserError,
    VariantRef,
    inventory_set_request,
    listed_offer,
    parse_inventory_set,
    parse_prices,
    parse_variants,
    price_text,
    prices_request,
    product_create_request,
    product_update_request,
    user_errors,
    variant_setup_request,
    variants_page_size,
    variants_request,
)
from crossdock.connectors.shopify.mapping.orders import (
    FINANCIAL_UNSHIPPED,
    FULFILLMENT_STATUS,
    REST_FULFILLMENT,
    OrdersPage,
    order_lines_request,
    order_request,
    order_status,
    orders_by_id_request,
    orders_request,
    orders_search,
    parse_line,
    parse_order,
    parse_order_lines,
    parse_orders_by_id,
    parse_orders_page,
    parse_rest_order,
    parse_single_order,
    platform_status,
)
from crossdock.connectors.shopify.mapping.shipments import (
    FULFILLABLE,
    VOID_FULFILLMENT,
    FOLine,
    FulfillmentOrderInfo,
    fulfillment_create_request,
    fulfillment_orders_request,
    lines_fulfilled,
    order_tracking_request,
    parse_fulfillment_orders,
    parse_tracking_numbers,
    plan_fulfillment,
)
from crossdock.connectors.shopify.mapping.tokens import (
    parse_token_response,
    token_refresh_form,
)

__all__ = [
    "MAX_FIRST",
    "body",
    "gid",
    "legacy_id",
    "order_gid",
    "estimate_cost",
    "FINANCIAL_UNSHIPPED",
    "FULFILLMENT_STATUS",
    "OrdersPage",
    "REST_FULFILLMENT",
    "order_lines_request",
    "order_request",
    "order_status",
    "orders_by_id_request",
    "orders_request",
    "orders_search",
    "parse_line",
    "parse_order",
    "parse_order_lines",
    "parse_orders_by_id",
    "parse_orders_page",
    "parse_rest_order",
    "parse_single_order",
    "platform_status",
    "PriceGroup",
    "StockEntry",
    "UserError",
    "VariantRef",
    "inventory_set_request",
    "listed_offer",
    "parse_inventory_set",
    "parse_prices",
    "parse_variants",
    "price_text",
    "prices_request",
    "product_create_request",
    "product_update_request",
    "user_errors",
    "variant_setup_request",
    "variants_page_size",
    "variants_request",
    "FOLine",
    "FULFILLABLE",
    "FulfillmentOrderInfo",
    "VOID_FULFILLMENT",
    "fulfillment_create_request",
    "fulfillment_orders_request",
    "lines_fulfilled",
    "order_tracking_request",
    "parse_fulfillment_orders",
    "parse_tracking_numbers",
    "plan_fulfillment",
    "parse_token_response",
    "token_refresh_form",
]
