from __future__ import annotations

import datetime as dt

import pytest

from crossdock.models import TrackingEvent
from crossdock.warehouse.tracking import TrackedParcel, stale_parcels, tracking_status_summary

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def ev(status: str, hours: float, number: str = "XD1") -> TrackingEvent:
    return TrackingEvent(number, T0 + dt.timedelta(hours=hours), status, status.replace("_", " "))


def test_summary_orders_events_and_drops_duplicates():
    events = [ev("in_transit", 30), ev("label_created", 0), ev("picked_up", 5), ev("in_transit", 30)]
    summary = tracking_status_summary(events)
    assert summary.status == "in_transit"
    assert summary.event_count == 3
    assert (summary.first_event_at, summary.last_event_at) == (T0, T0 + dt.timedelta(hours=30))
    assert summary.delivered_at is None and not summary.terminal and not summary.had_exception


def test_summary_same_timestamp_uses_progress_order():
    summary = tracking_status_summary([ev("delivered", 10), ev("out_for_delivery", 10), ev("exception", 4)])
    assert summary.status == "delivered"
    assert summary.terminal and summary.had_exception
    assert summary.delivered_at == T0 + dt.timedelta(hours=10)


def test_summary_without_events():
    summary = tracking_status_summary([])
    assert summary.status == "no_events" and summary.event_count == 0 and summary.last_event_at is None


def test_stale_parcels_flags_silence_of_n_days():
    now = T0 + dt.timedelta(days=6)
    parcels = [
        TrackedParcel("SILENT5", "sandbox", T0, [ev("in_transit", 24, "SILENT5")], "o1"),        # 5 days
        TrackedParcel("FRESH", "sandbox", T0, [ev("in_transit", 24 * 5, "FRESH")], "o2"),        # 1 day
        TrackedParcel("DONE", "sandbox", T0, [ev("delivered", 1, "DONE")], "o3"),                # delivered
        TrackedParcel("MANUAL", "gls", T0, [], "o4", trackable=False),                           # not followed
        TrackedParcel("NEVER", "sandbox", T0, [], "o5"),                                         # 6 days, no event
        TrackedParcel("EXACT", "sandbox", T0, [ev("picked_up", 24 * 3, "EXACT")], "o6"),          # exactly 3 days
    ]
    stale = stale_parcels(parcels, now, max_silence_days=3)
    assert [(s.tracking_number, s.last_status, s.silent_for.days) for s in stale] == [
        ("NEVER", None, 6), ("SILENT5", "in_transit", 5), ("EXACT", "picked_up", 3)]
    assert {s.code for s in stale} == {"XD-SHIP-002"}
    assert stale[0].last_heard_at == T0 and stale[0].order_ref == "o5"


def test_stale_parcels_needs_aware_times():
    with pytest.raises(ValueError):
        stale_parcels([], dt.datetime(2026, 3, 1), max_silence_days=3)
    with pytest.raises(ValueError):
        stale_parcels([], T0, max_silence_days=0)
