"""JSON as the connectors see it.

:data:`JsonValue` is what ``json.dumps`` writes without a ``default``: the
documents ``crossdock inspect`` prints. :data:`Payload` is a platform's JSON
object as a client received it: known to be an object, its values unchecked
until the mapping that reads them narrows them (a parser that checks the shape
itself takes ``object``).
"""

from __future__ import annotations

from typing import Any, TypeAlias

JsonScalar: TypeAlias = str | int | float | bool | None
JsonValue: TypeAlias = JsonScalar | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject: TypeAlias = dict[str, JsonValue]
Payload: TypeAlias = dict[str, Any]

__all__ = ["JsonObject", "JsonScalar", "JsonValue", "Payload"]
