"""How fast a sale on one channel reaches the others, from the sandbox's own
record: the demo's propagation figures (:func:`propagation_figures`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crossdock.sandbox.market import StockLeft


NEVER = float("inf")     # a change not shown by the end of the run
SAME_INSTANT_S = 0.05    # sandbox seconds: records this close belong to one request


def propagation_figures(sb: Any, shares: dict[str, Decimal]) -> dict[str, Any]:
    """Sandbox seconds from each sale until every other channel shows the new
    quantity, from the sandbox's own record (:func:`propagation_pairs` says
    what "needs propagating" and "shows" mean).

    A change a channel never showed before the run ended counts in the
    percentiles as longer than any measured delay (``never_reached``): a
    percentile that falls among them is None — beyond the run, not small.
    ``shares``: the sandbox's id of each channel → the share of stock it lists.
    """
    return figures_of(propagation_pairs(sb, shares))


def _record(sb: Any) -> tuple[list[dict[str, Any]], dict[tuple[str, str], list], StockLeft, dict[str, float]]:
    """The sandbox's sales and stock coming back (cancels, returns restocked) in time order, every
    listing's history, a bundle-aware ledger of what is left, and when each order was cancelled
    (a return restocked is stock coming back, never a cancelled sale)."""
    with sb.market.lock:
        events = sorted([dict(e, kind="sale") for e in sb.market.sales]
                        + [dict(e, kind="cancel") for e in sb.market.cancels], key=lambda x: x["at"])
        history = {k: list(v) for k, v in sb.market.listed_history.items()}
        ledger = StockLeft(sb.market.catalogue)
    cancelled_at: dict[str, float] = {}
    for e in events:
        if e["kind"] == "cancel" and e.get("order_id") and not e.get("returned"):
            cancelled_at.setdefault(e["order_id"], e["at"])
    return events, history, ledger, cancelled_at


def propagation_pairs(sb: Any, shares: dict[str, Decimal]) -> list[dict[str, Any]]:
    """Every (sale, other channel) the sale needed propagating to, from the
    sandbox's own record: ``order_id``, ``sku``, ``source`` and ``target``
    (sandbox channel ids), ``sale`` (the sale's index in the record), ``sold_at``, ``reached_at`` (sandbox seconds; None:
    never shown before the run ended) and ``withdrawn`` (see below).

    A sale needs propagating to channel o when the channel rules make less
    of the stock left after it: floor((stock - units sold so far) x share_o)
    drops (shares round down, so many sales change nothing for o). It has
    reached o when o's listed quantity is lowered by something other than o's
    own sales — the engine's push — or is already at or below the new figure.
    A bundle's sale is a sale of its components' units, so it is measured
    on the listings of its components and of every bundle sharing one, as a
    component's sale is on its bundles' listings (a bundle's stock left: what
    its components make). Cancellations give stock back in the same running count, and a sale its
    buyer cancelled before a channel showed it is not measured on that channel
    (the stock came back: there was nothing left to propagate; ``withdrawn``).
    """
    events, history, ledger, cancelled_at = _record(sb)
    own_sales: dict[tuple[str, str], set[float]] = {}
    for e in events:
        own_sales.setdefault((e["channel"], e["sku"]), set()).add(e["at"])
    pairs: list[dict[str, Any]] = []
    for index, sale in enumerate(events):
        sku = sale["sku"]
        if sale["kind"] == "cancel":
            ledger.move(sku, -sale["qty"])
            continue
        # a bundle's sale moves its components, and with them every bundle sharing one
        moved = sorted(ledger.affected(sku))
        before = {s: ledger.left(s) for s in moved}
        ledger.move(sku, sale["qty"])
        after = {s: ledger.left(s) for s in moved}
        cancelled = cancelled_at.get(sale["order_id"])
        for other, share in shares.items():
            if other == sale["channel"]:
                continue
            for target in moved:
                if (other, target) not in history:
                    continue
                want_before = int(max(0, before[target]) * share)
                want_after = int(max(0, after[target]) * share)
                if want_after >= want_before:
                    continue
                reached = first_push_down(history[(other, target)], own_sales.get((other, target), set()),
                                          sale["at"], want_after)
                pairs.append({"sale": index, "order_id": sale["order_id"], "sku": target, "source": sale["channel"],
                              "target": other, "sold_at": sale["at"], "reached_at": reached,
                              "withdrawn": cancelled is not None and (reached is None or reached > cancelled)})
    return pairs


def left_pairs(sb: Any) -> list[dict[str, Any]]:
    """Every (sale, other channel) where, right after the sale, that channel
    showed more of the SKU than was left in all (physical stock less net units
    sold; a bundle: what its components make): the sale had to reach it, or one
    buyer there could buy what is gone. It has reached it when the channel shows
    no more than was left after the sale (whatever lowered it). The same pairs
    as :func:`propagation_pairs` (``reached_at`` None: never; ``withdrawn``: the
    buyer cancelled first).

    Unlike the share rule this needs no share: it holds with the oversell
    guard on, where each channel shows a disjoint part of the stock and a sale
    on one channel need not lower another at all (then no pair arises)."""
    events, history, ledger, cancelled_at = _record(sb)
    channels: dict[str, list[str]] = {}
    for channel, sku in history:
        channels.setdefault(sku, []).append(channel)
    pairs: list[dict[str, Any]] = []
    for index, sale in enumerate(events):
        sku = sale["sku"]
        if sale["kind"] == "cancel":
            ledger.move(sku, -sale["qty"])
            continue
        moved = sorted(ledger.affected(sku))
        ledger.move(sku, sale["qty"])
        cancelled = cancelled_at.get(sale["order_id"])
        for target in moved:
            left = max(0, ledger.left(target))
            for other in channels.get(target, ()):
                if other == sale["channel"]:
                    continue
                hist = history[(other, target)]
                shown = next((q for t, q in reversed(hist) if t <= sale["at"] + SAME_INSTANT_S), None)
                if shown is None or shown <= left:
                    continue
                reached = next((t for t, q in hist if t > sale["at"] + SAME_INSTANT_S and q <= left), None)
                pairs.append({"sale": index, "order_id": sale["order_id"], "sku": target, "source": sale["channel"],
                              "target": other, "sold_at": sale["at"], "reached_at": reached,
                              "withdrawn": cancelled is not None and (reached is None or reached > cancelled)})
    return pairs


def figures_of(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Percentiles of (sale, channel) pairs (:func:`propagation_pairs`): per
    sale the slowest of its channels, by where it sold and by where it shows,
    and the slowest pairs."""
    withdrawn = pending = 0
    slowest: list[tuple] = []
    by_target: dict[str, list[float]] = {}
    worst: dict[int, float] = {}        # one sale → its slowest channel
    source_of: dict[int, str] = {}
    for p in pairs:
        if p["withdrawn"]:
            withdrawn += 1
            continue
        sale = p["sale"]
        source_of[sale] = p["source"]
        target = p["target"].split(":")[0]
        if p["reached_at"] is None:
            pending += 1
            worst[sale] = NEVER
            by_target.setdefault(target, []).append(NEVER)
            continue
        delay = p["reached_at"] - p["sold_at"]
        worst[sale] = max(worst.get(sale, 0.0), delay)
        by_target.setdefault(target, []).append(delay)
        slowest.append((delay, p["order_id"], p["source"], p["target"], p["sku"], p["sold_at"]))
    delays = list(worst.values())
    by_source: dict[str, list[float]] = {}
    for sale, delay in worst.items():
        by_source.setdefault(source_of[sale].split(":")[0], []).append(delay)
    return {"p50": pct(delays, 0.5), "p95": pct(delays, 0.95),
            "sales_measured": sum(1 for d in delays if d != NEVER),
            "never_reached": pending, "withdrawn_by_cancel": withdrawn,
            "by_source": {p: {"p50": pct(v, 0.5), "p95": pct(v, 0.95), "n": len(v)} for p, v in by_source.items()},
            # per receiving platform (every source): where the tail comes from
            "by_target": {p: {"p50": pct(v, 0.5), "p95": pct(v, 0.95), "n": len(v)} for p, v in by_target.items()},
            # the slowest (sale, channel) pairs: where a tail comes from
            "slowest": [{"delay_s": round(d, 1), "order_id": o, "sold_on": src, "shown_on": dst, "sku": sku,
                         "sold_at": round(at, 1)} for d, o, src, dst, sku, at in sorted(slowest, reverse=True)[:8]]}


