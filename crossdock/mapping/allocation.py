"""The oversell guard's arithmetic: how a SKU's free units are shared between
channels so that, together, they can never sell more than there is.

A channel sells from what it shows without asking crossdock, and crossdock
hears of a sale late (Amazon: minutes). Whatever that delay, no unit is sold
twice as long as, for every SKU,

    Σ over its channels of exposure  ≤  available

where a channel's *exposure* is the most it may still sell: what it was last
known to show, less its sales since, and — while a push is on its way — the
greater of that and the pushed quantity. A sale lowers both sides by one;
a push that lowers a channel is always safe; a push that raises one is safe
only if the sum still fits, counting the others at their exposure (their own
lowering pushes may not have arrived yet). Pure functions, plain numbers.

:func:`fair_shares` splits the available units in proportion to what each
channel's rule would list on its own (equal shares under the default rules),
capped at that; :func:`guarded_quantity` turns a channel's share into the
quantity to push now. See docs/overselling.md for the trade-off.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["fair_shares", "guarded_quantity"]


def fair_shares(available: int, desired: Mapping[str, int], current: Mapping[str, int] | None = None
                ) -> dict[str, int]:
    """channel → units it may list, summing to at most ``available``, each at
    most its ``desired`` quantity (its rule on the whole availability). When
    the desired quantities fit, each channel gets its own. Otherwise the
    units are shared in proportion to them; a unit left over by rounding goes
    to the channel with the larger remainder, then to the one that already
    exposes more (``current``: fewer pushes), then by name."""
    avail = max(0, int(available))
    want = {c: max(0, int(q)) for c, q in desired.items()}
    total = sum(want.values())
    if total <= avail:
        return want
    shares = {c: avail * q // total for c, q in want.items()}
    left = avail - sum(shares.values())
    now = current or {}
    for c in sorted(want, key=lambda c: (-(avail * want[c] % total), -now.get(c, 0), c))[:left]:
        shares[c] += 1
    return shares


def guarded_quantity(share: int, shown: int | None, *, exposed: int, held: int, others: int,
                     available: int) -> int:
    """What to show on one channel now. ``share``: its fair share;
    ``shown``: what it is believed to show (None: unknown); ``exposed``: the
    most it may still sell from its last push; ``held``: units it may have
    sold before earlier pushes overwrote its quantity; ``others``: what the
    SKU's other channels may still sell (exposed + held); ``available``: the
    units free to sell.

    A quantity is set absolutely, so a push makes the channel forget sales
    crossdock has not seen yet: pushing parks ``exposed`` as held, and the
    channel may then sell ``held + exposed + pushed`` in all. The quantity
    pushed is the share, cut to what keeps that within ``available``. A
    channel below its share rises only when that leaves it higher; one above
    its share comes down at once when the channels together may sell more
    than there is, otherwise only to its full share (never lower for want of
    room: it waits for the held units to be proven, and is pushed then)."""
    if shown is not None and shown == share:
        return share
    room = int(available) - int(others) - int(held) - int(exposed)
    pushed = max(0, min(share, room))
    if shown is None:
        return pushed
    if shown < share:
        return max(pushed, shown)
    over = int(others) + int(held) + int(exposed) > int(available)
    return pushed if over or pushed == share else shown
