"""``crossdock auth refresh CHANNEL`` and ``config check --online``: a new
access token now, through the engine's connector and the shared token store.

The lines that probe a connector for its refresh API carry ``# platform
branch: registry``: the connector contract gives every platform one refresh.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from crossdock import audit


__all__ = ["refresh_channel_token"]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def refresh_channel_token(cfg: Any, db: Any, channel: str) -> dict[str, Any]:
    """Get a new access token for ``channel`` now, through the shared token
    store (row lock / file lock: a worker refreshing at the same moment is not
    raced, and a rotated refresh token is stored before it is used). The
    current access token is treated as refused, so the platform is always
    asked. Raises the platform's XD-AUTH error when it refuses."""
    from crossdock.connectors.tokens import SqlTokenStore, ensure_channels
    from crossdock.ratelimit.wiring import budget_from_config
    from crossdock.sync_engine.channels import build_connector, clock_from_config
    from crossdock.sync_engine.pauses import pause_state

    ch = cfg.channel(channel)
    ensure_channels(db, cfg.channels.values())
    store = SqlTokenStore(db)
    conn = build_connector(ch, db=db, budget=budget_from_config(cfg, db), clock=clock_from_config(cfg), store=store)
    try:
        before = store.load(channel)
        conn.refresh_access_token(rejected=before.access_token)
    finally:
        conn.close()
    state = store.load(channel)
    paused = pause_state(db, channel).code     # a pause on the credentials refreshed now is lifted
    with db.write() as s:                      # a new token is a change: who asked, and the dates (never a token)
        audit.record(s, action="channels.refresh_token", subject=f"channel {channel}",
                     before={"access_expires_at": _iso(before.access_expires_at)},
                     after={"access_expires_at": _iso(state.access_expires_at),
                            "refresh_expires_at": _iso(state.refresh_expires_at)})
    return {"channel": channel, "refreshed": True, "access_expires_at": _iso(state.access_expires_at),
            "refresh_expires_at": _iso(state.refresh_expires_at), "paused_code": paused}
