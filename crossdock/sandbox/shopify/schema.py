"""The subset of Shopify's GraphQL Admin schema the sandbox serves.

Type, field, argument and enum names mirror Shopify's Admin API (versions
2026-01 … 2026-10) exactly, so real queries written against Shopify validate and
run here unchanged. Only what a sync engine needs is present: orders with line
items, taxes, duties and fulfillment orders; products, variants, inventory items
and levels; locations; webhook subscriptions; and the mutations
``inventorySetQuantities``, ``productVariantsBulkUpdate``, ``productCreate``,
``productUpdate``, ``fulfillmentCreate``, ``orderCancel``, ``refundCreate``, ``webhookSubscriptionCreate`` and
``webhookSubscriptionDelete``.

Version differences that matter to integrations are kept: before 2026-04,
``InventorySetQuantitiesInput.ignoreCompareQuantity`` and
``InventoryQuantityInput.compareQuantity`` exist; from 2026-04 they are gone,
``changeFromQuantity`` must be sent explicitly for every quantity and the
``@idempotent`` directive is required on inventory mutations (enforced at run
time, as Shopify does).

The SDL is in ``sdl/*.graphql`` next to this module, one file per family of
types (shop and locations, catalogue and inventory, orders and fulfillment,
webhooks, plus what they share), the inventory inputs of each schema
generation and the roots; :func:`sdl` joins them for a generation.
"""

from __future__ import annotations

import functools
from importlib import resources

from graphql import GraphQLSchema, build_schema

#: The SDL files every generation shares, in the order they are joined.
SHARED_FILES = ("scalars", "common", "shop", "catalogue", "orders", "refunds", "webhooks")


@functools.lru_cache(maxsize=None)
def _sdl_file(name: str) -> str:
    return resources.files(__package__).joinpath("sdl", f"{name}.graphql").read_text(encoding="utf-8")


#: Quarterly versions: each is a schema generation key.
SCHEMA_2026_01 = "2026-01"
SCHEMA_2026_04 = "2026-04"


#: The paging arguments every connection field takes.
PAGE_ARGS = "first: Int, after: String, last: Int, before: String, reverse: Boolean = false"


def sdl(generation: str) -> str:
    """The schema text of a generation (``SCHEMA_2026_01`` or ``SCHEMA_2026_04``)."""
    inventory = "inventory-2026-01" if generation == SCHEMA_2026_01 else "inventory-2026-04"
    text = "\n".join(_sdl_file(name) for name in (*SHARED_FILES, inventory, "roots", "returns"))
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
