"""The subset of Shopify's GraphQL Admin schema the sandbox serves.

Type, field, argument and enum names mirror Shopify's Admin API (versions
2026-01 … 2026-10) exactly, so real queries written against Shopify validate and
run here unchanged. Only what a sync engine needs is present: orders with line
items, taxes, duties and fulfillment orders; products, variants, inventory items
and levels; locations; webhook subscriptions; and the mutations
``inventorySetQuantities``, ``productVariantsBulkUpdate``, ``productCreate``,
``productUpdate``, ``fulfillmentCreate``, ``webhookSubscriptionCreate`` and
``webhookSubscriptionDelete``.

Version differences that matter to integrations are kept: before 2026-04,
``InventorySetQuantitiesInput.ignoreCompareQuantity`` and
``InventoryQuantityInput.compareQuantity`` exist; from 2026-04 they are gone,
``changeFromQuantity`` must be sent explicitly for every quantity and the
``@idempotent`` directive is required on inventory mutations (enforced at run
time, as Shopify does).
"""

from __future__ import annotations

import functools

from graphql import GraphQLSchema, build_schema

_SCALARS = """
scalar DateTime
scalar Decimal
scalar Money
scalar URL
scalar HTML
scalar UnsignedInt64
scalar JSON
scalar FormattedString

directive @idempotent(key: String!) on FIELD
"""

_ENUMS = """
enum CurrencyCode {
  AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
  BZD CAD CDF CHF CLP CNY COP CRC CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
  GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JEP JMD JOD JPY KES KGS KHR KID KMF
  KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LVL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN
  MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR
  SDG SEK SGD SHP SLL SOS SRD SSP STN SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU
  UZS VED VES VND VUV WST XAF XCD XOF XPF XXX YER ZAR ZMW
}

enum CountryCode {
  AD AE AF AG AI AL AM AN AO AR AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
  BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER
  ES ET FI FJ FK FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GW GY HK HM HN HR HT HU ID IE
  IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV
  LY MA MC MD ME MF MG MK ML MM MN MO MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU
  NZ OM PA PE PF PG PH PK PL PM PN PS PT PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN
  SO SR SS ST SV SX SY SZ TA TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC
  VE VG VN VU WF WS XK YE YT ZA ZM ZW ZZ AC
}

enum OrderDisplayFinancialStatus {
  AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED
}

enum OrderDisplayFulfillmentStatus {
  FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT
  REQUEST_DECLINED RESTOCKED SCHEDULED UNFULFILLED
}

enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }

enum OrderSortKeys {
  CREATED_AT CUSTOMER_NAME DESTINATION FINANCIAL_STATUS FULFILLMENT_STATUS ID ORDER_NUMBER
  PO_NUMBER PROCESSED_AT RELEVANCE TOTAL_ITEMS_QUANTITY TOTAL_PRICE UPDATED_AT
}

enum ProductStatus { ACTIVE ARCHIVED DRAFT UNLISTED }

enum ProductSortKeys { CREATED_AT ID INVENTORY_TOTAL PRODUCT_TYPE RELEVANCE TITLE UPDATED_AT VENDOR }

enum ProductVariantSortKeys {
  FULL_TITLE ID INVENTORY_LEVELS_AVAILABLE INVENTORY_MANAGEMENT INVENTORY_POLICY NAME POPULAR
  POSITION RELEVANCE SKU TITLE
}

enum LocationSortKeys { ID NAME RELEVANCE }

enum FulfillmentOrderStatus {
  CANCELLED CLOSED INCOMPLETE IN_PROGRESS ON_HOLD OPEN SCHEDULED
}

enum FulfillmentOrderRequestStatus {
  ACCEPTED CANCELLATION_ACCEPTED CANCELLATION_REJECTED CANCELLATION_REQUESTED CLOSED REJECTED
  SUBMITTED UNSUBMITTED
}

enum FulfillmentStatus { CANCELLED ERROR FAILURE OPEN PENDING SUCCESS }

enum WebhookSubscriptionTopic {
  INVENTORY_LEVELS_CONNECT INVENTORY_LEVELS_DISCONNECT INVENTORY_LEVELS_UPDATE ORDERS_CANCELLED
  ORDERS_CREATE ORDERS_DELETE ORDERS_FULFILLED ORDERS_PAID ORDERS_PARTIALLY_FULFILLED
  ORDERS_UPDATED PRODUCTS_CREATE PRODUCTS_UPDATE
}

enum WebhookSubscriptionFormat { JSON XML }

enum InventorySetQuantitiesUserErrorCode {
  CHANGE_FROM_QUANTITY_STALE COMPARE_QUANTITY_REQUIRED COMPARE_QUANTITY_STALE
  IDEMPOTENCY_CONCURRENT_REQUEST IDEMPOTENCY_KEY_PARAMETER_MISMATCH
  IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED INVALID_INVENTORY_ITEM INVALID_LOCATION INVALID_NAME
  INVALID_QUANTITY_NEGATIVE INVALID_QUANTITY_TOO_HIGH INVALID_QUANTITY_TOO_LOW INVALID_REASON
  INVALID_REFERENCE_DOCUMENT ITEM_NOT_STOCKED_AT_LOCATION
  NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR NON_MUTABLE_INVENTORY_ITEM
}

enum ProductVariantsBulkUpdateUserErrorCode {
  GREATER_THAN_OR_EQUAL_TO INVALID_INPUT MUST_BE_UNIQUE NEED_TO_ADD_OPTION_VALUES
  NO_KEY_ON_CREATE PRODUCT_DOES_NOT_EXIST PRODUCT_VARIANT_DOES_NOT_EXIST
  PRODUCT_VARIANT_ID_MISSING UNSUPPORTED_COMBINED_LISTING_PARENT_OPERATION
}
"""

