"""Database backups: ``crossdock db backup``.

SQLite: the online backup API into ``backups/`` beside the database (one
self-contained file, checked, fsynced, then renamed into place); PostgreSQL:
``pg_dump -Fc`` into ``./backups``. A backup holds what the database holds
(buyers' addresses, encrypted tokens): the file is 0600 and every folder made
for it 0700, whatever the umask. Every backup, and every failure, is a sync
event (``db.backup``): ``db check`` warns (XD-DATA-005) when the newest is old.

A backup is an operation on the database that the sync log records, so it sits
above both ``crossdock.db`` and ``crossdock.synclog`` (which stores its events
through ``crossdock.db``), not inside ``crossdock.db``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crossdock import synclog
from crossdock.db.check import BACKUP_OP
from crossdock.errors import DataError

__all__ = ["BACKUP_OP", "PRIVATE_DIR", "PRIVATE_FILE", "backup_database", "private_file"]

log = logging.getLogger(__name__)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _unique(path: Path) -> Path:
    if not path.exists():
        return path
    for n in range(1, 1000):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise DataError("XD-DATA-007", detail=f"too many backups named like {path}")


PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def _make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each 0700 whatever the umask
    (a folder that exists is left as it is: it is the operator's)."""
    missing = []
    for p in (folder, *folder.parents):
        if p.exists():
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            p.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue          # made meanwhile by another backup
        os.chmod(p, PRIVATE_DIR)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")


def _private_part(part: Path) -> None:
    """Create the backup's ``.part`` file empty and 0600 before anything writes it."""
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


@contextlib.contextmanager
def private_file(target: Path) -> Iterator[Path]:
    """A file that appears whole or not at all, owner-only: the block writes the
    yielded ``.part`` path (created empty, 0600); it is then fsynced and
    renamed to ``target``. On any failure the ``.part`` is removed and the
    error passes on (the caller says what it means)."""
    part = target.with_name(target.name + ".part")
    try:
        _private_part(part)
        yield part
        os.chmod(part, PRIVATE_FILE)
        _fsync(part)
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _target(to: str | Path | None, default_dir: Path, name: str) -> Path:
    """Where the backup goes: ``to`` as a folder (existing, or written with a
    trailing slash) gets the timestamped name; otherwise ``to`` is the file."""
    as_folder = to is not None and str(to).endswith(("/", os.sep))
    to = Path(to).expanduser() if to is not None else None
    if to is None:
        folder, file_name = default_dir, name
    elif as_folder or to.is_dir():
        folder, file_name = to, name
    else:
        if to.exists():
            raise DataError("XD-DATA-007", detail=f"{to} exists; a backup never overwrites a file")
        folder, file_name = to.parent, to.name
    try:
        _make_private_dirs(folder)
    except OSError as exc:
        raise DataError("XD-DATA-007", detail=f"cannot create the backup folder {folder}: {exc}") from exc
    target = folder / file_name
    return _unique(target) if to is None or file_name == name else target


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _written(part: Path, target: Path) -> Iterator[None]:
    """The block writes ``part``; then it is fsynced and renamed to ``target``.
    On a failure ``part`` is removed, and an OSError becomes XD-DATA-007."""
    try:
        yield
        _fsync(part)
        os.replace(part, target)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DataError("XD-DATA-007", detail=f"cannot write {target}: {exc}") from exc
    except DataError:
        part.unlink(missing_ok=True)
        raise


