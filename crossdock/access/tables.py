"""The tables of console access: users, their API tokens, console sessions
and the login throttle (migration 0010).

Nothing here holds a secret in a form that can be used: passwords as argon2
hashes, API tokens and session cookies as SHA-256 of the random value the
person holds. The throttle lives in the database, so every ``crossdock serve``
process behind one proxy counts the same failures.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crossdock.db.base import Base, utcnow

__all__ = ["ApiToken", "ConsoleSession", "LoginFailure", "User"]

BigId = BigInteger().with_variant(Integer(), "sqlite")


class User(Base):
    """A person who uses the console or the API, with one role (:mod:`crossdock.access.roles`)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiToken(Base):
    """A bearer token for ``/api/``: only its SHA-256 is kept (the token is shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class ConsoleSession(Base):
    """A logged-in browser: the cookie's SHA-256, its user and when it ends.
    Server-side, so logging out or disabling the user ends it everywhere."""

    __tablename__ = "console_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    __table_args__ = (Index("ix_console_sessions_expires_at", "expires_at"),)


class LoginFailure(Base):
    """Failed logins of one key (``user:NAME`` or ``addr:ADDRESS``) since ``first_at``."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[dt.datetime]
    locked_until: Mapped[dt.datetime | None]