_TYPES = """
interface Node { id: ID! }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }

type UserError { field: [String!] message: String! }

type MailingAddress implements Node {
  id: ID!
  name: String
  firstName: String
  lastName: String
  company: String
  address1: String
  address2: String
  city: String
  province: String
  provinceCode: String
  zip: String
  country: String
  countryCodeV2: CountryCode
  phone: String
}

type ShopPlan { partnerDevelopment: Boolean! shopifyPlus: Boolean! publicDisplayName: String! }

type Shop implements Node {
  id: ID!
  name: String!
  email: String!
  myshopifyDomain: String!
  currencyCode: CurrencyCode!
  enabledPresentmentCurrencies: [CurrencyCode!]!
  ianaTimezone: String!
  plan: ShopPlan!
  taxesIncluded: Boolean!
}

type LocationAddress { countryCode: String city: String zip: String address1: String }

type Location implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  isActive: Boolean!
  fulfillsOnlineOrders: Boolean!
  shipsInventory: Boolean!
  address: LocationAddress!
  inventoryLevel(inventoryItemId: ID!): InventoryLevel
  inventoryLevels(%PAGE%, query: String): InventoryLevelConnection!
}
type LocationEdge { cursor: String! node: Location! }
type LocationConnection { edges: [LocationEdge!]! nodes: [Location!]! pageInfo: PageInfo! }

type TaxLine {
  title: String!
  rate: Float
  ratePercentage: Float
  priceSet: MoneyBag!
  channelLiable: Boolean
  source: String
}

type Duty implements Node {
  id: ID!
  harmonizedSystemCode: String
  countryCodeOfOrigin: CountryCode
  price: MoneyBag!
  taxLines: [TaxLine!]!
}

type LineItem implements Node {
  id: ID!
  name: String!
  title: String!
  sku: String
  vendor: String
  quantity: Int!
  currentQuantity: Int!
  unfulfilledQuantity: Int!
  requiresShipping: Boolean!
  taxable: Boolean!
  variantTitle: String
  variant: ProductVariant
  product: Product
  originalUnitPriceSet: MoneyBag!
  discountedUnitPriceSet: MoneyBag!
  originalTotalSet: MoneyBag!
  taxLines(first: Int): [TaxLine!]!
  duties: [Duty!]!
}
type LineItemEdge { cursor: String! node: LineItem! }
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }

type FulfillmentTrackingInfo { company: String number: String url: URL }

type Fulfillment implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  status: FulfillmentStatus!
  createdAt: DateTime!
  updatedAt: DateTime!
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
  order: Order!
  location: Location
}

type FulfillmentOrderAssignedLocation { name: String countryCode: CountryCode location: Location }

type FulfillmentOrderLineItem implements Node {
  id: ID!
  sku: String
  totalQuantity: Int!
  remainingQuantity: Int!
  inventoryItemId: ID
  lineItem: LineItem!
  variant: ProductVariant
}
type FulfillmentOrderLineItemEdge { cursor: String! node: FulfillmentOrderLineItem! }
type FulfillmentOrderLineItemConnection {
  edges: [FulfillmentOrderLineItemEdge!]! nodes: [FulfillmentOrderLineItem!]! pageInfo: PageInfo!
}

type FulfillmentOrder implements Node {
  id: ID!
  status: FulfillmentOrderStatus!
  requestStatus: FulfillmentOrderRequestStatus!
  createdAt: DateTime!
  updatedAt: DateTime!
  orderId: ID!
  orderName: String!
  order: Order!
  assignedLocation: FulfillmentOrderAssignedLocation!
  lineItems(%PAGE%): FulfillmentOrderLineItemConnection!
}
type FulfillmentOrderEdge { cursor: String! node: FulfillmentOrder! }
type FulfillmentOrderConnection { edges: [FulfillmentOrderEdge!]! nodes: [FulfillmentOrder!]! pageInfo: PageInfo! }

type Order implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  email: String
  phone: String
  note: String
  tags: [String!]!
  test: Boolean!
  sourceName: String
  createdAt: DateTime!
  updatedAt: DateTime!
  processedAt: DateTime!
  cancelledAt: DateTime
  cancelReason: OrderCancelReason
  closed: Boolean!
  closedAt: DateTime
  confirmed: Boolean!
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  currencyCode: CurrencyCode!
  presentmentCurrencyCode: CurrencyCode!
  taxesIncluded: Boolean!
  taxExempt: Boolean!
  dutiesIncluded: Boolean!
  totalPriceSet: MoneyBag!
  subtotalPriceSet: MoneyBag
  totalTaxSet: MoneyBag
  totalShippingPriceSet: MoneyBag!
  currentTotalPriceSet: MoneyBag!
  currentTotalDutiesSet: MoneyBag
  originalTotalDutiesSet: MoneyBag
  taxLines: [TaxLine!]!
  shippingAddress: MailingAddress
  billingAddress: MailingAddress
  lineItems(%PAGE%): LineItemConnection!
  fulfillmentOrders(%PAGE%, displayable: Boolean = false, query: String): FulfillmentOrderConnection!
  fulfillments(first: Int): [Fulfillment!]!
}
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }

type InventoryQuantity implements Node { id: ID! name: String! quantity: Int! updatedAt: DateTime }

type InventoryLevel implements Node {
  id: ID!
  createdAt: DateTime!
  updatedAt: DateTime!
  canDeactivate: Boolean!
  item: InventoryItem!
  location: Location!
  quantities(names: [String!]!): [InventoryQuantity!]!
}
type InventoryLevelEdge { cursor: String! node: InventoryLevel! }
type InventoryLevelConnection { edges: [InventoryLevelEdge!]! nodes: [InventoryLevel!]! pageInfo: PageInfo! }

type CountryHarmonizedSystemCode { countryCode: CountryCode! harmonizedSystemCode: String! }
type CountryHarmonizedSystemCodeEdge { cursor: String! node: CountryHarmonizedSystemCode! }
type CountryHarmonizedSystemCodeConnection {
  edges: [CountryHarmonizedSystemCodeEdge!]! nodes: [CountryHarmonizedSystemCode!]! pageInfo: PageInfo!
}

type InventoryItem implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  sku: String
  tracked: Boolean!
  requiresShipping: Boolean!
  harmonizedSystemCode: String
  countryCodeOfOrigin: CountryCode
  provinceCodeOfOrigin: String
  createdAt: DateTime!
  updatedAt: DateTime!
  countryHarmonizedSystemCodes(%PAGE%): CountryHarmonizedSystemCodeConnection!
  inventoryLevel(locationId: ID!): InventoryLevel
  inventoryLevels(%PAGE%, query: String): InventoryLevelConnection!
  variant: ProductVariant!
}
type InventoryItemEdge { cursor: String! node: InventoryItem! }
type InventoryItemConnection { edges: [InventoryItemEdge!]! nodes: [InventoryItem!]! pageInfo: PageInfo! }

type ProductVariant implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  title: String!
  displayName: String!
  sku: String
  barcode: String
  price: Money!
  compareAtPrice: Money
  taxable: Boolean!
  inventoryQuantity: Int
  availableForSale: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  product: Product!
  inventoryItem: InventoryItem!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection { edges: [ProductVariantEdge!]! nodes: [ProductVariant!]! pageInfo: PageInfo! }

type Product implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  title: String!
  handle: String!
  descriptionHtml: HTML!
  vendor: String!
  productType: String!
  status: ProductStatus!
  tags: [String!]!
  createdAt: DateTime!
  updatedAt: DateTime!
  totalInventory: Int!
  tracksInventory: Boolean!
  hasOnlyDefaultVariant: Boolean!
  variants(%PAGE%): ProductVariantConnection!
}
type ProductEdge { cursor: String! node: Product! }
type ProductConnection { edges: [ProductEdge!]! nodes: [Product!]! pageInfo: PageInfo! }

type InventoryChange {
  name: String!
  delta: Int!
  quantityAfterChange: Int
  ledgerDocumentUri: String
  item: InventoryItem
  location: Location
}

type InventoryAdjustmentGroup implements Node {
  id: ID!
  createdAt: DateTime!
  reason: String!
  referenceDocumentUri: String
  changes(inventoryItemIds: [ID!], locationIds: [ID!], quantityNames: [String!]): [InventoryChange!]!
}

type WebhookSubscription implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  topic: WebhookSubscriptionTopic!
  uri: String!
  format: WebhookSubscriptionFormat!
  includeFields: [String!]!
  filter: String
  createdAt: DateTime!
  updatedAt: DateTime!
}
type WebhookSubscriptionEdge { cursor: String! node: WebhookSubscription! }
type WebhookSubscriptionConnection {
  edges: [WebhookSubscriptionEdge!]! nodes: [WebhookSubscription!]! pageInfo: PageInfo!
}

type InventorySetQuantitiesUserError {
  code: InventorySetQuantitiesUserErrorCode
  field: [String!]
  message: String!
}
type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}

type ProductVariantsBulkUpdateUserError {
  code: ProductVariantsBulkUpdateUserErrorCode
  field: [String!]
  message: String!
}
type ProductVariantsBulkUpdatePayload {
  product: Product
  productVariants: [ProductVariant!]
  userErrors: [ProductVariantsBulkUpdateUserError!]!
}

type ProductCreatePayload { product: Product userErrors: [UserError!]! }
type ProductUpdatePayload { product: Product userErrors: [UserError!]! }
type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }
type WebhookSubscriptionCreatePayload { webhookSubscription: WebhookSubscription userErrors: [UserError!]! }
type WebhookSubscriptionDeletePayload { deletedWebhookSubscriptionId: ID userErrors: [UserError!]! }
"""

