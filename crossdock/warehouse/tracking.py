"""Following parcels after they leave: status summaries and the no-tracking check. Pure.

A parcel is *stale* when it is not finished (delivered, returned, cancelled)
and nothing has been heard of it for at least ``max_silence_days``, counted
from its last tracking event, or from the shipment time when no event came. Stale parcels
carry code ``XD-SHIP-002``. Parcels of manual carriers are never tracked and
never flagged (``trackable=False``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crossdock.models import TrackingEvent

STALE_CODE = "XD-SHIP-002"
TERMINAL_STATUSES = frozenset({"delivered", "returned", "returned_to_sender", "cancelled"})
#: Progress order, to break ties between events with the same timestamp.
_PROGRESS = {s: i for i, s in enumerate(
    ("label_created", "picked_up", "in_transit", "exception", "out_for_delivery", "delivered"))}


@dataclass(frozen=True, slots=True)
class TrackedParcel:
    tracking_number: str
    carrier: str
    shipped_at: dt.datetime
    events: Sequence[TrackingEvent] = ()
    order_ref: str | None = None
    trackable: bool = True


@dataclass(frozen=True, slots=True)
class StaleParcel:
    tracking_number: str
    carrier: str
    order_ref: str | None
    last_heard_at: dt.datetime           # last event, or the shipment time when there is none
    last_status: str | None
    silent_for: dt.timedelta
    code: str = STALE_CODE


@dataclass(frozen=True, slots=True)
class TrackingSummary:
    status: str                          # latest status, "no_events" when there are none
    event_count: int
    first_event_at: dt.datetime | None
    last_event_at: dt.datetime | None
    delivered_at: dt.datetime | None
    terminal: bool
    had_exception: bool
    last_description: str = ""
    last_location: str | None = None


def _aware(value: dt.datetime, what: str) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError(f"{what} must be an aware datetime")
    return value


def _ordered(events: Iterable[TrackingEvent]) -> list[TrackingEvent]:
    unique = {(e.occurred_at, e.status, e.description, e.location): e for e in events}
    return sorted(unique.values(),
                  key=lambda e: (_aware(e.occurred_at, "event time"), _PROGRESS.get(e.status, 2)))


def tracking_status_summary(events: Iterable[TrackingEvent]) -> TrackingSummary:
    """Latest status and key times of a parcel from its events (any order, duplicates allowed)."""
    ordered = _ordered(events)
    if not ordered:
        return TrackingSummary(status="no_events", event_count=0, first_event_at=None,
                               last_event_at=None, delivered_at=None, terminal=False,
                               had_exception=False)
    last = ordered[-1]
    delivered = next((e.occurred_at for e in ordered if e.status == "delivered"), None)
    return TrackingSummary(
        status=last.status,
        event_count=len(ordered),
        first_event_at=ordered[0].occurred_at,
        last_event_at=last.occurred_at,
        delivered_at=delivered,
        terminal=last.status in TERMINAL_STATUSES,
        had_exception=any(e.status == "exception" for e in ordered),
        last_description=last.description,
        last_location=last.location,
    )


def stale_parcels(
    shipments: Iterable[TrackedParcel],
    now: dt.datetime,
    *,
    max_silence_days: float,
) -> list[StaleParcel]:
    """Parcels silent for at least ``max_silence_days``, longest silence first."""
    if max_silence_days <= 0:
        raise ValueError("max_silence_days must be positive")
    _aware(now, "now")
    limit = dt.timedelta(days=max_silence_days)
    out: list[StaleParcel] = []
    for parcel in shipments:
        if not parcel.trackable:
            continue
        summary = tracking_status_summary(parcel.events)
        if summary.terminal:
            continue
        heard = summary.last_event_at or _aware(parcel.shipped_at, "shipped_at")
        silent = now - heard
        if silent >= limit:
            out.append(StaleParcel(
                tracking_number=parcel.tracking_number, carrier=parcel.carrier,
                order_ref=parcel.order_ref, last_heard_at=heard,
                last_status=None if summary.event_count == 0 else summary.status,
                silent_for=silent,
            ))
    out.sort(key=lambda s: s.silent_for, reverse=True)
    return out


__all__ = [
    "STALE_CODE",
    "TERMINAL_STATUSES",
    "StaleParcel",
    "TrackedParcel",
    "TrackingSummary",
    "stale_parcels",
    "tracking_status_summary",
]
