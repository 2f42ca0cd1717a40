"""``crossdock db backups|restore``: the recorded backups, and restoring one
(or proving it restores). Registered on the ``db`` group by :mod:`crossdock.cli.db`."""

from __future__ import annotations

from typing import Optional

import typer

from crossdock.cli.application import JSON_OPT, Application
from crossdock.output import EXIT_FAILED


def db_backups(ctx: typer.Context,
               include_pruned: bool = typer.Option(False, "--all", help="Also backups pruned by the keep policy."),
               as_json: bool = JSON_OPT) -> None:
    """The backups crossdock took, newest first, with their verification."""
    from crossdock.backups.take import backup_rows

    app = Application.of(ctx, json=as_json)
    rows = backup_rows(app.db, include_pruned=include_pruned)
    if as_json:
        app.emit({"backups": rows})
        return
    if not rows:
        app.out.print("no backups recorded: `crossdock db backup`, or a [backup] section for the worker")
        return
    for r in rows:
        state = {True: "verified", False: f"FAILED {r['verify_code']}", None: "not verified"}[r["verified"]]
        missing = "" if r["exists"] else "  (file missing)"
        app.out.print(f"{r['taken_at'][:19]}  {r['kind']:<9} {r['bytes']:>12} B  {state:<16} {r['path']}{missing}",
                      highlight=False, markup=False)


def db_restore(ctx: typer.Context,
               file: str = typer.Argument(..., help="A backup file (its .manifest.json beside it)."),
               to: Optional[str] = typer.Option(None, "--to", help="Database URL to restore into (default: the "
                                                                   "configured one); it must be empty."),
               verify_only: bool = typer.Option(False, "--verify-only",
                                                help="Restore into a scratch database, compare with the "
                                                     "manifest, record the result; change nothing else."),
               as_json: bool = JSON_OPT) -> None:
    """Restore a backup into an empty database, or prove it restores (--verify-only)."""
    from crossdock.backups.restore import record_verification, restore_backup, verify_backup

    app = Application.of(ctx, json=as_json)
    url = to or app.config.database_url
    if verify_only:
        outcome = verify_backup(file, url)
        try:
            outcome["recorded"] = record_verification(app.db, outcome)
        except Exception as exc:  # noqa: BLE001 - the verification stands even where it cannot be recorded
            outcome["recorded"] = 0
            outcome["not_recorded"] = str(getattr(exc, "message", exc))[:300]
        if as_json:
            app.emit(outcome)
        else:
            verdict = "verified" if outcome["ok"] else f"FAILED [{outcome['code']}]"
            app.out.print(f"{outcome['file']}: {verdict}: {outcome['detail']}", highlight=False, markup=False)
        if not outcome["ok"]:
            raise typer.Exit(EXIT_FAILED)
        return
    doc = restore_backup(file, url)
    if as_json:
        app.emit(doc)
    else:
        app.out.print(f"restored {doc['file']} (taken {doc['taken_at']}, {doc['rows']} rows) into {doc['database']};"
                      f" schema {doc['revision_from']} -> {doc['revision_to']}; db check: {doc['check']['errors']} "
                      f"error(s), {doc['check']['warnings']} warning(s). Workers check credentials and re-read "
                      f"orders since the backup before they sync.", highlight=False, markup=False)
    if not doc["check"]["ok"]:
        raise typer.Exit(EXIT_FAILED)


def register(group: typer.Typer) -> None:
    group.command("backups")(db_backups)
    group.command("restore")(db_restore)
