"""The checks of one channel, from what crossdock has stored: paused,
credential expiry, import lag, quota and 429s, failed jobs, stuck orders,
drift found by the last reconcile, unlinked listings, products failing the
channel's listing rules. The checks that call the platform are in
:mod:`crossdock.doctor.online`."""

from __future__ import annotations


from typing import Any

from sqlalchemy import func, or_, select

from crossdock.doctor.model import FAIL, OK, WARN, DoctorContext, Result
from crossdock.doctor.system import remedy_for

__all__ = ["CHANNEL_CHECKS", "EXPIRY_FAIL_DAYS", "EXPIRY_STAGES", "LAG_FAIL_FACTOR", "LAG_WARN_FACTOR",
           "THROTTLE_STORM", "lag_factor"]

EXPIRY_STAGES = (30.0, 7.0, 1.0)     # days: warn from the first, fail from the second; an alert at each
EXPIRY_FAIL_DAYS = 7.0
LAG_WARN_FACTOR = 3.0                # import lag over this many order intervals: warn ([alerts] lag_factor)
LAG_FAIL_FACTOR = 3.0                # … and over this many times that: fail
LAG_SLACK_S = 300.0                  # platform seconds on top: windows end behind now (Amazon shows orders 2 min late)
THROTTLE_STORM = 20                  # 429s in the last hour on one account: fail
_WHAT = {"refresh_token": "refresh token", "seller_authorisation": "seller authorisation",
         "client_secret": "client secret", "trading_token": "Trading API token"}


def lag_factor(cfg: Any) -> float:
    """Import lag over this many order intervals is a warning (``[alerts] lag_factor``)."""
    return float((cfg.alerts or {}).get("lag_factor", LAG_WARN_FACTOR))


def check_paused(ctx: DoctorContext, channel: str) -> Result:
    """A channel paused after an authorisation failure does nothing until someone acts."""
    row = ctx.status["channels"].get(channel) or {}
    if row.get("paused"):
        code = row["paused_code"] or "XD-SYNC-002"
        return Result("paused", FAIL, f"paused since {(row['paused_at'] or '?')[:19]}: "
                                      f"{row['paused_reason'] or code}", code=code, channel=channel,
                      remedy=remedy_for(code, channel, "crossdock auth status"))
    return Result("paused", OK, "running", channel=channel)


def check_expiry(ctx: DoctorContext, channel: str) -> list[Result]:
    """Refresh token, seller authorisation, client secret, Trading token:
    warn within 30 days, fail within 7 (and when expired)."""
    from crossdock.connectors.credentials import auth_status_doc

    warn_days = max(EXPIRY_STAGES[0], float(ctx.cfg.sync.get("token_warning_days", EXPIRY_STAGES[0])))
    doc = ctx.shared(("auth status", warn_days),
                     lambda: auth_status_doc(ctx.cfg, ctx.db, ctx.now, within_days=warn_days))
    out = []
    for w in doc["warnings"]:
        if w["channel"] != channel:
            continue
        days = float(w["days_left"])
        stage = min((s for s in EXPIRY_STAGES if days <= s), default=warn_days)
        status = FAIL if w["expired"] or days <= EXPIRY_FAIL_DAYS else WARN
        out.append(Result("credential expiry", status, w["message"], code=w["code"], channel=channel,
                          subject=f"{w['what']} within {stage:g} days" if not w["expired"] else w["what"],
                          remedy=w["command"] or remedy_for(w["code"], channel),
                          details={"what": w["what"], "expires_at": w["expires_at"], "days_left": days}))
    if not out:
        return [Result("credential expiry", OK, f"nothing expires within {warn_days:g} days", channel=channel)]
    return out


def check_import_lag(ctx: DoctorContext, channel: str) -> Result:
    """How far the order import trails the platform's now, against the channel's order interval."""
    row = ctx.status["channels"].get(channel) or {}
    every = float(ctx.cfg.channel(channel).intervals_s.get("orders", 120))
    warn_after = lag_factor(ctx.cfg) * every + LAG_SLACK_S
    fail_after = LAG_FAIL_FACTOR * lag_factor(ctx.cfg) * every + LAG_SLACK_S
    lag = (row.get("orders") or {}).get("lag_s")
    if lag is None:
        return Result("import lag", WARN, "no order import has completed yet", code="XD-ORD-009",
                      channel=channel, remedy=f"crossdock sync run --job orders --channel {channel}")
    found = f"orders imported up to {lag:.0f} s ago (interval {every:g} s)"
    details = {"lag_s": lag, "interval_s": every}
    if lag > fail_after:
        status = FAIL
    elif lag > warn_after:
        status = WARN
    else:
        return Result("import lag", OK, found, channel=channel, details=details)
    return Result("import lag", status, found, code="XD-ORD-009", channel=channel, details=details,
                  remedy=f"crossdock sync run --job orders --channel {channel}")


