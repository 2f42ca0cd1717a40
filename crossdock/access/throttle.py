"""The login throttle: failures counted per user name and per client address
in the database (every serve process sees the same counts).

After ``limit`` failures of one key within ``window_s`` the key is locked for
``lockout_s``: every login for it is refused with XD-ACCESS-003, the right
password included, until then. A success clears the user name's count (not the
address's: one right password must not reset a guesser's address). The address
gets a larger allowance (:data:`ADDRESS_FACTOR`), so an office behind one NAT is
not locked out by one person's typos.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crossdock.access.tables import LoginFailure

__all__ = ["ADDRESS_FACTOR", "Throttle", "keys_for"]

ADDRESS_FACTOR = 4


def keys_for(name: str, address: str | None) -> list[tuple[str, int]]:
    """The throttle keys of one attempt and each key's share of the limit."""
    keys = [(f"user:{name.strip().lower()[:150]}", 1)]
    if address:
        keys.append((f"addr:{address[:150]}", ADDRESS_FACTOR))
    return keys


@dataclass(frozen=True)
class Throttle:
    limit: int = 5
    window_s: float = 900.0
    lockout_s: float = 900.0

    def locked_until(self, s: Session, name: str, address: str | None, now: dt.datetime) -> dt.datetime | None:
        """When the attempt's lock ends, or None: not locked."""
        ends = [row.locked_until for key, _ in keys_for(name, address)
                if (row := s.get(LoginFailure, key)) is not None and row.locked_until is not None
                and row.locked_until > now]
        return max(ends) if ends else None

    def failed(self, s: Session, name: str, address: str | None, now: dt.datetime) -> dt.datetime | None:
        """Count one failure on each key; returns the lock's end when this one locked a key."""
        locked: dt.datetime | None = None
        for key, factor in keys_for(name, address):
            row = s.get(LoginFailure, key, with_for_update=True)
            if row is None:
                row = LoginFailure(key=key, failures=0, first_at=now)
                s.add(row)
            elif row.first_at < now - dt.timedelta(seconds=self.window_s) and \
                    (row.locked_until is None or row.locked_until <= now):
                row.failures, row.first_at, row.locked_until = 0, now, None
            row.failures += 1
            if row.failures >= self.limit * factor:
                row.locked_until = now + dt.timedelta(seconds=self.lockout_s)
                locked = row.locked_until
        s.flush()
        return locked

    def succeeded(self, s: Session, name: str) -> None:
        key = keys_for(name, None)[0][0]
        s.execute(delete(LoginFailure).where(LoginFailure.key == key))

    def state(self, s: Session, name: str) -> dict[str, object]:
        row = s.scalar(select(LoginFailure).where(LoginFailure.key == keys_for(name, None)[0][0]))
        return {"failures": row.failures if row else 0,
                "locked_until": row.locked_until.isoformat() if row and row.locked_until else None}
