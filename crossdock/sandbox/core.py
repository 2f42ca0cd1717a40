"""The sandbox's shared machinery: clock, token buckets, faults, stats, the
request log, the live marketplace (physical stock, units sold, listed-quantity
history) and the :class:`PlatformSim` base each platform builds on.

Everything here runs in sandbox time (:class:`crossdock.clock.ScaledClock`), so
``time_scale=K`` speeds up every rate, TTL and delay by K.
"""

from __future__ import annotations

import abc
import collections
import itertools
import random
import threading
import time
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from crossdock.clock import ScaledClock
from crossdock.sandbox.http import App, Request, Response, text_response

HTML_ERROR = (
    "<!DOCTYPE html><html><head><title>{status} Service Unavailable</title></head>"
    "<body><h1>{status}</h1><p>The server is temporarily unable to service your request."
    "</p></body></html>"
)


class Bucket:
    """A token bucket in sandbox time: ``rate`` tokens/s restored up to ``burst``."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        self._refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def available(self, now: float) -> float:
        self._refill(now)
        return self.tokens

    def wait_s(self, now: float, cost: float = 1.0) -> float:
        self._refill(now)
        if self.tokens >= cost:
            return 0.0
        return (cost - self.tokens) / self.rate if self.rate > 0 else float("inf")


class RateLimits:
    """Buckets per (platform, account, operation), created on first use."""

    def __init__(self, clock: ScaledClock) -> None:
        self.clock = clock
        self._buckets: dict[tuple[str, str, str], Bucket] = {}
        self._lock = threading.Lock()
        self.enabled = True

    def bucket(self, platform: str, account: str, operation: str, rate: float, burst: float) -> Bucket:
        key = (platform, account, operation)
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = Bucket(rate, burst, self.clock.timestamp())
        return b

    def take(self, platform: str, account: str, operation: str, *, rate: float, burst: float,
             cost: float = 1.0) -> bool:
        if not self.enabled:
            return True
        with self._lock:
            return self.bucket(platform, account, operation, rate, burst).take(self.clock.timestamp(), cost)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


@dataclass
class Fault:
    """One fault rule. ``kind``: html_500, html_503, slow, timeout, malformed_json,
    throttle (a 429 storm), drop (connection closed). Applies to ``platform`` (or
    "*") and ``operation`` (or "*"); fires ``count`` times (None = unlimited) with
    ``probability``; ``delay_s`` (real seconds) for slow/timeout."""

    kind: str
    platform: str = "*"
    operation: str = "*"
    probability: float = 1.0
    count: int | None = None
    delay_s: float = 0.0
    id: int = 0

    KINDS = ("html_500", "html_503", "slow", "timeout", "malformed_json", "throttle", "drop")

    def matches(self, platform: str, operation: str) -> bool:
        return self.platform in ("*", platform) and self.operation in ("*", operation)

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "platform": self.platform, "operation": self.operation,
                "probability": self.probability, "count": self.count, "delay_s": self.delay_s}


class Faults:
    def __init__(self, seed: int) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed ^ 0xFA17)
        self._ids = itertools.count(1)

    def add(self, fault: Fault) -> Fault:
        if fault.kind not in Fault.KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; one of {', '.join(Fault.KINDS)}")
        with self._lock:
            fault.id = next(self._ids)
            self._rules.append(fault)
        return fault

    def clear(self, fault_id: int | None = None) -> None:
        with self._lock:
            self._rules = [] if fault_id is None else [f for f in self._rules if f.id != fault_id]

    def list(self) -> list[dict]:
        with self._lock:
            return [f.to_dict() for f in self._rules]

    def take(self, platform: str, operation: str) -> Fault | None:
        """The fault to apply to this call, if any (consumes one of its count)."""
        if not self._rules:
            return None
        with self._lock:
            for f in self._rules:
                if not f.matches(platform, operation):
                    continue
                if f.count is not None and f.count <= 0:
                    continue
                if f.probability < 1.0 and self._rng.random() >= f.probability:
                    continue
                if f.count is not None:
                    f.count -= 1
                return f
        return None


class Stats:
    """Per (platform, account, operation): calls, successes, 429s, other errors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._c: dict[tuple[str, str, str], collections.Counter] = collections.defaultdict(collections.Counter)

    def record(self, platform: str, account: str, operation: str, status: int, *, throttled: bool = False) -> None:
        with self._lock:
            c = self._c[(platform, account, operation)]
            c["calls"] += 1
            if throttled or status == 429:
                c["throttled"] += 1
            elif 200 <= status < 300:
                c["successes"] += 1
            else:
                c["errors"] += 1

    def as_dict(self) -> dict:
        out: dict[str, dict] = {}
        with self._lock:
            for (platform, account, op), c in sorted(self._c.items()):
                out.setdefault(platform, {}).setdefault(account, {})[op] = {
                    "calls": c["calls"], "successes": c["successes"],
                    "throttled": c["throttled"], "errors": c["errors"]}
        return out

    def reset(self) -> None:
        with self._lock:
            self._c.clear()