_INPUTS_COMMON = """
input InventoryItemInput {
  sku: String
  tracked: Boolean
  requiresShipping: Boolean
  cost: Decimal
  harmonizedSystemCode: String
  countryCodeOfOrigin: CountryCode
  provinceCodeOfOrigin: String
  countryHarmonizedSystemCodes: [CountryHarmonizedSystemCodeInput!]
}
input CountryHarmonizedSystemCodeInput { countryCode: CountryCode! harmonizedSystemCode: String! }

input ProductVariantsBulkInput {
  id: ID
  price: Money
  compareAtPrice: Money
  barcode: String
  taxable: Boolean
  inventoryItem: InventoryItemInput
}

input ProductCreateInput {
  title: String
  handle: String
  descriptionHtml: String
  vendor: String
  productType: String
  status: ProductStatus
  tags: [String!]
}

input ProductUpdateInput {
  id: ID
  title: String
  handle: String
  descriptionHtml: String
  vendor: String
  productType: String
  status: ProductStatus
  tags: [String!]
}

input FulfillmentOrderLineItemInput { id: ID! quantity: Int! }
input FulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID!
  fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
}
input FulfillmentTrackingInput { company: String number: String numbers: [String!] url: URL urls: [URL!] }
input FulfillmentOriginAddressInput {
  address1: String address2: String city: String countryCode: String! provinceCode: String zip: String
}
input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
  notifyCustomer: Boolean = false
  trackingInfo: FulfillmentTrackingInput
  originAddress: FulfillmentOriginAddressInput
}

input WebhookSubscriptionInput {
  uri: String
  format: WebhookSubscriptionFormat
  includeFields: [String!]
  filter: String
  metafieldNamespaces: [String!]
}
"""

