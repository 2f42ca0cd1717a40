"""A channel paused and resumed by a person (the console's Channels page,
``POST /api/channels/NAME/pause``): XD-SYNC-009.

The engine treats it as any pause (its jobs wait, the other channels run),
but it is tied to no credentials version, so new credentials do not lift it
(:func:`crossdock.sync_engine.pauses.pause_state`): only a resume does. A
resume lifts any pause, as ``crossdock auth resume`` does. Both are audited
(who, by which way, the pause before and after) and in the sync log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from crossdock import audit, synclog
from crossdock.db.base import utcnow
from crossdock.db.engine import Database
from crossdock.db.models import Channel
from crossdock.errors import ConfigError

__all__ = ["HAND_PAUSE_CODE", "pause_by_hand", "resume_by_hand"]

HAND_PAUSE_CODE = "XD-SYNC-009"


def _channel(s: Any, name: str) -> Channel:
    row = s.get(Channel, name, with_for_update=True)
    if row is None:
        known = ", ".join(s.scalars(select(Channel.name).order_by(Channel.name))) or "none yet"
        raise ConfigError("XD-CFG-007", detail=f"channel {name!r} (known: {known})")
    return row


def pause_by_hand(db: Database, channel: str, *, reason: str) -> dict[str, Any]:
    """Pause ``channel`` (a channel already paused keeps its pause and code)."""
    reason = (reason or "paused by hand").strip()[:500]
    with db.write() as s:
        row = _channel(s, channel)
        before = {"paused_code": row.paused_code}
        if row.paused_code:
            return {"channel": channel, "paused": False, "paused_code": row.paused_code}
        s.execute(update(Channel).where(Channel.name == channel)
                  .values(paused_code=HAND_PAUSE_CODE, paused_reason=reason, paused_at=utcnow(),
                          paused_credential_version=None, updated_at=utcnow()))
        synclog.record(s, operation="channel.pause", outcome="ok", code=HAND_PAUSE_CODE, channel=channel,
                       entity_type="channel", entity=channel, message=f"paused by {audit.actor()}: {reason}")
        audit.record(s, action="channels.pause", subject=f"channel {channel}", before=before,
                     after={"paused_code": HAND_PAUSE_CODE, "reason": reason})
    return {"channel": channel, "paused": True, "paused_code": HAND_PAUSE_CODE}


def resume_by_hand(db: Database, channel: str) -> dict[str, Any]:
    """Lift ``channel``'s pause, whatever paused it."""
    with db.write() as s:
        row = _channel(s, channel)
        previous = row.paused_code
        if not previous:
            return {"channel": channel, "resumed": False, "was_paused_with": None}
        s.execute(update(Channel).where(Channel.name == channel)
                  .values(paused_code=None, paused_reason=None, paused_at=None, paused_credential_version=None,
                          updated_at=utcnow()))
        synclog.record(s, operation="channel.resume", outcome="ok", channel=channel, entity_type="channel",
                       entity=channel, message=f"resumed by {audit.actor()}; was paused with {previous}",
                       details={"previous_code": previous})
        audit.record(s, action="channels.resume", subject=f"channel {channel}", before={"paused_code": previous},
                     after={"paused_code": None})
    return {"channel": channel, "resumed": True, "was_paused_with": previous}
