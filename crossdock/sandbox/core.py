"""The sandbox: :class:`Sandbox` holds the platforms, the shared state and the
servers; :class:`PlatformSim` is the base each platform builds on (its
operations get faults, rate limits, stats and the request log uniformly);
scripted buyers place orders on what each channel shows.

The shared state lives in small modules of its own: token buckets
(:mod:`~crossdock.sandbox.limits`), faults (:mod:`~crossdock.sandbox.faults`),
stats and the request log (:mod:`~crossdock.sandbox.stats`) and the live
marketplace (:mod:`~crossdock.sandbox.market`). This module is the front door:
``Fault`` and ``CatalogueItem``, which callers hand to a ``Sandbox``, are
importable from here too.

Everything runs in sandbox time (:class:`crossdock.clock.ScaledClock`), so
``time_scale=K`` speeds up every rate, TTL and delay by K.
"""

from __future__ import annotations

import abc
import logging
import random
import threading
import time
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from crossdock.clock import ScaledClock
from crossdock.sandbox.faults import Fault, Faults
from crossdock.sandbox.http import App, AppServer, Handler, Request, Response, text_response
from crossdock.sandbox.limits import RateLimits
from crossdock.sandbox.market import CatalogueItem, Market
from crossdock.sandbox.stats import RequestLog, Stats

__all__ = ["BuyerProfile", "CatalogueItem", "Fault", "PlatformSim", "Sandbox", "new_id"]

log = logging.getLogger(__name__)

HTML_ERROR = (
    "<!DOCTYPE html><html><head><title>{status} Service Unavailable</title></head>"
    "<body><h1>{status}</h1><p>The server is temporarily unable to service your request."
    "</p></body></html>"
)


@dataclass
class BuyerProfile:
    """How scripted buyers behave on one channel."""

    orders_per_min: float = 2.0          # sandbox minutes
    max_qty: int = 2
    cancel_probability: float = 0.03
    countries: tuple[str, ...] = ()      # buyer countries; empty = the channel's own


class PlatformSim(abc.ABC):
    """Base of one simulated platform.

    Subclasses build an :class:`App` in :meth:`build_app`, register their
    operations with :meth:`op` (which applies faults, rate limits, stats and the
    request log uniformly), hold their own listings and orders, and implement
    the buyer hooks.
    """

    name = "platform"

    def __init__(self, sandbox: "Sandbox") -> None:
        self.sandbox = sandbox
        self.clock = sandbox.clock
        self.market = sandbox.market
        self.rng = random.Random(sandbox.seed ^ zlib.crc32(self.name.encode()))  # stable across processes
        self.lock = threading.RLock()
        self.app = App(self.name)
        self.server: AppServer | None = None  # set by Sandbox.start

    # --- to implement -------------------------------------------------
    @abc.abstractmethod
    def build_app(self) -> None:
        """Register the platform's operations on ``self.app``."""

    @abc.abstractmethod
    def describe(self) -> dict:
        """The platform's block of the sandbox description."""

    def channels(self) -> list[str]:
        """Channel keys this platform simulates, e.g. ``amazon:SELLER:MARKETPLACE``."""
        return []

    def listed(self, channel: str) -> dict[str, int]:
        """SKU -> quantity a buyer can buy now on ``channel``."""
        return {}

    def place_order(self, channel: str, items: list[tuple[str, int]], *, buyer_country: str) -> str | None:
        """Place an order (quantities already checked against :meth:`listed`); return its id."""
        return None

    def cancel_random_order(self, channel: str) -> bool:
        return False

    def set_listing(self, channel: str, sku: str, qty: int, price: Decimal | None = None) -> object:
        """Admin seeding of a listing; returns the platform's record of it where it keeps one."""
        return None

    def tick(self) -> None:
        """Advance time-driven things (feed processing, webhook retries)."""

    def extra_stats(self) -> dict[str, Any]:
        """The platform's own counters for the admin API's ``/stats``."""
        return {}

    def throttled_response(self, operation: str) -> Response:
        return text_response("Too Many Requests", 429)

    def malformed_response(self, operation: str) -> Response:
        return Response(200, b'{"payload": {"Orders": [', {"Content-Type": "application/json"})

    # --- helpers --------------------------------------------------------
    def op(self, method: str, path: str, operation: str, *, account: Callable[[Request], str],
           rate: float | None = None, burst: float | None = None,
           cost: Callable[[Request], float] | None = None) -> Callable[[Handler], Handler]:
        """Register ``fn`` as platform ``operation``. ``account(req)`` names the
        account for quotas and stats (raise or return "" when unauthenticated:
        the handler then answers the auth error itself). ``rate`` calls per
        second refill a bucket ``burst`` deep (one second's worth, at least 1,
        when not given); ``cost(req)`` is what one call takes from it."""

        def deco(fn: Handler) -> Handler:
            def wrapped(req: Request) -> Response:
                started = time.perf_counter()
                acct = account(req) or "-"
                fault = self.sandbox.faults.take(self.name, operation)
                resp = None
                if fault is not None:
                    resp = self.sandbox.fault_response(self, operation, fault)
                if resp is None and rate is not None and acct != "-":
                    c = cost(req) if cost else 1.0
                    depth = burst if burst is not None else max(1.0, rate)
                    if not self.sandbox.limits.take(self.name, acct, operation, rate=rate, burst=depth, cost=c):
                        resp = self.throttled_response(operation)
                if resp is None:
                    resp = fn(req)
                self.sandbox.stats.record(self.name, acct, operation, resp.status,
                                          throttled=resp.throttled or resp.status == 429)
                self.sandbox.requests.add(platform=self.name, account=acct, operation=operation,
                                          method=req.method, path=req.path, status=resp.status,
                                          at=self.clock.timestamp(),
                                          ms=round((time.perf_counter() - started) * 1000, 2))
                return resp

            self.app.add(method, path, wrapped)
            return fn

        return deco


