"""Signed delivery of eBay notifications, as eBay sends them.

Each notification is a POST of ``{"metadata": {...}, "notification": {...}}``
to the destination's endpoint with ``X-EBAY-SIGNATURE``: base64 of the JSON
``{"alg": "ecdsa", "kid": KEY_ID, "signature": base64(DER ECDSA over the
body), "digest": "SHA1"}``. The key is the simulator's own P-256 key; its
public half is what ``getPublicKey`` returns for ``kid`` (PEM on one line, as
eBay returns it).

One small thread delivers, started on the first notification. A delivery that
gets no 2xx is retried with back-off; fault injection (``SimConfig``
``notification_drop_probability``, ``notification_duplicate_probability``,
``notification_delay_s``) drops, duplicates and delays deliveries.
"""

from __future__ import annotations

import base64
import heapq
import http.client
import itertools
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.sim import EbaySim

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (10, 60, 300, 900)        # sandbox seconds between tries
TIMEOUT_S = 5.0


class Signer:
    """The simulator's signing key and its id."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self._key = ec.generate_private_key(ec.SECP256R1())

    def public_pem_one_line(self) -> str:
        pem = self._key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        body = "".join(line for line in pem.splitlines() if "-----" not in line)
        return f"-----BEGIN PUBLIC KEY-----{body}-----END PUBLIC KEY-----"

    def header(self, body: bytes) -> str:
        signature = base64.b64encode(self._key.sign(body, ec.ECDSA(hashes.SHA1()))).decode()
        doc = {"alg": "ecdsa", "kid": self.kid, "signature": signature, "digest": "SHA1"}
        return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


@dataclass(order=True)
class Delivery:
    due: float
    seq: int
    endpoint: str = field(compare=False)
    body: bytes = field(compare=False)
    attempt: int = field(default=0, compare=False)
    duplicate: bool = field(default=False, compare=False)


class NotificationDispatcher:
    def __init__(self, sim: "EbaySim", signer: Signer) -> None:
        self.sim = sim
        self.signer = signer
        self._heap: list[Delivery] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self.stats = {"enqueued": 0, "delivered": 0, "failed_attempts": 0, "given_up": 0, "duplicates": 0,
                      "dropped": 0}

    def enqueue(self, endpoint: str, payload: dict, *, now: float) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        cfg = self.sim.config
        if cfg.notification_drop_probability and self.sim.rng.random() < cfg.notification_drop_probability:
            self.stats["dropped"] += 1          # fault injection: eBay never sends this one
            return
        # the sandbox's event faults too (admin /faults, event_* kinds, seeded: Faults.event_plan)
        topic = str((payload.get("metadata") or {}).get("topic") or "")
        plan = self.sim.sandbox.faults.event_plan(self.sim.name, topic)
        if not plan:
            self.stats["dropped"] += 1
            return
        with self._cv:
            for i, extra_s in enumerate(plan):
                heapq.heappush(self._heap, Delivery(now + float(cfg.notification_delay_s or 0) + extra_s,
                                                    next(self._seq), endpoint, body, duplicate=i > 0))
                self.stats["enqueued"] += 1
            self.stats["duplicates"] += len(plan) - 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sandbox-ebay-notifications", daemon=True)
                self._thread.start()
            self._cv.notify()

    def pending(self) -> int:
        with self._cv:
            return len(self._heap)

    def _run(self) -> None:
        while not self.sim.sandbox._stop.is_set():
            with self._cv:
                if not self._heap:
                    self._cv.wait(0.2)
                    continue
                now = self.sim.clock.timestamp()
                if self._heap[0].due > now:
                    self._cv.wait(min(0.05, self.sim.clock.to_real_s(self._heap[0].due - now)))
                    continue
                d = heapq.heappop(self._heap)
            self._deliver(d)

    def _deliver(self, d: Delivery) -> None:
        headers = {"Content-Type": "application/json", "X-EBAY-SIGNATURE": self.signer.header(d.body),
                   "User-Agent": "eBay-Notification-Service"}
        try:
            status = post(d.endpoint, d.body, headers)
        except Exception as exc:  # noqa: BLE001 - any transport failure is a failed attempt
            log.debug("ebay notification to %s failed: %s", d.endpoint, exc)
            status = 0
        now = self.sim.clock.timestamp()
        if 200 <= status < 300:
            self.stats["delivered"] += 1
            p = self.sim.config.notification_duplicate_probability
            if p and not d.duplicate and self.sim.rng.random() < p:
                self.stats["duplicates"] += 1
                with self._cv:
                    heapq.heappush(self._heap, Delivery(now, next(self._seq), d.endpoint, d.body, duplicate=True))
            return
        self.stats["failed_attempts"] += 1
        if d.attempt >= len(RETRY_DELAYS_S):
            self.stats["given_up"] += 1
            return
        d.due, d.attempt = now + RETRY_DELAYS_S[d.attempt], d.attempt + 1
        with self._cv:
            heapq.heappush(self._heap, d)


def request(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
            ) -> tuple[int, bytes]:
    """One HTTP request from the simulated eBay (http.client keeps header names as written)."""
    parts = urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.hostname or "", parts.port, timeout=TIMEOUT_S)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return request("POST", url, body, headers)[0]
