"""The warehouse checks: which carriers are integrated (labels booked and
parcels tracked by crossdock) and which are manual (tracking numbers typed,
parcels never tracked), and parcels without tracking news for days
(XD-SHIP-002, flagged by the tracking job)."""

from __future__ import annotations

from sqlalchemy import String, cast, select

from crossdock.doctor.model import FAIL, OK, WARN, DoctorContext, Result
from crossdock.errors import CrossdockError

__all__ = ["WAREHOUSE_CHECKS"]

SILENT_CODE = "XD-SHIP-002"


def check_carriers(ctx: DoctorContext) -> Result:
    """The carriers the configuration ships with (``[rules.shipping] carrier``, ``[sync] auto_ship_carrier``)."""
    from crossdock.warehouse.carriers.registry import get_carrier

    names = {str(((ctx.cfg.rules or {}).get("shipping") or {}).get("carrier", "sandbox"))}
    if ctx.cfg.sync.get("auto_ship"):
        names.add(str(ctx.cfg.sync.get("auto_ship_carrier", "sandbox")))
    parts = []
    for name in sorted(names):
        try:
            carrier = get_carrier(name)
        except CrossdockError as exc:
            return Result("carriers", FAIL, exc.message, code=exc.code, remedy="crossdock config check")
        tracked = bool(getattr(carrier, "trackable", True))
        parts.append(f"{name}: " + ("integrated (labels booked, parcels tracked)" if tracked
                                    else "manual (tracking numbers typed, parcels not tracked)"))
    return Result("carriers", OK, "; ".join(parts))


def check_silent_parcels(ctx: DoctorContext) -> Result | None:
    """Orders whose parcel has had no tracking news for ``[sync] tracking_silence_days``."""
    from crossdock.db.models import Order

    if ctx.db is None:
        return None
    with ctx.db.read() as s:
        ids = list(s.scalars(select(Order.platform_order_id).where(
            cast(Order.flags, String).like(f"%{SILENT_CODE}%")).order_by(Order.id)))
    days = float(ctx.cfg.sync.get("tracking_silence_days", 7.0))
    if not ids:
        return Result("parcels", OK, f"no parcel silent for {days:g} days")
    return Result("parcels", WARN, f"{len(ids)} parcel(s) without tracking news for {days:g} days: "
                                   f"{', '.join(ids[:5])}", code=SILENT_CODE, remedy="crossdock warehouse flagged",
                  details={"orders": ids[:50]})


WAREHOUSE_CHECKS = (check_carriers, check_silent_parcels)
