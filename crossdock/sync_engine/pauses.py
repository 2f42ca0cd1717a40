"""A channel paused for its credentials, tied to the credentials it judged.

An authorisation failure (the catalogue's ``pause`` action) pauses its
channel: its jobs wait for a person. The decision is about one version of the
channel's credentials (``credentials.version``: moved on by every successful
refresh and every new credential, see
:class:`~crossdock.connectors.base.TokenStore`), so:

- :func:`pause_channel` writes the pause only while the credentials are still
  the version the failure was decided on (the refresh attempt's, carried by
  the error as ``context["credential_version"]``, else the version the job
  saw when it started). A worker that stalled with a refusal in hand and
  comes back after ``auth set`` or another worker's successful refresh does
  not pause anything (``channel.pause`` skipped, in the sync log);
- a channel already paused is not paused again: one ``channel.pause`` event
  per pause, however many of its jobs fail meanwhile;
- :func:`paused` tries a paused channel again by itself once its credentials
  moved past the version that paused it (``auth refresh`` succeeded, new
  credentials stored): ``channel.resume`` in the sync log. If they still
  fail, the next failure pauses it again, on the new version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.connectors.base import CREDENTIAL_VERSION
from crossdock.db.base import utcnow
from crossdock.db.engine import Database
from crossdock.db.models import Channel, Credential
from crossdock.errors import CrossdockError
from crossdock.sync_engine._sql import changed, is_postgres

log = logging.getLogger(__name__)

__all__ = ["ALREADY_PAUSED", "PAUSED", "STALE", "PauseState", "credential_version", "pause_channel", "pause_state",
           "paused"]

# What pause_channel did.
PAUSED, ALREADY_PAUSED, STALE = "paused", "already_paused", "stale"


@dataclass(frozen=True, slots=True)
class PauseState:
    """A channel's pause (``code`` None: running) and its credentials' version now."""

    code: str | None
    credential_version: int


def credential_version(session: Session, channel: str, *, lock: bool = False) -> int:
    """``credentials.version`` of ``channel`` (0 without a row). ``lock``: hold
    the row (PostgreSQL), so a refresh or ``auth set`` waits for us."""
    stmt = select(func.coalesce(Credential.version, 0)).where(Credential.channel == channel)
    if lock and is_postgres(session):
        stmt = stmt.with_for_update()
    return int(session.scalar(stmt) or 0)


def pause_channel(db: Database, channel: str, exc: CrossdockError, *, seen_version: int | None = None) -> str:
    """Pause ``channel`` for ``exc`` unless it is paused already or its
    credentials moved past the version the failure judged (see module doc).
    Returns :data:`PAUSED`, :data:`ALREADY_PAUSED` or :data:`STALE`."""
    judged = exc.context.get(CREDENTIAL_VERSION, seen_version)
    with db.write() as s:
        now_version = credential_version(s, channel, lock=True)
        if judged is not None and int(judged) != now_version:
            if s.scalar(select(Channel.paused_code).where(Channel.name == channel)):
                return ALREADY_PAUSED
            synclog.record(s, synclog.event_from_error(
                "channel.pause", exc, outcome="skipped", channel=channel, entity_type="channel", entity=channel,
                details={"judged_credential_version": int(judged), "credential_version": now_version}))
            log.info("%s: %s not acted on: the credentials changed since (version %s, now %s)", channel, exc.code,
                     judged, now_version)
            return STALE
        n = changed(s, update(Channel).where(Channel.name == channel, Channel.paused_code.is_(None))
                    .values(paused_code=exc.code, paused_reason=exc.detail[:500], paused_at=utcnow(),
                            paused_credential_version=now_version))
        if n != 1:
            return ALREADY_PAUSED
        synclog.record(s, synclog.event_from_error("channel.pause", exc, channel=channel, entity_type="channel",
                                                   entity=channel, details={"credential_version": now_version}))
    return PAUSED


# The channel's pause and its credentials' version in one prebuilt statement (asked before every job)
_VERSION = select(func.coalesce(Credential.version, 0)).where(Credential.channel == bindparam("channel"))
_PAUSE = select(Channel.paused_code, Channel.paused_credential_version,
                _VERSION.scalar_subquery().label("version")).where(Channel.name == bindparam("channel"))


def pause_state(db: Database, channel: str) -> PauseState:
    """The channel's pause now; a pause whose credentials moved on since is
    lifted first (the channel is tried again)."""
    with db.glance() as conn:
        row = conn.execute(_PAUSE, {"channel": channel}).first()
        version = int((row.version if row is not None else conn.execute(_VERSION, {"channel": channel}).scalar())
                      or 0)
    if row is None or not row.paused_code:
        return PauseState(None, version)
    if row.paused_credential_version is None or row.paused_credential_version == version:
        return PauseState(row.paused_code, version)
    return PauseState(_resume_on_new_credentials(db, channel, row.paused_code, row.paused_credential_version,
                                                 version), version)


def paused(db: Database, channel: str | None) -> str | None:
    """The code ``channel`` is paused with, or None (see :func:`pause_state`)."""
    return pause_state(db, channel).code if channel else None


def _resume_on_new_credentials(db: Database, channel: str, code: str, old: int, new: int) -> str | None:
    """Lift a pause decided on credentials version ``old`` now that they are
    ``new``; returns the pause left (None, or a pause someone wrote meanwhile)."""
    with db.write() as s:
        n = changed(s, update(Channel).where(Channel.name == channel, Channel.paused_code == code,
                                             Channel.paused_credential_version == old)
                    .values(paused_code=None, paused_reason=None, paused_at=None, paused_credential_version=None,
                            updated_at=utcnow()))
        if n == 1:
            synclog.record(s, operation="channel.resume", outcome="ok", channel=channel, entity_type="channel",
                           entity=channel, message=f"credentials changed since the pause with {code} (version {old}"
                                                   f" → {new}): tried again",
                           details={"previous_code": code, "credential_version": new})
            log.info("%s: credentials changed since the pause (%s); tried again", channel, code)
            return None
        return s.scalar(select(Channel.paused_code).where(Channel.name == channel))
