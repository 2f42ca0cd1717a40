"""``crossdock demo``: bundles and SKU aliases in the demo's catalogue (issue 18).

A few bundles (kits) made of the catalogue's SKUs, one component shared by
two bundles, and a few SKU aliases (a legacy eBay SKU, an Amazon MSKU with a
suffix, one of them a bundle's and one a component's) are set the way a
seller sets them (:mod:`crossdock.catalog.kits`: ``catalog bundle set``,
``catalog alias add``) and told to the sandbox the way a seller lists them:
bundles as catalogue items with components and no stock, aliased SKUs
listed under the alias on their channel. The sandbox's record then counts
every figure in physical units (a bundle sold consumes its components) and
under catalogue SKUs (:class:`crossdock.sandbox.market.Market`).

Which SKUs take part is drawn from a random generator of its own, after the
catalogue and stock are drawn, so the rest of the demo stays what it was
for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from crossdock.db.engine import Database

__all__ = ["KitPlan", "kit_figures", "plan_kits", "seed_kits", "seed_kit_shares"]

BUNDLE_PREFIX = "XD-KIT-"
# (units of each component) per bundle; "a" is shared by the first and the third
_RECIPES: tuple[tuple[tuple[str, int], ...], ...] = ((("a", 2), ("b", 1)), (("c", 1), ("d", 1)), (("a", 1), ("e", 3)))


@dataclass
class KitPlan:
    """The demo's bundles (bundle SKU → component → units per bundle) and
    aliases (channel → catalogue SKU → the SKU that channel lists it under)."""

    bundles: dict[str, dict[str, int]] = field(default_factory=dict)
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)

    def listing_sku(self, channel: str, sku: str) -> str:
        return self.aliases.get(channel, {}).get(sku, sku)

    @property
    def components(self) -> set[str]:
        return {c for comps in self.bundles.values() for c in comps}


def plan_kits(skus: Sequence[str], seed: int, *, bundles: int, aliases: bool,
              alias_channels: Mapping[str, str]) -> KitPlan:
    """Up to ``bundles`` bundles over ``skus`` (the catalogue, at least five for
    one), and with ``aliases`` an alias per channel of ``alias_channels``
    (channel → how it renames: ``legacy`` prefix or ``suffix``) for a plain SKU,
    plus on the first such channel one for a bundle and one for a component."""
    rng = random.Random(f"demo-kits-{seed}")
    plan = KitPlan()
    n = min(bundles, len(_RECIPES)) if len(skus) >= 5 else 0
    roles = dict(zip("abcde", rng.sample(list(skus), 5))) if n else {}
    for i, recipe in enumerate(_RECIPES[:n]):
        plan.bundles[f"{BUNDLE_PREFIX}{i + 1}"] = {roles[r]: q for r, q in recipe}
    if not aliases:
        return plan
    plain = [s for s in skus if s not in plan.components]
    picks = rng.sample(plain, min(len(plain), len(alias_channels)))
    for (channel, style), sku in zip(alias_channels.items(), picks):
        plan.aliases.setdefault(channel, {})[sku] = _renamed(sku, style, channel)
    if alias_channels and plan.bundles:
        channel, style = next(iter(alias_channels.items()))
        bundle = next(iter(plan.bundles))
        component = sorted(plan.components)[0]
        plan.aliases[channel][bundle] = _renamed(bundle, style, channel)
        plan.aliases[channel][component] = _renamed(component, style, channel)
    return plan


def _renamed(sku: str, style: str, channel: str) -> str:
    return f"LEGACY-{sku}" if style == "legacy" else f"{sku}-{channel.rsplit('-', 1)[-1].upper()}"


def seed_kits(session: Any, plan: KitPlan, sb: Any, sb_channels: Mapping[str, str]) -> None:
    """The plan in crossdock's catalogue (bundle products with no stock, their
    components, the aliases) and in the sandbox's."""
    from crossdock.catalog.kits import add_alias, set_bundle
    from crossdock.db.models import Product
    from crossdock.sandbox.core import CatalogueItem

    for i, (bundle, comps) in enumerate(plan.bundles.items()):
        session.add(Product(sku=bundle, title=f"Demo bundle {i + 1}", base_price=Decimal("34.90"),
                            base_currency="EUR", hs_code="950300", country_of_origin="CN",
                            weight_g=sum(200 * q for q in comps.values())))
    session.flush()
    for bundle, comps in plan.bundles.items():
        set_bundle(session, bundle, comps, mark=False)
        sb.market.seed_item(CatalogueItem(sku=bundle, title=bundle, price=Decimal("34.90"), currency="EUR",
                                          physical_stock=0, hs_code="950300", country_of_origin="CN",
                                          components=dict(comps)))
    for channel, names in plan.aliases.items():
        for sku, listing_sku in names.items():
            add_alias(session, listing_sku, sku, channel=channel, mark=False)
            sb.market.alias(sb_channels[channel], listing_sku, sku)


def seed_kit_shares(db: Database, cfg: Any, plan: KitPlan, channels: Iterable[str]) -> dict[str, dict[str, int]]:
    """What each channel's listing of a bundle or component starts showing:
    the engine's own decision (the guard's pools, :mod:`crossdock.sync_engine.bundles`),
    channel after channel, each seeded before the next decides — as pushes
    from nothing would leave them. Returns channel → SKU → quantity."""
    from crossdock.sync_engine import exposure
    from crossdock.sync_engine.availability import availability_snapshot
    from crossdock.sync_engine.shown import seed as seed_shown

    skus = sorted(set(plan.bundles) | plan.components)
    out: dict[str, dict[str, int]] = {}
    if not skus:
        return out
    rules = exposure.stock_rules(cfg)
    for name in channels:
        with db.write() as s:
            avail = availability_snapshot(s, skus)
            out[name] = exposure.targets(s, name, avail, rules=rules, guard=exposure.guard_on(cfg))
            seed_shown(s, name, out[name])
    return out


def kit_figures(db: Database, sb: Any, plan: KitPlan, sb_channels: Mapping[str, str]) -> dict[str, Any]:
    """Bundles and aliases in a finished run, from the sandbox's record (what
    buyers bought, under which SKU) and the database (what crossdock stored)."""
    from crossdock.db.models import Order, OrderLine

    by_sandbox = {v: k for k, v in sb_channels.items()}
    with sb.market.lock:
        sales = list(sb.market.sales)
        bundle_units = sb.market.bundle_units_sold()
    alias_lines = {(by_sandbox.get(e["channel"], e["channel"]), e["order_id"], e["sku"])
                   for e in sales if e.get("listed_as")}
    bundle_orders = {e["order_id"] for e in sales if e["sku"] in plan.bundles}
    with db.read() as s:
        stored = {(c, o, sku) for c, o, sku in s.execute(select(Order.channel, Order.platform_order_id, OrderLine.sku)
                                                         .join(OrderLine, OrderLine.order_id == Order.id))}
    return {
        "bundles": len(plan.bundles),
        "aliases": sum(len(v) for v in plan.aliases.values()),
        "bundle_orders": len(bundle_orders),
        "bundle_units_sold": bundle_units,        # net of cancellations
        "alias_orders": len({(c, o) for c, o, _ in alias_lines}),
        # sold under an alias on the channel, stored by crossdock under the catalogue SKU it stands for
        "alias_orders_resolved": len({(c, o) for c, o, _ in alias_lines & stored}),
    }
