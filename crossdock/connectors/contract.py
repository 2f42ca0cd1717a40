"""The connector contract: everything the sync engine asks of a platform.

:class:`Connector` is a base class in the way of dramatiq's ``Middleware``:
the abilities every platform must have are abstract (read orders, push stock,
confirm a shipment, read listings back); the optional ones have defaults that
say "cannot" (``fetch_order`` returns None, ``shipment_confirmed`` tells from
one order read or not at all, prices and listings are refused per item). The
engine calls the contract directly and never probes a connector for what it
can do: what differs between platforms is declared here as typed attributes
(``order_changes_every_s``, ``unseen_sales_s``, ``uses_known_orders``) that
the engine reads.

A connector is built by its :class:`~crossdock.platforms.spec.PlatformSpec`
from the platform settings and :class:`ConnectorDeps`; the engine then sets
the import window policy (``safety_lag_s``, ``overlap_s``, ``max_window_s``)
from the spec and the channel's configuration.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crossdock.clock import Clock
from crossdock.connectors.returns_contract import ReturnsContract
from crossdock.errors import MappingError, OrderError, PlatformError
from crossdock.models import (
    ItemResult,
    ListedOffer,
    Order,
    OrderStatus,
    PlatformRefund,
    PlatformStock,
    PriceUpdate,
    Product,
    ShipmentConfirmation,
    StockUpdate,
    UnreadableOrder,
)

if TYPE_CHECKING:
    from crossdock.connectors.base import TokenStore
    from crossdock.connectors.http import Budget
    from crossdock.connectors.refunds import RefundRequest

__all__ = ["CANCEL_REASONS", "Connector", "ConnectorDeps", "ListingBindings", "OrderQuery", "platform_reason"]

#: Why a seller cancels an order (``crossdock orders cancel --reason``): platform-neutral, each
#: connector maps them to its platform's own reasons.
CANCEL_REASONS = ("out_of_stock", "buyer_asked", "address_issue", "other")


def platform_reason(table: Mapping[str, str], reason: str, order_id: str) -> str:
    """A connector's value for the neutral ``reason`` in its ``table`` (one
    entry per :data:`CANCEL_REASONS`); OrderError XD-ORD-014 for any other."""
    if reason not in table:
        raise OrderError("XD-ORD-014", entity=f"order {order_id}", detail=f"reason {reason!r}")
    return table[reason]

#: SKU → the listing's ``platform_ids`` as its connector gave them (OCA's binder): opaque to the engine.
ListingBindings = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class OrderQuery:
    """One order read: every order changed (or, with ``created``, placed) in
    ``[start, end]`` (platform time).

    ``known_updates``: orders already stored (platform order id → the
    platform's update time stored), for a connector that reads an unchanged
    order for nothing (``Connector.uses_known_orders``). ``siblings``:
    connectors of the channels that share this read (the spec's
    ``order_group``); their orders come back with their own ``marketplace_id``."""

    start: dt.datetime
    end: dt.datetime
    created: bool = False
    known_updates: Mapping[str, dt.datetime] = field(default_factory=dict)
    siblings: tuple[Connector, ...] = ()
    #: Given: an order the connector cannot map (MappingError) is handed here
    #: with its payload and the read goes on without it; not given: it raises.
    unreadable: Callable[[UnreadableOrder], None] | None = None

    def mapped(self, payload: Mapping[str, Any], order_id: str | None, parse: Callable[[], Order], *,
               channel: str | None = None) -> Order | None:
        """``parse()``, or None after handing ``payload`` (an order of
        ``channel``) to :attr:`unreadable` when it raises a MappingError
        (re-raised when nobody takes it)."""
        try:
            return parse()
        except MappingError as exc:
            if self.unreadable is None:
                raise
            self.unreadable(UnreadableOrder(order_id, payload, exc.code, exc.message, channel))
            return None


@dataclass(frozen=True)
class ConnectorDeps:
    """What a connector is built with besides its settings: the shared token
    store, the platforms' clock, the quota budget (None: no quota checks),
    and the bindings of the channel's listings crossdock already holds."""

    store: TokenStore
    clock: Clock = field(default_factory=Clock)
    budget: Budget | None = None
    bindings: ListingBindings = field(default_factory=dict)


class Connector(ReturnsContract, abc.ABC):
    """One channel of one platform, as the engine uses it (see module doc)."""

    #: The platform's registered name and the channel this connector serves.
    platform: str = ""
    channel: str = ""
    clock: Clock
    #: Order import windows (platform seconds), set by the engine from the
    #: platform spec and the channel's configuration.
    safety_lag_s: float = 120.0
    overlap_s: float = 60.0
    max_window_s: float | None = None
    #: > 0: new orders are read by creation time on every poll and changes
    #: (payments, cancellations) by update time this often (platform seconds).
    order_changes_every_s: float = 0.0
    #: > 0: the platform lowers a listing the moment it sells but shows the
    #: order up to this long later (platform seconds): the engine reads the
    #: listings back before a stock push to hold those sales (unseen sales).
    unseen_sales_s: float = 0.0
    #: True: ``fetch_orders`` reads a window's orders in the order of their
    #: update time (Shopify's ``sortKey: UPDATED_AT`` pages): when a quota wait
    #: cuts a window short, every order updated before the last one yielded
    #: has been read, and the engine moves the cursor there, so a window too
    #: big for the quota is read in parts instead of from its start each time.
    orders_in_update_order: bool = False
    #: True: ``fetch_orders`` skips orders ``OrderQuery.known_updates`` shows
    #: unchanged, so the engine passes the orders it holds.
    uses_known_orders: bool = False
    #: True: the platform keeps stock of the seller's in its own fulfilment
    #: network (Amazon FBA) and :meth:`read_platform_stock` reads it; the engine
    #: schedules that read only for such channels.
    holds_stock: bool = False

    # ------------------------------------------------------------------ orders
    @abc.abstractmethod
    def fetch_orders(self, query: OrderQuery) -> Iterable[Order]:
        """Every order of the window, with lines, each once. Raises on any
        failure: a window is never returned partly as if it were complete
        (a generator may yield orders before it raises, or a
        :class:`~crossdock.ratelimit.waits.PartialRead` carry them: the engine
        keeps them, see ``orders_in_update_order``)."""

    def order_from_payload(self, payload: Mapping[str, Any]) -> Order:
        """The order a stored platform payload (``Order.raw``, or an
        :class:`UnreadableOrder`'s) maps to now, with this channel's mapping
        (``crossdock orders retry-quarantined``). MappingError when it still
        cannot be read; a platform whose payloads cannot be read again says
        so with XD-MAP-010."""
        raise MappingError("XD-MAP-010", channel=self.channel,
                           detail=f"{self.platform} order payloads cannot be read again")

    def fetch_order(self, order_id: str, *, with_items: bool = True) -> Order | None:
        """One order as the platform shows it now; None when this platform
        cannot read one order. ``with_items=False`` allows leaving the lines
        out (a status check; Amazon's order items cost a call of their own)."""
        return None

    def fetch_orders_by_id(self, order_ids: Sequence[str], *,
                           missing: Callable[[str, str, str], None]) -> Iterable[Order]:
        """The orders ``order_ids`` as the platform shows them now, with lines
        (a targeted read, after an event named them). An id the platform does
        not know, or whose order cannot be mapped, goes to ``missing(order_id,
        code, message)`` and the read goes on; quota, network and authorisation
        failures raise (a generator may yield orders before it raises: the
        caller keeps them). By default one :meth:`fetch_order` per id; a
        platform reading several ids per call overrides it."""
        for order_id in order_ids:
            try:
                order = self.fetch_order(order_id)
            except (PlatformError, MappingError) as exc:
                missing(order_id, exc.code, exc.message)
                continue
            if order is None:
                missing(order_id, "XD-PLATFORM-001", f"{self.platform} cannot read one order by its id")
                continue
            yield order

    def window_end(self) -> dt.datetime:
        """The latest window end the platform may be read up to now."""
        return self.clock.now() - dt.timedelta(seconds=self.safety_lag_s)

    # ------------------------------------------------------------------ stock and prices
    @abc.abstractmethod
    def push_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        """Absolute quantities, in the fewest calls the platform allows; one
        result per update. Auth, quota and network failures raise."""

    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        return [ItemResult(u.sku, False, "XD-PLATFORM-001", f"{self.platform} prices are not pushed by crossdock")
                for u in updates]

    def stock_calls_needed(self, n_updates: int) -> int:
        """The fewest calls the platform's batch limits allow for ``n_updates`` changes."""
        return max(0, n_updates)

    # ------------------------------------------------------------------ listings
    def publish_listing(self, product: Product) -> ItemResult:
        """Create or update the listing; the result's ``platform_ids`` are
        stored as the listing's binding. Refused per item by default."""
        return ItemResult(product.sku, False, "XD-PLATFORM-003",
                          f"{self.platform} listings are not published by crossdock")

    @abc.abstractmethod
    def read_listings(self, skus: Sequence[str] | None = None) -> list[ListedOffer]:
        """What the channel shows for ``skus`` (None: every listing, paged)."""

    def find_listing(self, listing_id: str, *, sku: str) -> ListedOffer | None:
        """The listing a person named by ``listing_id`` (``listings link``), as
        it would be linked to ``sku``; None when the channel has no such
        listing. By default the channel's listings are read and matched by
        their ids; a platform addressing listings by SKU cannot link one whose
        SKU differs (InventoryError XD-INV-011)."""
        from crossdock.errors import InventoryError

        wanted = listing_id.rsplit("/", 1)[-1]
        for offer in self.read_listings(None):
            ids = {str(v).rsplit("/", 1)[-1] for v in (offer.ids or {}).values()}
            if offer.listing_id == wanted or wanted in ids:
                if offer.sku != sku:
                    raise InventoryError("XD-INV-011", channel=self.channel, entity=f"sku {sku}",
                                         detail=f"listing {listing_id} has SKU {offer.sku or '(none)'} on "
                                                f"{self.channel}, and {self.platform} addresses listings by SKU: "
                                                "change the SKU on the platform (then `crossdock listings pull`)")
                return offer
        return None

    def read_platform_stock(self, skus: Sequence[str] | None = None) -> list[PlatformStock]:
        """The seller's units the platform holds in its own fulfilment network
        for this channel (``skus``: only those; None: every SKU, paged). Never
        part of what crossdock sells elsewhere: a location of its own. A platform
        that holds no stock (``holds_stock`` False) has none."""
        return []

    def bind_listings(self, bindings: ListingBindings) -> None:
        """Learn the ``platform_ids`` of listings linked meanwhile (``listings
        link``, ``listings pull``); a connector that needs none ignores them."""

    # ------------------------------------------------------------------ shipments
    @abc.abstractmethod
    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> Any:
        """Tell the platform the parcel left (carrier, tracking number, lines)."""

    def shipment_confirmed(self, confirmation: ShipmentConfirmation, *, shipments_of_order: int = 1) -> bool | None:
        """Does the platform already hold this shipment? True / False, or None
        when it cannot tell (the engine then sends the confirmation and the
        platform's own answer decides). By default from one order read: the
        shipment is there when every unit of its lines shows shipped — which
        only identifies *this* shipment when it is the order's only one."""
        return self.confirmed_by_units(confirmation, shipments_of_order=shipments_of_order)

    def confirmed_by_units(self, confirmation: ShipmentConfirmation, *, shipments_of_order: int) -> bool | None:
        if shipments_of_order != 1:
            return None
        order = self.fetch_order(confirmation.platform_order_id)
        if order is None:
            return None
        wanted = [(str(line_id), int(qty)) for line_id, qty in confirmation.lines if int(qty) > 0]
        if not wanted:
            return order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
        shipped = {ln.platform_line_id: ln.quantity_shipped for ln in order.lines}
        return all(shipped.get(line_id, 0) >= qty for line_id, qty in wanted)

    # ------------------------------------------------------------------ cancellations (issue 18)
    def cancel_order(self, platform_order_id: str, reason: str) -> None:
        """Cancel the order on the channel, as the seller (``reason``: one of
        :data:`CANCEL_REASONS`). Returns once the platform has taken the
        cancellation; raises OrderError XD-ORD-012 when the platform no longer
        allows it (shipped, partly shipped, already cancelled), XD-ORD-005 when
        it does not know the order. A platform crossdock cannot cancel on
        refuses with XD-ORD-013."""
        raise OrderError("XD-ORD-013", channel=self.channel, entity=f"order {platform_order_id}",
                         detail=f"{self.platform} orders are not cancelled by crossdock")

    # ------------------------------------------------------------------ refunds (issue 18)
    def issue_refund(self, request: RefundRequest) -> PlatformRefund:
        """Refund ``request.amount`` of the order on the channel, as the
        seller; returns the refund as the platform recorded it (its id, the
        amount it took, status pending or refunded). Raises RefundError
        XD-REF-004 when the platform refuses; a platform crossdock cannot
        refund on refuses with XD-REF-005."""
        from crossdock.errors import RefundError

        raise RefundError("XD-REF-005", channel=self.channel, entity=f"order {request.platform_order_id}",
                          detail=f"{self.platform} orders are not refunded by crossdock")

    def read_refunds(self, platform_order_id: str) -> list[PlatformRefund] | None:
        """The order's refunds as the platform shows them now; None when this
        platform does not tell (``refunds pull``). By default what
        :meth:`fetch_order` carries."""
        order = self.fetch_order(platform_order_id)
        return None if order is None else order.refunds

    # ------------------------------------------------------------------ events (issue 17)
    def setup_events(self, *, endpoint: str, secret: str) -> list[dict[str, Any]]:
        """Subscribe the channel's events to ``endpoint`` (``crossdock events
        setup``): create what is missing, keep what exists, enable what is
        disabled. ``secret``: a verification token crossdock derives for the
        channel, for a platform that wants one. Returns the subscriptions as
        :meth:`event_subscriptions` does. A platform without events over
        HTTP refuses with XD-EVT-009."""
        from crossdock.errors import EventError

        raise EventError("XD-EVT-009", channel=self.channel,
                         detail=f"{self.platform} channels take no event subscriptions from crossdock")

    def event_subscriptions(self) -> list[dict[str, Any]]:
        """The channel's event subscriptions as the platform shows them: each a
        document with at least ``topic``, ``status`` and ``endpoint``."""
        return []

    # ------------------------------------------------------------------ credentials and life
    def refresh_access_token(self, *, rejected: str | None = None) -> None:
        """Get a new access token now through the shared token store;
        ``rejected`` is the token the platform refused (it is never reused).
        A platform without access tokens has nothing to do."""

    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
