"""Users, passwords and API tokens: what ``crossdock users`` and the console's
login call.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's
low-memory profile) and re-hashed on login when those defaults move on. An
API token is 32 random bytes shown once; only its SHA-256 is stored, so a
copy of the database gives no way in. Every change to a user is audited
(``users.*``) with what changed, never the password, its hash or a token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import CursorResult, Executable, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crossdock import audit
from crossdock.access.roles import ROLES
from crossdock.access.tables import ApiToken, ConsoleSession, User
from crossdock.access.throttle import Throttle
from crossdock.db.engine import Database
from crossdock.errors import AccessError, ConfigError

__all__ = ["MIN_PASSWORD", "TOKEN_PREFIX", "Account", "add_user", "authenticate", "check_name", "check_password",
           "disable_user", "new_token", "set_password", "sha256", "user_for_token", "users_doc"]

MIN_PASSWORD = 10
#: API tokens start with this, so a leaked one is recognisable (secret scanners, logs)
TOKEN_PREFIX = "xdt_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_hasher = PasswordHasher()
# verified against when the user does not exist, so a wrong name takes as long as a wrong password
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Account:
    """The user a request acts as."""

    id: int
    name: str
    role: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise ConfigError("XD-CFG-009", detail=f"user name {name!r}: 1 to 64 letters, digits, '.', '_', '@' or "
                                               f"'-', starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise AccessError("XD-ACCESS-011", detail=f"the password has {len(password or '')} characters; at least "
                                                  f"{MIN_PASSWORD} are needed")
    return password


def _count(s: Session, stmt: Executable) -> int:
    """Rows an UPDATE or DELETE changed."""
    return int(cast(CursorResult[Any], s.execute(stmt)).rowcount)


def _user(s: Session, name: str) -> User:
    row = s.scalar(select(User).where(User.name == name))
    if row is None:
        raise AccessError("XD-ACCESS-001", entity=name, detail=f"no user {name!r}")
    return row


def add_user(db: Database, name: str, role: str, password: str) -> dict[str, Any]:
    """A new user; XD-ACCESS-010 when the name is taken."""
    check_name(name)
    if role not in ROLES:
        raise ConfigError("XD-CFG-009", detail=f"--role {role!r}: one of {', '.join(ROLES)}")
    hashed = _hasher.hash(check_password(password))
    try:
        with db.write() as s:
            if s.scalar(select(User.id).where(User.name == name)) is not None:
                raise AccessError("XD-ACCESS-010", entity=name, detail=f"user {name!r} exists")
            s.add(User(name=name, role=role, password_hash=hashed, disabled=False))
            s.flush()
            audit.record(s, action="users.add", subject=f"user {name}", after={"name": name, "role": role})
    except IntegrityError:      # added by someone else between the check and the insert
        raise AccessError("XD-ACCESS-010", entity=name, detail=f"user {name!r} exists") from None
    return {"name": name, "role": role, "disabled": False}


def users_doc(db: Database) -> dict[str, Any]:
    """Every user (no hash, no token): ``users list --json``."""
    with db.read() as s:
        tokens = dict(s.execute(select(ApiToken.user_id, func.count()).where(ApiToken.revoked_at.is_(None))
                                .group_by(ApiToken.user_id)).all())
        rows = s.scalars(select(User).order_by(User.name)).all()
        return {"users": [{"name": u.name, "role": u.role, "disabled": u.disabled,
                           "created_at": u.created_at.isoformat(), "updated_at": u.updated_at.isoformat(),
                           "api_tokens": int(tokens.get(u.id, 0))} for u in rows]}


def set_password(db: Database, name: str, password: str) -> dict[str, Any]:
    """A new password; the user's console sessions end (they log in again)."""
    hashed = _hasher.hash(check_password(password))
    with db.write() as s:
        user = _user(s, name)
        user.password_hash = hashed
        user.updated_at = _now()
        ended = _count(s, delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        audit.record(s, action="users.passwd", subject=f"user {name}", after={"password": "changed",
                                                                               "sessions_ended": ended})
    return {"name": name, "password": "changed", "sessions_ended": ended}


def disable_user(db: Database, name: str) -> dict[str, Any]:
    """No more logins or API calls for ``name``: its sessions end, its tokens are refused."""
    with db.write() as s:
        user = _user(s, name)
        before = user.disabled
        user.disabled = True
        user.updated_at = _now()
        ended = _count(s, delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        revoked = _count(s, update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                         .values(revoked_at=_now()))
        audit.record(s, action="users.disable", subject=f"user {name}", before={"disabled": before},
                     after={"disabled": True, "sessions_ended": ended, "tokens_revoked": revoked})
    return {"name": name, "disabled": True, "was_disabled": before, "sessions_ended": ended,
            "tokens_revoked": revoked}


def new_token(db: Database, name: str, *, label: str = "api") -> dict[str, Any]:
    """A new API token for ``name`` (enabled users only); the token is in the
    result and nowhere else."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.write() as s:
        user = _user(s, name)
        if user.disabled:
            raise AccessError("XD-ACCESS-004", entity=name, detail=f"user {name!r} is disabled")
        row = ApiToken(user_id=user.id, name=label[:64], token_sha256=sha256(token))
        s.add(row)
        s.flush()
        audit.record(s, action="users.token", subject=f"user {name}", after={"token_id": row.id, "label": label})
        token_id = row.id
    return {"name": name, "token_id": token_id, "token": token}


def authenticate(db: Database, name: str, password: str, *, address: str | None, throttle: Throttle,
                 now: dt.datetime | None = None) -> Account:
    """The user ``name`` when ``password`` is theirs. XD-ACCESS-003 while the
    name or address is throttled (checked first: a locked name learns
    nothing), XD-ACCESS-002 for a wrong name or password (alike),
    XD-ACCESS-004 for a disabled user (after the right password only)."""
    now = now or _now()
    with db.write() as s:
        until = throttle.locked_until(s, name, address, now)
        if until is not None:
            raise _throttled(name, until, now)
        user = s.scalar(select(User).where(User.name == name))
        if not _verify(user.password_hash if user else _DUMMY, password) or user is None:
            locked = throttle.failed(s, name, address, now)
            if locked is not None:
                exc = _throttled(name, locked, now)
            else:
                exc = AccessError("XD-ACCESS-002", entity=name, detail="wrong user name or password")
            failed: AccessError | None = exc
        else:
            failed = None
            if user.disabled:
                failed = AccessError("XD-ACCESS-004", entity=name, detail=f"user {name!r} is disabled")
            else:
                throttle.succeeded(s, name)
                if _hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = _hasher.hash(password)
                account = Account(user.id, user.name, user.role)
    if failed is not None:      # raised after the commit: the failure is counted
        raise failed
    return account


def _throttled(name: str, until: dt.datetime, now: dt.datetime) -> AccessError:
    wait = max(1, int((until - now).total_seconds()))
    return AccessError("XD-ACCESS-003", entity=name, retry_after_s=float(wait),
                       detail=f"too many failed logins: try again in {wait} s")


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def user_for_token(db: Database, token: str, *, now: dt.datetime | None = None) -> Account:
    """The enabled user whose current API token this is, else XD-ACCESS-007."""
    now = now or _now()
    digest = sha256(token or "")
    with db.write() as s:
        row = s.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                        .where(ApiToken.token_sha256 == digest)).first()
        if row is None or row.ApiToken.revoked_at is not None or row.User.disabled:
            raise AccessError("XD-ACCESS-007", detail="unknown, revoked or disabled user's token")
        token_row, user = row.ApiToken, row.User
        if token_row.last_used_at is None or now - token_row.last_used_at > dt.timedelta(minutes=1):
            token_row.last_used_at = now     # at most once a minute: a busy API client writes little
        return Account(user.id, user.name, user.role)
