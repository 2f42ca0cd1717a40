"""Order routing: which warehouse ships an order. Pure; no database.

An order goes to ONE warehouse that can fill every line (no split shipments).
Candidates are ranked, then the first one with enough stock wins:

1. the warehouses configured for the buyer's country
   (``RoutingPreference.by_destination["FR"] = ("DE", "CN")``), in that order;
2. warehouses in the buyer's country;
3. warehouses in the buyer's customs union (EU), e.g. DE for a buyer in FR;
4. the configured fallback order (``RoutingPreference.fallback``);
5. every other active warehouse, in the order given — unless
   ``only_listed=True``, which limits routing to the warehouses named in 1 and 4.

Within steps 2 and 3 ties are broken by the fallback order, then by the order
the warehouses were given in.

``stock_by_warehouse`` must hold the quantity *available to this order*
(on hand minus other orders' reservations; if this order already holds a
reservation somewhere, the caller adds it back before routing).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crossdock.errors import OrderError, WarehouseError
from crossdock.warehouse.customs import customs_territory
from crossdock.warehouse.parcel import normalise_country

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WarehouseSite:
    code: str
    country_code: str
    active: bool = True

    def __post_init__(self) -> None:
        country = normalise_country(self.country_code)
        if not country:
            raise ValueError(f"warehouse {self.code!r} has no country")
        object.__setattr__(self, "country_code", country)


@dataclass(frozen=True, slots=True)
class RoutingPreference:
    by_destination: Mapping[str, Sequence[str]] = field(default_factory=dict)
    fallback: Sequence[str] = ()
    only_listed: bool = False

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None) -> RoutingPreference:
        """From a config table: ``{"fallback": ["DE", "CN"], "only_listed": false,
        "by_destination": {"GB": ["DE"], "US": ["CN", "DE"]}}``."""
        raw = raw or {}
        by_dest = {
            normalise_country(str(k)) or str(k): tuple(str(c) for c in v)
            for k, v in (raw.get("by_destination") or {}).items()
        }
        return cls(by_destination=by_dest, fallback=tuple(str(c) for c in raw.get("fallback") or ()),
                   only_listed=bool(raw.get("only_listed", False)))


def required_quantities(order_lines: Iterable[Any] | Mapping[str, int]) -> dict[str, int]:
    """SKU -> units still to ship. Accepts a ``{sku: qty}`` mapping or objects with
    ``sku``, ``quantity`` and optionally ``quantity_shipped`` (:class:`~crossdock.models.OrderLine`)."""
    need: dict[str, int] = {}
    if isinstance(order_lines, Mapping):
        items: Iterable[tuple[str | None, int]] = order_lines.items()
    else:
        items = (
            (getattr(line, "sku", None),
             int(getattr(line, "quantity")) - int(getattr(line, "quantity_shipped", 0) or 0))
            for line in order_lines
        )
    for sku, qty in items:
        if qty <= 0:
            continue
        if not sku:
            raise OrderError("XD-ORD-004", detail="an order line has no SKU, so it cannot be routed")
        need[sku] = need.get(sku, 0) + qty
    return need


def _sites(warehouses: Iterable[Any] | Mapping[str, Any]) -> list[WarehouseSite]:
    """Accepts WarehouseSite objects, ``{code: country}``, ``{code: WarehouseConfig}``
    or any objects with ``code`` and ``country_code``/``country`` (``active`` optional)."""
    if isinstance(warehouses, Mapping):
        return [WarehouseSite(code, value) if isinstance(value, str) else _site(value, code)
                for code, value in warehouses.items()]
    return [w if isinstance(w, WarehouseSite) else _site(w) for w in warehouses]


def _site(obj: Any, code: str | None = None) -> WarehouseSite:
    country: str = getattr(obj, "country_code", None) or getattr(obj, "country", None) or ""
    return WarehouseSite(code or obj.code, country, active=bool(getattr(obj, "active", True)))


def candidate_order(
    warehouses: Iterable[Any] | Mapping[str, Any],
    buyer_country: str | None,
    preference: RoutingPreference | None = None,
) -> list[str]:
    """Active warehouse codes in the order they are tried for ``buyer_country``."""
    pref = preference or RoutingPreference()
    all_sites = _sites(warehouses)
    sites = [s for s in all_sites if s.active]
    known = {s.code for s in all_sites}
    for code in [*pref.fallback, *(c for codes in pref.by_destination.values() for c in codes)]:
        if code not in known:
            raise WarehouseError("XD-WH-001", entity=f"warehouse {code}",
                                 detail="named in the routing preference but not configured")
    active = {s.code for s in sites}
    fallback_rank = {code: i for i, code in enumerate(pref.fallback)}
    given_rank = {s.code: i for i, s in enumerate(sites)}

    def tie(site: WarehouseSite) -> tuple[int, int]:
        return (fallback_rank.get(site.code, len(fallback_rank)), given_rank[site.code])

    ranked: list[str] = []

    def add(codes: Iterable[str]) -> None:
        for code in codes:
            if code in active and code not in ranked:
                ranked.append(code)

    country = normalise_country(buyer_country)
    if country:
        add(pref.by_destination.get(country, ()))
        if not pref.only_listed:
            add(s.code for s in sorted(sites, key=tie) if s.country_code == country)
            union = customs_territory(country)
            add(s.code for s in sorted(sites, key=tie)
                if customs_territory(s.country_code) == union)
    add(pref.fallback)
    if not pref.only_listed:
        add(s.code for s in sites)
    return ranked


def route_order(
    order_lines: Iterable[Any] | Mapping[str, int],
    stock_by_warehouse: Mapping[str, Mapping[str, int]],
    warehouses: Iterable[Any] | Mapping[str, Any],
    buyer_country: str | None,
    preference: RoutingPreference | None = None,
) -> str:
    """The code of the first warehouse (see module doc for the order) that can
    fill every line; ``WarehouseError("XD-WH-002")`` when none can."""
    need = required_quantities(order_lines)
    if not need:
        raise ValueError("nothing left to ship on this order")
    candidates = candidate_order(warehouses, buyer_country, preference)
    shortfall: dict[str, dict[str, int]] = {}
    for code in candidates:
        stock = stock_by_warehouse.get(code, {})
        short = {sku: qty - max(int(stock.get(sku, 0)), 0)
                 for sku, qty in need.items() if int(stock.get(sku, 0)) < qty}
        if not short:
            log.debug("routed to %s for buyer country %s", code, buyer_country)
            return code
        shortfall[code] = short
    detail = "; ".join(
        f"{code} short of " + ", ".join(f"{sku} x{n}" for sku, n in sorted(short.items()))
        for code, short in shortfall.items()
    ) or "no active warehouse is eligible"
    raise WarehouseError("XD-WH-002", detail=detail, shortfall=shortfall,
                         buyer_country=buyer_country, tried=candidates)


__all__ = [
    "RoutingPreference",
    "WarehouseSite",
    "candidate_order",
    "required_quantities",
    "route_order",
]
