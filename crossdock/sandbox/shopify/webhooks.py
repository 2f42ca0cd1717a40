"""Webhook delivery like Shopify's: signed POSTs, retries, duplicates, reordering.

Events are queued (bounded: the oldest is dropped when full, and counted) and
delivered by one small thread, started on the first event, so a shop without
subscriptions sends nothing and starts nothing. Each delivery is a POST of the
REST-shaped JSON with ``X-Shopify-Topic``, ``X-Shopify-Hmac-Sha256`` (base64
HMAC-SHA256 of the raw body with the app's client secret),
``X-Shopify-Shop-Domain``, ``X-Shopify-Webhook-Id``, ``X-Shopify-Event-Id``,
``X-Shopify-Triggered-At`` and ``X-Shopify-API-Version``.

Like Shopify: a delivery that does not get a 2xx within 5 s is retried with
back-off (8 tries); ``duplicate_probability`` re-sends a delivered webhook with
the same webhook id; ``out_of_order_probability`` holds a ``*/create`` event
back a few sandbox seconds so the events that follow it for the same resource
overtake it (orders/paid before orders/create); ``webhook_drop_probability``
loses an event altogether (counted as ``dropped``), as a fault to show that
polling still imports its order. The sandbox's event faults
(``Faults.event_plan``: ``event_drop``, ``event_delay``, ``event_duplicate``,
``event_reorder``) apply on top, to every topic.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import http.client
import itertools
import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from crossdock.sandbox.shopify.sim import ShopifySim

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (10, 30, 60, 300, 900, 1800, 3600, 7200)   # sandbox seconds between tries
DELIVERY_TIMEOUT_S = 5.0
HOLD_BACK_S = 5.0


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass(order=True)
class Delivery:
    due: float
    seq: int
    uri: str = field(compare=False)
    topic: str = field(compare=False)
    shop: str = field(compare=False)
    body: bytes = field(compare=False)
    webhook_id: str = field(compare=False)
    event_id: str = field(compare=False)
    triggered_at: str = field(compare=False)
    attempt: int = field(default=0, compare=False)
    duplicate: bool = field(default=False, compare=False)


class WebhookDispatcher:
    def __init__(self, sim: "ShopifySim", *, max_queue: int = 10_000,
                 post: Callable[[Delivery, dict[str, str]], int] | None = None) -> None:
        self.sim = sim
        self.max_queue = max_queue
        self._heap: list[Delivery] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._post = post or self._http_post
        self.stats = {"enqueued": 0, "delivered": 0, "failed_attempts": 0, "given_up": 0, "duplicates": 0,
                      "held_back": 0, "dropped": 0, "fault_dropped": 0, "fault_duplicates": 0}

    # --- producer side (called with the sim lock held) -------------------------
    def enqueue(self, *, shop: str, uri: str, topic: str, payload: dict, triggered_at: str, now: float) -> None:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if self.sim.webhook_drop_probability and self.sim.rng.random() < self.sim.webhook_drop_probability:
            self.stats["dropped"] += 1      # fault injection: this event is lost (polling must catch its order)
            return
        due = now
        if topic.endswith("/create") and self.sim.webhook_out_of_order_probability and \
                self.sim.rng.random() < self.sim.webhook_out_of_order_probability:
            due = now + HOLD_BACK_S
            self.stats["held_back"] += 1
        webhook_id = str(uuid.UUID(int=self.sim.rng.getrandbits(128)))
        event_id = str(uuid.UUID(int=self.sim.rng.getrandbits(128)))
        # the sandbox's event faults (admin /faults, kinds event_*): dropped, late, sent twice, held back
        plan = self.sim.sandbox.faults.event_plan(self.sim.name, topic)
        if not plan:
            self.stats["fault_dropped"] += 1
        with self._cv:
            for i, extra_s in enumerate(plan):
                d = Delivery(due=due + extra_s, seq=next(self._seq), uri=uri, topic=topic, shop=shop, body=body,
                             webhook_id=webhook_id, event_id=event_id, triggered_at=triggered_at, duplicate=i > 0)
                if len(self._heap) >= self.max_queue:
                    heapq.heappop(self._heap)   # bounded: drop the most urgent (oldest) one, and say so
                    self.stats["dropped"] += 1
                heapq.heappush(self._heap, d)
                self.stats["enqueued"] += 1
            self.stats["fault_duplicates"] += max(0, len(plan) - 1)
            self._ensure_thread()
            self._cv.notify()

    def pending(self) -> int:
        with self._cv:
            return len(self._heap)

    # --- consumer ------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="sandbox-shopify-webhooks", daemon=True)
            self._thread.start()

    def _stopping(self) -> bool:
        return self.sim.sandbox._stop.is_set()

    def _run(self) -> None:
        while not self._stopping():
            with self._cv:
                if not self._heap:
                    self._cv.wait(0.2)
                    continue
                now = self.sim.clock.timestamp()
                head = self._heap[0]
                if head.due > now:
                    self._cv.wait(min(0.05, self.sim.clock.to_real_s(head.due - now)))
                    continue
                d = heapq.heappop(self._heap)
            self._deliver(d)

    def _deliver(self, d: Delivery) -> None:
        secret = self.sim.client_secret_for(d.shop)
        headers = {"Content-Type": "application/json", "X-Shopify-Topic": d.topic,
                   "X-Shopify-Hmac-Sha256": sign(d.body, secret),
                   "X-Shopify-Shop-Domain": f"{d.shop}.myshopify.com", "X-Shopify-Webhook-Id": d.webhook_id,
                   "X-Shopify-Event-Id": d.event_id, "X-Shopify-Triggered-At": d.triggered_at,
                   "X-Shopify-API-Version": self.sim.api_version, "User-Agent": "Shopify-Captain-Hook"}
        try:
            status = self._post(d, headers)
        except Exception as exc:  # any transport failure is a failed attempt, as at Shopify
            log.debug("webhook %s to %s failed: %s", d.topic, d.uri, exc)
            status = 0
        now = self.sim.clock.timestamp()
        if 200 <= status < 300:
            self.stats["delivered"] += 1
            p = self.sim.webhook_duplicate_probability
            if p and not d.duplicate and self.sim.rng.random() < p:
                dup = Delivery(due=now, seq=next(self._seq), uri=d.uri, topic=d.topic, shop=d.shop, body=d.body,
                               webhook_id=d.webhook_id, event_id=d.event_id, triggered_at=d.triggered_at,
                               duplicate=True)
                self.stats["duplicates"] += 1
                with self._cv:
                    heapq.heappush(self._heap, dup)
            return
        self.stats["failed_attempts"] += 1
        if d.attempt >= len(RETRY_DELAYS_S):
            self.stats["given_up"] += 1
            return
        d.due = now + RETRY_DELAYS_S[d.attempt]
        d.attempt += 1
        with self._cv:
            heapq.heappush(self._heap, d)

    @staticmethod
    def _http_post(d: Delivery, headers: dict[str, str]) -> int:
        """http.client keeps header names exactly as Shopify spells them (urllib would title-case them)."""
        url = urlsplit(d.uri)
        conn_cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(url.hostname or "", url.port, timeout=DELIVERY_TIMEOUT_S)
        try:
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            conn.request("POST", path, body=d.body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()
