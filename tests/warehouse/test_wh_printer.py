from __future__ import annotations

import datetime as dt
import socket
import threading

import pytest

from crossdock.errors import ShippingError
from crossdock.warehouse.labels import LabelData, render_zpl
from crossdock.warehouse.printer import NetworkPrinter, send_raw


class CapturingPrinter:
    """A local TCP server standing in for a raw-port label printer: it keeps
    every byte it receives until the client closes its side."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(5)
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            conn.settimeout(5)
            while chunk := conn.recv(4096):
                self.received += chunk

    def close(self) -> bytes:
        self.thread.join(timeout=5)
        self.server.close()
        return bytes(self.received)


@pytest.fixture
def zpl(make_parcel) -> bytes:
    label = LabelData.from_parcel(make_parcel("CN", "DE"), tracking_number="XD473124829CN",
                                  carrier="sandbox", service="standard", shipped_on=dt.date(2026, 3, 2))
    return render_zpl(label, dpi=203)


def test_printing_sends_exactly_the_zpl_bytes(zpl):
    printer = CapturingPrinter()
    sent = send_raw(zpl, host="127.0.0.1", port=printer.port, timeout_s=5)
    received = printer.close()
    assert sent == len(zpl)
    assert received == zpl


def test_network_printer_object_sends_too(zpl):
    printer = CapturingPrinter()
    NetworkPrinter.parse(f"127.0.0.1:{printer.port}", timeout_s=5).send(zpl + zpl)
    assert printer.close() == zpl + zpl


def test_unreachable_printer_is_xd_ship_006():
    # Given a port nobody listens on (bound, then released)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ShippingError) as err:
        send_raw(b"^XA^XZ", host="127.0.0.1", port=port, timeout_s=2)
    assert err.value.code == "XD-SHIP-006"
    assert err.value.retryable
    assert f"127.0.0.1:{port}" in err.value.message


@pytest.mark.parametrize("address, host, port", [
    ("10.0.0.7", "10.0.0.7", 9100),
    ("10.0.0.7:6101", "10.0.0.7", 6101),
    ("printer.local", "printer.local", 9100),
    ("[fe80::1]:9100", "fe80::1", 9100),
    ("[fe80::1]", "fe80::1", 9100),
])
def test_printer_address_parsing(address, host, port):
    assert NetworkPrinter.parse(address) == NetworkPrinter(host, port)


@pytest.mark.parametrize("bad", ["", "host:notaport", "host:0", ":9100"])
def test_bad_printer_address(bad):
    with pytest.raises(ValueError):
        NetworkPrinter.parse(bad)
