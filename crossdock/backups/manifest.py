"""The manifest beside each backup file (``FILE.manifest.json``): when it was
taken, from which schema revision, how many rows each table held, the file's
size and SHA-256. Written atomically (a 0600 ``.part`` file, fsynced, renamed)
like the backup itself; :func:`check_file` is how a restore knows the file is
the one the manifest describes (a truncated or altered file is XD-DATA-010).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from crossdock.errors import DataError

__all__ = ["FORMAT", "Manifest", "check_file", "manifest_path", "read_manifest", "sha256_of", "sqlite_facts",
           "write_private", "write_manifest"]

FORMAT = 1
Manifest = dict[str, Any]


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".manifest.json")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_private(target: Path, data: bytes) -> None:
    """``data`` into ``target`` atomically and owner-only (XD-DATA-007 when it cannot)."""
    from crossdock.backup import private_file

    try:
        with private_file(target) as part:
            part.write_bytes(data)
    except OSError as exc:
        raise DataError("XD-DATA-007", detail=f"cannot write {target}: {exc}") from exc


def sqlite_facts(path: Path) -> tuple[str | None, dict[str, int]]:
    """(alembic revision, rows per table) of a SQLite file, read-only."""
    conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        counts = {n: int(conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names}
        revision = None
        if "alembic_version" in names:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
    finally:
        conn.close()
    return revision, counts


def write_manifest(backup: Path, *, taken_at: dt.datetime, backend: str, revision: str | None,
                   row_counts: dict[str, int], sha256: str, crossdock_version: str) -> Manifest:
    doc: Manifest = {"format": FORMAT, "file": backup.name, "taken_at": taken_at.isoformat(), "backend": backend,
                     "revision": revision, "bytes": backup.stat().st_size, "sha256": sha256,
                     "row_counts": dict(sorted(row_counts.items())), "crossdock_version": crossdock_version}
    write_private(manifest_path(backup), json.dumps(doc, indent=2).encode())
    return doc


def read_manifest(backup: Path) -> Manifest:
    """The manifest of ``backup``; XD-DATA-010 when it is missing or unreadable."""
    path = manifest_path(backup)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("XD-DATA-010", detail=f"no manifest beside {backup} (expected {path.name}): "
                                              "crossdock cannot tell whether the file is complete") from None
    except (OSError, ValueError) as exc:
        raise DataError("XD-DATA-010", detail=f"the manifest {path} cannot be read: {exc}") from exc
    missing = {"taken_at", "backend", "sha256", "bytes", "row_counts"} - set(doc if isinstance(doc, dict) else ())
    if missing:
        raise DataError("XD-DATA-010", detail=f"the manifest {path} lacks {', '.join(sorted(missing))}")
    return doc


def check_file(backup: Path, manifest: Manifest) -> None:
    """The file is the one the manifest describes: same size, same SHA-256.
    XD-DATA-010 otherwise (truncated, tampered with, or another file)."""
    try:
        size = backup.stat().st_size
    except OSError as exc:
        raise DataError("XD-DATA-010", detail=f"cannot read {backup}: {exc}") from exc
    if size != int(manifest["bytes"]):
        raise DataError("XD-DATA-010", detail=f"{backup} is {size} bytes, its manifest says {manifest['bytes']}: "
                                              "the file is truncated or was changed after the backup")
    digest = sha256_of(backup)
    if digest != manifest["sha256"]:
        raise DataError("XD-DATA-010", detail=f"{backup}: SHA-256 {digest[:16]}… differs from the manifest's "
                                              f"{str(manifest['sha256'])[:16]}…: the file was changed after the "
                                              "backup")