def _backup_sqlite(db: Any, to: str | Path | None, stamp: str) -> tuple[Path, dict[str, Any]]:
    from sqlalchemy.engine import make_url

    from crossdock.db.engine import SQLITE_BUSY_TIMEOUT_MS

    source = make_url(db.url).database
    if not source or source == ":memory:":
        raise DataError("XD-DATA-007", detail="an in-memory SQLite database cannot be backed up")
    source_path = Path(source).resolve()
    target = _target(to, source_path.parent / "backups", f"{source_path.stem}-{stamp}.sqlite")
    part = target.with_name(target.name + ".part")
    with _written(part, target):
        _private_part(part)
        try:
            src = sqlite3.connect(str(source_path), timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
            try:
                dst = sqlite3.connect(str(part))
                try:
                    src.backup(dst)                            # one step: a consistent snapshot, writers keep going
                    dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
                    check = dst.execute("PRAGMA quick_check").fetchone()
                    pages = dst.execute("PRAGMA page_count").fetchone()[0]
                finally:
                    dst.close()
            finally:
                src.close()
        except sqlite3.Error as exc:
            raise DataError("XD-DATA-007", detail=f"SQLite backup to {target} failed: {exc}") from exc
        if not check or check[0] != "ok":
            raise DataError("XD-DATA-007", detail=f"the copy failed its integrity check: {check}")
    return target, {"pages": pages}


def _backup_postgres(db: Any, to: str | Path | None, stamp: str,
                     snapshot: str | None = None) -> tuple[Path, dict[str, Any]]:
    from sqlalchemy.engine import make_url

    from crossdock.secrets import redact

    exe = shutil.which("pg_dump")
    if exe is None:
        raise DataError("XD-DATA-007", detail="pg_dump is not on PATH: install the PostgreSQL client tools "
                                              "(the server's major version or newer) to back up PostgreSQL")
    url = make_url(db.url)
    target = _target(to, Path.cwd() / "backups", f"{url.database or 'crossdock'}-{stamp}.dump")
    part = target.with_name(target.name + ".part")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)       # not on the command line, where `ps` would show it
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    cmd = [exe, "--format=custom", "--no-password", f"--file={part}", f"--dbname={conninfo}"]
    if snapshot:
        cmd.append(f"--snapshot={snapshot}")      # the same snapshot the manifest's row counts were read in
    try:
        _private_part(part)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, umask=0o077)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DataError("XD-DATA-007", detail=f"cannot run pg_dump: {exc}") from exc
    if proc.returncode != 0:
        part.unlink(missing_ok=True)
        tail = " ".join((proc.stderr or "").strip().splitlines()[-3:])
        raise DataError("XD-DATA-007", detail=f"pg_dump exited with {proc.returncode}: {redact(tail)[:500]}")
    with _written(part, target):
        os.chmod(part, PRIVATE_FILE)
        with open(part, "rb") as fh:
            magic = fh.read(5)
        if magic != b"PGDMP":
            raise DataError("XD-DATA-007", detail=f"pg_dump wrote {part} but it is not a custom-format archive")
    return target, {"format": "pg_dump custom (restore with pg_restore)"}


def backup_database(db: Any, *, to: str | Path | None = None, now: dt.datetime | None = None,
                    snapshot: str | None = None) -> dict[str, Any]:
    """Back up ``db`` and record it (sync event ``db.backup``). SQLite: online
    backup API into ``backups/`` next to the database; PostgreSQL: ``pg_dump
    -Fc`` into ``./backups``. ``to`` is a folder (timestamped name) or a file.
    A failure is recorded too and raised as XD-DATA-007. ``snapshot``
    (PostgreSQL): dump this exported snapshot (``pg_export_snapshot()``)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    started = time.perf_counter()
    backend = "sqlite" if db.is_sqlite else "postgresql"
    try:
        target, extra = _backup_sqlite(db, to, stamp) if db.is_sqlite else _backup_postgres(db, to, stamp, snapshot)
    except DataError as exc:
        synclog.record_now(db, synclog.event_from_error(BACKUP_OP, exc, entity_type="database", entity=backend))
        raise
    doc = {"backend": backend, "path": str(target.resolve()), "bytes": target.stat().st_size, "at": _iso(now),
           "duration_ms": int((time.perf_counter() - started) * 1000), **extra}
    with db.write() as s:
        synclog.record(s, operation=BACKUP_OP, outcome="ok", entity_type="database", entity=backend, at=now,
                       duration_ms=doc["duration_ms"], message=f"backup written to {doc['path']}",
                       details={"path": doc["path"], "bytes": doc["bytes"], "backend": backend})
    log.info("database backup written to %s (%d bytes)", doc["path"], doc["bytes"])
    return doc
