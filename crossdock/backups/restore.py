"""``crossdock db restore FILE [--to URL] [--verify-only]``.

A restore first proves the file is the one its manifest describes (size and
SHA-256: a truncated or altered file stops here, XD-DATA-010), then restores
into an EMPTY database only (XD-DATA-009 otherwise: it never overwrites data),
compares the rows of every table with the manifest, migrates the schema
forward when the backup is older than this crossdock, runs ``db check``, and
marks the database restored (a ``restores`` row with the backup's time): the
workers settle it — stale rotating tokens, cursors — before they sync
(:mod:`crossdock.sync_engine.after_restore`).

``--verify-only`` does the same into a scratch database (a temporary SQLite
file; on PostgreSQL a temporary database on the configured server), drops it,
and records the outcome on the backup's ``backups`` row: a backup counts as
verified only then.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text, update
from sqlalchemy.engine import make_url

from crossdock.backup import private_file
from crossdock.backups.manifest import Manifest, check_file, read_manifest, sqlite_facts
from crossdock.backups.tables import BACKUPS, RESTORES
from crossdock.db.engine import Database, masked_url, normalise_url, sqlite_path
from crossdock.errors import CrossdockError, DataError

log = logging.getLogger(__name__)

__all__ = ["record_verification", "restore_backup", "verify_backup"]


def _pg_tables(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        with db.connect() as conn:
            names = [r[0] for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = "
                                                     "current_schema() ORDER BY tablename"))]
            return {n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in names}
    finally:
        db.dispose()


def _facts(url: str) -> dict[str, int]:
    if not url.startswith("sqlite"):
        return _pg_tables(url)
    path = sqlite_path(url)
    return sqlite_facts(path)[1] if path is not None and path.is_file() and path.stat().st_size else {}


def _restore_sqlite(file: Path, url: str) -> None:
    target = sqlite_path(url)
    if target is None or not url.startswith("sqlite"):
        raise DataError("XD-DATA-011", detail=f"cannot restore into {masked_url(url)}: not a SQLite file")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        with private_file(target) as part:
            shutil.copyfile(file, part)
            for stale in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
                stale.unlink(missing_ok=True)       # an empty target's journal must not be applied to the copy
    except OSError as exc:
        raise DataError("XD-DATA-011", detail=f"cannot write {target}: {exc}") from exc


def _pg_env(url: str) -> tuple[dict[str, str], str]:
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return env, u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _restore_postgres(file: Path, url: str) -> None:
    from crossdock.secrets import redact

    exe = shutil.which("pg_restore")
    if exe is None:
        raise DataError("XD-DATA-011", detail="pg_restore is not on PATH: install the PostgreSQL client tools")
    env, conninfo = _pg_env(url)
    cmd = [exe, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", "--no-password",
           f"--dbname={conninfo}", str(file)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = " ".join((proc.stderr or "").strip().splitlines()[-3:])
        raise DataError("XD-DATA-011", detail=f"pg_restore exited with {proc.returncode}: {redact(tail)[:400]}")


def _restore_into(file: Path, manifest: Manifest, url: str) -> None:
    """Restore into ``url`` (which must be empty) and compare its rows with the manifest."""
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    if manifest["backend"] != backend:
        raise DataError("XD-DATA-011", detail=f"{file.name} is a {manifest['backend']} backup; "
                                              f"{masked_url(url)} is {backend}")
    present = _facts(url)
    if present:
        raise DataError("XD-DATA-009", detail=f"{masked_url(url)} already holds {len(present)} table(s) "
                                              f"({sum(present.values())} rows)")
    (_restore_sqlite if backend == "sqlite" else _restore_postgres)(file, url)
    got, want = _facts(url), {k: int(v) for k, v in manifest["row_counts"].items()}
    differ = {t: (want.get(t), got.get(t)) for t in set(got) | set(want) if got.get(t) != want.get(t)}
    if differ:
        sample = ", ".join(f"{t}: manifest {a}, restored {b}" for t, (a, b) in sorted(differ.items())[:5])
        raise DataError("XD-DATA-010", detail=f"the restored copy of {file.name} differs from its manifest in "
                                              f"{len(differ)} table(s): {sample}")


def _migrate_forward(url: str) -> tuple[str | None, str | None]:
    from alembic.util import CommandError

    from crossdock.db.migrate import upgrade

    db = Database(url)
    try:
        return upgrade(db)
    except (CommandError, KeyError) as exc:
        raise DataError("XD-DATA-011", detail=f"the backup's schema is not one this crossdock knows (newer "
                                              f"crossdock?): {exc}") from exc
    finally:
        db.dispose()


def _taken_at(manifest: Manifest) -> dt.datetime:
    """The manifest's time, aware (a time without zone is UTC, as crossdock writes them)."""
    try:
        at = dt.datetime.fromisoformat(str(manifest["taken_at"]))
    except ValueError:
        raise DataError("XD-DATA-010", detail=f"the manifest's taken_at {manifest['taken_at']!r} is not a "
                                              "time") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.timezone.utc)


