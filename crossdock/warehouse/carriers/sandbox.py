"""A deterministic stand-in carrier for tests, demos and dry runs.

Behaviour
---------
* **Rates** for ``standard`` and ``express`` from the parcel's gross weight
  (per started 500 g) with a cross-border surcharge, in one currency.
* **create_shipment** validates like a real carrier (country, postal code,
  weight, service) and fails with ``ShippingError("XD-SHIP-001")`` on bad
  input, or at random with probability ``failure_rate`` from a generator
  seeded with ``seed`` (the same seed and call sequence fail the same way).
  A failure records nothing, so the order stays ready and a retry with the
  same idempotency key simply books it.
* **Tracking numbers** follow the UPU S10 shape: ``XD`` + 8-digit serial +
  mod-11 check digit + the origin country, e.g. ``XD12345678 5 CN`` written
  ``XD123456785CN``. The serial is derived from ``sha256(seed, idempotency
  key)``, so the same key gives the same number even in a new process
  (idempotent like a carrier that stores keys server-side). Within one
  instance a serial collision is resolved by probing; across processes two
  keys share a serial with birthday odds over 10^8 serials (about 0.5 % at
  1,000 shipments) — use distinct seeds per process or share the state (below)
  where that matters.
* **Tracking events** advance with the injected ``clock``: ``label_created``
  at booking, then ``picked_up``, ``in_transit``, ``out_for_delivery`` and
  ``delivered`` after ``stage_hours`` (configurable), divided by
  ``time_scale`` (60 = one simulated hour per real minute). A *stalled*
  parcel (``stall()``, or chosen by ``stall_rate`` from a hash of the number)
  gets no event after ``in_transit``, which is what the no-tracking check
  (XD-SHIP-002) is for.

State
-----
Booked shipments live in memory and :meth:`SandboxCarrier.to_state` /
:meth:`SandboxCarrier.from_state` turn them into JSON-friendly data and back.
Events are never stored: they are a pure function of the tracking number, the
creation time and the clock. A process that did not book the parcel passes
the creation time it stored itself (``track(number, shipped_at=...)``) and
sees the same events, because the stall decision is also derived from the
number. The failure generator's position is not part of the state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crossdock.errors import ConfigError, ShippingError
from crossdock.models import Money, TrackingEvent
from crossdock.warehouse.carriers.base import SERVICE_EXPRESS, SERVICE_STANDARD, CreatedShipment, Rate
from crossdock.warehouse.customs import is_cross_border
from crossdock.warehouse.parcel import Parcel

log = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("label_created", "picked_up", "in_transit", "out_for_delivery", "delivered")
DEFAULT_STAGE_HOURS: Mapping[str, float] = {
    "label_created": 0.0, "picked_up": 6.0, "in_transit": 24.0, "out_for_delivery": 72.0, "delivered": 78.0,
}
_DESCRIPTIONS = {
    "label_created": "Shipment information received",
    "picked_up": "Picked up from the sender",
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
}

#: service -> (base, per started 500 g, cross-border surcharge, days domestic, days cross-border)
_TARIFF: dict[str, tuple[Decimal, Decimal, Decimal, int, int]] = {
    SERVICE_STANDARD: (Decimal("4.90"), Decimal("1.10"), Decimal("8.00"), 2, 7),
    SERVICE_EXPRESS: (Decimal("12.50"), Decimal("2.20"), Decimal("15.00"), 1, 3),
}
#: Countries without (mandatory) postal codes, where a missing postal code is fine.
NO_POSTAL_CODE = frozenset({"AE", "AG", "AO", "BS", "BZ", "HK", "IE", "MO", "QA", "TV", "YE"})

_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_S10 = re.compile(r"^XD(\d{8})(\d)([A-Z]{2})$")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of an 8-digit serial."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError(f"S10 serial must be 8 digits, got {serial!r}")
    rest = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS)) % 11
    return {10: 0, 11: 5}.get(rest, rest)


def is_sandbox_tracking_number(value: str) -> bool:
    m = _S10.match(value)
    return m is not None and s10_check_digit(m.group(1)) == int(m.group(2))


def _unit_hash(*parts: object) -> int:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:16], "big")


@dataclass(frozen=True, slots=True)
class _Booked:
    idempotency_key: str
    shipment: CreatedShipment
    destination: str | None


class SandboxCarrier:
    requires_tracking_number = False
    trackable = True

    def __init__(
        self,
        *,
        seed: int = 0,
        failure_rate: float = 0.0,
        stall_rate: float = 0.0,
        clock: Callable[[], dt.datetime] = _utcnow,
        time_scale: float = 1.0,
        stage_hours: Mapping[str, float] | None = None,
        currency: str = "EUR",
        max_weight_g: int = 30_000,
        name: str = "sandbox",
    ) -> None:
        if not 0.0 <= failure_rate <= 1.0 or not 0.0 <= stall_rate <= 1.0:
            raise ValueError("failure_rate and stall_rate must be between 0 and 1")
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        hours = dict(DEFAULT_STAGE_HOURS)
        hours.update(stage_hours or {})
        if set(hours) != set(STAGES):
            raise ValueError(f"stage_hours keys must be {STAGES}")
        offsets = [hours[s] for s in STAGES]
        if offsets[0] != 0 or any(b < a for a, b in zip(offsets, offsets[1:])):
            raise ValueError("stage_hours must start at 0 for label_created and never decrease")
        self.name = name
        self.seed = seed
        self.failure_rate = failure_rate
        self.stall_rate = stall_rate
        self.time_scale = time_scale
        self.stage_hours = hours
        self.currency = currency.upper()
        self.max_weight_g = max_weight_g
        self._clock = clock
        self._rng = random.Random(seed)
        self._by_key: dict[str, _Booked] = {}
        self._by_tracking: dict[str, _Booked] = {}
        self._stalled: set[str] = set()

    def __repr__(self) -> str:
        return f"SandboxCarrier(seed={self.seed}, failure_rate={self.failure_rate}, shipments={len(self._by_key)})"

    # ------------------------------------------------------------ rates

    def _check_parcel(self, parcel: Parcel) -> int:
        to = parcel.ship_to
        where = f"order {parcel.order}"
        country = parcel.destination_country
        problems = []
        if not country or len(country) != 2:
            problems.append("destination country missing")
        if not (to.postal_code or "").strip() and country not in NO_POSTAL_CODE:
            problems.append("postal code missing")
        weight = parcel.total_weight_g
        if weight is None:
            problems.append("parcel weight unknown")
        elif weight > self.max_weight_g:
            problems.append(f"parcel weighs {weight} g, more than the {self.max_weight_g} g limit")
        if problems or weight is None:      # an unknown weight is among the problems
            raise ShippingError("XD-SHIP-001", entity=where,
                                detail="sandbox carrier rejected the address/parcel: " + "; ".join(problems))
        return weight

    def rates(self, parcel: Parcel) -> list[Rate]:
        weight = self._check_parcel(parcel)
        cross = is_cross_border(parcel.origin_country, parcel.destination_country or "")
        steps = max(1, -(-weight // 500))
        out = []
        for service, (base, per_step, surcharge, days_dom, days_x) in _TARIFF.items():
            amount = base + per_step * steps + (surcharge if cross else 0)
            out.append(Rate(
                carrier=self.name, service=service,
                cost=Money(amount.quantize(Decimal("0.01"), ROUND_HALF_UP), self.currency),
                estimated_days=days_x if cross else days_dom, cross_border=cross,
            ))
        return out

    # ------------------------------------------------------------ shipments

    def create_shipment(
        self,
        parcel: Parcel,
        *,
        service: str,
        idempotency_key: str,
        tracking_number: str | None = None,
    ) -> CreatedShipment:
        if not idempotency_key:
            raise ValueError("idempotency_key is required")
        booked = self._by_key.get(idempotency_key)
        if booked is not None:
            log.debug("sandbox: replay of %s -> %s", idempotency_key, booked.shipment.tracking_number)
            return booked.shipment
        if tracking_number is not None:
            raise ConfigError("XD-CFG-009", detail="the sandbox carrier assigns tracking numbers; "
                                                   "--tracking is only for manual carriers")
        if service not in _TARIFF:
            raise ShippingError("XD-SHIP-001", entity=f"order {parcel.order}",
                                detail=f"service {service!r} not offered; choose one of {sorted(_TARIFF)}")
        rate = next(r for r in self.rates(parcel) if r.service == service)  # validates the parcel
        if self.failure_rate and self._rng.random() < self.failure_rate:
            log.info("sandbox: simulated failure for %s", parcel.order)
            raise ShippingError("XD-SHIP-001", entity=f"order {parcel.order}",
                                detail="sandbox carrier unavailable (simulated failure); try again",
                                retry_after_s=1.0)
        number = self._new_tracking_number(idempotency_key, parcel.origin_country)
        shipment = CreatedShipment(
            tracking_number=number, carrier=self.name, service=service, cost=rate.cost,
            created_at=self._now(),
        )
        self._remember(_Booked(idempotency_key, shipment, parcel.destination_country))
        log.info("sandbox: booked %s for %s (%s)", number, parcel.order, service)
        return shipment

    def _new_tracking_number(self, key: str, origin: str) -> str:
        for attempt in range(1000):
            serial = f"{_unit_hash('xd-serial', self.seed, key, attempt) % 100_000_000:08d}"
            number = f"XD{serial}{s10_check_digit(serial)}{origin}"
            if number not in self._by_tracking:
                return number
        raise RuntimeError("sandbox tracking number space exhausted")  # pragma: no cover

    def _remember(self, booked: _Booked) -> None:
        self._by_key[booked.idempotency_key] = booked
        self._by_tracking[booked.shipment.tracking_number] = booked

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the sandbox clock must return aware datetimes")
        return now.astimezone(dt.timezone.utc)

    # ------------------------------------------------------------ tracking

    def stall(self, tracking_number: str) -> None:
        """Stop events for this parcel after ``in_transit`` (a lost parcel)."""
        self._stalled.add(tracking_number)

    def is_stalled(self, tracking_number: str) -> bool:
        if tracking_number in self._stalled:
            return True
        if not self.stall_rate:
            return False
        return _unit_hash("xd-stall", self.seed, tracking_number) / 2**128 < self.stall_rate

    def track(self, tracking_number: str, *, shipped_at: dt.datetime | None = None) -> list[TrackingEvent]:
        booked = self._by_tracking.get(tracking_number)
        created = booked.shipment.created_at if booked else shipped_at
        if created is None or not is_sandbox_tracking_number(tracking_number):
            log.info("sandbox: no record of %s", tracking_number)
            return []
        if created.tzinfo is None:
            raise ValueError("shipped_at must be an aware datetime")
        now = self._now()
        origin = tracking_number[-2:]
        destination = booked.destination if booked else None
        stalled = self.is_stalled(tracking_number)
        events: list[TrackingEvent] = []
        for stage in STAGES:
            at = created + dt.timedelta(hours=self.stage_hours[stage] / self.time_scale)
            if at > now:
                break
            events.append(TrackingEvent(
                tracking_number=tracking_number, occurred_at=at, status=stage,
                description=_DESCRIPTIONS[stage],
                location=destination if stage in ("out_for_delivery", "delivered") else origin,
            ))
            if stalled and stage == "in_transit":
                break
        return events

    # ------------------------------------------------------------ state

    def to_state(self) -> dict[str, Any]:
        """JSON-friendly snapshot of booked shipments and stalled numbers."""
        return {
            "version": 1,
            "seed": self.seed,
            "shipments": [
                {
                    "idempotency_key": b.idempotency_key,
                    "tracking_number": b.shipment.tracking_number,
                    "service": b.shipment.service,
                    "cost": b.shipment.cost.to_dict() if b.shipment.cost else None,
                    "created_at": b.shipment.created_at.isoformat(),
                    "destination": b.destination,
                }
                for b in self._by_key.values()
            ],
            "stalled": sorted(self._stalled),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], **options: Any) -> SandboxCarrier:
        if state.get("version") != 1:
            raise ValueError(f"unsupported sandbox state version {state.get('version')!r}")
        options.setdefault("seed", state.get("seed", 0))
        carrier = cls(**options)
        for row in state.get("shipments", []):
            cost = row.get("cost")
            shipment = CreatedShipment(
                tracking_number=row["tracking_number"], carrier=carrier.name, service=row["service"],
                cost=Money(Decimal(cost["amount"]), cost["currency"]) if cost else None,
                created_at=dt.datetime.fromisoformat(row["created_at"]),
            )
            carrier._remember(_Booked(row["idempotency_key"], shipment, row.get("destination")))
        carrier._stalled.update(state.get("stalled", []))
        return carrier


__all__ = [
    "DEFAULT_STAGE_HOURS",
    "STAGES",
    "SandboxCarrier",
    "is_sandbox_tracking_number",
    "s10_check_digit",
]
