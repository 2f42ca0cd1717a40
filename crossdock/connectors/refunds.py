"""What the engine asks of a connector to refund an order (issue 18):
the platform-neutral reasons and the request; each platform's connector maps
them in its own ``refunds`` module (Shopify ``refundCreate``, eBay
``issue_refund``, Amazon's ``POST_PAYMENT_ADJUSTMENT_DATA`` feed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from crossdock.models import Money, RefundLine

__all__ = ["REFUND_REASONS", "RefundRequest"]

#: Why a seller refunds (``crossdock refunds issue --reason``): platform-neutral, each connector maps
#: them to its platform's own reasons.
REFUND_REASONS = ("buyer_return", "buyer_cancel", "not_received", "damaged", "wrong_item", "price_adjustment",
                  "other")


@dataclass(frozen=True)
class RefundRequest:
    """One refund of ``amount`` (the order's currency) of order ``platform_order_id``.

    ``lines``: the order lines (platform line ids) and units refunded, when the
    seller named them (money is never restocked here: goods coming back are a
    return's business); ``line_refunded``: per platform line id, the money
    crossdock knows was refunded on it already (a connector that must split the
    amount over the lines, Amazon's, keeps within what each line has left);
    ``remaining``: the order's refundable amount as crossdock holds it (the
    amount equals it for a full refund)."""

    platform_order_id: str
    amount: Money
    reason: str
    remaining: Decimal
    lines: tuple[RefundLine, ...] = ()
    note: str | None = None
    line_refunded: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        return self.amount.amount == self.remaining
