"""The GraphQL documents the connector sends (Admin API 2026-10 names).

Kept lean: every object selected costs a point per returned node, so only the
fields crossdock maps are asked for. Costs follow Shopify's rules (see
:func:`crossdock.connectors.shopify.mapping.estimate_cost`).
"""

from __future__ import annotations

MONEY_BAG = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
TAX_LINE = "title rate channelLiable priceSet { shopMoney { amount currencyCode } }"

LINE_FIELDS = f"""
fragment LineFields on LineItem {{
  id sku name quantity currentQuantity unfulfilledQuantity
  originalUnitPriceSet {{ {MONEY_BAG} }}
  variant {{ id inventoryItem {{ harmonizedSystemCode countryCodeOfOrigin }} }}
  taxLines {{ {TAX_LINE} }}
  duties {{ harmonizedSystemCode countryCodeOfOrigin price {{ shopMoney {{ amount currencyCode }} }} }}
}}
"""

#: An order's refunds (connectors/shopify/mapping/refunds.py parses them): every order read carries them.
#: Without ``first`` and without their lines: a list sized by ``first`` and a connection of lines inside it
#: would multiply every orders page's cost (a page of 50 orders went over the 1,000-point query limit).
REFUNDS_FIELD = "refunds { id createdAt note totalRefundedSet { shopMoney { amount currencyCode } } }"

ORDER_FIELDS = f"""
fragment OrderFields on Order {{
  id legacyResourceId name createdAt updatedAt processedAt cancelledAt cancelReason
  displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode
  taxesIncluded dutiesIncluded
  totalPriceSet {{ {MONEY_BAG} }}
  totalTaxSet {{ {MONEY_BAG} }}
  totalShippingPriceSet {{ {MONEY_BAG} }}
  originalTotalDutiesSet {{ shopMoney {{ amount currencyCode }} }}
  taxLines {{ {TAX_LINE} }}
  shippingAddress {{ name address1 address2 city provinceCode zip countryCodeV2 phone }}
  lineItems(first: $lines) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ ...LineFields }} }}
  {REFUNDS_FIELD}
}}
"""

ORDERS = """
query CrossdockOrders($first: Int!, $after: String, $query: String!, $lines: Int!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...OrderFields }
  }
}
""" + ORDER_FIELDS + LINE_FIELDS

ORDER_LINES = """
query CrossdockOrderLines($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    id
    lineItems(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { ...LineFields } }
  }
}
""" + LINE_FIELDS

ORDER = """
query CrossdockOrder($id: ID!, $lines: Int!) {
  order(id: $id) { ...OrderFields }
}
""" + ORDER_FIELDS + LINE_FIELDS

# The order's fulfillments by tracking number: crossdock's fulfillmentCreate always sends the parcel's
# tracking number as trackingInfo.number. Both lists take an optional ``first``; unset, they cost one
# point each (Shopify counts a list of objects as one object).
ORDER_TRACKING = """
query CrossdockOrderTracking($id: ID!) {
  order(id: $id) {
    id
    fulfillments { status trackingInfo { number } }
  }
}
"""

LOCATIONS = """
query CrossdockLocations {
  locations(first: 10) { nodes { id name isActive } }
}
"""

VARIANTS_BY_SKU = """
query CrossdockVariants($first: Int!, $query: String!, $after: String, $location: ID!) {
  productVariants(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id sku price
      product { id status title }
      inventoryItem {
        id tracked
        inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } }
      }
    }
  }
}
"""

INVENTORY_SET = """
mutation CrossdockSetStock($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { createdAt reason }
    userErrors { code field message }
  }
}
"""

PRODUCT_CREATE = """
mutation CrossdockProductCreate($product: ProductCreateInput!) {
  productCreate(product: $product) {
    product { id variants(first: 1) { nodes { id inventoryItem { id } } } }
    userErrors { field message }
  }
}
"""

PRODUCT_UPDATE = """
mutation CrossdockProductUpdate($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product { id }
    userErrors { field message }
  }
}
"""

VARIANTS_UPDATE_ONE = """
mutation CrossdockVariantSetup($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id sku price inventoryItem { id } }
    userErrors { code field message }
  }
}
"""

FULFILLMENT_ORDERS = """
query CrossdockFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id cancelledAt displayFulfillmentStatus
    fulfillmentOrders(first: 5) {
      nodes {
        id status
        assignedLocation { location { id } }
        lineItems(first: 50) { nodes { id remainingQuantity totalQuantity lineItem { id } } }
      }
    }
  }
}
"""

FULFILLMENT_CREATE = """
mutation CrossdockFulfill($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}
"""


def inventory_set_document() -> str:
    """The idempotency key is a directive argument; a variable keeps the document cacheable."""
    return INVENTORY_SET.replace("($input: InventorySetQuantitiesInput!)",
                                 "($input: InventorySetQuantitiesInput!, $key: String!)", 1)


def orders_by_id_document(n: int) -> str:
    """``n`` orders by id in one request, each ``order(id:)`` aliased ``o0``…: read at
    once, unlike an ``orders(query: "id:…")`` search, which lags the order's creation."""
    params = ", ".join(f"$id{i}: ID!" for i in range(n))
    fields = "\n".join(f"  o{i}: order(id: $id{i}) {{ ...OrderFields }}" for i in range(n))
    return f"query CrossdockOrdersById($lines: Int!, {params}) {{\n{fields}\n}}\n" + ORDER_FIELDS + LINE_FIELDS


def price_update_document(n: int) -> str:
    """``n`` productVariantsBulkUpdate calls aliased in one request (10 points each)."""
    params = ", ".join(f"$p{i}: ID!, $v{i}: [ProductVariantsBulkInput!]!" for i in range(n))
    body = "\n".join(
        f"  u{i}: productVariantsBulkUpdate(productId: $p{i}, variants: $v{i}) {{"
        f" productVariants {{ id }} userErrors {{ code field message }} }}" for i in range(n))
    return f"mutation CrossdockPrices({params}) {{\n{body}\n}}"
