"""CLI output conventions (hatch / httpx style).

- ``--json``: exactly one JSON document on stdout, nothing else there.
- Human results go to stdout; progress, logs and warnings to stderr, and
  progress switches off when stderr is not a terminal (the consoles belong to
  each invocation: :class:`crossdock.cli.Application`).
- Exit codes are the named constants below.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from typing import Any

from crossdock.errors.catalogue import (
    EXIT_AUTH_OR_CONNECTION,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
)

__all__ = ["EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_AUTH_OR_CONNECTION", "EXIT_PARTIAL",
           "emit_json", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    return value


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(doc), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
