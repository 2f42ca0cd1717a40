"""``crossdock inspect``: what crossdock makes of a raw platform payload.

Support staff paste the body of a real API response into a file and see the
normalised orders or listings, or the code that explains why it can't be read.
The normalising itself is each platform's pure mapping (its
``PlatformSpec.inspect``, in ``crossdock/connectors/<platform>/inspect.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from crossdock.errors import ConfigError, MappingError
from crossdock.platforms import registry

KINDS = ("order", "orders", "listing")


def inspect_file(platform: str, kind: str, path: Path):
    spec = registry.find(platform)
    if spec is None or spec.inspect is None:
        known = [p.name for p in registry.platforms() if p.inspect is not None]
        raise ConfigError("XD-CFG-009", detail=f"--platform {platform!r}: one of {', '.join(known)}")
    if kind not in KINDS:
        raise ConfigError("XD-CFG-009", detail=f"--kind {kind!r}: one of {', '.join(KINDS)}")
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("XD-CFG-009", detail=f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError("XD-MAP-010", detail=f"{path}: {exc}") from exc
    payload: object = raw
    if raw.lstrip().startswith(("{", "[")):
        try:
            payload = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise MappingError("XD-MAP-010", detail=f"{path}: not valid JSON: {exc}") from exc
    return spec.inspect(kind, payload)
