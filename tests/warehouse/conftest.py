from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from crossdock.models import Address, Money, TaxInfo
from crossdock.warehouse.parcel import OrderRef, Parcel, ParcelLine, ShipFrom

WAREHOUSE_ADDRESSES = {
    "CN": Address(country_code="CN", name="crossdock CN 深圳仓", line1="8 Keji Road", city="Shenzhen",
                  postal_code="518057"),
    "DE": Address(country_code="DE", name="crossdock DE", line1="Lagerstraße 4", city="Leipzig",
                  postal_code="04109"),
    "GB": Address(country_code="GB", name="crossdock UK", line1="1 Dock Lane", city="Dover",
                  postal_code="CT16 1JA"),
}

BUYERS = {
    "DE": Address(country_code="DE", name="Jürgen Müller", line1="Hauptstraße 1", city="Berlin",
                  postal_code="10115"),
    "FR": Address(country_code="FR", name="Amélie Dupont", line1="3 rue de Rivoli", city="Paris",
                  postal_code="75001"),
    "GB": Address(country_code="GB", name="Ada Lovelace", line1="10 Downing St", city="London",
                  postal_code="SW1A 2AA"),
    "US": Address(country_code="US", name="John Doe", line1="1 Main St", city="Springfield",
                  region="IL", postal_code="62701"),
    "JP": Address(country_code="JP", name="山田太郎", line1="千代田1-1", city="東京", postal_code="100-0001"),
}

FACILITATED = TaxInfo(model="MarketplaceFacilitator", ioss_number="IM2760000742", scheme="IOSS")


def line(sku: str = "TEE-BLK-M", *, qty: int = 1, value: str = "20.00", currency: str = "EUR",
         hs: str | None = "6109.10.00", origin: str | None = "CN", weight_g: int | None = 180,
         title: str = "Cotton T-shirt, black, M") -> ParcelLine:
    return ParcelLine(sku=sku, title=title, quantity=qty, unit_value=Money(value, currency),
                      hs_code=hs, country_of_origin=origin, weight_g=weight_g)


@pytest.fixture
def make_parcel() -> Callable[..., Parcel]:
    def _make(origin: str = "CN", destination: str = "DE", *, lines: tuple[ParcelLine, ...] | None = None,
              tax: TaxInfo | None = None, ship_to: Address | None = None, weight_g: int | None = None,
              order_id: str = "302-1234567-7654321") -> Parcel:
        return Parcel(
            ship_from=ShipFrom(origin, origin, WAREHOUSE_ADDRESSES.get(origin, Address(country_code=origin))),
            ship_to=ship_to or BUYERS[destination],
            lines=lines or (line(),),
            order=OrderRef("amazon-de", order_id, platform="amazon"),
            tax=tax,
            weight_g=weight_g,
        )
    return _make


class FakeClock:
    """An injectable clock that only moves when told to."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc))


@pytest.fixture
def make_line() -> Callable[..., ParcelLine]:
    return line


@pytest.fixture
def facilitated() -> TaxInfo:
    """Tax data of a marketplace-facilitated order with an IOSS number."""
    return FACILITATED


@pytest.fixture
def buyers() -> dict[str, Address]:
    return BUYERS
