"""GraphQL resolvers of the simulated Shopify, one module per family of types.

graphql-core's default resolver reads an attribute of the source object and,
when it is callable, calls it with the field's arguments, so each view simply
has one attribute or method per schema field (camelCase, like the schema).
Plain nested objects (MoneyBag, TaxLine, PageInfo…) are dicts.

graphql-core takes one root value for queries and mutations: :class:`Root`
is put together from the query fields (:mod:`.queries`) and each family's
mutations (:mod:`.catalogue_mutations`, :mod:`.orders`, :mod:`.refunds`, :mod:`.webhooks`).
The type resolvers are in :mod:`.catalogue` and :mod:`.orders`.
"""

from __future__ import annotations

from crossdock.sandbox.shopify.views.base import Ctx
from crossdock.sandbox.shopify.views.catalogue_mutations import CatalogueMutations
from crossdock.sandbox.shopify.views.orders import OrderMutations
from crossdock.sandbox.shopify.views.queries import QueryRoot
from crossdock.sandbox.shopify.views.refunds import RefundMutations
from crossdock.sandbox.shopify.views.webhooks import WEBHOOK_TOPICS, WebhookMutations
from crossdock.sandbox.shopify.returns import ReturnMutations

__all__ = ["WEBHOOK_TOPICS", "Ctx", "Root"]


class Root(QueryRoot, CatalogueMutations, OrderMutations, RefundMutations, WebhookMutations, ReturnMutations):
    """QueryRoot and Mutation fields (graphql-core uses one root value for both)."""
