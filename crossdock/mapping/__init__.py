"""The seller's rules applied to normalised data: prices and FX, stock shown per
channel, categories, attributes, order statuses, marketplace facts and listing
pre-validation. Pure functions on plain data; never imports a connector.

The database side of FX rates lives in :mod:`crossdock.mapping.fx_store` (import
it explicitly; it is kept out of this package's import so the pure modules do
not load SQLAlchemy models).
"""

from __future__ import annotations

from crossdock.mapping.attributes import (
    AttributeMapping,
    AttributeRule,
    attribute_mapping_from_config,
    map_attributes,
)
from crossdock.mapping.categories import CategoryMapping, category_mapping_from_config
from crossdock.mapping.fx import FxQuote, FxRate, FxTable
from crossdock.mapping.fx_files import load_rates, load_table
from crossdock.mapping.inventory_rules import (
    ChannelStockRule,
    available_to_sell,
    listed_quantity,
    stock_rule_from_config,
)
from crossdock.mapping.money import RoundingStyle, apply_rounding, parse_rounding, quantize
from crossdock.mapping.pricing import (
    PriceBreakdown,
    PriceRule,
    compute_price,
    price_breakdown,
    price_rule_from_config,
)
from crossdock.mapping.status import (
    StatusMap,
    default_status_map,
    map_order_status,
    status_map_from_config,
)
from crossdock.mapping.validation import (
    ListingChannel,
    PlatformRules,
    ValidationIssue,
    platform_rules_from_config,
    validate_listing,
    validate_or_raise,
)

__all__ = [
    "AttributeMapping",
    "AttributeRule",
    "CategoryMapping",
    "ChannelStockRule",
    "FxQuote",
    "FxRate",
    "FxTable",
    "ListingChannel",
    "PlatformRules",
    "PriceBreakdown",
    "PriceRule",
    "RoundingStyle",
    "StatusMap",
    "ValidationIssue",
    "apply_rounding",
    "attribute_mapping_from_config",
    "available_to_sell",
    "category_mapping_from_config",
    "compute_price",
    "default_status_map",
    "listed_quantity",
    "load_rates",
    "load_table",
    "map_attributes",
    "map_order_status",
    "parse_rounding",
    "platform_rules_from_config",
    "price_breakdown",
    "price_rule_from_config",
    "quantize",
    "status_map_from_config",
    "stock_rule_from_config",
    "validate_listing",
    "validate_or_raise",
]