def check_quota(ctx: DoctorContext, channel: str) -> Result:
    """429s in the last hour and exhausted windows on the channel's account."""
    from crossdock.ratelimit.wiring import quota_doc, uses_database

    ch = ctx.cfg.channel(channel)
    # every account's snapshot once per round; this channel's platform and account of it
    doc = ctx.shared("quota", lambda: quota_doc(ctx.cfg, ctx.db if uses_database(ctx.cfg) else None))
    entries = [e for e in doc["quota"] if e["platform"] == ch.platform and e["account"] == ch.account]
    throttled = sum(int(e.get("throttled_last_hour") or 0) for e in entries if e["kind"] == "bucket")
    exhausted = [e for e in entries if e["code"] in ("XD-QUOTA-002", "XD-QUOTA-004")]
    ops = sorted({e["operation"] for e in entries if e["kind"] == "bucket" and e.get("throttled_last_hour")})
    details = {"throttled_last_hour": throttled, "operations": ops}
    if exhausted:
        e = exhausted[0]
        return Result("quota", FAIL, f"{e.get('window', e.get('operation'))} used up until {e.get('resets_at')}",
                      code=e["code"], channel=channel, remedy="crossdock quota", details=details)
    if throttled:
        status = FAIL if throttled >= THROTTLE_STORM else WARN
        return Result("quota", status, f"{throttled} call(s) throttled (429) in the last hour ({', '.join(ops)})",
                      code="XD-QUOTA-001", channel=channel, remedy="crossdock quota", details=details)
    return Result("quota", OK, "no 429 in the last hour", channel=channel, details=details)


def check_failed_jobs(ctx: DoctorContext, channel: str) -> Result:
    """Jobs that used up their retries (XD-SYNC-001) and wait for a person."""
    from crossdock.db.models import OutboxEntry

    with ctx.db.read() as s:
        rows = s.execute(select(OutboxEntry.kind, OutboxEntry.last_code, func.count())
                         .where(OutboxEntry.channel == channel, OutboxEntry.status == "failed")
                         .group_by(OutboxEntry.kind, OutboxEntry.last_code)).all()
    n = sum(int(c) for _, _, c in rows)
    if not n:
        return Result("failed jobs", OK, "none", channel=channel)
    what = ", ".join(f"{kind} {code or ''}".strip() + f" ×{c}" for kind, code, c in rows[:5])
    return Result("failed jobs", FAIL, f"{n} failed job(s): {what}", code="XD-SYNC-001", channel=channel,
                  remedy=f"crossdock jobs failed --channel {channel}", details={"failed": n})


def check_stuck_orders(ctx: DoctorContext, channel: str) -> list[Result]:
    """Orders whose status differs from the platform's (XD-ORD-002) or past handling time (XD-ORD-003)."""
    from sqlalchemy import String, cast

    from crossdock.db.models import Order

    codes = ("XD-ORD-002", "XD-ORD-003")
    flagged = [cast(Order.flags, String).like(f"%{code}%") for code in codes]
    with ctx.db.read() as s:        # one query for both flags: (order id, has 002, has 003) in id order
        rows = s.execute(select(Order.platform_order_id, *flagged)
                         .where(Order.channel == channel, or_(*flagged)).order_by(Order.id)).all()
    out = []
    for i, code in enumerate(codes, start=1):
        ids = [row[0] for row in rows if row[i]]
        if ids:
            out.append(Result("stuck orders", WARN, f"{len(ids)} order(s) flagged {code}: {', '.join(ids[:5])}",
                              code=code, channel=channel, subject=code,
                              remedy=(remedy_for(code, channel) or "").replace("ORDER", ids[0]) or None,
                              details={"orders": ids[:50]}))
    return out or [Result("stuck orders", OK, "none", channel=channel)]


def check_drift(ctx: DoctorContext, channel: str) -> Result:
    """Quantities and prices the last reconcile found different on the channel (XD-INV-002, XD-MAP-013)."""
    from crossdock.sync_engine.drift import last_drift

    with ctx.db.read() as s:
        found = last_drift(s, channel)
    if found is None:
        return Result("drift", OK, "no reconcile has run yet", channel=channel)
    stock, prices = list(found.quantities), list(found.prices)
    when = found.at.isoformat()[:19]
    if not stock and not prices:
        return Result("drift", OK, f"last reconcile {when}: no drift", channel=channel)
    code = "XD-INV-002" if stock else "XD-MAP-013"
    return Result("drift", WARN, f"last reconcile {when}: {len(stock)} quantity and {len(prices)} price drift(s) "
                                 f"({', '.join((stock or prices)[:5])})", code=code, channel=channel,
                  remedy=f"crossdock sync reconcile {channel} --apply",
                  details={"quantities": stock[:50], "prices": prices[:50]})


