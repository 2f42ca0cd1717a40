"""Shipping an order end to end on the database, and tracking it.

The carrier is injected (sandbox, manual, or a failing one) and so is the
clock, so every run books the same tracking numbers and sees the same events.
"""

from __future__ import annotations

import datetime as dt
import io
import socket
import threading
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from crossdock import synclog
from crossdock.db.models import (
    Order,
    OrderLine,
    OutboxEntry,
    Reservation,
    Shipment,
    StockLevel,
    StockMovement,
    SyncEvent,
    TrackingEvent,
)
from crossdock.errors import CrossdockError, InventoryError, ShippingError
from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
from crossdock.warehouse.carriers import ManualCarrier, SandboxCarrier
from crossdock.warehouse.shipping import (
    ShippingOptions,
    derived_correlation_id,
    poll_tracking,
    ship_order,
)
from tests.warehouse.db_support import T0, FakeClock, OrderSpec, add_order, count, receive, seed_catalogue

IOSS = "IM2760000742"


class Cfg:
    """The parts of crossdock.config.Config shipping reads."""

    def __init__(self, rules=None):
        from tests.warehouse.db_support import WAREHOUSES

        self.rules = rules or {}
        self.warehouses = WAREHOUSES


class CapturingPrinter:
    """A local TCP server standing in for a raw-port (9100) label printer."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(10)
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            while chunk := conn.recv(4096):
                self.received += chunk

    def close(self) -> bytes:
        self.thread.join(timeout=10)
        self.server.close()
        return bytes(self.received)


class SpyCarrier:
    """Wraps a carrier and counts bookings."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.requires_tracking_number = inner.requires_tracking_number
        self.trackable = inner.trackable
        self.calls = 0

    def rates(self, parcel):
        return self.inner.rates(parcel)

    def create_shipment(self, parcel, **kw):
        self.calls += 1
        return self.inner.create_shipment(parcel, **kw)

    def track(self, number, **kw):
        return self.inner.track(number, **kw)


class ExplodingCarrier(SpyCarrier):
    def create_shipment(self, parcel, **kw):
        self.calls += 1
        raise ConnectionResetError("carrier API hung up")


@pytest.fixture
def clock():
    return FakeClock(T0)


@pytest.fixture
def shop(db):
    seed_catalogue(db)
    receive(db, "TEE-BLK-M", "CN", 10, bin_code="A-1-1")
    receive(db, "MUG-WHT", "CN", 10, bin_code="A-2-1")
    receive(db, "CAP-RED", "CN", 10, bin_code="B-1-1")
    receive(db, "TEE-BLK-M", "DE", 10, bin_code="R1-01")
    return db


def _ship(db, order, tmp_path, clock, carrier=None, **kw):
    carrier = carrier or SandboxCarrier(seed=7, clock=clock)
    return ship_order(db, order, carrier=carrier, ledger=ENGINE_LEDGER, service=kw.pop("service", "standard"),
                      labels_dir=tmp_path / "labels", clock=clock, cfg=kw.pop("cfg", Cfg()), **kw)


def _routed_to_cn():
    return Cfg({"routing": {"by_destination": {"DE": ["CN"], "FR": ["CN"]}}})


def _state(db, order_id):
    with db.read() as s:
        order = s.get(Order, order_id)
        res = list(s.scalars(select(Reservation).join(OrderLine, OrderLine.id == Reservation.order_line_id)
                             .where(OrderLine.order_id == order_id)))
        confirms = list(s.scalars(select(OutboxEntry).where(OutboxEntry.kind == "confirm_shipment")))
        return order.local_status, [r.status for r in res], confirms


# ------------------------------------------------------------------ cross-border with customs

