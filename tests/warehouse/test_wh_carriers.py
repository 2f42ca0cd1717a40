from __future__ import annotations

import datetime as dt
import json

import pytest

from crossdock.errors import ConfigError, MappingError, ShippingError
from crossdock.models import Address, Money
from crossdock.warehouse.carriers import Carrier, ManualCarrier, SandboxCarrier, get_carrier
from crossdock.warehouse.carriers.sandbox import is_sandbox_tracking_number, s10_check_digit
from crossdock.warehouse.tracking import TrackedParcel, stale_parcels

# ------------------------------------------------------------------ manual


def test_manual_carrier_records_the_operators_tracking_number(make_parcel, clock):
    carrier = ManualCarrier("DHL", clock=clock)
    shipment = carrier.create_shipment(make_parcel("DE", "DE"), service="paket", idempotency_key="o1",
                                       tracking_number=" 0034 0434 1617 9000 0012 ")
    assert shipment.tracking_number == "00340434161790000012"
    assert (shipment.carrier, shipment.service, shipment.cost) == ("dhl", "paket", None)
    assert shipment.created_at == clock.now
    assert shipment.tracking_url.endswith("tracking-id=00340434161790000012")
    assert carrier.track(shipment.tracking_number) == []
    assert carrier.rates(make_parcel("DE", "DE")) == []
    assert carrier.trackable is False and carrier.requires_tracking_number is True


@pytest.mark.parametrize("bad", [None, "", "   ", "12345", "ABC-123456", "X" * 41, "1Z999AA1012345678ü"])
def test_manual_carrier_rejects_a_bad_tracking_number(make_parcel, bad):
    with pytest.raises(ShippingError) as err:
        ManualCarrier("gls").create_shipment(make_parcel("DE", "DE"), service="", idempotency_key="o1",
                                             tracking_number=bad)
    assert err.value.code == "XD-SHIP-007"


def test_manual_carrier_is_idempotent_and_refuses_a_second_number(make_parcel):
    carrier, parcel = ManualCarrier("ups"), make_parcel("DE", "GB")
    first = carrier.create_shipment(parcel, service="", idempotency_key="o1", tracking_number="1Z999AA10123456784")
    again = carrier.create_shipment(parcel, service="", idempotency_key="o1", tracking_number="1z999aa10123456784")
    assert again is first
    with pytest.raises(ShippingError) as err:
        carrier.create_shipment(parcel, service="", idempotency_key="o1", tracking_number="1Z999AA10000000000")
    assert err.value.code == "XD-SHIP-005"


# ------------------------------------------------------------------ sandbox

def test_s10_check_digit_matches_the_upu_example():
    assert s10_check_digit("47312482") == 9          # RR 47312482 9 GB
    assert is_sandbox_tracking_number("XD473124829CN")
    assert not is_sandbox_tracking_number("XD473124828CN")


def test_sandbox_rates_by_weight_and_border(make_parcel, make_line):
    carrier = SandboxCarrier()
    domestic = {r.service: r for r in carrier.rates(make_parcel("DE", "DE"))}
    heavy = make_parcel("DE", "DE", lines=(make_line(weight_g=1200),))
    cross = {r.service: r for r in carrier.rates(make_parcel("CN", "DE"))}
    assert domestic["standard"].cost == Money("6.00", "EUR") and domestic["standard"].estimated_days == 2
    assert domestic["express"].cost == Money("14.70", "EUR")
    assert {r.service: r.cost for r in carrier.rates(heavy)}["standard"] == Money("8.20", "EUR")
    assert cross["standard"].cost == Money("14.00", "EUR") and cross["standard"].cross_border
    assert cross["express"].estimated_days == 3


def test_sandbox_is_idempotent_on_the_key(make_parcel, clock):
    carrier, parcel = SandboxCarrier(seed=7, clock=clock), make_parcel("CN", "DE")
    first = carrier.create_shipment(parcel, service="standard", idempotency_key="ship:o1")
    clock.advance(minutes=5)
    again = carrier.create_shipment(parcel, service="express", idempotency_key="ship:o1")
    other = carrier.create_shipment(parcel, service="standard", idempotency_key="ship:o2")
    assert again == first
    assert other.tracking_number != first.tracking_number
    assert is_sandbox_tracking_number(first.tracking_number) and first.tracking_number.endswith("CN")
    assert first.cost == Money("14.00", "EUR") and first.created_at == dt.datetime(2026, 3, 2, 8, 0,
                                                                                  tzinfo=dt.timezone.utc)
    # a fresh instance (a new process) with the same seed gives the same number for the same key
    assert SandboxCarrier(seed=7).create_shipment(
        parcel, service="standard", idempotency_key="ship:o1").tracking_number == first.tracking_number