class RequestLog:
    """The last ``maxlen`` requests (method, path, status, account, operation, time)."""

    def __init__(self, maxlen: int = 20000) -> None:
        self._items: collections.deque = collections.deque(maxlen=maxlen)
        self._seq = itertools.count(1)

    def add(self, **entry: Any) -> None:
        entry["seq"] = next(self._seq)
        self._items.append(entry)

    def since(self, seq: int = 0, *, platform: str | None = None, operation: str | None = None,
              limit: int = 1000) -> list[dict]:
        out = []
        for e in list(self._items):
            if e["seq"] <= seq:
                continue
            if platform and e.get("platform") != platform:
                continue
            if operation and e.get("operation") != operation:
                continue
            out.append(e)
            if len(out) >= limit:
                break
        return out


@dataclass
class CatalogueItem:
    sku: str
    title: str
    price: Decimal
    currency: str
    physical_stock: int
    hs_code: str | None = None
    country_of_origin: str | None = None
    weight_g: int | None = None


class Market:
    """What the sandbox knows across platforms: the seller's catalogue and
    physical stock (seeded), units sold per SKU per channel, and when each
    listed quantity changed. ``oversold`` is computed from this record alone."""

    def __init__(self, clock: ScaledClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.catalogue: dict[str, CatalogueItem] = {}
        self.sold: dict[tuple[str, str], int] = collections.Counter()        # (channel, sku) -> units
        self.cancelled: dict[tuple[str, str], int] = collections.Counter()
        self.listed_history: dict[tuple[str, str], list[tuple[float, int]]] = collections.defaultdict(list)
        self.sales: list[dict] = []   # every sale: {channel, sku, qty, at, order_id}
        self.cancels: list[dict] = []  # every cancellation: {channel, sku, qty, at, order_id}

    def seed_item(self, item: CatalogueItem) -> None:
        with self.lock:
            self.catalogue[item.sku] = item

    def record_listed(self, channel: str, sku: str, qty: int) -> None:
        with self.lock:
            hist = self.listed_history[(channel, sku)]
            if not hist or hist[-1][1] != qty:
                hist.append((self.clock.timestamp(), qty))

    def record_sale(self, channel: str, sku: str, qty: int, order_id: str) -> None:
        with self.lock:
            self.sold[(channel, sku)] += qty
            self.sales.append({"channel": channel, "sku": sku, "qty": qty,
                               "at": self.clock.timestamp(), "order_id": order_id})

    def record_cancel(self, channel: str, sku: str, qty: int, order_id: str | None = None) -> None:
        with self.lock:
            self.cancelled[(channel, sku)] += qty
            self.cancels.append({"channel": channel, "sku": sku, "qty": qty, "at": self.clock.timestamp(),
                                 "order_id": order_id})

    def net_sold(self, sku: str) -> int:
        with self.lock:
            return sum(v for (c, s), v in self.sold.items() if s == sku) - \
                sum(v for (c, s), v in self.cancelled.items() if s == sku)

    def oversold_units(self) -> int:
        with self.lock:
            return sum(max(0, self.net_sold(sku) - item.physical_stock) for sku, item in self.catalogue.items())

    def summary(self) -> dict:
        with self.lock:
            per_sku: dict[str, dict] = {}
            for sku, item in self.catalogue.items():
                per_sku[sku] = {"physical_stock": item.physical_stock, "net_sold": self.net_sold(sku),
                                "channels": {}}
            for (channel, sku), units in self.sold.items():
                per_sku.setdefault(sku, {"physical_stock": None, "net_sold": None, "channels": {}})
                per_sku[sku]["channels"].setdefault(channel, {})["units_sold"] = units
            for (channel, sku), hist in self.listed_history.items():
                per_sku.setdefault(sku, {"physical_stock": None, "net_sold": None, "channels": {}})
                ch = per_sku[sku]["channels"].setdefault(channel, {})
                ch["listed_quantity"] = hist[-1][1]
                ch["listed_changes"] = len(hist)
            return {"units_sold": sum(self.sold.values()), "units_cancelled": sum(self.cancelled.values()),
                    "oversold_units": self.oversold_units(), "skus": per_sku}


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
        self.server = None  # set by Sandbox

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

    def set_listing(self, channel: str, sku: str, qty: int, price: Decimal | None = None) -> None:
        """Admin seeding of a listing."""

    def tick(self) -> None:
        """Advance time-driven things (feed processing, webhook retries)."""

    def throttled_response(self, operation: str) -> Response:
        return text_response("Too Many Requests", 429)

    def malformed_response(self, operation: str) -> Response:
        return Response(200, b'{"payload": {"Orders": [', {"Content-Type": "application/json"})

    # --- helpers --------------------------------------------------------
    def op(self, method: str, path: str, operation: str, *, account: Callable[[Request], str],
           rate: float | None = None, burst: float | None = None,
           cost: Callable[[Request], float] | None = None) -> Callable:
        """Register ``fn`` as platform ``operation``. ``account(req)`` names the
        account for quotas and stats (raise or return "" when unauthenticated:
        the handler then answers the auth error itself)."""

        def deco(fn: Callable[[Request], Response]) -> Callable[[Request], Response]:
            def wrapped(req: Request) -> Response:
                started = time.perf_counter()
                acct = account(req) or "-"
                fault = self.sandbox.faults.take(self.name, operation)
                resp = None
                if fault is not None:
                    resp = self.sandbox.fault_response(self, operation, fault)
                if resp is None and rate is not None and acct != "-":
                    c = cost(req) if cost else 1.0
                    if not self.sandbox.limits.take(self.name, acct, operation, rate=rate, burst=burst, cost=c):
                        resp = self.throttled_response(operation)
                if resp is None:
                    resp = fn(req)
                self.sandbox.stats.record(self.name, acct, operation, resp.status,
                                          throttled=getattr(resp, "throttled", False) or resp.status == 429)
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
        self.servers: dict = {}
        self.rng = random.Random(seed)

    # --- lifecycle ---------------------------------------------------------
    def start(self) -> "Sandbox":
        from crossdock.sandbox.http import AppServer

        self.servers["admin"] = AppServer(self.admin_app, host=self.host, port=self._ports.get("admin", 0)).start()
        for name, sim in self.sims.items():
            sim.server = AppServer(sim.app, host=self.host, port=self._ports.get(name, 0)).start()
            self.servers[name] = sim.server
        t = threading.Thread(target=self._loop, name="sandbox-loop", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for s in self.servers.values():
            s.stop()
        for t in self._threads:
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
                    import logging

                    logging.getLogger(__name__).exception("sandbox tick failed for %s", sim.name)
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
        if fault.kind == "drop":
            return Response(drop=True)
        if fault.kind == "timeout":
            r = Response(drop=True)
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
