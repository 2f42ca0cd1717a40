"""The checks that call the platform (``crossdock doctor --online``): the
platform answers and the credentials work (an access token is refreshed
through the shared token store, as ``auth refresh`` does), and a read-only
compare of the orders the platform lists for the last 24 hours with the
orders crossdock stored. Nothing on the platform changes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crossdock.doctor.model import FAIL, OK, WARN, DoctorContext, Result
from crossdock.doctor.system import remedy_for
from crossdock.errors import CrossdockError

__all__ = ["COMPARE_WINDOW_S", "ONLINE_CHECKS"]

COMPARE_WINDOW_S = 24 * 3600.0


def check_platform(ctx: DoctorContext, channel: str) -> Result:
    """The platform answers and gives a new access token for the stored credentials."""
    from crossdock.sync_engine.auth_refresh import refresh_channel_token

    try:
        doc = refresh_channel_token(ctx.cfg, ctx.db, channel)
    except CrossdockError as exc:
        return Result("platform", FAIL, f"token refresh refused: {exc.message}", code=exc.code, channel=channel,
                      remedy=remedy_for(exc.code, channel, "crossdock auth status"))
    return Result("platform", OK, f"reachable; new access token valid until {doc['access_expires_at']}",
                  channel=channel)


def _position(ctx: DoctorContext, channel: str) -> dt.datetime | None:
    from crossdock.db.models import SyncCursor

    with ctx.db.read() as s:
        rows = list(s.scalars(select(SyncCursor.position).where(
            SyncCursor.channel == channel, SyncCursor.stream.in_(("orders", "orders_created")))))
    return max(rows) if rows else None


def check_missing_orders(ctx: DoctorContext, channel: str) -> Result:
    """Orders the platform lists (changed in the last 24 h, up to where the
    import says it has read) that crossdock does not have (XD-ORD-010)."""
    from crossdock.connectors.contract import OrderQuery
    from crossdock.db.models import Order
    from crossdock.sync_engine.channels import order_import_group

    position = _position(ctx, channel)
    if position is None:
        return Result("missing orders", OK, "no order import yet: nothing to compare", channel=channel)
    conn = ctx.engine.connectors.get(channel)
    end = min(position, conn.window_end())
    start = end - dt.timedelta(seconds=COMPARE_WINDOW_S)
    marketplace = ctx.cfg.channel(channel).marketplace
    try:
        listed = {o.platform_order_id: o for o in conn.fetch_orders(OrderQuery(start, end))
                  if not marketplace or not o.marketplace_id or o.marketplace_id == marketplace}
    except CrossdockError as exc:
        # no quota left for the compare is not a fault of the shop: a warning to try again later
        status = WARN if exc.code.startswith("XD-QUOTA-") else FAIL
        return Result("missing orders", status, f"orders could not be read: {exc.message}", code=exc.code,
                      channel=channel, remedy=remedy_for(exc.code, channel, "crossdock quota"))
    group = order_import_group(ctx.cfg, channel)
    with ctx.db.read() as s:
        stored = set(s.scalars(select(Order.platform_order_id).where(
            Order.channel.in_(group), Order.platform_order_id.in_(sorted(listed) or [""]))))
    missing = sorted(set(listed) - stored)
    found = f"{len(listed)} order(s) on the platform between {start.isoformat()[:16]} and {end.isoformat()[:16]}"
    if not missing:
        return Result("missing orders", OK, f"{found}, all in crossdock", channel=channel)
    return Result("missing orders", FAIL, f"{found}; {len(missing)} not in crossdock: {', '.join(missing[:5])}",
                  code="XD-ORD-010", channel=channel, details={"missing": missing[:100]},
                  remedy=f"crossdock sync run --job orders --channel {channel} --since 1d")


ONLINE_CHECKS = (check_platform, check_missing_orders)
