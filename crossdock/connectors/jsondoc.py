"""JSON as the connectors hand it to people: ``crossdock inspect`` documents.

:data:`JsonValue` is what ``json.dumps`` writes without a ``default``. A platform
payload that nothing has checked yet is typed ``object`` where it enters (it is
whatever the platform or a file held) and narrowed by the mapping that reads it.
"""

from __future__ import annotations

from typing import TypeAlias

JsonScalar: TypeAlias = str | int | float | bool | None
JsonValue: TypeAlias = JsonScalar | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject: TypeAlias = dict[str, JsonValue]

__all__ = ["JsonObject", "JsonScalar", "JsonValue"]
