"""The Overview page's figures per channel, from the commands' documents.

- quota: ``crossdock quota --json`` (:func:`crossdock.ratelimit.wiring.quota_doc`)
  entries of the channel's platform and account: calls and 429s in the last
  hour, and the emptiest bucket (its operation and how full it is);
- credentials: ``auth status --json``'s dates with the days left at ``now``;
- drift: ``sync status --json``'s last reconcile (already in the status document).

A budget that cannot be read (Redis down, XD-NET/XD-DATA…) is shown as its
code on the page, not a blank.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from crossdock.clock import parse_iso
from crossdock.errors import CrossdockError

__all__ = ["CREDENTIAL_LABELS", "credential_days", "quota_by_channel"]

#: ``auth status --json`` field → how the page names it
CREDENTIAL_LABELS = {"refresh_expires_at": "refresh token", "authorisation_expires_at": "authorisation",
                     "client_secret_expires_at": "client secret", "trading_token_expires_at": "Trading token"}


def quota_by_channel(cfg: Any, db: Any) -> tuple[dict[str, dict[str, Any]], CrossdockError | None]:
    """{channel: {calls_last_hour, throttled_last_hour, lowest: {operation, available, burst, level}}}."""
    from crossdock.ratelimit.wiring import quota_doc, uses_database

    try:
        entries = quota_doc(cfg, db if uses_database(cfg) else None)["quota"]
    except CrossdockError as exc:
        return {}, exc
    out: dict[str, dict[str, Any]] = {}
    for name, ch in cfg.channels.items():
        mine = [e for e in entries if e["kind"] == "bucket" and e["platform"] == ch.platform
                and e["account"] == ch.account]
        lowest = min((e for e in mine if e["burst"]), key=lambda e: e["available"] / e["burst"], default=None)
        out[name] = {"calls_last_hour": sum(e["calls_last_hour"] for e in mine),
                     "throttled_last_hour": sum(e["throttled_last_hour"] for e in mine),
                     "lowest": None if lowest is None else {
                         "operation": lowest["operation"], "available": lowest["available"],
                         "burst": lowest["burst"], "level": lowest["available"] / lowest["burst"]}}
    return out, None


def credential_days(auth_channel: dict[str, Any] | None, now: dt.datetime) -> list[dict[str, Any]]:
    """The channel's credential dates with the whole days left (or since it expired)."""
    if not auth_channel:
        return []
    out = []
    for field, label in CREDENTIAL_LABELS.items():
        when = auth_channel.get(field)
        if when:
            left = (parse_iso(when) - now).total_seconds() / 86_400
            out.append({"what": label, "until": when[:10], "expired": left <= 0,
                        "days": int(abs(left))})   # whole days left, or since it expired
    return out