def test_cn_warehouse_to_de_buyer_ships_with_cn22_hs_codes_and_ioss(shop, tmp_path, clock):
    # Given a marketplace-facilitated order of a DE buyer routed to the CN warehouse
    order_id = add_order(shop, OrderSpec("302-0000001-0000001", buyer="DE",
                                         lines=[("TEE-BLK-M", 2, "20.00"), ("MUG-WHT", 1, "9.90")],
                                         tax_model="MarketplaceFacilitator", ioss_number=IOSS),
                         cfg=_routed_to_cn())
    # When it ships with the sandbox carrier
    result = _ship(shop, "302-0000001-0000001", tmp_path, clock)
    # Then the parcel is cross-border with a CN22 carrying the HS codes and the IOSS number
    assert result.cross_border and result.warehouse == "CN"
    customs = result.customs
    assert customs.form == "CN22" and customs.ioss_number == IOSS
    assert [(i.sku, i.hs_code, i.origin_country, i.quantity) for i in customs.items] == [
        ("TEE-BLK-M", "61091000", "CN", 2), ("MUG-WHT", "69120010", "CN", 1)]
    assert str(customs.total_value.amount) == "49.90" and customs.destination_country == "DE"
    assert result.tracking_number.startswith("XD") and result.tracking_number.endswith("CN")

    # and the labels are on disk: PDF (label + CN22 page) and ZPL at 203 and 300 dpi
    paths = {k: Path(v) for k, v in result.label_paths.items()}
    assert set(paths) == {"pdf", "zpl203", "zpl300"} and all(p.exists() for p in paths.values())
    assert paths["zpl203"].name == f"{result.tracking_number}-203dpi.zpl"
    assert b"^PW812" in paths["zpl203"].read_bytes() and b"^PW1200" in paths["zpl300"].read_bytes()
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(paths["pdf"].read_bytes())).pages]
    assert result.tracking_number in pages[0] and "CN 22" in pages[1] and IOSS in pages[1]
    assert "61091000" in pages[1]

    # and the database tells the same story
    status, reservations, confirms = _state(shop, order_id)
    assert status == "shipped" and reservations == ["consumed", "consumed"]
    with shop.read() as s:
        shipment = s.scalar(select(Shipment))
        assert (shipment.carrier, shipment.tracking_number, shipment.warehouse, shipment.cross_border) == (
            "sandbox", result.tracking_number, "CN", True)
        assert shipment.customs["ioss_number"] == IOSS and shipment.created_at == T0
        levels = {(lv.sku, lv.warehouse): (lv.on_hand, lv.reserved) for lv in s.scalars(select(StockLevel))}
        assert levels[("TEE-BLK-M", "CN")] == (8, 0) and levels[("MUG-WHT", "CN")] == (9, 0)
        assert levels[("TEE-BLK-M", "DE")] == (10, 0)
        shipped = sorted((m.sku, m.delta) for m in s.scalars(select(StockMovement)
                                                              .where(StockMovement.reason == "shipped")))
        assert shipped == [("MUG-WHT", -1), ("TEE-BLK-M", -2)]
        assert [ln.quantity_shipped for ln in s.scalars(select(OrderLine).order_by(OrderLine.id))] == [2, 1]

    # and exactly one confirmation with carrier and tracking is queued for the channel
    (confirm,) = confirms
    assert confirm.idempotency_key == f"confirm_shipment:{result.shipment_id}"
    assert confirm.channel == "amazon-de" and confirm.entity == "302-0000001-0000001"
    assert confirm.payload["carrier"] == "sandbox" and confirm.payload["tracking_number"] == result.tracking_number
    assert confirm.payload["lines"] == [["302-0000001-0000001-1", 2], ["302-0000001-0000001-2", 1]]


def test_the_trace_shows_import_reservation_label_and_confirmation_in_one_chain(shop, tmp_path, clock):
    add_order(shop, OrderSpec("302-0000002", buyer="DE"), cfg=_routed_to_cn())
    result = _ship(shop, "302-0000002", tmp_path, clock)
    with shop.read() as s:
        chain = synclog.trace(s, "302-0000002")
        (confirm,) = s.scalars(select(OutboxEntry).where(OutboxEntry.kind == "confirm_shipment"))
    ops = [e.operation for e in chain]
    for earlier, later in [("orders.import", "stock.reserve"), ("stock.reserve", "label.create"),
                           ("label.create", "shipment.create"), ("shipment.create", "shipment.confirm.queued")]:
        assert ops.index(earlier) < ops.index(later)
    assert "stock.consume" in ops
    # one correlation id from the import on, carried on to the confirmation job
    cids = {e.correlation_id for e in chain}
    assert len(cids) == 1 and confirm.correlation_id in cids
    assert result.tracking_number in str([e.details for e in chain])


