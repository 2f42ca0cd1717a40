"""One GraphQL Admin API request of the simulated Shopify: parse and
validate (cached per schema generation), the requested cost, the per-shop
cost bucket (Shopify's leaky bucket: ``maximum_available`` deep, refilled at
``restore_rate`` per second, unused cost refunded after the call), the single
query cost limit, then execution against the shop's data."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, execute_sync, get_operation_ast, parse, validate
from graphql.execution.values import get_variable_values
from graphql.language import FragmentDefinitionNode

from crossdock.sandbox.http import Request
from crossdock.sandbox.limits import Bucket
from crossdock.sandbox.shopify import schema as sdl
from crossdock.sandbox.shopify.cost import CostWalker
from crossdock.sandbox.shopify.views import Ctx, Root

if TYPE_CHECKING:
    from crossdock.sandbox.shopify.sim import ShopifySim

RATE_DOC = "https://shopify.dev/api/usage/rate-limits"


@functools.lru_cache(maxsize=512)
def parse_and_validate(generation: str, query: str) -> tuple[Any, tuple[GraphQLError, ...]]:
    try:
        doc = parse(query)
    except GraphQLError as exc:
        return None, (exc,)
    errors = validate(sdl.schema_for(generation), doc)
    return (doc if not errors else None), tuple(errors)


def bucket(sim: ShopifySim, shop: str) -> Bucket:
    b = sim.buckets.get(shop)
    if b is None:
        b = sim.buckets[shop] = Bucket(sim.restore_rate, sim.maximum_available, sim.clock.timestamp())
    return b


def throttle_status(sim: ShopifySim, shop: str) -> dict:
    available = bucket(sim, shop).available(sim.clock.timestamp())
    return {"maximumAvailable": sim.maximum_available, "currentlyAvailable": int(available),
            "restoreRate": sim.restore_rate}


def execute_graphql(sim: ShopifySim, shop_name: str, version: str, query: str, variables: Any = None,
                    operation_name: str | None = None) -> tuple[int, dict, bool]:
    """Run one GraphQL request for ``shop_name``: (HTTP status, body, throttled)."""
    generation = sdl.generation_for(version)
    schema = sdl.schema_for(generation)
    doc, errors = parse_and_validate(generation, query)
    if errors:
        return 200, {"errors": [e.formatted for e in errors]}, False
    operation = get_operation_ast(doc, operation_name)
    if operation is None:
        msg = ("An operation name is required" if operation_name is None
               else f"No operation named \"{operation_name}\"")
        return 200, {"errors": [{"message": msg}]}, False
    if variables is not None and not isinstance(variables, dict):
        return 200, {"errors": [{"message": "Variables must be an object"}]}, False
    coerced = get_variable_values(schema, operation.variable_definitions or [], variables or {})
    if isinstance(coerced, list):
        return 200, {"errors": [e.formatted for e in coerced]}, False
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    walker = CostWalker(schema, operation, fragments, coerced)
    requested = walker.requested()
    if walker.problems:
        return 200, {"errors": [e.formatted for e in walker.problems]}, False
    with sim.lock:
        now = sim.clock.timestamp()
        shop_bucket = bucket(sim, shop_name)
        if requested > sim.max_query_cost:
            return 200, {"errors": [max_cost_error(sim, requested)],
                         "extensions": {"cost": cost_extension(sim, requested, None, shop_name)}}, False
        if not shop_bucket.take(now, requested):
            return 200, throttled_body(sim, requested, shop_name), True
        ctx = Ctx(sim=sim, shop=sim.shops[shop_name], version=version, now=now)
        result = execute_sync(schema, doc, root_value=Root(ctx), context_value=ctx,
                              variable_values=variables or {}, operation_name=operation_name)
        actual = walker.actual(result.data)
        shop_bucket.tokens = min(shop_bucket.burst, shop_bucket.tokens + max(0, requested - actual))
        _after_request(sim, ctx)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        body["data"] = result.data
        ext: dict[str, Any] = {"cost": cost_extension(sim, requested, actual, shop_name)}
        if ctx.warnings:
            ext["search"] = [{"warnings": [{"message": w} for w in dict.fromkeys(ctx.warnings)]}]
        body["extensions"] = ext
    return 200, body, False


def cost_extension(sim: ShopifySim, requested: int, actual: int | None, shop: str) -> dict:
    return {"requestedQueryCost": requested, "actualQueryCost": actual,
            "throttleStatus": throttle_status(sim, shop)}


def throttled_body(sim: ShopifySim, requested: int | None, shop: str | None) -> dict:
    body: dict[str, Any] = {"errors": [{"message": "Throttled",
                                        "extensions": {"code": "THROTTLED", "documentation": RATE_DOC}}]}
    if shop is not None:
        status = throttle_status(sim, shop)
        if requested is not None:
            # a storm injected by a fault: report the bucket as just short of this request
            status["currentlyAvailable"] = min(status["currentlyAvailable"], max(0, requested - 1))
        body["extensions"] = {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                       "throttleStatus": status}}
    return body


def max_cost_error(sim: ShopifySim, requested: int) -> dict:
    return {"message": (
        f"Query cost is {requested}, which exceeds the single query max cost limit ({sim.max_query_cost}).\n\n"
        "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
        "cost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations "
        "should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for "
        "usage details.\n"),
        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": sim.max_query_cost,
                       "documentation": RATE_DOC}}


def _after_request(sim: ShopifySim, ctx: Ctx) -> None:
    shop = ctx.shop
    for topic, obj in ctx.events:
        sim.emit(shop, topic, obj)
    if ctx.touched_skus:
        sim.record_listed(shop, ctx.touched_skus)
    if ctx.sets_stock:
        sim.market.record_stock_request(f"shopify:{shop.name}")


def estimate_cost(sim: ShopifySim, req: Request) -> int | None:
    try:
        body = req.json() or {}
        doc, errors = parse_and_validate(sdl.generation_for(sim.api_version), body.get("query") or "")
        if errors or doc is None:
            return None
        schema = sdl.schema_for(sdl.generation_for(sim.api_version))
        op = get_operation_ast(doc, body.get("operationName"))
        if op is None:
            return None
        coerced = get_variable_values(schema, op.variable_definitions or [], body.get("variables") or {})
        if isinstance(coerced, list):
            return None
        frags = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
        return CostWalker(schema, op, frags, coerced).requested()
    except (ValueError, AttributeError, GraphQLError):
        return None
