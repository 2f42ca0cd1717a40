"""Take a backup with its manifest, record it, copy it, prune old ones.

:func:`take_backup` is what the worker's ``backup`` job (claimed through the
scheduler: one worker per run) and ``crossdock db backup`` run:

1. the file, through :func:`crossdock.backup.backup_database` (SQLite online
   backup / ``pg_dump -Fc``; 0600 file, 0700 folders, ``.part`` + rename);
2. the facts of the same snapshot: SQLite counts the rows in the copy itself;
   PostgreSQL counts them in a REPEATABLE READ transaction whose snapshot
   ``pg_dump --snapshot`` dumps, so counts and file agree to the row;
3. the manifest beside it (SHA-256 of the finished file), then a ``backups`` row;
4. ``copy_to``: file and manifest copied (``.part`` + rename, 0600);
5. pruning by the keep policy: files (and their copies) of backups no rule
   keeps are deleted and their rows marked pruned.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text, update

from crossdock.backup import PRIVATE_DIR, backup_database, private_file
from crossdock.backups.manifest import manifest_path, sha256_of, sqlite_facts, write_manifest
from crossdock.backups.tables import BACKUPS
from crossdock.errors import DataError
from crossdock.keep_policy import keep_selection, parse_keep

log = logging.getLogger(__name__)

__all__ = ["backup_rows", "prune", "take_backup"]


@contextlib.contextmanager
def _pg_snapshot(db: Any) -> Iterator[tuple[str, str | None, dict[str, int]]]:
    """(exported snapshot id, revision, rows per table), held open while the block runs."""
    with db.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            names = [r[0] for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = "
                                                     "current_schema() ORDER BY tablename"))]
            counts = {n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in names}
            revision = (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                        if "alembic_version" in names else None)
            yield snapshot, revision, counts


def _private_copy(source: Path, folder: Path) -> Path:
    folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    target = folder / source.name
    with private_file(target) as part:
        shutil.copyfile(source, part)
    return target


def take_backup(db: Any, *, to: str | Path | None = None, kind: str = "manual", keep: str | None = None,
                copy_to: str | Path | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Back up ``db`` to ``to`` (a folder ending in ``/``, or a file; None:
    the default of :func:`~crossdock.backup.backup_database`) with a
    manifest, record it, copy it to ``copy_to``, prune by ``keep`` (see the
    module doc). XD-DATA-007 when the backup or its manifest cannot be written."""
    from crossdock import __version__

    now = now or dt.datetime.now(dt.timezone.utc)
    if db.is_sqlite:
        doc = backup_database(db, to=to, now=now)
        path = Path(doc["path"])
        revision, counts = sqlite_facts(path)
    else:
        with _pg_snapshot(db) as (snapshot, revision, counts):
            doc = backup_database(db, to=to, now=now, snapshot=snapshot)
        path = Path(doc["path"])
    digest = sha256_of(path)
    manifest = write_manifest(path, taken_at=now, backend=doc["backend"], revision=revision, row_counts=counts,
                              sha256=digest, crossdock_version=__version__)
    copied = None
    if copy_to:
        try:
            copied = str(_private_copy(path, Path(copy_to)))
            _private_copy(manifest_path(path), Path(copy_to))
        except OSError as exc:
            raise DataError("XD-DATA-007", detail=f"backup {path} written, but its copy to {copy_to} failed: "
                                                  f"{exc}") from exc
    with db.write() as s:
        backup_id = s.execute(insert(BACKUPS).values(
            path=str(path), taken_at=now, kind=kind, backend=doc["backend"], bytes=manifest["bytes"],
            sha256=digest, revision=revision, row_counts=manifest["row_counts"], copied_to=copied,
            created_at=dt.datetime.now(dt.timezone.utc)).returning(BACKUPS.c.id)).scalar_one()
    pruned = prune(db, keep, now=now) if keep else []
    log.info("backup %s taken (%d bytes, %d tables); %d pruned", path, manifest["bytes"], len(counts), len(pruned))
    return {**doc, "id": backup_id, "kind": kind, "sha256": digest, "revision": revision,
            "manifest": str(manifest_path(path)), "copied_to": copied, "pruned": pruned,
            "rows": sum(counts.values())}


def prune(db: Any, keep: str, *, now: dt.datetime | None = None) -> list[str]:
    """Delete the files (and copies, and manifests) of scheduled backups the
    keep policy no longer keeps; their rows stay, marked pruned. Backups taken
    by hand (``db backup``) are the operator's: never pruned. Returns the paths."""
    rules = parse_keep(keep)
    at = now or dt.datetime.now(dt.timezone.utc)
    with db.read() as s:
        rows = s.execute(select(BACKUPS.c.id, BACKUPS.c.path, BACKUPS.c.taken_at, BACKUPS.c.copied_to)
                         .where(BACKUPS.c.pruned_at.is_(None), BACKUPS.c.kind == "scheduled")).all()
    kept = keep_selection((r.taken_at for r in rows), rules)
    gone = [r for r in rows if r.taken_at not in kept]
    for r in gone:
        for p in (r.path, r.copied_to):
            if p:
                Path(p).unlink(missing_ok=True)
                manifest_path(Path(p)).unlink(missing_ok=True)
    if gone:
        with db.write() as s:
            s.execute(update(BACKUPS).where(BACKUPS.c.id.in_([r.id for r in gone])).values(pruned_at=at))
    return [r.path for r in gone]


def backup_rows(db: Any, *, include_pruned: bool = False) -> list[dict[str, Any]]:
    """The recorded backups, newest first (``crossdock db backups``)."""
    stmt = select(BACKUPS).order_by(BACKUPS.c.taken_at.desc(), BACKUPS.c.id.desc())
    if not include_pruned:
        stmt = stmt.where(BACKUPS.c.pruned_at.is_(None))
    with db.read() as s:
        rows = s.execute(stmt).all()
    out = []
    for r in rows:
        out.append({"id": r.id, "path": r.path, "taken_at": r.taken_at.isoformat(), "kind": r.kind,
                    "backend": r.backend, "bytes": r.bytes, "sha256": r.sha256, "revision": r.revision,
                    "rows": sum((r.row_counts or {}).values()), "copied_to": r.copied_to,
                    "exists": Path(r.path).is_file(), "pruned_at": r.pruned_at.isoformat() if r.pruned_at else None,
                    "verified": r.verified, "verified_at": r.verified_at.isoformat() if r.verified_at else None,
                    "verify_code": r.verify_code, "verify_detail": r.verify_detail})
    return out
