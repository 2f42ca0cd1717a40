"""A parcel about to be shipped: the one shape customs, carriers and labels read.

Pure data, no database. The warehouse service builds a :class:`Parcel` from an
order, the warehouse it was routed to and the catalogue (HS code, origin,
weight), then hands it to :mod:`~crossdock.warehouse.customs`, a carrier and the
label renderers.

Money is :class:`crossdock.models.Money` (Decimal + currency), weights are whole
grams, country codes are ISO 3166-1 alpha-2 upper case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from crossdock.models import Address, Money, Platform, TaxInfo

#: Tax models that mean the marketplace collected the import VAT as deemed
#: supplier (Amazon ``TaxCollection.Model``; connectors map eBay's
#: ``ebayCollectAndRemitTaxes`` with an IOSS reference to the same value).
MARKETPLACE_FACILITATOR_MODELS = frozenset({"marketplacefacilitator", "marketplace_facilitator"})
#: Amazon ``DeemedResellerCategory`` values that also mean "marketplace is the deemed supplier".
DEEMED_RESELLER_CATEGORIES = frozenset({"IOSS", "UOSS"})


def normalise_country(code: str | None) -> str | None:
    """Upper-case ISO alpha-2 code, ``None`` for empty. ``EL`` (EU's code for
    Greece) becomes ``GR``, ``UK`` becomes ``GB``."""
    if code is None:
        return None
    code = code.strip().upper()
    if not code:
        return None
    return {"EL": "GR", "UK": "GB"}.get(code, code)


@dataclass(frozen=True, slots=True)
class ShipFrom:
    """The warehouse a parcel leaves from."""

    warehouse_code: str
    country_code: str
    address: Address = field(default_factory=Address)

    def __post_init__(self) -> None:
        country = normalise_country(self.country_code)
        if not country or len(country) != 2:
            raise ValueError(f"ship-from country must be an ISO alpha-2 code, got {self.country_code!r}")
        object.__setattr__(self, "country_code", country)


@dataclass(frozen=True, slots=True)
class ParcelLine:
    """One SKU in the parcel. ``unit_value`` is the price of one unit of goods
    (intrinsic value: no shipping, no insurance, no tax)."""

    sku: str
    title: str
    quantity: int
    unit_value: Money
    hs_code: str | None = None
    country_of_origin: str | None = None
    weight_g: int | None = None          # net weight of ONE unit

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"parcel line {self.sku!r}: quantity must be positive, got {self.quantity}")
        if self.weight_g is not None and self.weight_g < 0:
            raise ValueError(f"parcel line {self.sku!r}: negative weight")
        object.__setattr__(self, "country_of_origin", normalise_country(self.country_of_origin))

    @property
    def total_value(self) -> Money:
        return Money(self.unit_value.amount * self.quantity, self.unit_value.currency)

    @property
    def total_weight_g(self) -> int | None:
        return None if self.weight_g is None else self.weight_g * self.quantity


@dataclass(frozen=True, slots=True)
class OrderRef:
    """Which order (on which channel) the parcel fulfils."""

    channel: str                          # crossdock channel name, e.g. "amazon-de"
    platform_order_id: str
    platform: Platform | None = None
    marketplace_id: str | None = None

    def __str__(self) -> str:
        return f"{self.channel}/{self.platform_order_id}"


@dataclass(frozen=True, slots=True)
class Parcel:
    ship_from: ShipFrom
    ship_to: Address
    lines: tuple[ParcelLine, ...]
    order: OrderRef
    tax: TaxInfo | None = None
    weight_g: int | None = None           # gross weight as weighed; None = sum of lines
    packaging_weight_g: int = 0           # added to the line weights when weight_g is None

    def __post_init__(self) -> None:
        lines = tuple(self.lines)
        object.__setattr__(self, "lines", lines)
        if not lines:
            raise ValueError(f"parcel for {self.order} has no lines")
        currencies = {line.unit_value.currency for line in lines}
        if len(currencies) != 1:
            raise ValueError(f"parcel for {self.order} mixes currencies {sorted(currencies)}")
        if self.weight_g is not None and self.weight_g <= 0:
            raise ValueError(f"parcel for {self.order}: weight must be positive")

    @property
    def origin_country(self) -> str:
        return self.ship_from.country_code

    @property
    def destination_country(self) -> str | None:
        return normalise_country(self.ship_to.country_code)

    @property
    def currency(self) -> str:
        return self.lines[0].unit_value.currency

    @property
    def total_value(self) -> Money:
        """Intrinsic value of the goods (sum of line values)."""
        total = sum((line.total_value.amount for line in self.lines), Decimal(0))
        return Money(total, self.currency)

    @property
    def total_weight_g(self) -> int | None:
        """Gross weight: as weighed, else lines + packaging; None when a line has no weight."""
        if self.weight_g is not None:
            return self.weight_g
        weights = [w for line in self.lines if (w := line.total_weight_g) is not None]
        if len(weights) != len(self.lines):
            return None
        return sum(weights) + self.packaging_weight_g

    @property
    def marketplace_facilitated(self) -> bool:
        return is_marketplace_facilitated(self.tax)


def is_marketplace_facilitated(tax: TaxInfo | None) -> bool:
    """True when the marketplace collected the import VAT as deemed supplier."""
    if tax is None:
        return False
    model = (tax.model or "").replace(" ", "").lower()
    if model in MARKETPLACE_FACILITATOR_MODELS:
        return True
    return (tax.deemed_reseller_category or "").upper() in DEEMED_RESELLER_CATEGORIES
