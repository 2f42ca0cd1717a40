"""What the resolver modules share: the request context, connections
(Relay-style paging), money scalars, user errors and input limits, and the
base of the root's parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable

from graphql import GraphQLError
from graphql.execution.values import get_directive_values

from crossdock.sandbox.shopify.records import money
from crossdock.sandbox.shopify.search import CursorError, paginate
from crossdock.sandbox.shopify.store import Shop

if TYPE_CHECKING:
    from crossdock.sandbox.shopify.sim import ShopifySim

#: Shopify's limit on the length of an input list (ids, quantities, variants).
MAX_INPUT_ARRAY = 250


def decimal_str(value: Decimal) -> str:
    """Shopify's ``Decimal`` scalar: shortest form with at least one decimal ("10.0", "10.5", "9.99")."""
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def money_str(value: Decimal) -> str:
    """Shopify's ``Money`` scalar (ProductVariant.price): two decimals."""
    return format(money(value), "f")


def money_bag(shop_amount: Decimal, shop_currency: str, pres_amount: Decimal, pres_currency: str) -> dict:
    return {"shopMoney": {"amount": decimal_str(money(shop_amount)), "currencyCode": shop_currency},
            "presentmentMoney": {"amount": decimal_str(money(pres_amount)), "currencyCode": pres_currency}}


@dataclass
class Ctx:
    """Per-request context."""

    sim: ShopifySim
    shop: Shop
    version: str
    now: float
    warnings: list[str] = field(default_factory=list)
    touched_skus: set[str] = field(default_factory=set)
    sets_stock: bool = False        # the request carried an inventory quantity change
    events: list[tuple[str, Any]] = field(default_factory=list)   # (REST topic, record)


def connection(items: Iterable[Any], *, key: Callable[[Any], tuple], node: Callable[[Any], Any],
               first: int | None = None, after: str | None = None, last: int | None = None,
               before: str | None = None, reverse: bool = False, **_: Any) -> dict:
    """A Relay connection (edges, nodes, pageInfo) of ``items`` in ``key`` order, paged by the
    field's arguments; ``node`` makes each item's resolver."""
    try:
        page = paginate(list(items), key=key, first=first, after=after, last=last, before=before,
                        reverse=bool(reverse))
    except CursorError as exc:
        raise GraphQLError(str(exc)) from exc
    nodes = [node(it) for it in page.items]
    return {"edges": [{"cursor": c, "node": n} for c, n in zip(page.cursors, nodes)], "nodes": nodes,
            "pageInfo": page.page_info}


def by_id(x: Any) -> tuple[int, int]:
    """Sort key of a record by its id alone."""
    return (x.id, x.id)


class RootPart:
    """A part of the root value: the query fields or one family's mutations."""

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx


def user_error(code: str | None, field_path: list[str] | None, message: str) -> dict:
    return {"code": code, "field": field_path, "message": message}


def too_many(n: int, info: Any = None) -> GraphQLError:
    return GraphQLError(f"The input array size of {n} is greater than the maximum allowed of {MAX_INPUT_ARRAY}.",
                        info.field_nodes if info is not None else None,
                        extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"})


def idempotency_key(info: Any) -> str | None:
    directive = info.schema.get_directive("idempotent")
    if directive is None:
        return None
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    return values.get("key") if values else None
