"""The sandbox's schema against Shopify's, and the recorded payloads against
the schema.

1. If Shopify's Admin GraphQL schema is available under
   ``<repo>/../shared/specs/shopify/`` (SDL ``*.graphql``/``*.graphqls`` or an
   introspection ``*.json``), every type, field, argument, input field and enum
   value the sandbox serves must exist there with the same type. Skipped, with
   the reason, when the file is absent (Shopify publishes no schema file:
   docs/platform-facts.md#official-specs);
   ``CROSSDOCK_SHOPIFY_SPECS`` names another folder. Recorded sandbox answers
   and the fixtures are then also checked against Shopify's schema.
2. Every recorded payload in ``tests/fixtures/shopify/`` must be a possible
   answer to the connector's query under the sandbox schema: it is executed
   with the payload as the data source and must come back unchanged (so enum
   values, nullability, types and the selection all match).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_client_schema,
    build_schema,
    execute,
    parse,
)

from crossdock.connectors.shopify import queries, refunds
from crossdock.sandbox.shopify import admin_graphql
from crossdock.sandbox.shopify import schema as sdl

ROOT = Path(__file__).resolve().parents[3]
SPECS = Path(os.environ.get("CROSSDOCK_SHOPIFY_SPECS") or ROOT.parent / "shared" / "specs" / "shopify")
FIXTURES = ROOT / "tests" / "fixtures" / "shopify"


def _official():
    if not SPECS.is_dir():
        pytest.skip(f"no official Shopify Admin schema at {SPECS} (Shopify publishes none, see "
                    "docs/platform-facts.md#official-specs); put schema.graphql or an "
                    "introspection JSON there to check the sandbox schema against it")
    for path in sorted(SPECS.iterdir()):
        if path.suffix in (".graphql", ".graphqls"):
            return build_schema(path.read_text(encoding="utf-8"), assume_valid=True)
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            return build_client_schema(data.get("data", data))
    pytest.skip(f"{SPECS} holds no .graphql or introspection .json file")


def test_sandbox_schema_is_a_subset_of_shopifys():
    official = _official()
    ours = sdl.schema_for(sdl.SCHEMA_2026_04)
    problems = []
    for name, t in ours.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        theirs = official.type_map.get(name)
        if theirs is None or type(theirs) is not type(t):
            problems.append(f"type {name}: missing or of another kind")
            continue
        if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for fname, f in t.fields.items():
                other = theirs.fields.get(fname)
                if other is None or str(other.type) != str(f.type):
                    problems.append(f"{name}.{fname}: {f.type} vs {other.type if other else 'missing'}")
                    continue
                for aname, arg in getattr(f, "args", {}).items():
                    oarg = other.args.get(aname)
                    if oarg is None or str(oarg.type) != str(arg.type):
                        problems.append(f"{name}.{fname}({aname}): {arg.type} vs {oarg.type if oarg else 'missing'}")
        if isinstance(t, GraphQLEnumType):
            missing = set(t.values) - set(theirs.values)
            if missing:
                problems.append(f"enum {name}: {sorted(missing)} not in Shopify's")
    assert problems == []


def _by_response_key(source, info, **_):
    return source.get(info.path.key) if isinstance(source, dict) else None


CASES = [
    ("orders_page.json", queries.ORDERS, {"first": 10, "lines": 5, "query": "", "after": None}),
    ("order_lines.json", queries.ORDER_LINES, {"id": "gid://shopify/Order/1", "first": 50}),
    ("variants.json", queries.VARIANTS_BY_SKU, {"first": 100, "query": "", "location": "gid://shopify/Location/1"}),
    ("inventory_set_ok.json", queries.inventory_set_document(), {"key": "k", "input": {
        "name": "available", "reason": "correction", "quantities": []}}),
    ("inventory_set_stale.json", queries.inventory_set_document(), {"key": "k", "input": {
        "name": "available", "reason": "correction", "quantities": []}}),
    ("prices_partial.json", queries.price_update_document(2),
     {"p0": "gid://shopify/Product/1", "v0": [], "p1": "gid://shopify/Product/2", "v1": []}),
    ("fulfillment_orders.json", queries.FULFILLMENT_ORDERS, {"id": "gid://shopify/Order/1"}),
    ("fulfillment_create_ok.json", queries.FULFILLMENT_CREATE, {"fulfillment": {"lineItemsByFulfillmentOrder": []}}),
    ("fulfillment_create_error.json", queries.FULFILLMENT_CREATE,
     {"fulfillment": {"lineItemsByFulfillmentOrder": []}}),
    ("order_payments.json", refunds.ORDER_PAYMENTS, {"id": "gid://shopify/Order/6100000000001"}),
    ("refund_create_ok.json", refunds.REFUND_CREATE, {"input": {"orderId": "gid://shopify/Order/1"}}),
    ("refund_create_error.json", refunds.REFUND_CREATE, {"input": {"orderId": "gid://shopify/Order/1"}}),
]


@pytest.mark.parametrize("name,document,variables", CASES, ids=[c[0] for c in CASES])
def test_recorded_payload_is_a_valid_answer(name, document, variables):
    payload = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    schema = sdl.schema_for(sdl.SCHEMA_2026_04)
    result = execute(schema, parse(document), root_value=payload["data"], variable_values=variables,
                     field_resolver=_by_response_key)
    assert result.errors is None, result.errors
    assert result.data == payload["data"]
    cost = payload["extensions"]["cost"]
    assert set(cost) == {"requestedQueryCost", "actualQueryCost", "throttleStatus"}


@pytest.mark.parametrize("name,code", [("throttled.json", "THROTTLED"), ("max_cost_exceeded.json", "MAX_COST_EXCEEDED")])
def test_recorded_error_bodies_match_the_sandbox_format(box, name, code):
    recorded = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    if code == "THROTTLED":
        live = admin_graphql.throttled_body(box.sim, 702, "crossdock-eu")
    else:
        live = {"errors": [admin_graphql.max_cost_error(box.sim, 1032)],
                "extensions": {"cost": admin_graphql.cost_extension(box.sim, 1032, None, "crossdock-eu")}}
    assert live["errors"][0]["extensions"]["code"] == recorded["errors"][0]["extensions"]["code"] == code
    assert set(live["errors"][0]) == set(recorded["errors"][0])
    assert set(live["errors"][0]["extensions"]) == set(recorded["errors"][0]["extensions"])
    assert live["errors"][0]["message"] == recorded["errors"][0]["message"]
    assert set(live["extensions"]["cost"]) == set(recorded["extensions"]["cost"])


def _validate(schema, document: str, variables: dict, data: dict) -> None:
    result = execute(schema, parse(document), root_value=data, variable_values=variables,
                     field_resolver=_by_response_key)
    assert result.errors is None, result.errors
    assert result.data == data


def test_recorded_sandbox_responses_conform_to_shopifys_schema(box):
    """Live sandbox answers to the connector's queries, checked against Shopify's own schema."""
    official = _official()
    from tests.sandbox.shopify.shopify_box import CHANNEL

    oid = box.sim.place_order(CHANNEL, [("MUG-BLUE", 2), ("TEE-L", 1)], buyer_country="CH")
    box.wait_sandbox_s(box.sim.search_index_lag_s + 1)
    cases = [
        (queries.ORDERS, {"first": 10, "lines": 5, "after": None,
                          "query": "updated_at:>='2000-01-01T00:00:00Z'"}),
        (queries.ORDER_LINES, {"id": f"gid://shopify/Order/{oid}", "first": 50}),
        (queries.VARIANTS_BY_SKU, {"first": 10, "query": "sku:MUG-BLUE", "location": box.shop["location_id"]}),
        (queries.FULFILLMENT_ORDERS, {"id": f"gid://shopify/Order/{oid}"}),
        (queries.LOCATIONS, {}),
    ]
    for document, variables in cases:
        body = box.gql(document, variables).json()
        assert "errors" not in body, body
        _validate(official, document, variables, body["data"])


@pytest.mark.parametrize("name,document,variables", CASES, ids=[c[0] for c in CASES])
def test_recorded_fixtures_conform_to_shopifys_schema(name, document, variables):
    official = _official()
    payload = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    _validate(official, document, variables, payload["data"])