def test_sandbox_failure_leaves_nothing_behind_and_retry_succeeds(make_parcel):
    carrier, parcel = SandboxCarrier(seed=1, failure_rate=1.0), make_parcel("CN", "DE")
    before = carrier.to_state()
    # Given the carrier fails
    with pytest.raises(ShippingError) as err:
        carrier.create_shipment(parcel, service="standard", idempotency_key="ship:o1")
    # Then nothing was booked and the error says "retry"
    assert err.value.code == "XD-SHIP-001" and err.value.retryable
    assert carrier.to_state() == before
    # When it recovers, the retry with the same key books exactly one shipment
    carrier.failure_rate = 0.0
    shipment = carrier.create_shipment(parcel, service="standard", idempotency_key="ship:o1")
    assert [s["tracking_number"] for s in carrier.to_state()["shipments"]] == [shipment.tracking_number]


def test_sandbox_failures_are_seeded(make_parcel):
    parcel = make_parcel("CN", "DE")

    def pattern(seed: int) -> list[bool]:
        carrier, out = SandboxCarrier(seed=seed, failure_rate=0.3), []
        for n in range(40):
            try:
                carrier.create_shipment(parcel, service="standard", idempotency_key=f"k{n}")
                out.append(True)
            except ShippingError:
                out.append(False)
        return out

    assert pattern(11) == pattern(11)
    assert 0 < pattern(11).count(False) < 40


@pytest.mark.parametrize("ship_to, problem", [
    (Address(country_code="DE", name="No Postcode", city="Berlin"), "postal code missing"),
    (Address(name="No Country", postal_code="10115"), "destination country missing"),
])
def test_sandbox_rejects_an_invalid_address(make_parcel, ship_to, problem):
    with pytest.raises(ShippingError) as err:
        SandboxCarrier().create_shipment(make_parcel("DE", "DE", ship_to=ship_to), service="standard",
                                         idempotency_key="o1")
    assert err.value.code == "XD-SHIP-001" and problem in err.value.detail


def test_sandbox_accepts_countries_without_postal_codes(make_parcel):
    hk = Address(country_code="HK", name="Chan Tai Man", line1="1 Queen's Rd", city="Hong Kong")
    assert SandboxCarrier().create_shipment(make_parcel("CN", "DE", ship_to=hk), service="express",
                                            idempotency_key="o1").service == "express"


def test_sandbox_rejects_unknown_service_overweight_and_operator_numbers(make_parcel, make_line):
    carrier = SandboxCarrier(max_weight_g=1000)
    with pytest.raises(ShippingError, match="service 'overnight' not offered"):
        carrier.create_shipment(make_parcel(), service="overnight", idempotency_key="o1")
    with pytest.raises(ShippingError, match="more than the 1000 g limit"):
        carrier.create_shipment(make_parcel(lines=(make_line(qty=10),)), service="standard", idempotency_key="o2")
    with pytest.raises(ConfigError) as err:
        carrier.create_shipment(make_parcel(), service="standard", idempotency_key="o3", tracking_number="ABC123456")
    assert err.value.code == "XD-CFG-009"


def _statuses(events) -> list[str]:
    return [e.status for e in events]


def test_sandbox_tracking_advances_with_the_clock(make_parcel, clock):
    carrier = SandboxCarrier(clock=clock)
    start = clock.now
    number = carrier.create_shipment(make_parcel("CN", "DE"), service="standard",
                                     idempotency_key="o1").tracking_number
    assert _statuses(carrier.track(number)) == ["label_created"]
    clock.advance(hours=6)
    assert _statuses(carrier.track(number)) == ["label_created", "picked_up"]
    clock.advance(hours=18)
    assert _statuses(carrier.track(number))[-1] == "in_transit"
    clock.advance(hours=48)
    assert _statuses(carrier.track(number))[-1] == "out_for_delivery"
    clock.advance(hours=6)
    events = carrier.track(number)
    assert _statuses(events) == ["label_created", "picked_up", "in_transit", "out_for_delivery", "delivered"]
    assert events[-1].occurred_at == start + dt.timedelta(hours=78)
    assert (events[0].location, events[-1].location) == ("CN", "DE")


