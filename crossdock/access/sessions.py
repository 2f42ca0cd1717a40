"""Console sessions and CSRF tokens.

A session is 32 random bytes in an HttpOnly cookie; the database keeps its
SHA-256, its user and its end. Logging in always makes a new one (the cookie a
visitor had before is never promoted: no session fixation); logging out,
a new password or disabling the user deletes it, so a copied cookie stops
working everywhere at once.

A form's CSRF token is an HMAC of the cookie it belongs to (the session's, or
before login the visitor's pre-login cookie) under a key derived from
crossdock's secret key: a form from another site cannot know it, and every
serve process computes the same one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import delete, select

from crossdock.access.tables import ConsoleSession, User
from crossdock.access.users import Account, sha256
from crossdock.db.engine import Database

__all__ = ["csrf_key", "csrf_ok", "csrf_token", "end_session", "new_session", "session_account"]


def csrf_key(secret_key: str) -> bytes:
    """The CSRF key: derived from the secret key, never the key itself."""
    return hashlib.sha256(b"crossdock console csrf\0" + secret_key.encode("utf-8")).digest()


def csrf_token(key: bytes, cookie: str) -> str:
    return hmac.new(key, cookie.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, cookie: str | None, sent: Any) -> bool:
    """Whether ``sent`` is the token of ``cookie`` (constant time)."""
    if not cookie or not isinstance(sent, str) or not sent:
        return False
    return hmac.compare_digest(csrf_token(key, cookie), sent)


def new_session(db: Database, account: Account, *, lifetime_s: float, now: dt.datetime | None = None) -> str:
    """A new session for ``account``: the cookie value (its only copy). Sessions
    that ended are swept on the way."""
    now = now or dt.datetime.now(dt.timezone.utc)
    value = secrets.token_urlsafe(32)
    with db.write() as s:
        s.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
        s.add(ConsoleSession(id_sha256=sha256(value), user_id=account.id, created_at=now,
                             expires_at=now + dt.timedelta(seconds=lifetime_s)))
    return value


def session_account(db: Database, cookie: str | None, *, now: dt.datetime | None = None) -> Account | None:
    """The enabled user of a current session, or None."""
    if not cookie:
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    with db.read() as s:
        row = s.execute(select(User.id, User.name, User.role)
                        .join(ConsoleSession, ConsoleSession.user_id == User.id)
                        .where(ConsoleSession.id_sha256 == sha256(cookie), ConsoleSession.expires_at > now,
                               User.disabled.is_(False))).first()
    return Account(row.id, row.name, row.role) if row is not None else None


def end_session(db: Database, cookie: str | None) -> None:
    if cookie:
        with db.write() as s:
            s.execute(delete(ConsoleSession).where(ConsoleSession.id_sha256 == sha256(cookie)))