def test_domestic_and_intra_eu_parcels_need_no_customs(shop, tmp_path, clock):
    add_order(shop, OrderSpec("DE-DOM", buyer="DE"))
    add_order(shop, OrderSpec("FR-EU", buyer="FR"))
    domestic = _ship(shop, "DE-DOM", tmp_path, clock)
    intra_eu = _ship(shop, "FR-EU", tmp_path, clock)
    assert (domestic.warehouse, domestic.cross_border, domestic.customs) == ("DE", False, None)
    assert (intra_eu.warehouse, intra_eu.cross_border, intra_eu.customs) == ("DE", False, None)
    pages = PdfReader(domestic.label_paths["pdf"]).pages
    assert len(pages) == 1


def test_non_facilitated_cross_border_parcel_gets_no_ioss(shop, tmp_path, clock):
    add_order(shop, OrderSpec("US-7", buyer="US", lines=[("TEE-BLK-M", 1, "20.00")]))
    result = _ship(shop, "US-7", tmp_path, clock)
    assert result.cross_border and result.customs.form == "CN22" and result.customs.ioss_number is None


# ------------------------------------------------------------------ failures leave the order ready

def test_a_carrier_failure_leaves_the_order_ready_to_retry(shop, tmp_path, clock):
    order_id = add_order(shop, OrderSpec("302-FAIL", buyer="US"))
    # When the carrier rejects the booking
    down = SandboxCarrier(seed=7, clock=clock, failure_rate=1.0)
    with pytest.raises(ShippingError) as exc:
        _ship(shop, "302-FAIL", tmp_path, clock, carrier=down)
    assert exc.value.code == "XD-SHIP-001"
    # Then nothing was written: no shipment, reservation active, nothing enqueued, stock untouched
    status, reservations, confirms = _state(shop, order_id)
    assert (status, reservations, confirms) == ("unshipped", ["active"], [])
    assert count(shop, Shipment) == 0
    assert count(shop, StockMovement, StockMovement.reason == "shipped") == 0
    with shop.read() as s:
        failed = s.scalar(select(SyncEvent).where(SyncEvent.operation == "shipment.create"))
        assert (failed.outcome, failed.code, failed.entity) == ("failed", "XD-SHIP-001", "302-FAIL")
    assert not (tmp_path / "labels").exists()
    # And a retry with the carrier back up ships it
    result = _ship(shop, "302-FAIL", tmp_path, clock)
    assert _state(shop, order_id)[:2] == ("shipped", ["consumed"]) and result.shipment_id


def test_a_carrier_crash_is_translated_once(shop, tmp_path, clock):
    add_order(shop, OrderSpec("302-BOOM", buyer="US"))
    with pytest.raises(ShippingError) as exc:
        _ship(shop, "302-BOOM", tmp_path, clock, carrier=ExplodingCarrier(SandboxCarrier(clock=clock)))
    assert exc.value.code == "XD-SHIP-001" and "ConnectionResetError" in exc.value.detail
    assert isinstance(exc.value.__cause__, ConnectionResetError)
    assert count(shop, Shipment) == 0


def test_missing_customs_data_stops_before_the_carrier(shop, tmp_path, clock):
    # CAP-RED has no HS code; the parcel goes CN -> US
    order_id = add_order(shop, OrderSpec("US-CAP", buyer="US", lines=[("CAP-RED", 1, "12.00")]))
    spy = SpyCarrier(SandboxCarrier(clock=clock))
    with pytest.raises(ShippingError) as exc:
        _ship(shop, "US-CAP", tmp_path, clock, carrier=spy)
    assert exc.value.code == "XD-SHIP-004" and "CAP-RED" in exc.value.detail and "hs_code" in exc.value.detail
    assert spy.calls == 0
    assert _state(shop, order_id)[:2] == ("unshipped", ["active"])