# 2026-01: the deprecated compare-quantity fields still exist.
_INVENTORY_INPUTS_2026_01 = """
input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  compareQuantity: Int @deprecated(reason: "Use `changeFromQuantity` instead.")
  changeFromQuantity: Int
}
input InventorySetQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  ignoreCompareQuantity: Boolean = false @deprecated(reason: "Pass `changeFromQuantity: null` instead.")
  quantities: [InventoryQuantityInput!]!
}
"""

# 2026-04 and later: changeFromQuantity only (explicit null opts out of the check).
_INVENTORY_INPUTS_2026_04 = """
input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  changeFromQuantity: Int
}
input InventorySetQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
}
"""

_ROOTS = """
type QueryRoot {
  shop: Shop!
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  location(id: ID): Location
  locations(%PAGE%, sortKey: LocationSortKeys = ID, query: String,
            includeInactive: Boolean = false): LocationConnection!
  order(id: ID!): Order
  orders(%PAGE%, sortKey: OrderSortKeys = PROCESSED_AT, query: String, savedSearchId: ID): OrderConnection!
  fulfillmentOrder(id: ID!): FulfillmentOrder
  product(id: ID!): Product
  products(%PAGE%, sortKey: ProductSortKeys = ID, query: String): ProductConnection!
  productVariant(id: ID!): ProductVariant
  productVariants(%PAGE%, sortKey: ProductVariantSortKeys = ID, query: String): ProductVariantConnection!
  inventoryItem(id: ID!): InventoryItem
  inventoryItems(%PAGE%, query: String): InventoryItemConnection!
  inventoryLevel(id: ID!): InventoryLevel
  webhookSubscription(id: ID!): WebhookSubscription
  webhookSubscriptions(%PAGE%, topics: [WebhookSubscriptionTopic!], uri: String): WebhookSubscriptionConnection!
}

type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  productVariantsBulkUpdate(productId: ID!, variants: [ProductVariantsBulkInput!]!,
                            allowPartialUpdates: Boolean = false): ProductVariantsBulkUpdatePayload
  productCreate(product: ProductCreateInput): ProductCreatePayload
  productUpdate(product: ProductUpdateInput): ProductUpdatePayload
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
  webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!,
                            webhookSubscription: WebhookSubscriptionInput!): WebhookSubscriptionCreatePayload
  webhookSubscriptionDelete(id: ID!): WebhookSubscriptionDeletePayload
}

schema { query: QueryRoot mutation: Mutation }
"""

