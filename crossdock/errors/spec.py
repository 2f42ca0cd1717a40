"""What an error code is: its pattern, its area, the CLI exit status and the
engine's action that follow from it (:class:`ErrorSpec`). The codes
themselves are in :mod:`crossdock.errors.codes`, one module per area,
gathered by :mod:`crossdock.errors.catalogue`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypedDict

CODE_RE = re.compile(r"^XD-(?P<area>[A-Z]+)-(?P<num>\d{3})$")

# Exit codes of the CLI (also on ErrorSpec.exit_code).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH_OR_CONNECTION = 3
EXIT_PARTIAL = 4

AREAS = {
    "CFG": "Configuration",
    "AUTH": "Authorisation and tokens",
    "QUOTA": "API quota and throttling",
    "NET": "Network and platform availability",
    "PLATFORM": "Platform rejected a request",
    "MAP": "Mapping, validation, currency and tax",
    "INV": "Inventory, reservations and overselling",
    "ORD": "Order import and order state",
    "SHIP": "Shipments, labels and tracking",
    "WH": "Warehouse operations",
    "DATA": "Storage, migrations and backups",
    "SYNC": "Sync engine, jobs and scheduling",
    "ACCESS": "Console logins, roles and API tokens",
    "EVT": "Events from the platforms: webhooks and notifications",
    "RMA": "Returns (RMAs): opening, receiving and reading them",
    "REF": "Refunds: issued from crossdock and read from the platforms",
}

_AREA_EXIT = {"CFG": EXIT_USAGE, "AUTH": EXIT_AUTH_OR_CONNECTION, "NET": EXIT_AUTH_OR_CONNECTION,
              "ACCESS": EXIT_AUTH_OR_CONNECTION}
# A code whose exit status differs from its area's (the area's stays the rule for every other code).
_CODE_EXIT = {"XD-DATA-001": EXIT_AUTH_OR_CONNECTION}

# What the sync engine does with a job that failed with a code (ErrorSpec.action;
# crossdock.sync_engine.failures applies it, to the engine's runs and to hand runs alike):
ACTION_WAIT = "wait"        # no quota now: try again when the platform or the budget says, no attempt used
ACTION_PAUSE = "pause"      # the channel's credentials fail: pause the channel, its jobs wait for a person
ACTION_RETRY = "retry"      # transient: try again with back-off (an attempt used)
ACTION_FAIL = "fail"        # permanent: fail the job; a person fixes the cause and replays it
ACTIONS = (ACTION_WAIT, ACTION_PAUSE, ACTION_RETRY, ACTION_FAIL)
_AREA_ACTION = {"QUOTA": ACTION_WAIT, "AUTH": ACTION_PAUSE}


class ErrorSpecDict(TypedDict):
    """:meth:`ErrorSpec.to_dict`: what ``crossdock errors list|explain --json`` prints."""

    code: str
    area: str
    area_title: str
    title: str
    meaning: str
    causes: list[str]
    remedy: str
    command: str | None
    retryable: bool
    retired: bool
    exit_code: int
    action: str | None


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    title: str
    meaning: str
    causes: tuple[str, ...]
    remedy: str
    command: str | None = None
    retryable: bool = False
    retired: bool = False
    action: str | None = None        # the engine's action (ACTIONS); default: by area, then by retryable
    area: str = field(init=False)
    exit_code: int = field(init=False)

    def __post_init__(self) -> None:
        m = CODE_RE.match(self.code)
        if not m or m.group("area") not in AREAS:
            raise ValueError(f"bad error code {self.code!r}")
        object.__setattr__(self, "area", m.group("area"))
        object.__setattr__(self, "exit_code", _CODE_EXIT.get(self.code, _AREA_EXIT.get(self.area, EXIT_FAILED)))
        if self.action is None:
            default = ACTION_RETRY if self.retryable else ACTION_FAIL
            object.__setattr__(self, "action", _AREA_ACTION.get(self.area, default))
        if self.action not in ACTIONS:
            raise ValueError(f"{self.code}: action must be one of {ACTIONS}, got {self.action!r}")

    def to_dict(self) -> ErrorSpecDict:
        return {
            "code": self.code,
            "area": self.area,
            "area_title": AREAS[self.area],
            "title": self.title,
            "meaning": self.meaning,
            "causes": list(self.causes),
            "remedy": self.remedy,
            "command": self.command,
            "retryable": self.retryable,
            "retired": self.retired,
            "exit_code": self.exit_code,
            "action": self.action,
        }