def test_the_platforms_hs_code_fills_in_where_the_catalogue_has_none(shop, tmp_path, clock):
    # Given CAP-RED (no HS code in the catalogue) bought by a US buyer, and the platform gave the
    # line its HS code and origin with the order (a Shopify inventory item's)
    order_id = add_order(shop, OrderSpec("US-CAP-HS", buyer="US", lines=[("CAP-RED", 1, "12.00")]))
    with shop.write() as s:
        s.execute(update(OrderLine).where(OrderLine.order_id == order_id).values(hs_code="650500",
                                                                              country_of_origin="VN"))
    # When it ships
    result = _ship(shop, "US-CAP-HS", tmp_path, clock)
    # Then the customs form carries the platform's code, and the catalogue's origin (it has one) wins
    assert [(i.sku, i.hs_code, i.origin_country) for i in result.customs.items] == [("CAP-RED", "650500", "CN")]
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(Path(result.label_paths["pdf"]).read_bytes())).pages]
    assert "650500" in pages[1]


def test_an_order_without_reservation_is_not_ready(shop, tmp_path, clock):
    add_order(shop, OrderSpec("US-NORES", buyer="US"), reserve=False)
    with pytest.raises(InventoryError) as exc:
        _ship(shop, "US-NORES", tmp_path, clock)
    assert exc.value.code == "XD-INV-001" and "holds no reservation" in exc.value.detail


@pytest.mark.parametrize("status", ["cancelled", "pending"])
def test_only_open_orders_ship(shop, tmp_path, clock, status):
    add_order(shop, OrderSpec(f"US-{status}", buyer="US", status=status))
    with pytest.raises(CrossdockError) as exc:
        _ship(shop, f"US-{status}", tmp_path, clock)
    assert exc.value.code == "XD-ORD-006" and status in exc.value.detail
    assert count(shop, Shipment) == 0


@pytest.mark.parametrize("ref, code", [("NOPE-1", "XD-ORD-005"), ("amazon-de/NOPE", "XD-ORD-005")])
def test_unknown_orders(shop, tmp_path, clock, ref, code):
    with pytest.raises(CrossdockError) as exc:
        _ship(shop, ref, tmp_path, clock)
    assert exc.value.code == code


# ------------------------------------------------------------------ never twice

def test_shipping_twice_is_xd_ship_005_with_one_confirmation(shop, tmp_path, clock):
    order_id = add_order(shop, OrderSpec("302-TWICE", buyer="US"))
    spy = SpyCarrier(SandboxCarrier(seed=7, clock=clock))
    first = _ship(shop, "302-TWICE", tmp_path, clock, carrier=spy)
    with pytest.raises(ShippingError) as exc:
        _ship(shop, "amazon-de/302-TWICE", tmp_path, clock, carrier=spy)
    assert exc.value.code == "XD-SHIP-005" and first.tracking_number in exc.value.detail
    assert spy.calls == 1
    assert count(shop, Shipment) == 1
    assert len(_state(shop, order_id)[2]) == 1
    with shop.read() as s:
        skipped = s.scalars(select(SyncEvent).where(SyncEvent.code == "XD-SHIP-005")).all()
    assert [e.outcome for e in skipped] == ["skipped"]


def test_two_concurrent_ship_commands_give_one_shipment(shop, tmp_path, clock):
    add_order(shop, OrderSpec("302-RACE", buyer="US"))
    barrier = threading.Barrier(2)

    class Gate(SpyCarrier):
        def create_shipment(self, parcel, **kw):
            barrier.wait(timeout=10)        # both commands have planned before either records
            return super().create_shipment(parcel, **kw)

    outcomes: list[object] = []

    def run():
        try:
            outcomes.append(_ship(shop, "302-RACE", tmp_path, clock, carrier=Gate(SandboxCarrier(seed=7, clock=clock))))
        except CrossdockError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    codes = sorted(o if isinstance(o, str) else "shipped" for o in outcomes)
    assert codes == ["XD-SHIP-005", "shipped"]
    assert count(shop, Shipment) == 1 and count(shop, OutboxEntry, OutboxEntry.kind == "confirm_shipment") == 1
    assert count(shop, StockMovement, StockMovement.reason == "shipped") == 1


# ------------------------------------------------------------------ manual carrier

