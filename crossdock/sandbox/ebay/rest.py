"""What the simulated eBay's REST APIs share: the path prefixes, query
arguments, and the base URL links are built on.

Each API family registers its own operations: :mod:`.oauth` (the token
endpoint), :mod:`.fulfillment` (Sell Fulfillment: orders, shipping
fulfillments), :mod:`.inventory` (Sell Inventory: inventory items, offers,
bulk price/quantity) and :mod:`.analytics` (Developer Analytics call-limit
counters). Validation and error ids follow the ``x-response-codes`` of the
official OpenAPI files in ``shared/specs/ebay``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossdock.sandbox.http import Request

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.sim import EbaySim

__all__ = ["ANA", "FUL", "INV", "base_url", "int_arg"]

FUL = "/sell/fulfillment/v1"
INV = "/sell/inventory/v1"
ANA = "/developer/analytics/v1_beta"


def int_arg(req: Request, name: str, default: int) -> int | None:
    """A whole-number query argument: ``default`` when absent, None when not a number."""
    raw = req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def base_url(sim: EbaySim, req: Request) -> str:
    """The URL the caller reached the simulator at (its Host header), for links."""
    host = req.headers.get("Host")
    return f"http://{host}" if host else (sim.server.url if sim.server else "")