#: Quarterly versions: each is a schema generation key.
SCHEMA_2026_01 = "2026-01"
SCHEMA_2026_04 = "2026-04"


#: The paging arguments every connection field takes.
PAGE_ARGS = "first: Int, after: String, last: Int, before: String, reverse: Boolean = false"


def sdl(generation: str) -> str:
    inventory = _INVENTORY_INPUTS_2026_01 if generation == SCHEMA_2026_01 else _INVENTORY_INPUTS_2026_04
    text = "\n".join((_SCALARS, _ENUMS, _TYPES, _INPUTS_COMMON, inventory, _ROOTS))
    return text.replace("%PAGE%", PAGE_ARGS)


def generation_for(version: str) -> str:
    """The schema generation serving an API version ("unstable" = newest)."""
    if version == "unstable":
        return SCHEMA_2026_04
    return SCHEMA_2026_01 if version < "2026-04" else SCHEMA_2026_04


@functools.lru_cache(maxsize=None)
def schema_for(generation: str) -> GraphQLSchema:
    return build_schema(sdl(generation))


def requires_change_from_quantity(version: str) -> bool:
    """From 2026-04 every quantity must carry ``changeFromQuantity`` (null opts out)."""
    return version == "unstable" or version >= "2026-04"


def requires_idempotency_key(version: str) -> bool:
    """From 2026-04 inventory mutations must carry ``@idempotent(key:)``."""
    return version == "unstable" or version >= "2026-04"
