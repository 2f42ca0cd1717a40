"""Shopify's calculated query cost, before (requested) and after (actual) execution.

Rules, as Shopify documents them for the GraphQL Admin API:

* scalars and enums cost 0;
* an object costs 1 (a list of objects counts as one object: its element's cost);
* an interface or union costs the most expensive of its possible types;
* a connection costs 2 plus ``first`` (or ``last``) times the cost of one node;
* a mutation (root field of a mutation) costs 10.

``requestedQueryCost`` is computed on the document before it runs (so it is the
worst case); ``actualQueryCost`` walks the data that was actually returned, so
a page of 3 orders asked for with ``first: 50`` costs ``2 + 3 × node``. Shopify
takes the requested cost from the bucket and refunds the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.values import get_argument_values

MUTATION_COST = 10
CONNECTION_BASE_COST = 2
MAX_PAGE_SIZE = 250


def is_connection(t: Any) -> bool:
    return isinstance(t, GraphQLObjectType) and t.name.endswith("Connection") and "pageInfo" in t.fields


@dataclass
class CostWalker:
    """Computes costs for one operation; collects argument problems on the way."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fragments: dict
    variables: dict[str, Any]
    problems: list[GraphQLError] = field(default_factory=list)

    # --- requested --------------------------------------------------------
    def requested(self) -> int:
        root = self._root_type()
        fields = collect_fields(self.schema, self.fragments, self.variables, root, self.operation.selection_set)
        if self.operation.operation.value == "mutation":
            return sum(MUTATION_COST + self._nested_connection_cost(root, nodes) for nodes in fields.values())
        return sum(self._field_requested(root, nodes, path=[key]) for key, nodes in fields.items())

    def _root_type(self) -> GraphQLObjectType:
        kind = self.operation.operation.value
        root = {"query": self.schema.query_type, "mutation": self.schema.mutation_type,
                "subscription": self.schema.subscription_type}[kind]
        if root is None:
            raise GraphQLError(f"Schema is not configured for {kind}s.", self.operation)
        return root

    def _args(self, parent: GraphQLObjectType, nodes: list[FieldNode]) -> dict[str, Any]:
        fdef = parent.fields[nodes[0].name.value]
        try:
            return get_argument_values(fdef, nodes[0], self.variables)
        except GraphQLError:
            return {}

    def page_size(self, parent: GraphQLObjectType, nodes: list[FieldNode], path: list) -> int:
        args = self._args(parent, nodes)
        first, last = args.get("first"), args.get("last")
        if first is not None:
            size, which = int(first), "first"
        elif last is not None:
            size, which = int(last), "last"
        else:
            self.problems.append(GraphQLError("you must provide one of first or last", nodes, path=path))
            return 0
        if size > MAX_PAGE_SIZE or size < 0:
            self.problems.append(GraphQLError(
                f"The {which} argument must be between 0 and {MAX_PAGE_SIZE} (got {size}).", nodes, path=path))
            return min(max(size, 0), MAX_PAGE_SIZE)
        return size

    def _field_requested(self, parent: GraphQLObjectType, nodes: list[FieldNode], path: list) -> int:
        name = nodes[0].name.value
        if name.startswith("__"):
            return 0
        fdef = parent.fields.get(name)
        if fdef is None:
            return 0
        named = get_named_type(fdef.type)
        if is_leaf_type(named):
            return 0
        if is_connection(named):
            size = self.page_size(parent, nodes, path)
            return CONNECTION_BASE_COST + size * self._connection_node_requested(named, nodes, path)
        return 1 + self._children_requested(named, nodes, path)

    def _children_requested(self, named: Any, nodes: list[FieldNode], path: list) -> int:
        if isinstance(named, (GraphQLInterfaceType, GraphQLUnionType)):
            return max((self._children_requested(t, nodes, path)
                        for t in self.schema.get_possible_types(named)), default=0)
        sub = collect_sub_fields(self.schema, self.fragments, self.variables, named, nodes)
        return sum(self._field_requested(named, n, path + [k]) for k, n in sub.items())

    def _connection_node_requested(self, conn: GraphQLObjectType, nodes: list[FieldNode], path: list) -> int:
        total = 0
        sub = collect_sub_fields(self.schema, self.fragments, self.variables, conn, nodes)
        for key, fnodes in sub.items():
            fname = fnodes[0].name.value
            if fname == "nodes":
                node_type = get_named_type(conn.fields["nodes"].type)
                total += 1 + self._children_requested(node_type, fnodes, path + [key])
            elif fname == "edges":
                edge_type = get_named_type(conn.fields["edges"].type)
                edge_sub = collect_sub_fields(self.schema, self.fragments, self.variables, edge_type, fnodes)
                for k2, n2 in edge_sub.items():
                    if n2[0].name.value == "node":
                        node_type = get_named_type(edge_type.fields["node"].type)
                        total += 1 + self._children_requested(node_type, n2, path + [key, k2])
        return total

    def _nested_connection_cost(self, parent: GraphQLObjectType, nodes: list[FieldNode]) -> int:
        """Connections selected inside a mutation payload still cost their pages."""
        fdef = parent.fields.get(nodes[0].name.value)
        if fdef is None:
            return 0
        named = get_named_type(fdef.type)
        if is_leaf_type(named) or not isinstance(named, GraphQLObjectType):
            return 0
        total = 0
        sub = collect_sub_fields(self.schema, self.fragments, self.variables, named, nodes)
        for key, fnodes in sub.items():
            sdef = named.fields.get(fnodes[0].name.value)
            if sdef is None:
                continue
            snamed = get_named_type(sdef.type)
            if is_connection(snamed):
                total += self._field_requested(named, fnodes, [key])
            elif isinstance(snamed, GraphQLObjectType):
                total += self._nested_connection_cost(named, fnodes)
        return total

    # --- actual -----------------------------------------------------------
    def actual(self, data: dict | None) -> int:
        if data is None:
            return 0
        root = self._root_type()
        fields = collect_fields(self.schema, self.fragments, self.variables, root, self.operation.selection_set)
        if self.operation.operation.value == "mutation":
            return sum(MUTATION_COST for key in fields if key in data)
        return sum(self._field_actual(root, nodes, data.get(key)) for key, nodes in fields.items())

    def _field_actual(self, parent: GraphQLObjectType, nodes: list[FieldNode], value: Any) -> int:
        name = nodes[0].name.value
        if name.startswith("__") or value is None:
            return 0
        fdef = parent.fields.get(name)
        if fdef is None:
            return 0
        named = get_named_type(fdef.type)
        if is_leaf_type(named):
            return 0
        if is_connection(named):
            return CONNECTION_BASE_COST + self._connection_actual(named, nodes, value)
        if isinstance(value, list):
            return 1 + max((self._children_actual(named, nodes, v) for v in value if v is not None), default=0)
        return 1 + self._children_actual(named, nodes, value)

    def _children_actual(self, named: Any, nodes: list[FieldNode], value: dict) -> int:
        if isinstance(named, (GraphQLInterfaceType, GraphQLUnionType)):
            return max((self._children_actual(t, nodes, value) for t in self.schema.get_possible_types(named)),
                       default=0)
        sub = collect_sub_fields(self.schema, self.fragments, self.variables, named, nodes)
        return sum(self._field_actual(named, n, value.get(k)) for k, n in sub.items() if k in value)

    def _connection_actual(self, conn: GraphQLObjectType, nodes: list[FieldNode], value: dict) -> int:
        total = 0
        sub = collect_sub_fields(self.schema, self.fragments, self.variables, conn, nodes)
        for key, fnodes in sub.items():
            fname = fnodes[0].name.value
            items = value.get(key) or []
            if fname == "nodes":
                node_type = get_named_type(conn.fields["nodes"].type)
                total += sum(1 + self._children_actual(node_type, fnodes, v) for v in items if v is not None)
            elif fname == "edges":
                edge_type = get_named_type(conn.fields["edges"].type)
                edge_sub = collect_sub_fields(self.schema, self.fragments, self.variables, edge_type, fnodes)
                for edge in items:
                    for k2, n2 in edge_sub.items():
                        if n2[0].name.value == "node" and edge.get(k2) is not None:
                            node_type = get_named_type(edge_type.fields["node"].type)
                            total += 1 + self._children_actual(node_type, n2, edge[k2])
        return total
