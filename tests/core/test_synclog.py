from __future__ import annotations

import datetime as dt

from crossdock import synclog
from crossdock.errors import AuthError
from crossdock.secrets import redact, remember


def test_events_are_queryable_by_channel_code_entity_and_time(db):
    with synclog.correlation("cid-1"):
        with db.write() as s:
            synclog.record(s, operation="orders.fetch", outcome="ok", channel="amazon-us",
                           entity_type="order", entity="113-1", duration_ms=12)
            synclog.record(s, synclog.event_from_error(
                "orders.fetch", AuthError("XD-AUTH-002", channel="ebay-uk", detail="invalid_grant")))
    with db.read() as s:
        assert [e.entity for e in synclog.query(s, channel="amazon-us")] == ["113-1"]
        failed = synclog.query(s, code="XD-AUTH")
        assert [e.code for e in failed] == ["XD-AUTH-002"] and failed[0].channel == "ebay-uk"
        assert synclog.query(s, code="XD-AUTH-002")[0].correlation_id == "cid-1"
        future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1)
        assert synclog.query(s, since=future) == []
        assert [e.entity for e in synclog.query(s, entity="113-1")] == ["113-1"]


def test_trace_follows_the_correlation_chain_oldest_first(db):
    # Given an order import, a reservation and a confirmation sharing a correlation id,
    # where only the first names the order
    with synclog.correlation() as cid:
        for op in ("orders.import", "stock.reserve", "shipment.confirm"):
            with db.write() as s:
                synclog.record(s, operation=op, outcome="ok", entity_type="order" if op == "orders.import" else None,
                               entity="206-7" if op == "orders.import" else f"x-{op}")
    with db.write() as s:
        synclog.record(s, operation="orders.import", outcome="ok", entity="other")
    # When we trace the order
    with db.read() as s:
        chain = synclog.trace(s, "206-7")
    # Then the whole chain comes back, in order, and nothing else
    assert [e.operation for e in chain] == ["orders.import", "stock.reserve", "shipment.confirm"]
    assert {e.correlation_id for e in chain} == {cid}


def test_secrets_are_redacted_before_writing(db):
    remember("Atzr|IwEBIA-very-secret-refresh")
    with db.write() as s:
        synclog.record(s, operation="auth.refresh", outcome="failed", channel="amazon-us",
                       message="refresh with Atzr|IwEBIA-very-secret-refresh failed; Bearer abcdefghijkl1234",
                       details={"refresh_token": "zzz-raw-zzz", "body": "access_token=qqq-raw-qqq&x=1"})
    with db.read() as s:
        e = synclog.query(s)[0]
    text = f"{e.message} {e.details}"
    for secret in ("IwEBIA", "abcdefghijkl1234", "zzz-raw-zzz", "qqq-raw-qqq"):
        assert secret not in text
    assert redact({"client_secret": "x", "n": 1}) == {"client_secret": "***", "n": 1}
