"""What one doctor check found: :class:`Result`, and the context every check reads.

A check is a small function of a :class:`DoctorContext` (and, per channel,
the channel's name) returning one :class:`Result` per thing it looked at:
``status`` ok / warn / fail, the XD ``code`` of what is wrong, what it
``found`` in plain words, and the ``remedy``: the command that fixes it. The
alerts raised by the worker are made of the same results
(:mod:`crossdock.alerts`), keyed by (code, channel, subject).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crossdock.errors import CrossdockError
from crossdock.output import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL

__all__ = ["FAIL", "OK", "SEVERITY", "STATUSES", "WARN", "DoctorContext", "Result", "exit_status"]

OK, WARN, FAIL = "ok", "warn", "fail"
STATUSES = (OK, WARN, FAIL)
SEVERITY = {OK: 0, WARN: 1, FAIL: 2}


@dataclass(frozen=True, slots=True)
class Result:
    """One line of ``crossdock doctor``."""

    check: str                       # the check's name: "credentials", "import lag", …
    status: str                      # ok | warn | fail
    found: str                       # what it found, in plain words
    code: str | None = None          # the XD code of the problem (None when ok)
    remedy: str | None = None        # the command that fixes it
    channel: str | None = None
    subject: str | None = None       # what exactly (a credential, a SKU…): alerts are one per (code, channel, subject)
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.status != OK and not self.code:
            raise ValueError(f"check {self.check}: a {self.status} result needs its XD code")

    @property
    def area(self) -> str | None:
        """The code's area (AUTH, SYNC…), what alert targets choose by."""
        return self.code.split("-")[1] if self.code else None

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "code": self.code, "channel": self.channel,
                "subject": self.subject, "found": self.found, "remedy": self.remedy, "details": self.details}


def exit_status(results: list[Result]) -> int:
    """0 when every check is ok, 4 when the worst is a warning, 1 on a failure."""
    worst = max((SEVERITY[r.status] for r in results), default=0)
    return {0: EXIT_OK, 1: EXIT_PARTIAL, 2: EXIT_FAILED}[worst]


@dataclass
class DoctorContext:
    """What the checks share: the configuration, the database (None when it
    cannot be used: the system checks say why), wall-clock and platform
    ``now``, ``online`` (checks that call the platforms run only then) and
    the ``config check`` report the system checks read."""

    cfg: Any
    db: Any
    now: dt.datetime
    platform_now: dt.datetime
    online: bool = False
    setup: Any = None                # crossdock.config_check.CheckReport
    _status: dict[str, Any] | None = None
    _engine: Any = None
    _shared: dict[Any, tuple[bool, Any]] = field(default_factory=dict)

    @property
    def status(self) -> dict[str, Any]:
        """``crossdock sync status``'s document, built once."""
        if self._status is None:
            from crossdock.sync_engine.status import sync_status_doc

            self._status = sync_status_doc(self.cfg, self.db, self.now)
        return self._status

    def shared(self, key: Any, build: Callable[[], Any]) -> Any:
        """What ``build()`` returns (or raises), built once per context: a
        document every channel's check reads a part of (the quota snapshot,
        the credential expiries) is read once per round, not once per
        channel. A crossdock error it raised is raised again to each caller,
        so every channel's check still fails with it."""
        if key not in self._shared:
            try:
                self._shared[key] = (True, build())
            except CrossdockError as exc:
                self._shared[key] = (False, exc)
        ok, value = self._shared[key]
        if not ok:
            raise value
        return value

    @property
    def engine(self) -> Any:
        """The engine's context (connectors on the shared budget), for the
        online checks; built once, closed by :meth:`close`."""
        if self._engine is None:
            from crossdock.sync_engine.engine import context_from_config

            self._engine = context_from_config(self.cfg, self.db)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.connectors.close()
            self._engine = None