def restore_backup(file: str | Path, url: str) -> dict[str, Any]:
    """Restore ``file`` into the empty database at ``url`` (see module doc)."""
    from crossdock.db.check import check_report

    path = Path(file).expanduser().resolve()
    manifest = read_manifest(path)
    check_file(path, manifest)
    taken_at = _taken_at(manifest)
    url = normalise_url(url)
    _restore_into(path, manifest, url)
    before, after = _migrate_forward(url)
    db = Database(url)
    try:
        with db.write() as s:
            s.execute(insert(RESTORES).values(restored_at=dt.datetime.now(dt.timezone.utc),
                                              backup_taken_at=taken_at, backup_path=str(path),
                                              backup_sha256=manifest["sha256"], outcome={}))
        report = check_report(url, lambda: db)
    finally:
        db.dispose()
    log.info("restored %s into %s (revision %s -> %s)", path, masked_url(url), before, after)
    return {"file": str(path), "database": masked_url(url), "taken_at": manifest["taken_at"],
            "rows": sum(int(v) for v in manifest["row_counts"].values()), "revision_from": before,
            "revision_to": after, "check": {k: report[k] for k in ("ok", "errors", "warnings", "findings")}}


def _scratch_url(config_url: str, backend: str, folder: Path) -> tuple[str, Any]:
    """A new empty database for a verification, and how to drop it."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'verify.sqlite'}", lambda: None
    base = make_url(normalise_url(config_url))
    if base.get_backend_name() != "postgresql":
        raise DataError("XD-DATA-011", detail="a PostgreSQL backup is verified on a PostgreSQL server: set "
                                              "[database] url (or --to) to one crossdock may create databases on")
    name = f"{base.database or 'crossdock'}_verify_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any refusal is reported with its cause
        admin.dispose()
        raise DataError("XD-DATA-011", detail=f"cannot create a scratch database on {masked_url(config_url)}: "
                                              f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from exc

    def drop() -> None:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def verify_backup(file: str | Path, config_url: str) -> dict[str, Any]:
    """Restore ``file`` into a scratch database and compare it with its
    manifest; the scratch database is dropped. Returns the outcome (``ok``,
    ``code``, ``detail``) — a damaged file is an outcome, not an exception."""
    path = Path(file).expanduser().resolve()
    outcome: dict[str, Any] = {"file": str(path), "ok": False, "code": None, "detail": None, "sha256": None}
    with tempfile.TemporaryDirectory(prefix="crossdock-verify-") as tmp:
        try:
            manifest = read_manifest(path)
            outcome.update(sha256=manifest["sha256"], taken_at=manifest["taken_at"],
                           rows=sum(int(v) for v in manifest["row_counts"].values()))
            check_file(path, manifest)
            url, drop = _scratch_url(config_url, manifest["backend"], Path(tmp))
            try:
                _restore_into(path, manifest, url)
            finally:
                drop()
            outcome.update(ok=True, detail="restored into a scratch database: every table's rows match the "
                                           "manifest")
        except CrossdockError as exc:
            outcome.update(code=exc.code, detail=exc.detail[:500])
    return outcome


def record_verification(db: Database, outcome: dict[str, Any]) -> int:
    """Record a verification on the ``backups`` rows of that file (by path or
    checksum) and in the sync log (``db.verify``). Returns rows updated."""
    from crossdock import synclog
    from crossdock.db.check import VERIFY_OP

    now = dt.datetime.now(dt.timezone.utc)
    match = BACKUPS.c.path == outcome["file"]
    if outcome.get("sha256"):
        match = match | (BACKUPS.c.sha256 == outcome["sha256"])
    with db.write() as s:
        n = len(s.execute(update(BACKUPS).where(match).values(
            verified=outcome["ok"], verified_at=now, verify_code=outcome["code"],
            verify_detail=(outcome["detail"] or "")[:500]).returning(BACKUPS.c.id)).all())
        synclog.record(s, operation=VERIFY_OP, outcome="ok" if outcome["ok"] else "failed", entity_type="backup",
                       entity=Path(outcome["file"]).name[:255], code=outcome["code"], at=now,
                       message=outcome["detail"] or "", details={"file": outcome["file"]})
    return int(n)
