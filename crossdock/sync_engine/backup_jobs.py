"""The worker's data-safety jobs, fired through the scheduler like every job
(one worker per run: the schedule row is claimed with compare-and-set):

- ``backup`` (``[backup] every``): a backup with its manifest into ``[backup]
  folder``, copied to ``copy_to``, older ones pruned by ``keep``
  (:func:`crossdock.backups.take.take_backup`);
- ``backup.verify`` (``[backup] verify_every``): the newest backup restored
  into a scratch database and compared with its manifest; the outcome is
  recorded on its row (``crossdock db backups``) and in the sync log.

Both are off without a ``[backup]`` section (or with ``enabled = false``).

- ``retention`` (``[retention] every``): sync events older than
  ``sync_log_days`` deleted, their counts kept, and event deliveries older
  than ``event_deliveries_days`` (:mod:`crossdock.retention`);
  off without a ``[retention]`` section.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crossdock.config import Config
from crossdock.keep_policy import parse_duration_s

log = logging.getLogger(__name__)

__all__ = ["BACKUP", "RETENTION", "VERIFY", "backup_interval", "backup_job", "retention_interval", "retention_job",
           "verify_interval", "verify_job"]

BACKUP = "backup"
VERIFY = "backup.verify"
RETENTION = "retention"
DAY_S = 86_400


def _section(cfg: Config) -> dict[str, Any] | None:
    section = cfg.backup
    return section if section and section.get("enabled", True) else None


def backup_interval(cfg: Config) -> int | None:
    section = _section(cfg)
    return parse_duration_s(section["every"]) if section else None


def verify_interval(cfg: Config) -> int | None:
    section = _section(cfg)
    return parse_duration_s(section["verify_every"]) if section else None


def backup_job(ctx: Any, entry: Any = None) -> dict[str, Any]:
    from crossdock.backups.take import take_backup

    section = _section(ctx.cfg)
    if section is None:
        return {"skipped": "no [backup] section"}
    doc = take_backup(ctx.db, to=str(section["folder"]).rstrip("/") + "/", kind="scheduled", keep=section["keep"],
                      copy_to=section.get("copy_to"))
    return {"path": doc["path"], "bytes": doc["bytes"], "rows": doc["rows"], "copied_to": doc["copied_to"],
            "pruned": len(doc["pruned"])}


def verify_job(ctx: Any, entry: Any = None) -> dict[str, Any]:
    from crossdock.backups.restore import record_verification, verify_backup
    from crossdock.backups.tables import BACKUPS

    with ctx.db.read() as s:
        paths = list(s.scalars(select(BACKUPS.c.path).where(BACKUPS.c.pruned_at.is_(None))
                               .order_by(BACKUPS.c.taken_at.desc(), BACKUPS.c.id.desc()).limit(5)))
    newest = next((p for p in paths if Path(p).is_file()), None)
    if newest is None:
        return {"skipped": "no backup file to verify"}
    outcome = verify_backup(newest, ctx.cfg.database_url)
    record_verification(ctx.db, outcome)
    if not outcome["ok"]:
        log.error("backup %s failed verification: [%s] %s", newest, outcome["code"], outcome["detail"])
    return {"file": newest, "ok": outcome["ok"], "code": outcome["code"]}


def retention_interval(cfg: Config) -> int | None:
    return parse_duration_s(cfg.retention["every"]) if cfg.retention else None


def retention_job(ctx: Any, entry: Any = None) -> dict[str, Any]:
    from crossdock.retention import apply_retention

    if not ctx.cfg.retention:
        return {"skipped": "no [retention] section"}
    return apply_retention(ctx.db, sync_log_days=float(ctx.cfg.retention["sync_log_days"]),
                           event_deliveries_days=float(ctx.cfg.retention["event_deliveries_days"]))
