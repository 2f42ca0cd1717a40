"""Raw printing to a network label printer (TCP 9100, "JetDirect"/raw port).

The printer reads the bytes as they come and prints each ``^XA … ^XZ``
format; there is no reply to wait for. Connecting is the only moment a dead
printer shows itself, so a refused or timed-out connection is
``ShippingError("XD-SHIP-006")`` (printer unreachable) and a failure while
sending is ``XD-SHIP-003`` (label could not be written). Both are retryable.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

from crossdock.errors import ShippingError

log = logging.getLogger(__name__)

RAW_PRINT_PORT = 9100


@dataclass(frozen=True, slots=True)
class NetworkPrinter:
    host: str
    port: int = RAW_PRINT_PORT
    timeout_s: float = 10.0

    @classmethod
    def parse(cls, address: str, *, timeout_s: float = 10.0) -> NetworkPrinter:
        """``"10.0.0.7"``, ``"10.0.0.7:9100"`` or ``"[fe80::1]:9100"``."""
        address = address.strip()
        if address.startswith("["):
            host, _, rest = address[1:].partition("]")
            port = rest.lstrip(":") or str(RAW_PRINT_PORT)
        elif address.count(":") == 1:
            host, port = address.split(":")
        else:
            host, port = address, str(RAW_PRINT_PORT)
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"not a printer address: {address!r}")
        return cls(host=host, port=int(port), timeout_s=timeout_s)

    def send(self, data: bytes) -> int:
        return send_raw(data, host=self.host, port=self.port, timeout_s=self.timeout_s)


def send_raw(data: bytes, *, host: str, port: int = RAW_PRINT_PORT, timeout_s: float = 10.0) -> int:
    """Send ``data`` as-is to ``host:port``; returns the number of bytes sent."""
    where = f"printer {host}:{port}"
    if not data:
        raise ValueError("nothing to print")
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as exc:  # refused, unreachable, DNS failure, timeout
        raise ShippingError("XD-SHIP-006", entity=where,
                            detail=f"cannot connect: {exc.strerror or exc}") from exc
    try:
        with sock:
            sock.sendall(data)
            try:
                sock.shutdown(socket.SHUT_WR)   # tell the printer the job is complete
            except OSError:
                pass
    except OSError as exc:
        raise ShippingError("XD-SHIP-003", entity=where,
                            detail=f"connection lost while sending: {exc.strerror or exc}") from exc
    log.info("sent %d bytes to %s", len(data), where)
    return len(data)


__all__ = ["RAW_PRINT_PORT", "NetworkPrinter", "send_raw"]