def test_manual_carrier_records_the_typed_tracking_number(shop, tmp_path, clock):
    order_id = add_order(shop, OrderSpec("DE-MAN", buyer="DE"))
    result = _ship(shop, "DE-MAN", tmp_path, clock, carrier=ManualCarrier("DHL", clock=clock), service="paket",
                   tracking_number="0034 0434 1612 3456 78")
    assert (result.carrier, result.tracking_number, result.service) == ("dhl", "003404341612345678", "paket")
    assert result.tracking_url and result.tracking_number in result.tracking_url
    assert Path(result.label_paths["pdf"]).exists()
    (confirm,) = _state(shop, order_id)[2]
    assert confirm.payload["carrier"] == "dhl" and confirm.payload["tracking_number"] == "003404341612345678"


def test_manual_carrier_without_tracking_number_writes_nothing(shop, tmp_path, clock):
    order_id = add_order(shop, OrderSpec("DE-MAN2", buyer="DE"))
    with pytest.raises(ShippingError) as exc:
        _ship(shop, "DE-MAN2", tmp_path, clock, carrier=ManualCarrier("dhl", clock=clock))
    assert exc.value.code == "XD-SHIP-007"
    assert _state(shop, order_id) == ("unshipped", ["active"], [])


# ------------------------------------------------------------------ printing

def test_label_is_printed_raw_to_a_socket_printer(shop, tmp_path, clock):
    add_order(shop, OrderSpec("US-PRN", buyer="US"))
    printer = CapturingPrinter()
    result = _ship(shop, "US-PRN", tmp_path, clock, printer=f"127.0.0.1:{printer.port}", printer_dpi=300)
    received = printer.close()
    assert received == Path(result.label_paths["zpl300"]).read_bytes()
    assert received.startswith(b"^XA") and result.printed_bytes == len(received)
    with shop.read() as s:
        assert s.scalar(select(SyncEvent.outcome).where(SyncEvent.operation == "label.print")) == "ok"


def test_a_dead_printer_does_not_undo_the_shipment(shop, tmp_path, clock):
    order_id = add_order(shop, OrderSpec("US-DEAD", buyer="US"))
    with socket.socket() as probe:          # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _ship(shop, "US-DEAD", tmp_path, clock, printer=f"127.0.0.1:{port}")
    assert result.print_error["code"] == "XD-SHIP-006" and result.printed_bytes is None
    assert _state(shop, order_id)[0] == "shipped"
    assert Path(result.label_paths["zpl203"]).exists()


# ------------------------------------------------------------------ tracking

def test_tracking_is_polled_until_delivered(shop, tmp_path, clock):
    order_id = add_order(shop, OrderSpec("US-TRK", buyer="US"))
    carrier = SandboxCarrier(seed=7, clock=clock)
    result = _ship(shop, "US-TRK", tmp_path, clock, carrier=carrier)
    # a fresh carrier object, as in another process: the sandbox answers from the stored ship time
    factory = lambda name: SandboxCarrier(seed=7, clock=clock)  # noqa: E731

    clock.advance(hours=30)
    first = poll_tracking(shop, factory, clock())
    assert (first.checked, first.new_events, first.delivered) == (1, 3, ())
    again = poll_tracking(shop, factory, clock())
    assert again.new_events == 0
    with shop.read() as s:
        shipment = s.get(Shipment, result.shipment_id)
        assert shipment.status == "in_transit" and shipment.last_event_at == T0 + dt.timedelta(hours=24)

    clock.advance(hours=50)
    done = poll_tracking(shop, factory, clock())
    assert done.delivered == (result.tracking_number,) and done.new_events == 2
    with shop.read() as s:
        shipment = s.get(Shipment, result.shipment_id)
        assert shipment.status == "delivered" and shipment.delivered_at == T0 + dt.timedelta(hours=78)
        assert s.get(Order, order_id).local_status == "delivered"
        assert [e.status for e in s.scalars(select(TrackingEvent).order_by(TrackingEvent.occurred_at))] == [
            "label_created", "picked_up", "in_transit", "out_for_delivery", "delivered"]
        ops = [e.operation for e in synclog.trace(s, "US-TRK")]
    assert ops.count("tracking.event") == 5 and ops.index("shipment.create") < ops.index("tracking.event")
    assert ops[-1] == "shipment.delivered"
    # delivered parcels are not asked again
    assert poll_tracking(shop, factory, clock()).checked == 0


