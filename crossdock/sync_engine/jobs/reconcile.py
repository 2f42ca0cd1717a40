"""Reconcile: read back what a channel shows (quantities and prices) and
compare it with what crossdock expects.

A scheduled run (no ``apply`` in its entry) hands what drifted to the stock
push (:func:`crossdock.sync_engine.housekeeping.scheduled_reconcile`); a run
asked for with ``apply`` (``crossdock sync reconcile --apply``) marks it dirty and runs
the channel's stock push at once.
"""

from __future__ import annotations

from typing import Any, TypedDict

from crossdock import synclog
from crossdock.db.base import utcnow
from crossdock.sync_engine import dirty, outbox, skumap
from crossdock.sync_engine import shown as shows
from crossdock.sync_engine.jobs.context import EngineContext, entry_channel
from crossdock.sync_engine.jobs.prices import expected_prices, push_prices
from crossdock.sync_engine.jobs.stock import expected_quantities, push_stock

__all__ = ["RECONCILE", "ReconcileResult", "reconcile", "reconcile_job"]

RECONCILE = "reconcile"


class ReconcileResult(TypedDict):
    channel: str
    checked: int
    drift: list[dict[str, Any]]
    repaired: int
    prices_checked: int
    price_drift: list[dict[str, Any]]
    prices_repaired: int
    price_problems: list[dict[str, str]]


def reconcile(ctx: EngineContext, channel: str, *, apply: bool = False) -> ReconcileResult:
    """Read back listed quantities and prices; report drift; with ``apply``
    hand every SKU whose quantity drifted to the stock push (recorded as
    showing what was read, marked dirty, and the channel's push job run now,
    behind its per-(channel, SKU) claim: ``repaired`` counts those it pushed),
    and push the expected prices (:func:`~crossdock.sync_engine.jobs.prices.push_prices`, forced)
    for every SKU whose price drifted.

    The expected price is what the channel's price rule gives today
    (:func:`~crossdock.sync_engine.jobs.prices.expected_prices`); a SKU whose price cannot be computed
    (no FX rate …) is reported in ``price_problems``, not as drift."""
    conn = ctx.connectors.get(channel)
    expected = expected_quantities(ctx, channel)
    prices, price_problems = expected_prices(ctx, channel)
    read_from = utcnow()
    with ctx.db.read() as s:
        read = skumap.ChannelSkus.of(s, channel).read(conn.read_listings)   # under the channel's SKU aliases
    offers = {o.sku: o for o in read(sorted(set(expected) | set(prices)))}
    read_until = utcnow()
    drift: list[dict[str, Any]] = []
    for sku, want in sorted(expected.items()):
        offer = offers.get(sku)
        shown = offer.quantity if offer is not None else None
        if shown != want:
            drift.append({"sku": sku, "expected": want, "listed": shown})
    price_drift: list[dict[str, Any]] = []
    for sku, price in sorted(prices.items()):
        offer = offers.get(sku)
        listed = offer.price if offer is not None else None
        if listed is None or listed.currency != price.currency or listed.amount != price.amount:
            price_drift.append({"sku": sku, "expected": str(price.amount), "currency": price.currency,
                                "listed": str(listed.amount) if listed is not None else None,
                                "listed_currency": listed.currency if listed is not None else None})
    fixed: set[str] = set()
    if apply and drift:
        # the stock push repairs them, behind its per-(channel, SKU) claim: what the channel shows
        # is recorded, the SKUs marked dirty, and the push job run for the channel now
        handed = utcnow()
        with ctx.db.write() as s:
            shows.adopt_listed(s, channel, {d["sku"]: d["listed"] for d in drift}, read_from=read_from,
                               read_until=read_until)
            dirty.mark_dirty(s, [d["sku"] for d in drift])
        push_stock(ctx, channel)
        with ctx.db.read() as s:
            fixed = shows.pushed_since(s, channel, [d["sku"] for d in drift], since=handed)
    repaired = len(fixed)
    prices_repaired = 0
    if apply and price_drift:
        pushed = push_prices(ctx, channel, skus=[d["sku"] for d in price_drift], force=True)
        prices_repaired = pushed["pushed"]
    with ctx.db.write() as s:
        for d in drift:
            synclog.record(s, operation="reconcile", outcome="ok" if apply else "partial", channel=channel,
                           entity_type="sku", entity=d["sku"], code="XD-INV-002",
                           message=f"expected {d['expected']}, listed {d['listed']}"
                                   + ((" (repaired)" if d["sku"] in fixed else " (left to the stock push)")
                                      if apply else ""),
                           details=d)
        for d in price_drift:
            listed_text = f"{d['listed']} {d['listed_currency']}" if d["listed"] is not None else "no price"
            synclog.record(s, operation="reconcile", outcome="ok" if apply else "partial", channel=channel,
                           entity_type="sku", entity=d["sku"], code="XD-MAP-013",
                           message=f"price expected {d['expected']} {d['currency']}, listed {listed_text}"
                                   + (" (pushed again)" if apply else ""),
                           details=d)
        synclog.record(s, operation="reconcile", outcome="ok", channel=channel, entity_type="channel",
                       entity=channel, message=f"{len(expected)} SKUs checked, {len(drift)} drifted, "
                                               f"{repaired} repaired; {len(prices)} prices checked, "
                                               f"{len(price_drift)} drifted, {prices_repaired} repaired, "
                                               f"{len(price_problems)} not computable")
    return {"channel": channel, "checked": len(expected), "drift": drift, "repaired": repaired,
            "prices_checked": len(prices), "price_drift": price_drift, "prices_repaired": prices_repaired,
            "price_problems": price_problems}



def reconcile_job(ctx: EngineContext, entry: outbox.ClaimedEntry) -> dict[str, Any]:
    """Outbox entry ``reconcile``: with ``apply`` in its payload, :func:`reconcile`;
    a scheduled run (no ``apply``) hands drift to the stock push instead."""
    from crossdock.sync_engine.housekeeping import scheduled_reconcile

    channel = entry_channel(entry)
    if "apply" not in entry.payload:
        return scheduled_reconcile(ctx, channel)
    return dict(reconcile(ctx, channel, apply=bool(entry.payload["apply"])))