def check_unlinked_listings(ctx: DoctorContext, channel: str) -> Result:
    """Listings the last ``listings pull`` found on the platform that crossdock cannot link (unknown SKU, conflicts)."""
    from crossdock.db.models import ChannelListing
    from crossdock.sync_engine.drift import last_runs

    with ctx.db.read() as s:
        runs = last_runs(s, channel, "listings.pull")
        linked = s.scalar(select(func.count()).select_from(ChannelListing).where(ChannelListing.channel == channel))
    if not runs and linked:
        return Result("unlinked listings", OK, f"{linked} listing(s) linked; no listings pull recorded",
                      channel=channel)
    if not runs:
        return Result("unlinked listings", WARN, "no listings pull recorded: listings on the platform are not "
                                                 "linked to the catalogue", code="XD-INV-004", channel=channel,
                      remedy=f"crossdock listings pull --channel {channel}")
    details = runs[0].details or {}
    unknown, conflicts = list(details.get("unknown") or []), list(details.get("conflicts") or [])
    if conflicts:
        return Result("unlinked listings", WARN, f"{len(conflicts)} SKU(s) listed more than once: "
                                                 f"{', '.join(conflicts[:5])}", code="XD-INV-011", channel=channel,
                      remedy="crossdock listings link SKU --channel " + channel + " LISTING_ID", details=details)
    if unknown:
        return Result("unlinked listings", WARN, f"{len(unknown)} listing(s) with a SKU not in the catalogue: "
                                                 f"{', '.join(unknown[:5])}", code="XD-INV-004", channel=channel,
                      remedy=f"crossdock listings pull --channel {channel} --adopt", details=details)
    return Result("unlinked listings", OK, f"every listing linked (pull {runs[0].at.isoformat()[:19]})",
                  channel=channel)


def check_listing_rules(ctx: DoctorContext, channel: str) -> Result:
    """Catalogue products not listed on the channel yet that its listing
    rules would refuse at the price the channel's price rule gives today (as
    the listings job checks them), and listings the platform rejected."""
    from decimal import Decimal

    from crossdock.db.models import ChannelListing, Product as ProductRow
    from crossdock.errors import MappingError
    from crossdock.mapping.pricing import compute_price
    from crossdock.mapping.validation import validate_listing
    from crossdock.models import Money
    from crossdock.sync_engine.jobs.listings import NOT_LISTED_STATUSES, product_of_row, listing_channel
    from crossdock.sync_engine.jobs.prices import fx_table, price_rule

    target = listing_channel(ctx.cfg, channel)
    rule = price_rule(ctx.cfg, channel)
    failing: dict[str, str] = {}
    listed_here = (ChannelListing.channel == channel, ChannelListing.status.not_in(NOT_LISTED_STATUSES))
    with ctx.db.read() as s:
        fx = ctx.shared("fx table", lambda: fx_table(s))         # the stored rates, read once per round
        listed = set(s.scalars(select(ChannelListing.sku).where(*listed_here)))
        # only the products not listed here are loaded and checked
        unlisted = select(ProductRow).where(~select(ChannelListing.id).where(
            *listed_here, ChannelListing.sku == ProductRow.sku).exists()).order_by(ProductRow.sku)
        for row in s.scalars(unlisted):
            if row.sku in listed:
                continue
            if row.base_price is None or not row.base_currency:
                failing[row.sku] = "XD-MAP-003"
                continue
            try:
                price = compute_price(Money(Decimal(row.base_price), row.base_currency), target.currency, rule, fx,
                                      ctx.platform_now.date(), sku=row.sku)
            except MappingError as exc:
                failing[row.sku] = exc.code
                continue
            issues = validate_listing(product_of_row(row), target, price=price)
            if issues:
                failing[row.sku] = issues[0].code
        rejected = list(s.execute(select(ChannelListing.sku, ChannelListing.platform_ids).where(
            ChannelListing.channel == channel, ChannelListing.status == "rejected")))
    for sku, ids in rejected:
        failing.setdefault(sku, ((ids or {}).get("rejection") or {}).get("code") or "XD-PLATFORM-003")
    if not failing:
        return Result("listing rules", OK, f"{len(listed)} product(s) listed; every other one passes the "
                                           "channel's listing rules", channel=channel)
    first = sorted(failing)[0]
    return Result("listing rules", WARN, f"{len(failing)} product(s) fail the listing rules: "
                                         f"{', '.join(f'{k} ({v})' for k, v in sorted(failing.items())[:5])}",
                  code=failing[first], channel=channel, remedy=f"crossdock catalog show {first}",
                  details={"failing": dict(sorted(failing.items())[:50])})


CHANNEL_CHECKS = (check_paused, check_expiry, check_import_lag, check_quota, check_failed_jobs, check_stuck_orders,
                  check_drift, check_unlinked_listings, check_listing_rules)

