"""Helpers of the doctor and alert tests: run the checks on a catalog_env
(the demo's four channels on a live in-process sandbox) and pick results."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crossdock.doctor import DoctorReport, Result, run_doctor
from crossdock.sync_engine import liveness

UTC = dt.timezone.utc


def doctor(env: Any, **kw: Any) -> DoctorReport:
    return run_doctor(env.config_path, **kw)


def results(report: DoctorReport, check: str, channel: str | None = None) -> list[Result]:
    return [r for r in report.results if r.check == check and (channel is None or r.channel == channel)]


def one(report: DoctorReport, check: str, channel: str | None = None) -> Result:
    found = results(report, check, channel)
    assert len(found) == 1, f"{check} {channel}: {found}"
    return found[0]


def worker_alive(env: Any, worker_id: str = "w1", *, ago_s: float = 0.0) -> None:
    """A worker that sent a heartbeat (and ticked the scheduler) ``ago_s`` seconds ago."""
    at = dt.datetime.now(UTC) - dt.timedelta(seconds=ago_s)
    with env.db.write() as s:
        liveness.register(s, worker_id, info={}, now=at)
        liveness.heartbeat(s, worker_id, ticked=True, now=at)


def reservation_on_a_cancelled_order(db: Any) -> None:
    """An inconsistency `db check` finds (XD-DATA-006): stock still reserved for a cancelled order."""
    from crossdock.db import models as m

    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    with db.write() as s:
        s.add(m.Channel(name="shop-eu", platform="shopify", account="a", currency="EUR"))
        s.add(m.Warehouse(code="DE1", name="DE1", country="DE"))
        s.add(m.Product(sku="MUG", title="Mug"))
        s.flush()
        s.add(m.StockLevel(sku="MUG", warehouse="DE1", on_hand=10, reserved=0))
        order = m.Order(channel="shop-eu", platform_order_id="1", platform_status="cancelled",
                        local_status="cancelled", purchased_at=now, platform_updated_at=now, flags=[])
        order.lines.append(m.OrderLine(platform_line_id="1-1", sku="MUG", quantity=2))
        s.add(order)
        s.flush()
        s.add(m.Reservation(order_line_id=order.lines[0].id, sku="MUG", warehouse="DE1", quantity=2))