def test_a_poll_that_learns_nothing_writes_nothing(shop, tmp_path, clock, monkeypatch):
    add_order(shop, OrderSpec("US-QUIET", buyer="US"))
    result = _ship(shop, "US-QUIET", tmp_path, clock, carrier=SandboxCarrier(seed=7, clock=clock))
    factory = lambda name: SandboxCarrier(seed=7, clock=clock)  # noqa: E731
    clock.advance(hours=30)
    assert poll_tracking(shop, factory, clock()).new_events == 3
    # Given a parcel whose carrier has nothing new to say
    writes: list[object] = []
    real_run_write = shop.run_write
    monkeypatch.setattr(shop, "run_write", lambda fn, *a, **k: writes.append(fn) or real_run_write(fn, *a, **k))
    # When it is polled again (and again, an hour later: still in transit, not silent)
    again = poll_tracking(shop, factory, clock())
    clock.advance(hours=1)
    later = poll_tracking(shop, factory, clock())
    # Then it was checked, and no write transaction was opened for it
    assert (again.checked, again.new_events, later.checked, later.new_events) == (1, 0, 1, 0)
    assert writes == []
    with shop.read() as s:
        assert s.get(Shipment, result.shipment_id).status == "in_transit"


def test_a_silent_parcel_is_flagged_xd_ship_002_once(shop, tmp_path, clock):
    order_id = add_order(shop, OrderSpec("US-LOST", buyer="US"))
    result = _ship(shop, "US-LOST", tmp_path, clock)

    def factory(name):
        carrier = SandboxCarrier(seed=7, clock=clock)
        carrier.stall(result.tracking_number)            # lost after in_transit
        return carrier

    clock.advance(days=3)
    assert poll_tracking(shop, factory, clock(), max_silence_days=7).stale == ()
    clock.advance(days=6)                                # 8 days after the last event (in_transit at +24 h)
    flagged = poll_tracking(shop, factory, clock(), max_silence_days=7)
    assert [s["tracking_number"] for s in flagged.stale] == [result.tracking_number]
    assert flagged.stale[0]["last_status"] == "in_transit"
    assert poll_tracking(shop, factory, clock(), max_silence_days=7).stale == ()      # flagged once
    with shop.read() as s:
        assert "XD-SHIP-002" in s.get(Order, order_id).flags
        events = s.scalars(select(SyncEvent).where(SyncEvent.code == "XD-SHIP-002")).all()
    assert [(e.entity, e.outcome) for e in events] == [("US-LOST", "failed")]


def test_manual_parcels_are_not_tracked_or_flagged(shop, tmp_path, clock):
    add_order(shop, OrderSpec("DE-MAN3", buyer="DE"))
    result = _ship(shop, "DE-MAN3", tmp_path, clock, carrier=ManualCarrier("gls", clock=clock),
                   tracking_number="GLS123456789")
    clock.advance(days=30)
    factory = lambda name: ManualCarrier(name, clock=clock)  # noqa: E731
    polled = poll_tracking(shop, factory, clock(), max_silence_days=7)
    assert (polled.checked, polled.skipped, polled.stale) == (0, 1, ())
    with shop.read() as s:
        assert s.get(Shipment, result.shipment_id).status == "untracked"
    assert poll_tracking(shop, factory, clock()).skipped == 0


def test_correlation_id_is_derived_when_the_order_has_no_logged_import():
    assert derived_correlation_id("amazon-de", "1") == derived_correlation_id("amazon-de", "1")
    assert derived_correlation_id("amazon-de", "1") != derived_correlation_id("ebay-de", "1")
    assert len(derived_correlation_id("amazon-de", "1")) == 16


def test_shipping_options_from_config():
    opts = ShippingOptions.from_config(Cfg({"shipping": {"carrier": "dhl", "printer_dpi": 300,
                                                         "cn22_thresholds": {"eur": "300"}}}))
    assert (opts.carrier, opts.printer_dpi, opts.cn22_thresholds) == ("dhl", 300, {"EUR": 300})
    for bad in ({"printer_dpi": 150}, {"carrier": 5}, {"colour": "red"}, {"stale_after_days": 0}):
        with pytest.raises(CrossdockError) as exc:
            ShippingOptions.from_config(Cfg({"shipping": bad}))
        assert exc.value.code == "XD-CFG-003"
