"""``crossdock db upgrade|current|backup|backups|restore|check``: the schema, backups, restores, integrity."""

from __future__ import annotations

from typing import Optional

import typer

from crossdock.cli.application import JSON_OPT, Application
from crossdock.cli.db_backups import register as register_backups
from crossdock.output import EXIT_FAILED
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="Database schema and checks.", no_args_is_help=True)


@group.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: str = typer.Argument("head"), as_json: bool = JSON_OPT) -> None:
    """Create or migrate the database schema."""
    from crossdock.db.migrate import upgrade_report

    app = Application.of(ctx, json=as_json)
    doc = upgrade_report(app.config.database_url, revision)
    if as_json:
        app.emit(doc)
    else:
        app.out.print(f"database {doc['database']}: {doc['from'] or 'empty'} -> {doc['to']}")


@group.command("current")
def db_current(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """The schema revision of the database and of this crossdock."""
    from crossdock.db.migrate import revision_report

    app = Application.of(ctx, json=as_json)
    doc = revision_report(app.config.database_url)
    if as_json:
        app.emit(doc)
    else:
        app.out.print(f"{doc['database']}: at {doc['current']}, head {doc['head']}"
                      + ("" if doc["up_to_date"] else "  -> run `crossdock db upgrade`"))


@group.command("backup")
def db_backup(ctx: typer.Context,
              to: Optional[str] = typer.Option(None, "--to", help="Folder (existing, or ending in /: a timestamped "
                                                                  "file inside) or a new file."),
              as_json: bool = JSON_OPT) -> None:
    """Back up the database (SQLite online backup, PostgreSQL pg_dump -Fc) with a manifest beside it."""
    from crossdock.backups.take import take_backup

    app = Application.of(ctx, json=as_json)
    section = app.config.backup
    if to is None and section:
        to = section["folder"].rstrip("/") + "/"
    doc = take_backup(app.db, to=to, kind="manual", copy_to=section["copy_to"] if section else None)
    if as_json:
        app.emit(doc)
    else:
        app.out.print(f"backup written: {doc['path']} ({doc['bytes']} bytes, {doc['duration_ms']} ms)",
                      highlight=False, markup=False)


register_backups(group)


@group.command("check")
def db_check(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """Integrity checks: stock, reservations, orders, outbox, backups (exit 1 on an error).

    Each finding carries an XD code; warnings (stale backup, backlog, unknown
    SKUs) do not change the exit status."""
    from crossdock.db.check import check_report

    app = Application.of(ctx, json=as_json)
    doc = check_report(app.config.database_url, lambda: app.db)
    if as_json:
        app.emit(doc)
    else:
        out = app.out
        for f in doc["findings"]:
            colour = "red" if f["severity"] == "error" else "yellow"
            out.print(f"[{colour}]{f['code']}[/] {f['severity']}: {escape(f['message'])}", highlight=False)
            for row in f["sample"][:5]:
                out.print("    " + escape(", ".join(f"{k}={v}" for k, v in row.items())), highlight=False)
            if f["severity"] == "error":
                out.print(f"    Remedy: {escape(f['remedy'])}", highlight=False)
            if f["command"]:
                out.print(f"    Try: {escape(f['command'])}", highlight=False)
        out.print(f"{len(doc['checks'])} checks: {doc['errors']} error(s), {doc['warnings']} warning(s)")
    if not doc["ok"]:
        raise typer.Exit(EXIT_FAILED)
