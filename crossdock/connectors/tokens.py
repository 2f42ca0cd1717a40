"""The token store in the database: tokens encrypted at rest, and one refresh
at a time per channel across threads *and processes*.

The credentials row is the lock: a refresh runs inside a write transaction that
holds it (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
write lock), re-reads the state, and only refreshes if it is still needed — so
a second worker waiting on the lock finds the fresh token and does not refresh
again, and a rotating refresh token (Shopify) is never sent twice. The new
tokens commit before :meth:`SqlTokenStore.refresh` returns, i.e. before the
new access token is used.

Trade-off: the platform's token call runs while the lock is held. Refreshes
are rare (hourly at most per channel) and bounded by the HTTP timeout, so this
is cheaper than the failure it prevents.

On SQLite a row lock would be the whole database's write lock, and the token
call itself needs the database (the quota budget's buckets live there): it
would wait on itself until the busy timeout. So on SQLite the lock is an
exclusive ``flock`` on a file beside the database (cross-thread and
cross-process, as SQLite itself is one machine), and the database is only
written in a short transaction after the call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
from collections.abc import Iterable
from typing import Any, Callable, Iterator, Protocol, TypedDict

from sqlalchemy import bindparam, select

from crossdock.connectors.base import RefreshResult, TokenState, judged_on
from crossdock.db.base import utcnow
from crossdock.db.engine import Database
from crossdock.db.models import Channel, Credential
from crossdock.secrets import decrypt, encrypt, keys, remember

_C = Credential.__table__.c
# What load reads of a credentials row (every column _state uses), built once: every platform call loads
# its channel's token.
_LOAD = select(_C.access_token_enc, _C.access_expires_at, _C.refresh_token_enc, _C.refresh_expires_at,
               _C.authorisation_expires_at, _C.client_secret_expires_at, _C.version).where(
    _C.channel == bindparam("channel"))


def _dec(value: str | None, what: str) -> str | None:
    return decrypt(value, what=what) if value else None


def _enc(value: str | None) -> str | None:
    if value:
        remember(value)
        return encrypt(value)
    return None


def _state(channel: str, row: Credential | Any | None) -> TokenState:
    if row is None:
        return TokenState(channel=channel)
    return TokenState(
        channel=channel,
        access_token=_dec(row.access_token_enc, f"{channel} access token"),
        access_expires_at=row.access_expires_at,
        refresh_token=_dec(row.refresh_token_enc, f"{channel} refresh token"),
        refresh_expires_at=row.refresh_expires_at,
        authorisation_expires_at=row.authorisation_expires_at,
        client_secret_expires_at=row.client_secret_expires_at,
        version=row.version,
    )


def _write(row: Credential, state: TokenState) -> None:
    row.access_token_enc = _enc(state.access_token)
    row.access_expires_at = state.access_expires_at
    row.refresh_token_enc = _enc(state.refresh_token)
    row.refresh_expires_at = state.refresh_expires_at
    row.authorisation_expires_at = state.authorisation_expires_at
    row.client_secret_expires_at = state.client_secret_expires_at


class ExpiringCredential(TypedDict):
    """A stored credential end date within the warning horizon (XD-AUTH-005)."""

    channel: str
    what: str                   # refresh_token | seller_authorisation | client_secret
    expires_at: dt.datetime
    expired: bool


class SqlTokenStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # channel → (the row as read and the keys that decrypted it, its state): see load
        self._decrypted: dict[str, tuple[tuple[Any, ...], TokenState]] = {}

    def load(self, channel: str) -> TokenState:
        """The channel's credentials as stored now: read from the database on
        every call (another worker or process may have refreshed them, ``auth
        set`` replaced them, a revocation removed them). Only the decryption is
        remembered: a row read again exactly as before (its ciphertexts, dates
        and version), under the same keys, is the state decrypted last time."""
        with self.db.glance() as c:
            row = c.execute(_LOAD, {"channel": channel}).first()
        if row is None:
            return TokenState(channel=channel)
        if not (row.access_token_enc or row.refresh_token_enc):
            return _state(channel, row)
        seen = (tuple(row), tuple(keys()))
        known = self._decrypted.get(channel)
        if known is not None and known[0] == seen:
            return known[1]
        state = _state(channel, row)
        self._decrypted[channel] = (seen, state)
        return state

    def save(self, state: TokenState) -> None:
        with self.db.write() as s:
            row = s.get(Credential, state.channel)
            if row is None:
                row = Credential(channel=state.channel, version=0)
                s.add(row)
            _write(row, state)
            row.version = (row.version or 0) + 1

    def seed_refresh_token(self, channel: str, refresh_token: str, *,
                           refresh_expires_at: dt.datetime | None = None,
                           authorisation_expires_at: dt.datetime | None = None,
                           client_secret_expires_at: dt.datetime | None = None) -> None:
        """Store a refresh token from configuration unless the store already
        holds a newer one (a rotated token must not be overwritten by the
        original from the config file)."""
        with self.db.write() as s:
            row = s.get(Credential, channel)
            if row is not None and row.refresh_token_enc:
                return
            if row is None:
                row = Credential(channel=channel, version=0)
                s.add(row)
            row.refresh_token_enc = _enc(refresh_token)
            row.refresh_expires_at = refresh_expires_at
            row.authorisation_expires_at = authorisation_expires_at
            row.client_secret_expires_at = client_secret_expires_at
            row.version = (row.version or 0) + 1

    @contextlib.contextmanager
    def _file_lock(self, channel: str) -> Iterator[None]:
        from sqlalchemy.engine import make_url

        database = make_url(self.db.url).database or "crossdock"
        digest = hashlib.sha1(channel.encode()).hexdigest()[:12]
        path = f"{os.path.abspath(database)}.token-{digest}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def refresh(self, channel: str, fn: Callable[[TokenState], RefreshResult], *,
                still_needed: Callable[[TokenState], bool]) -> TokenState:
        if self.db.is_sqlite:
            with self._file_lock(channel):
                current = self.load(channel)
                if not still_needed(current):
                    return current
                with judged_on(current):
                    result: RefreshResult = fn(current)
                new = self._merge(channel, current, result)
                with self.db.write() as s:
                    row = s.get(Credential, channel)
                    if row is None:
                        row = Credential(channel=channel, version=0)
                        s.add(row)
                    _write(row, new)
                    row.version = new.version
                    row.refreshed_at = utcnow()
                return new
        with self.db.write() as s:
            row = s.scalars(select(Credential).where(Credential.channel == channel).with_for_update()).one_or_none()
            if row is None:
                row = Credential(channel=channel, version=0)
                s.add(row)
                s.flush()
            current = _state(channel, row)
            if not still_needed(current):
                return current
            with judged_on(current):
                result = fn(current)
            new = self._merge(channel, current, result)
            _write(row, new)
            row.version = new.version
            row.refreshed_at = utcnow()
        return new

    @staticmethod
    def _merge(channel: str, current: TokenState, result: RefreshResult) -> TokenState:
        return TokenState(
            channel=channel, access_token=result.access_token, access_expires_at=result.access_expires_at,
            refresh_token=result.refresh_token or current.refresh_token,
            refresh_expires_at=result.refresh_expires_at or current.refresh_expires_at,
            authorisation_expires_at=result.authorisation_expires_at or current.authorisation_expires_at,
            client_secret_expires_at=result.client_secret_expires_at or current.client_secret_expires_at,
            version=current.version + 1,
        )

    def expiring(self, *, within: dt.timedelta, now: dt.datetime | None = None) -> list[ExpiringCredential]:
        """Credentials whose refresh token, seller authorisation or client
        secret expires within ``within`` (for XD-AUTH-005 warnings)."""
        now = now or utcnow()
        horizon = now + within
        out: list[ExpiringCredential] = []
        with self.db.read() as s:
            for row in s.scalars(select(Credential)):
                for what, when in (("refresh_token", row.refresh_expires_at),
                                   ("seller_authorisation", row.authorisation_expires_at),
                                   ("client_secret", row.client_secret_expires_at)):
                    if when is not None and when <= horizon:
                        out.append(ExpiringCredential(channel=row.channel, what=what, expires_at=when,
                                                      expired=when <= now))
        return out


class ChannelRow(Protocol):
    """What ``ensure_channels`` reads of a configured channel (a ``ChannelConfig``)."""

    name: str
    platform: str
    account: str
    currency: str
    marketplace: str | None
    country: str | None


def ensure_channels(db: Database, channels: Iterable[ChannelRow]) -> None:
    """Create or update a channels row for each configured channel. One
    ``INSERT … ON CONFLICT DO UPDATE`` per channel: workers starting together
    on a new database never trip over each other's rows."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    with db.write() as s:
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        for ch in channels:
            values = {"platform": ch.platform, "account": ch.account, "marketplace": ch.marketplace,
                      "currency": ch.currency, "country": ch.country, "updated_at": utcnow()}
            s.execute(insert(Channel).values(name=ch.name, created_at=utcnow(), **values)
                      .on_conflict_do_update(index_elements=["name"], set_=values))