def pct(values: list[float], q: float) -> float | None:
    """The ``q`` percentile of ``values`` (sandbox seconds, one decimal); None
    when there are none, or when it falls among the :data:`NEVER` ones."""
    if not values:
        return None
    value = sorted(values)[min(len(values) - 1, int(q * len(values)))]
    return None if value == NEVER else round(value, 1)


def first_push_down(history: list[tuple[float, int]], own: set[float], after: float,
                     target: int) -> float | None:
    previous = None
    for t, q in history:
        if t < after - 1e-9:
            previous = q
            continue
        if previous is not None and previous <= target:
            return after
        if previous is not None and q < previous and not any(abs(t - x) < 0.05 for x in own):
            return t
        previous = q
    if previous is not None and previous <= target:
        return after
    return None


def exposure_figures(sb: Any) -> dict[str, Any]:
    """How long, by the sandbox's own record, the channels together offered more
    of a SKU than was left: Σ over channels of the quantity shown > physical
    stock − net units sold. That is the state a sale must be propagated out of
    (a unit shown on two channels can be sold twice) whatever the channels'
    shares, so it is the same measure with the oversell guard on or off.

    ``episodes``: times a SKU went over; ``p50_s``/``p95_s``: how long an
    episode lasted (sandbox seconds; one still open at the end lasts to the
    end); ``unit_s``: excess units × seconds over all SKUs; ``max_units``: the
    largest excess; ``listed_share``: Σ shown ÷ units left, integrated over the
    run and every SKU — how much of the stock was on sale (the guard's cost;
    1.0 when every unit is listed once)."""
    with sb.market.lock:
        history = {k: list(v) for k, v in sb.market.listed_history.items()}
        moves = [(e["at"], e["sku"], -e["qty"]) for e in sb.market.sales] \
            + [(e["at"], e["sku"], e["qty"]) for e in sb.market.cancels]
        ledger = StockLeft(sb.market.catalogue)
    physical = ledger.physical
    end = sb.clock.timestamp()
    # per physical SKU: a bundle's listing shows its components' units (units per bundle x shown),
    # and a bundle sold or given back moves its components'
    timeline: dict[str, list[tuple[float, tuple[str, str] | None, int]]] = {}
    for (channel, sku), hist in history.items():
        for c, q in ledger.units(sku).items():
            timeline.setdefault(c, []).extend((t, (channel, sku), q * n) for t, n in hist)
    for t, sku, delta in moves:
        for c, q in ledger.units(sku).items():
            timeline.setdefault(c, []).append((t, None, q * delta))
    durations: list[float] = []
    unit_s = shown_s = left_s = 0.0
    max_units = 0
    for sku, items in timeline.items():
        items.sort(key=lambda x: x[0])
        shown: dict[tuple[str, str], int] = {}
        left = physical.get(sku, 0)
        over_since: float | None = None
        i = 0
        while i < len(items):
            t = items[i][0]
            while i < len(items) and items[i][0] - t < SAME_INSTANT_S:     # one instant (a sale and its
                # listing's decrement are two clock reads of one request), then judge
                _, channel, value = items[i]
                if channel is None:
                    left += value
                else:
                    shown[channel] = value
                i += 1
            nxt = items[i][0] if i < len(items) else end
            total, free = sum(shown.values()), max(0, left)
            span = max(0.0, nxt - t)
            excess = total - free
            if excess > 0:
                unit_s += excess * span
                max_units = max(max_units, excess)
                if over_since is None:
                    over_since = t
            elif over_since is not None:
                durations.append(t - over_since)
                over_since = None
            shown_s += min(total, free) * span
            left_s += free * span
        if over_since is not None:
            durations.append(end - over_since)
    return {"episodes": len(durations), "p50_s": pct(durations, 0.5), "p95_s": pct(durations, 0.95),
            "unit_s": round(unit_s, 1), "max_units": max_units,
            "listed_share": round(shown_s / left_s, 3) if left_s else None}
