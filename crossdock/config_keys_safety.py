"""The data-safety sections of crossdock.toml: ``[backup]`` (scheduled backups,
their rotation and an off-machine copy). Declared here rather than in
:mod:`crossdock.config_keys` to keep that module small; it gathers them into
the one schema."""

from __future__ import annotations

from typing import Any

from crossdock.config_schema import BOOL, NUMBER, TEXT, Invalid, Key, Table, Validation, ValueType, relative_path
from crossdock.keep_policy import parse_duration_s, parse_keep

__all__ = ["BACKUP", "DEFAULT_KEEP", "RETENTION"]

DEFAULT_KEEP = "7 daily, 4 weekly, 12 monthly"


def _duration(v: Any) -> Any:
    try:
        parse_duration_s(v)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return v


def _keep(value: str, ctx: Validation) -> str:
    try:
        parse_keep(value)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return value


DURATION = ValueType("duration (hourly, daily, weekly, \"6h\", or seconds)", _duration)

BACKUP = Table("backup", "Scheduled backups, taken by `crossdock worker` (one worker per run) while this "
               "section is present: each file gets a manifest beside it (time, schema revision, row counts, "
               "SHA-256) and a row in `crossdock db backups`. `crossdock db restore FILE --verify-only` proves "
               "one restores; the worker verifies the newest on `verify_every`. Intervals are platform seconds "
               "(real seconds against live platforms).", (
    Key("enabled", BOOL, "Take backups on schedule (false: the section is kept but the worker takes none).",
        default=True),
    Key("every", DURATION, "How often a backup is taken.", default="daily"),
    Key("keep", TEXT, "Which backups stay after each new one: COUNT PERIOD pairs, PERIOD one of last, hourly, "
        "daily, weekly, monthly, yearly (the newest of each of the last COUNT periods). The newest always "
        "stays.", default=DEFAULT_KEEP, check=_keep),
    Key("folder", TEXT, "Folder of the backup files (relative to this file's folder), made 0700.",
        default="backups", check=relative_path),
    Key("copy_to", TEXT, "A second folder (another disk, a mounted share) each backup and manifest is copied "
        "to; pruned with the same policy.", default=None, check=relative_path),
    Key("verify_every", DURATION, "How often the newest backup is restored into a scratch database and "
        "compared with its manifest.", default="daily"),
), fill=False, example='[backup]\nevery = "daily"\nkeep = "7 daily, 4 weekly, 12 monthly"\nfolder = "backups"')

RETENTION = Table("retention", "How long the sync log is kept, applied by `crossdock worker` (one worker per run) "
                  "while this section is present. Older events are deleted; their counts per day, operation, "
                  "outcome and code stay in the `sync_log_summary` table.", (
    Key("sync_log_days", NUMBER, "Keep sync events (the sync log) this many days.", default=90.0, minimum=1,
        unit="days"),
    Key("event_deliveries_days", NUMBER, "Keep the record of event deliveries (webhooks, notifications, queue "
        "messages, refused ones included: their dedupe and `events status` counts) this many days. A replay "
        "older than that is taken as new and costs one read of the order, never a change.", default=30.0,
        minimum=3, unit="days"),
    Key("every", DURATION, "How often retention runs.", default="daily"),
), fill=False, example='[retention]\nsync_log_days = 90')
