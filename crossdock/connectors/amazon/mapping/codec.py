"""SP-API JSON as crossdock writes and reads it: Decimal amounts as exact JSON
numbers, never through float."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

FEED_CONTENT_TYPE = "application/json; charset=UTF-8"


# ------------------------------------------------------------------ JSON


def to_json_bytes(obj: Any) -> bytes:
    """Compact JSON; Decimals become exact JSON numbers (19.99, not "19.99",
    and never a float's 19.989999…)."""
    marks: dict[str, str] = {}

    def conv(o: Any) -> Any:
        if isinstance(o, Decimal):
            key = json.dumps(f"\x00{len(marks)}\x00")
            marks[key] = format(o, "f")
            return json.loads(key)
        if isinstance(o, float):
            raise TypeError("floats are not sent to Amazon; use Decimal")
        if isinstance(o, Mapping):
            return {str(k): conv(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [conv(v) for v in o]
        return o

    text = json.dumps(conv(obj), separators=(",", ":"), ensure_ascii=False)
    for key, number in marks.items():
        text = text.replace(key, number, 1)
    return text.encode("utf-8")


def loads_exact(data: bytes | str) -> Any:
    """JSON with numbers read as Decimal where they have a fraction."""
    return json.loads(data, parse_float=Decimal)
