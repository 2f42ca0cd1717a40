"""A GraphQL query's cost as Shopify computes it, estimated before the call
(the quota budget asks for that many points)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    parse,
)
from graphql.language import FragmentDefinitionNode, IntValueNode, VariableNode

# --- query cost ---------------------------------------------------------------------------

def estimate_cost(query: str, variables: Mapping[str, Any] | None = None) -> int:
    """Shopify's requested cost of one of our documents, before sending it.

    Same rules as Shopify (objects 1, scalars 0, connections 2 + first × node,
    mutations 10). A field taking ``first``/``last`` is a connection; that holds
    for every document in :mod:`queries`. The quota budget is charged this much
    up front and refunded from ``extensions.cost`` after the call.

    Asked before every request: a query text is parsed once, and its cost
    computed once per value of the variables that size its connections.
    """
    page_vars = _document(query)[2]
    given = variables or {}
    sizes = tuple(given.get(name) for name in page_vars)
    try:
        return _cost(query, sizes)
    except TypeError:       # a size that is not hashable: computed uncached (and refused as before)
        return _cost.__wrapped__(query, sizes)


@lru_cache(maxsize=256)
def _document(query: str) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode], tuple[str, ...]]:
    """The query's operation, its fragments and the variables its ``first``/``last`` arguments name."""
    doc = parse(query)
    frags = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    names: set[str] = set()

    def walk(selections: Iterable[Any]) -> None:
        for sel in selections:
            if isinstance(sel, FieldNode):
                for arg in sel.arguments or ():
                    if arg.name.value in ("first", "last") and isinstance(arg.value, VariableNode):
                        names.add(arg.value.name.value)
            if getattr(sel, "selection_set", None) is not None:
                walk(sel.selection_set.selections)

    for d in doc.definitions:
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode):
            walk(d.selection_set.selections)
    return op, frags, tuple(sorted(names))


@lru_cache(maxsize=1024)
def _cost(query: str, sizes: tuple[Any, ...]) -> int:
    op, frags, page_vars = _document(query)
    vars_ = dict(zip(page_vars, sizes))
    roots = _merged(op.selection_set.selections, frags)
    if op.operation.value == "mutation":
        return sum(10 + _nested_connections(sel, frags, vars_) for sel in roots.values())
    return sum(_field_cost(sel, frags, vars_) for sel in roots.values())


def _merged(selections: Iterable[Any], frags: Mapping[str, FragmentDefinitionNode]) -> dict[str, list[FieldNode]]:
    out: dict[str, list[FieldNode]] = {}
    for sel in selections:
        if isinstance(sel, FieldNode):
            out.setdefault((sel.alias or sel.name).value, []).append(sel)
        elif isinstance(sel, FragmentSpreadNode):
            for k, v in _merged(frags[sel.name.value].selection_set.selections, frags).items():
                out.setdefault(k, []).extend(v)
        elif isinstance(sel, InlineFragmentNode):
            for k, v in _merged(sel.selection_set.selections, frags).items():
                out.setdefault(k, []).extend(v)
    return out


def _children(nodes: list[FieldNode], frags: Mapping[str, FragmentDefinitionNode]) -> dict[str, list[FieldNode]]:
    sels = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
    return _merged(sels, frags)


def _page_size(node: FieldNode, vars_: Mapping[str, Any]) -> int | None:
    for arg in node.arguments or ():
        if arg.name.value in ("first", "last"):
            if isinstance(arg.value, IntValueNode):
                return int(arg.value.value)
            if isinstance(arg.value, VariableNode):
                return int(vars_.get(arg.value.name.value) or 0)
    return None


def _field_cost(nodes: list[FieldNode], frags: Mapping[str, FragmentDefinitionNode],
                vars_: Mapping[str, Any]) -> int:
    node = nodes[0]
    if node.name.value.startswith("__") or not any(n.selection_set for n in nodes):
        return 0
    size = _page_size(node, vars_)
    if size is not None:
        per_node = 0
        for key, sub in _children(nodes, frags).items():
            name = sub[0].name.value
            if name == "nodes":
                per_node += 1 + sum(_field_cost(c, frags, vars_) for c in _children(sub, frags).values())
            elif name == "edges":
                for inner in _children(sub, frags).values():
                    if inner[0].name.value == "node":
                        per_node += 1 + sum(_field_cost(c, frags, vars_) for c in _children(inner, frags).values())
        return 2 + size * per_node
    return 1 + sum(_field_cost(c, frags, vars_) for c in _children(nodes, frags).values())


def _nested_connections(nodes: list[FieldNode], frags: Mapping[str, FragmentDefinitionNode],
                        vars_: Mapping[str, Any]) -> int:
    total = 0
    for sub in _children(nodes, frags).values():
        if not any(n.selection_set for n in sub):
            continue
        if _page_size(sub[0], vars_) is not None:
            total += _field_cost(sub, frags, vars_)
        else:
            total += _nested_connections(sub, frags, vars_)
    return total