def test_sandbox_time_scale_and_stage_hours(make_parcel, clock):
    carrier = SandboxCarrier(clock=clock, time_scale=60, stage_hours={"delivered": 100})
    number = carrier.create_shipment(make_parcel(), service="standard", idempotency_key="o1").tracking_number
    clock.advance(minutes=99)
    assert _statuses(carrier.track(number))[-1] == "out_for_delivery"
    clock.advance(minutes=1)
    assert _statuses(carrier.track(number))[-1] == "delivered"
    with pytest.raises(ValueError):
        SandboxCarrier(stage_hours={"picked_up": 100})     # after in_transit: not monotonic


def test_stalled_parcel_stops_after_in_transit_and_gets_flagged(make_parcel, clock):
    carrier = SandboxCarrier(clock=clock)
    shipment = carrier.create_shipment(make_parcel(), service="standard", idempotency_key="o1")
    carrier.stall(shipment.tracking_number)
    clock.advance(days=10)
    events = carrier.track(shipment.tracking_number)
    assert _statuses(events)[-1] == "in_transit"
    parcel = TrackedParcel(shipment.tracking_number, "sandbox", shipment.created_at, events, "amazon-de/o1")
    stale = stale_parcels([parcel], clock.now, max_silence_days=5)
    assert [(s.tracking_number, s.code, s.last_status) for s in stale] == [
        (shipment.tracking_number, "XD-SHIP-002", "in_transit")]


def test_stall_rate_is_a_property_of_the_number(make_parcel, clock):
    carrier = SandboxCarrier(seed=3, stall_rate=0.5, clock=clock)
    numbers = [carrier.create_shipment(make_parcel(), service="standard", idempotency_key=f"k{n}").tracking_number
               for n in range(30)]
    stalled = [n for n in numbers if carrier.is_stalled(n)]
    assert 0 < len(stalled) < 30
    assert stalled == [n for n in numbers if SandboxCarrier(seed=3, stall_rate=0.5).is_stalled(n)]


def test_new_process_tracks_from_the_stored_creation_time(make_parcel, clock):
    booked = SandboxCarrier(clock=clock).create_shipment(make_parcel(), service="standard", idempotency_key="o1")
    clock.advance(hours=30)
    fresh = SandboxCarrier(clock=clock)
    assert fresh.track(booked.tracking_number) == []                      # nothing known, nothing invented
    events = fresh.track(booked.tracking_number, shipped_at=booked.created_at)
    assert _statuses(events) == ["label_created", "picked_up", "in_transit"]


def test_sandbox_state_round_trips_through_json(make_parcel, clock):
    carrier = SandboxCarrier(seed=5, clock=clock)
    shipment = carrier.create_shipment(make_parcel(), service="express", idempotency_key="o1")
    carrier.stall(shipment.tracking_number)
    state = json.loads(json.dumps(carrier.to_state()))
    clone = SandboxCarrier.from_state(state, clock=clock)
    assert clone.seed == 5
    assert clone.create_shipment(make_parcel(), service="express", idempotency_key="o1") == shipment
    clock.advance(days=5)
    assert _statuses(clone.track(shipment.tracking_number))[-1] == "in_transit"
    assert clone.to_state() == carrier.to_state()


# ------------------------------------------------------------------ registry

def test_registry_builds_carriers_by_name():
    sandbox = get_carrier("sandbox", seed=3, failure_rate=0.1)
    assert isinstance(sandbox, SandboxCarrier) and sandbox.seed == 3
    dhl = get_carrier("DHL Express")
    assert isinstance(dhl, ManualCarrier) and dhl.name == "dhl_express"
    assert isinstance(sandbox, Carrier) and isinstance(dhl, Carrier)
    assert get_carrier("Royal-Mail").name == "royal_mail"


def test_registry_unknown_carrier():
    with pytest.raises(MappingError) as err:
        get_carrier("pigeon_post")
    assert err.value.code == "XD-MAP-012"
    assert get_carrier("pigeon_post", allow_unknown=True).name == "pigeon_post"
