"""Amazon's order statuses (ordersV0 ``Order.OrderStatus``) → crossdock's, as data."""

from __future__ import annotations

from crossdock.mapping.status import StatusMap, rule
from crossdock.models import OrderStatus as S

STATUSES = StatusMap(
    platform="amazon",
    primary_field="OrderStatus",
    rules=(
        rule(S.PENDING, OrderStatus="PendingAvailability"),   # pre-order, not yet payable
        rule(S.PENDING, OrderStatus="Pending"),               # payment not authorised yet
        rule(S.UNSHIPPED, OrderStatus="Unshipped"),
        rule(S.PARTIALLY_SHIPPED, OrderStatus="PartiallyShipped"),
        rule(S.SHIPPED, OrderStatus="Shipped"),
        rule(S.SHIPPED, OrderStatus="InvoiceUnconfirmed"),    # shipped, invoice not confirmed
        rule(S.CANCELLED, OrderStatus="Canceled"),
        rule(S.CANCELLED, OrderStatus="Unfulfillable"),       # MCF order that cannot be filled
    ),
    known={"OrderStatus": frozenset(v.casefold() for v in (
        "PendingAvailability", "Pending", "Unshipped", "PartiallyShipped", "Shipped",
        "InvoiceUnconfirmed", "Canceled", "Unfulfillable"))},
)
