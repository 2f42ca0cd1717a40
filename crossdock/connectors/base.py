"""The credentials seam, and what every connector offers the sync engine.

A connector turns normalised data (crossdock.models) into platform calls and
platform payloads into normalised data. The engine decides *what* to do; the
connector decides *how* a platform wants it (batch sizes, feeds vs patches).
The contract itself is :class:`~crossdock.connectors.contract.Connector`
(re-exported here).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator, Protocol

from crossdock.errors import CrossdockError

#: ``CrossdockError.context`` key: the ``TokenState.version`` a failure of a refresh was decided on.
CREDENTIAL_VERSION = "credential_version"


@dataclass(frozen=True)
class TokenState:
    """A channel's credentials as stored (decrypted in memory only)."""

    channel: str
    access_token: str | None = None
    access_expires_at: dt.datetime | None = None
    refresh_token: str | None = None
    refresh_expires_at: dt.datetime | None = None
    authorisation_expires_at: dt.datetime | None = None   # Amazon: seller authorisation (365 days)
    client_secret_expires_at: dt.datetime | None = None   # Amazon: LWA client secret (180 days)
    version: int = 0

    def access_valid(self, now: dt.datetime, *, margin_s: float) -> bool:
        return bool(self.access_token and self.access_expires_at
                    and self.access_expires_at - dt.timedelta(seconds=margin_s) > now)


@dataclass(frozen=True)
class RefreshResult:
    access_token: str
    access_expires_at: dt.datetime
    refresh_token: str | None = None          # a rotated refresh token (Shopify): stored before use
    refresh_expires_at: dt.datetime | None = None
    # Known end dates a connector records with a refresh (None = keep what is stored), so the
    # store can warn about them (XD-AUTH-005): Amazon's seller authorisation and LWA client secret.
    authorisation_expires_at: dt.datetime | None = None
    client_secret_expires_at: dt.datetime | None = None


@contextlib.contextmanager
def judged_on(state: TokenState) -> Iterator[None]:
    """A crossdock error raised inside (a refresh the platform refused) says
    which credentials it judged: ``context[CREDENTIAL_VERSION]`` is
    ``state.version``. The engine pauses a channel only while its credentials
    are still that version: a refresh or ``auth set`` that happened
    meanwhile wins over the stale refusal."""
    try:
        yield
    except CrossdockError as exc:
        exc.context.setdefault(CREDENTIAL_VERSION, state.version)
        raise


class TokenStore(Protocol):
    """Where access and refresh tokens live. ``refresh`` runs ``fn`` under a lock
    that spans threads *and processes* (a database row lock in the SQL store),
    re-reading the state inside the lock so that only one refresh happens and a
    rotating refresh token is never used twice. A crossdock error ``fn``
    raises leaves with the version it judged (:func:`judged_on`); every
    successful refresh and every ``save`` moves the version on."""

    def load(self, channel: str) -> TokenState: ...

    def refresh(self, channel: str, fn: Callable[[TokenState], RefreshResult], *,
                still_needed: Callable[[TokenState], bool]) -> TokenState: ...

    def save(self, state: TokenState) -> None: ...


class MemoryTokenStore:
    """Token store for one process (unit tests, `crossdock inspect`)."""

    def __init__(self, states: Iterable[TokenState] = ()) -> None:
        self._states = {s.channel: s for s in states}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, channel: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(channel, threading.Lock())

    def load(self, channel: str) -> TokenState:
        return self._states.get(channel) or TokenState(channel=channel)

    def save(self, state: TokenState) -> None:
        self._states[state.channel] = replace(state, version=self.load(state.channel).version + 1)

    def refresh(self, channel: str, fn: Callable[[TokenState], RefreshResult], *,
                still_needed: Callable[[TokenState], bool]) -> TokenState:
        with self._lock(channel):
            current = self.load(channel)
            if not still_needed(current):
                return current
            with judged_on(current):
                result = fn(current)
            new = replace(
                current,
                access_token=result.access_token,
                access_expires_at=result.access_expires_at,
                refresh_token=result.refresh_token or current.refresh_token,
                refresh_expires_at=result.refresh_expires_at or current.refresh_expires_at,
                authorisation_expires_at=result.authorisation_expires_at or current.authorisation_expires_at,
                client_secret_expires_at=result.client_secret_expires_at or current.client_secret_expires_at,
                version=current.version + 1,
            )
            self.save(new)
            return new


from crossdock.connectors.contract import Connector, ConnectorDeps, OrderQuery  # noqa: E402 - after TokenStore

__all__ = ["CREDENTIAL_VERSION", "Connector", "ConnectorDeps", "MemoryTokenStore", "OrderQuery", "RefreshResult",
           "TokenState", "TokenStore", "judged_on"]
