"""The XD-DATA codes: storage, migrations and backups."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-DATA-001", "Database unreachable",
      "crossdock could not connect to its database, or lost the connection in the middle of a transaction "
      "(which was rolled back). The message shows the URL it used, password masked.",
      ("PostgreSQL not running, or not on that host and port", "wrong CROSSDOCK_DATABASE_URL or [database] url",
       "the database or the user named in the URL does not exist", "the SQLite folder does not exist, or the path "
       "is a folder"),
      "Check the database URL (`crossdock config show`) and that the server is running and accepts the user; "
      "for SQLite, that the folder exists. A worker retries on its own once the database is back.",
      "crossdock db current", retryable=True),
    E("XD-DATA-002", "Database schema out of date",
      "The database has not been upgraded to this version of crossdock.",
      ("crossdock was upgraded without migrating",),
      "Run the migrations.", "crossdock db upgrade"),
    E("XD-DATA-003", "Database busy",
      "The database stayed locked longer than the busy timeout.",
      ("a long transaction in another process",),
      "Retry; if it repeats, look for a stuck process holding the database.", None, retryable=True),
    E("XD-DATA-004", "Duplicate record",
      "A record with the same natural key already exists; the duplicate was not stored.",
      ("an order imported twice (harmless)",),
      "None; duplicates are ignored by design.", None),
    E("XD-DATA-005", "Backup missing or stale",
      "No recent backup of the database exists.",
      ("backups not scheduled",),
      "Take a backup now and schedule it.", "crossdock db backup"),
    E("XD-DATA-006", "Integrity check failed",
      "A consistency check found data that contradicts itself (e.g. reserved more than on hand), or the "
      "SQLite file itself is damaged or not a database at all.",
      ("a manual database edit", "a bug", "a SQLite file truncated, overwritten or copied while it was written"),
      "Keep the database as is, take a backup, and report the check output. A damaged SQLite file cannot be "
      "repaired in place: stop the workers and restore the newest backup (`db backup` writes them).",
      "crossdock db check"),
    E("XD-DATA-007", "Backup could not be made",
      "crossdock could not write a backup of the database; no new backup exists.",
      ("pg_dump is not installed or not on PATH (PostgreSQL)", "the backup folder is not writable or full",
       "pg_dump's version is older than the server's"),
      "Install the PostgreSQL client tools matching the server (pg_dump), or pick a writable folder "
      "with --to, then back up again.", "crossdock db backup --to PATH"),
    E("XD-DATA-008", "Database cannot be written",
      "The database refused a write: it can be read but not changed. Nothing of the command was stored.",
      ("the SQLite file or its folder is read-only (SQLite also writes -wal and -shm files beside the database)",
       "the disk is full", "PostgreSQL is a read-only standby, or default_transaction_read_only is on"),
      "Make the SQLite file and its folder writable by the user running crossdock (or move the database to a "
      "writable folder and update the URL), free disk space, or point the URL at the primary PostgreSQL server.",
      "crossdock config show"),
    E("XD-DATA-009", "Restore target not empty",
      "`crossdock db restore` only restores into an empty database (no tables): it never overwrites data. "
      "Nothing was changed.",
      ("the database in the configuration still holds data", "--to names an existing database or file"),
      "Restore into a new database (`--to URL` of an empty PostgreSQL database or a new SQLite path), or drop "
      "the old one first after taking a backup of it.",
      "crossdock db restore FILE --to URL"),
    E("XD-DATA-010", "Backup file damaged or not as recorded",
      "The backup file does not match its manifest (size or SHA-256 differ), the manifest is missing, or the "
      "restored copy does not hold the rows the manifest counted. The file cannot be trusted; nothing was "
      "restored into the target.",
      ("the file was truncated (disk full, copy interrupted)", "the file was changed after the backup",
       "the manifest belongs to another file"),
      "Use another backup (`crossdock db backups` lists them, with their verification), or its copy in "
      "[backup] copy_to; verify it first.",
      "crossdock db restore FILE --verify-only"),
    E("XD-DATA-011", "Restore failed",
      "The backup could not be restored: the restore tool failed, or the backup is from a newer crossdock "
      "than this one. The scratch or target database may hold a partial restore.",
      ("pg_restore is not installed or is older than the dump", "the backup's schema revision is newer than "
       "this crossdock", "the target database refused the restore (permissions, disk full)"),
      "Install the PostgreSQL client tools matching the server, upgrade crossdock to the version that took the "
      "backup, drop the partial target, and restore again.",
      "crossdock db restore FILE --to URL"),
    E("XD-DATA-012", "Export could not be written",
      "`crossdock export` could not write its file; no partial file was left.",
      ("the folder does not exist or is not writable", "the disk is full"),
      "Pick a writable path with --out, or free disk space, and export again.",
      "crossdock export orders --out PATH"),
)
