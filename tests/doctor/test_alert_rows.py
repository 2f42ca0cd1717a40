"""The alerts table on SQLite and PostgreSQL: one open row per (code,
channel, subject), reopened as a new row after it resolved; a check that did
not run resolves nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from crossdock.alerts.deliver import Target
from crossdock.alerts.rounds import alert_key, record
from crossdock.alerts.table import Alert
from crossdock.doctor import Result

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)
LAG = Result("import lag", "warn", "behind", code="XD-ORD-009", channel="ebay-uk")
LAG_OK = Result("import lag", "ok", "fine", channel="ebay-uk")
TARGETS = {"ops": Target("ops", "json://127.0.0.1:9/x", areas=("ORD",)),
           "auth-only": Target("auth-only", "json://127.0.0.1:9/y", codes=("XD-AUTH",))}


def _rows(db) -> list[tuple[str, str, str | None, list]]:
    with db.read() as s:
        return [(a.code, a.state, a.pending, list(a.pending_targets))
                for a in s.scalars(select(Alert).order_by(Alert.id))]


def test_one_open_alert_per_condition_and_a_new_one_after_it_cleared(db):
    record(db, [LAG], TARGETS, now=T0)
    record(db, [LAG], TARGETS, now=T0 + dt.timedelta(minutes=5))
    assert _rows(db) == [("XD-ORD-009", "open", "open", ["ops"])]
    record(db, [], TARGETS, now=T0 + dt.timedelta(minutes=10))          # the check did not run: still open
    assert _rows(db)[0][1] == "open"
    record(db, [LAG_OK], TARGETS, now=T0 + dt.timedelta(minutes=15))
    assert _rows(db) == [("XD-ORD-009", "resolved", "resolved", ["ops"])]
    record(db, [LAG], TARGETS, now=T0 + dt.timedelta(minutes=20))
    assert [r[1] for r in _rows(db)] == ["resolved", "open"]


def test_the_database_refuses_a_second_open_row_for_one_condition(db):
    record(db, [LAG], TARGETS, now=T0)
    with pytest.raises(IntegrityError):
        with db.write() as s:
            s.add(Alert(key=alert_key("XD-ORD-009", "ebay-uk", None), code="XD-ORD-009", check="import lag",
                        channel="ebay-uk", severity="warn", state="open", found="x", first_seen_at=T0,
                        last_seen_at=T0, pending_targets=[], delivery_attempts=0, reminders=0))


def test_an_alert_that_gets_worse_reaches_the_targets_that_want_only_failures(db):
    targets = {**TARGETS, "pager": Target("pager", "json://127.0.0.1:9/p", min_severity="fail")}
    record(db, [LAG], targets, now=T0)
    with db.write() as s:                     # the warning was delivered
        s.execute(update(Alert).values(pending=None, pending_targets=[], delivered_at=T0))
    worse = Result("import lag", "fail", "far behind", code="XD-ORD-009", channel="ebay-uk")
    record(db, [worse], targets, now=T0 + dt.timedelta(minutes=5))
    assert _rows(db) == [("XD-ORD-009", "open", "open", ["pager"])]