class Sandbox:
    """Holds the platforms, the shared state and the servers."""

    def __init__(self, *, time_scale: float = 1.0, seed: int = 1, host: str = "127.0.0.1",
                 platforms: tuple[str, ...] = ("amazon", "ebay", "shopify"),
                 ports: dict[str, int] | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = float(time_scale)
        self.seed = seed
        self.host = host
        self.clock = ScaledClock.starting_now(self.time_scale)
        self.limits = RateLimits(self.clock)
        self.faults = Faults(seed)
        from crossdock.sandbox.sqs import SqsService

        self.sqs = SqsService(self)
        self.stats = Stats()
        self.requests = RequestLog()
        self.market = Market(self.clock)
        self.buyer_profiles: dict[str, BuyerProfile] = {}
        self._buyers_on = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ports = ports or {}
        self.sims: dict[str, PlatformSim] = {}
        from crossdock.sandbox.registry import load_platform

        for name in platforms:
            sim = load_platform(name)(self)
            sim.build_app()
            self.sims[name] = sim
        from crossdock.sandbox.admin import build_admin_app

        self.admin_app = build_admin_app(self)
        self.servers: dict[str, AppServer] = {}
        self.rng = random.Random(seed)

    # --- lifecycle ---------------------------------------------------------
    def start(self) -> "Sandbox":
        self.servers["admin"] = AppServer(self.admin_app, host=self.host, port=self._ports.get("admin", 0)).start()
        self.servers["sqs"] = self.sqs.start(host=self.host, port=self._ports.get("sqs", 0))
        for name, sim in self.sims.items():
            sim.server = AppServer(sim.app, host=self.host, port=self._ports.get(name, 0)).start()
            self.servers[name] = sim.server
        t = threading.Thread(target=self._loop, name="sandbox-loop", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        # every server at once: each waits up to its poll interval to notice, and there are six
        stopping = [threading.Thread(target=s.stop, name=f"stop-{name}") for name, s in self.servers.items()]
        for t in stopping:
            t.start()
        for t in [*stopping, *self._threads]:
            t.join(timeout=5)

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def admin_url(self) -> str:
        return self.servers["admin"].url

    def url(self, name: str) -> str:
        return self.servers[name].url

    def describe(self) -> dict:
        out: dict[str, Any] = {"admin_url": self.admin_url, "time_scale": self.time_scale,
                               "seed": self.seed, "clock": self.clock.describe()}
        for name, sim in self.sims.items():
            out[name] = sim.describe()
        out["sqs"] = self.sqs.describe()
        return out

    # --- buyers and ticking -------------------------------------------------
    def set_buyers(self, channel: str, profile: BuyerProfile) -> None:
        self.buyer_profiles[channel] = profile

    def start_buyers(self) -> None:
        self._buyers_on.set()

    def stop_buyers(self) -> None:
        self._buyers_on.clear()

    def all_channels(self) -> dict[str, PlatformSim]:
        return {ch: sim for sim in self.sims.values() for ch in sim.channels()}

    def _loop(self) -> None:
        real_step = 0.02
        last = self.clock.timestamp()
        while not self._stop.wait(real_step):
            now = self.clock.timestamp()
            elapsed = now - last
            last = now
            for sim in self.sims.values():
                try:
                    sim.tick()
                except Exception:  # keep ticking other platforms
                    log.exception("sandbox tick failed for %s", sim.name)
            if self._buyers_on.is_set():
                self._buy(elapsed)

    def _buy(self, elapsed_s: float) -> None:
        for channel, sim in self.all_channels().items():
            prof = self.buyer_profiles.get(channel)
            if prof is None or prof.orders_per_min <= 0:
                continue
            expected = prof.orders_per_min * elapsed_s / 60.0
            n = int(expected) + (1 if self.rng.random() < expected - int(expected) else 0)
            for _ in range(n):
                self.buy_once(channel, sim, prof)
            if prof.cancel_probability > 0 and n and self.rng.random() < prof.cancel_probability * n:
                sim.cancel_random_order(channel)

    def buy_once(self, channel: str, sim: PlatformSim, prof: BuyerProfile | None = None) -> str | None:
        """One scripted buyer: picks a listed SKU and buys what is shown available."""
        prof = prof or self.buyer_profiles.get(channel) or BuyerProfile()
        with sim.lock:
            listed = {s: q for s, q in sim.listed(channel).items() if q > 0}
            if not listed:
                return None
            sku = self.rng.choice(sorted(listed))
            qty = min(listed[sku], self.rng.randint(1, max(1, prof.max_qty)))
            country = self.rng.choice(prof.countries) if prof.countries else None
            return sim.place_order(channel, [(sku, qty)], buyer_country=country or "")

    # --- faults ----------------------------------------------------------------
    def fault_response(self, sim: PlatformSim, operation: str, fault: Fault) -> Response | None:
        if fault.kind in ("html_500", "html_503"):
            status = 500 if fault.kind == "html_500" else 503
            return text_response(HTML_ERROR.format(status=status), status, "text/html; charset=utf-8")
        if fault.kind == "throttle":
            return sim.throttled_response(operation)
        if fault.kind == "malformed_json":
            return sim.malformed_response(operation)
        # the connection is closed without an answer and nothing was done: no status is sent, and the
        # request log says so (0), so a dropped call never counts as one the platform carried out
        if fault.kind == "drop":
            return Response(status=0, drop=True)
        if fault.kind == "timeout":
            r = Response(status=0, drop=True)
            r.delay_s = fault.delay_s or 30.0
            return r
        if fault.kind == "slow":
            time.sleep(fault.delay_s or 1.0)
            return None
        return None


def new_id(rng: random.Random, pattern: str) -> str:
    """Ids like Amazon's 3-7-7 digits: pattern uses '9' for a digit, 'A' for a letter."""
    out = []
    for ch in pattern:
        if ch == "9":
            out.append(str(rng.randint(0, 9)))
        elif ch == "A":
            out.append(chr(rng.randint(65, 90)))
        else:
            out.append(ch)
    return "".join(out)
