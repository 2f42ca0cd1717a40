"""``[retention]``: sync events older than ``sync_log_days`` go, their counts stay."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crossdock import config, synclog
from crossdock.db.models import SyncEvent
from crossdock.errors import ConfigError
from crossdock.retention import apply_retention, summary_rows
from crossdock.sync_engine.engine import schedule_specs

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 6, 12, tzinfo=UTC)


def test_old_events_are_deleted_in_batches_and_counted_by_day_operation_outcome_and_code(db):
    # Given 7 events 100 days old, 3 of them failures, and 2 from yesterday
    old = NOW - dt.timedelta(days=100)
    with db.write() as s:
        for i in range(7):
            synclog.record(s, operation="orders.import", outcome="failed" if i < 3 else "ok",
                           code="XD-ORD-001" if i < 3 else None, at=old + dt.timedelta(minutes=i), message="x")
        for i in range(2):
            synclog.record(s, operation="stock.push", outcome="ok", at=NOW - dt.timedelta(days=1), message="y")
    # When retention keeps 90 days, 2 events per batch
    result = apply_retention(db, sync_log_days=90, now=NOW, batch=2)
    # Then the old ones are gone, yesterday's stay, and the counts of the old ones are kept
    assert result["sync_events_removed"] == 7
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(SyncEvent)) == 2
    assert summary_rows(db) == [
        {"day": old.date().isoformat(), "operation": "orders.import", "outcome": "failed", "code": "XD-ORD-001",
         "count": 3},
        {"day": old.date().isoformat(), "operation": "orders.import", "outcome": "ok", "code": None, "count": 4}]
    # and a later run adds to the same counts
    with db.write() as s:
        synclog.record(s, operation="orders.import", outcome="ok", at=old, message="late")
    apply_retention(db, sync_log_days=90, now=NOW)
    assert summary_rows(db)[1]["count"] == 5


def test_retention_is_scheduled_only_when_configured():
    assert [s.enabled for s in schedule_specs(config.parse({})) if s.name == "retention"] == [False]
    [spec] = [s for s in schedule_specs(config.parse({"retention": {"sync_log_days": 30, "every": "6h"}}))
              if s.name == "retention"]
    assert spec.enabled and spec.interval_s == 6 * 3600
    with pytest.raises(ConfigError):
        config.parse({"retention": {"sync_log_days": 0}})


def test_event_deliveries_older_than_their_days_go_and_a_late_replay_is_only_a_read(db):
    from crossdock.events import accept, refuse
    from crossdock.events.tables import EventDelivery

    # Given deliveries 40 days old (one accepted, one refused junk) and one from yesterday
    old, recent = NOW - dt.timedelta(days=40), NOW - dt.timedelta(days=1)
    accept(db, channel="c1", source="shop", topic="orders/paid", delivery_id="d-old", order_ids=["7"], now=old)
    refuse(db, source="shop", code="XD-EVT-001", channel="c1", ref="junk", detail="bad signature", now=old)
    accept(db, channel="c1", source="shop", topic="orders/paid", delivery_id="d-new", order_ids=["8"], now=recent)
    # When retention keeps deliveries 30 days, one per batch
    result = apply_retention(db, sync_log_days=90, event_deliveries_days=30, now=NOW, batch=1)
    # Then both old ones are gone and yesterday's stays
    assert result["event_deliveries_removed"] == 2
    with db.read() as s:
        assert list(s.scalars(select(EventDelivery.delivery_id))) == ["d-new"]
    # and yesterday's still dedupes, while a replay of the forgotten one is taken as new: one more read
    assert accept(db, channel="c1", source="shop", topic="orders/paid", delivery_id="d-new",
                  order_ids=["8"]).outcome == "duplicate"
    assert accept(db, channel="c1", source="shop", topic="orders/paid", delivery_id="d-old",
                  order_ids=["7"]).outcome == "accepted"
    # and without the days given, deliveries are kept
    assert "event_deliveries_removed" not in apply_retention(db, sync_log_days=90, now=NOW)
