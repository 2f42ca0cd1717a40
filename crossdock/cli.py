"""The ``crossdock`` command. One sub-app per domain; every read command takes
``--json``; failures print their code, meaning and remedy and exit with the
code's exit status (never a traceback)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from crossdock import __version__
from crossdock.errors import CATALOGUE, ConfigError, CrossdockError, lookup
from crossdock.errors.catalogue import AREAS
from crossdock.output import (
    EXIT_AUTH_OR_CONNECTION,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    emit_json,
    err,
    out,
)

log = logging.getLogger("crossdock")

app = typer.Typer(name="crossdock", no_args_is_help=True, add_completion=False,
                  help="Cross-border e-commerce sync: Amazon, eBay and Shopify from one catalogue and stock pool.",
                  pretty_exceptions_enable=False)
errors_app = typer.Typer(help="The error catalogue: every XD code, what it means and how to fix it.",
                         no_args_is_help=True)
db_app = typer.Typer(help="Database schema and checks.", no_args_is_help=True)
logs_app = typer.Typer(help="The sync log: every fetch, push, retry, skip and failure.",
                       invoke_without_command=True)
app.add_typer(errors_app, name="errors")
app.add_typer(db_app, name="db")
app.add_typer(logs_app, name="logs")

JSON_OPT = typer.Option(False, "--json", help="Print exactly one JSON document on stdout.")


class State:
    config_path: Optional[str] = None
    json: bool = False
    verbose: int = 0


state = State()


def _print_version(value: bool) -> None:
    # eager: runs while the options are parsed, before a missing command is an error
    if value:
        out.print(f"crossdock {__version__}", highlight=False)
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    config: Optional[str] = typer.Option(None, "--config", "-c", envvar="CROSSDOCK_CONFIG",
                                         help="Configuration file (default ./crossdock.toml)."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging on stderr."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version and exit."),
) -> None:
    state.config_path = config
    state.verbose = verbose
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# ------------------------------------------------------------------ helpers
def load_config():
    from crossdock import config

    return config.load(state.config_path)


def open_db(cfg=None):
    """The configured database, migrated (an empty SQLite file is created)."""
    from crossdock.db.engine import Database
    from crossdock.db.migrate import ensure_current

    cfg = cfg or load_config()
    db = Database(cfg.database_url)
    ensure_current(db, auto_create=db.is_sqlite)
    return db


def parse_since(text: str | None) -> dt.datetime | None:
    """``2h``, ``30m``, ``1d``, ``45s`` ago, or an ISO date/time (UTC if no zone)."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    now = dt.datetime.now(dt.timezone.utc)
    if m:
        n = float(m.group(1))
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        return now - dt.timedelta(**{unit: n})
    try:
        from crossdock.clock import parse_iso

        return parse_iso(text)
    except ValueError:
        raise ConfigError("XD-CFG-009", detail=f"--since {text!r}: use e.g. 2h, 30m, 1d or 2026-11-23T10:00") from None


def fail(exc: CrossdockError) -> None:
    """Report a crossdock error and exit with its exit code."""
    if state.json:
        emit_json({"error": exc.to_dict()})
    else:
        err.print(f"[bold red]{exc.code}[/] {exc.spec.title}", highlight=False)
        problems = _problem_lines(exc)
        if len(problems) > 1:           # a file's bad rows: one line each, not one long detail
            where = f"{exc.entity}: " if exc.entity else ""
            err.print(f"  {where}{len(problems)} problems", highlight=False, markup=False)
            for problem in problems:
                err.print(f"    {problem}", highlight=False, markup=False)
        elif exc.detail:
            err.print(f"  {exc.detail}", highlight=False, markup=False)
        err.print(f"  [bold]Remedy:[/] {exc.spec.remedy}", highlight=False)
        if exc.spec.command:
            err.print("  [bold]Try:[/] ", end="", highlight=False)
            err.print(exc.spec.command, highlight=False, markup=False)
        err.print(f"  More: crossdock errors explain {exc.code}", highlight=False)
    raise typer.Exit(exc.spec.exit_code)


def _problem_lines(exc: CrossdockError) -> list[str]:
    """Every problem an error lists (a file's bad rows: ``problems`` in its
    context, text or {line, sku?, column?, message, code}), one line each:
    ``line 5 (SKU-1): [XD-INV-010] sku: SKU-1 is also on line 2``."""
    lines = []
    for p in exc.context.get("problems") or ():
        if isinstance(p, dict):
            row = f" ({p['sku']})" if p.get("sku") else ""
            where = f"line {p['line']}{row}: " if p.get("line") is not None else ""
            code = f"[{p['code']}] " if p.get("code") else ""
            column = f"{p['column']}: " if p.get("column") else ""
            p = f"{where}{code}{column}{p.get('message', '')}"
        lines.append(str(p))
    return lines


def environment_error(exc: BaseException, argv: list[str]) -> CrossdockError | None:
    """The coded error for what escaped a command because of the machine it
    runs on, not a bug: a database error the engine's translation knows, or
    an OS error on a file or folder the person named (an argument, or the
    configuration file). ``None`` for everything else, which stays a bug."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    from crossdock.db.engine import translate_db_error

    if isinstance(exc, (DBAPIError, sqlite3.Error)):
        return translate_db_error(exc)
    if isinstance(exc, typer.BadParameter) and _is_path_parameter(exc.param):
        # a file argument that exists but cannot be read: Typer refuses it before the command runs
        return ConfigError("XD-CFG-009", detail=exc.format_message())
    if isinstance(exc, OSError) and exc.filename is not None and _named_by_user(exc.filename, argv):
        why = exc.strerror or type(exc).__name__
        return ConfigError("XD-CFG-009", detail=f"{exc.filename}: {why}", path=str(exc.filename))
    return None


def _is_path_parameter(param: Any) -> bool:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return isinstance(annotation, type) and issubclass(annotation, os.PathLike)


def _named_by_user(filename: Any, argv: list[str]) -> bool:
    try:
        target = Path(os.fsdecode(filename)).absolute()
    except (TypeError, ValueError):
        return False
    named = [a.split("=", 1)[1] if a.startswith("--") and "=" in a else a for a in argv]
    if state.config_path:
        named.append(state.config_path)
    for value in named:
        if not value or value.startswith("-"):
            continue
        path = Path(value).expanduser().absolute()
        if target == path or path in target.parents:
            return True
    return False


# ------------------------------------------------------------------ errors
def _explain_text(spec) -> None:
    out.print(f"[bold]{spec.code}[/]  {spec.title}  [dim]({AREAS[spec.area]})[/]", highlight=False)
    out.print(f"\n[bold]Meaning[/]\n  {spec.meaning}", highlight=False)
    if spec.causes:
        out.print("\n[bold]Likely causes[/]", highlight=False)
        for c in spec.causes:
            out.print(f"  - {c}", highlight=False, markup=False)
    out.print(f"\n[bold]Remedy[/]\n  {spec.remedy}", highlight=False)
    if spec.command:
        out.print("\n[bold]Command[/]", highlight=False)
        out.print(f"  {spec.command}", highlight=False, markup=False)
    out.print(f"\n[dim]retryable: {'yes' if spec.retryable else 'no'} · exit code {spec.exit_code}[/]")


@errors_app.command("list")
def errors_list(area: Optional[str] = typer.Option(None, "--area", help="Only this area (CFG, AUTH, …)."),
                as_json: bool = JSON_OPT) -> None:
    """Every error code with its title and remedy."""
    state.json = as_json
    specs = [s for s in CATALOGUE.values() if not area or s.area == area.upper()]
    if area and not specs:
        fail(ConfigError("XD-CFG-009", detail=f"--area {area!r}: one of {', '.join(AREAS)}"))
    if as_json:
        emit_json([s.to_dict() for s in specs])
        return
    table = Table(title=f"crossdock error codes ({len(specs)})", show_lines=False)
    table.add_column("code", no_wrap=True)
    table.add_column("title")
    table.add_column("remedy")
    for s in specs:
        table.add_row(s.code, s.title, s.remedy)
    out.print(table)


@errors_app.command("explain")
def errors_explain(code: str = typer.Argument(..., help="An XD code, e.g. XD-AUTH-002."),
                   as_json: bool = JSON_OPT) -> None:
    """What a code means, its likely causes and the remedy."""
    state.json = as_json
    try:
        spec = lookup(code.strip())
    except KeyError:
        near = [c for c in CATALOGUE if c.startswith(code.strip().upper()[:7])][:5]
        fail(ConfigError("XD-CFG-009", detail=f"unknown error code {code!r}"
                                              + (f"; did you mean {', '.join(near)}?" if near else "")))
        return
    if as_json:
        emit_json(spec.to_dict())
    else:
        _explain_text(spec)


# ------------------------------------------------------------------ logs
def _events_table(rows: list[dict], title: str) -> Table:
    table = Table(title=title)
    for col in ("at", "channel", "entity", "operation", "outcome", "code", "message"):
        table.add_column(col, overflow="fold")
    for r in rows:
        style = {"failed": "red", "retry": "yellow", "partial": "yellow", "skipped": "dim"}.get(r["outcome"], "")
        table.add_row((r["at"] or "")[:23], r["channel"] or "", r["entity"] or "", r["operation"],
                      f"[{style}]{r['outcome']}[/]" if style else r["outcome"], r["code"] or "",
                      (r["message"] or "")[:160])
    return table


@logs_app.callback()
def logs(ctx: typer.Context,
         channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
         code: Optional[str] = typer.Option(None, "--code", help="Only this code or area prefix (XD-AUTH)."),
         since: Optional[str] = typer.Option(None, "--since", help="2h, 30m, 1d or an ISO time."),
         entity: Optional[str] = typer.Option(None, "--entity", help="Order id, SKU or shipment."),
         outcome: Optional[str] = typer.Option(None, "--outcome", help="ok, failed, retry, skipped, partial."),
         limit: int = typer.Option(200, "--limit", min=1, max=100000),
         as_json: bool = JSON_OPT) -> None:
    """Recent sync events, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from crossdock import synclog

    state.json = as_json
    since_at = parse_since(since)
    db = open_db()
    with db.read() as s:
        rows = [synclog.to_dict(e) for e in synclog.query(s, channel=channel, code=code, since=since_at,
                                                          entity=entity, outcome=outcome, limit=limit)]
    if as_json:
        emit_json(rows)
    else:
        out.print(_events_table(rows, f"sync log ({len(rows)} events, newest first)"))


@logs_app.command("trace")
def logs_trace(entity_id: str = typer.Argument(..., help="Order id (platform or local), SKU or tracking number."),
               as_json: bool = JSON_OPT) -> None:
    """The whole chain for one order, SKU or shipment, oldest first."""
    from crossdock import synclog

    state.json = as_json
    db = open_db()
    try:
        with db.read() as s:
            rows = [synclog.to_dict(e) for e in synclog.trace(s, entity_id)]
    finally:
        db.dispose()
    if as_json:
        emit_json({"entity": entity_id, "events": rows})
        return
    if not rows:
        err.print(f"no events for {entity_id!r}")
    out.print(_events_table(rows, f"trace of {entity_id} ({len(rows)} events, oldest first)"))


# ------------------------------------------------------------------ db
@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head"), as_json: bool = JSON_OPT) -> None:
    """Create or migrate the database schema."""
    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade

    state.json = as_json
    cfg = load_config()
    db = Database(cfg.database_url)
    before, after = upgrade(db, revision)
    if as_json:
        emit_json({"database": _safe_url(cfg.database_url), "from": before, "to": after})
    else:
        out.print(f"database {_safe_url(cfg.database_url)}: {before or 'empty'} -> {after}")


@db_app.command("current")
def db_current(as_json: bool = JSON_OPT) -> None:
    """The schema revision of the database and of this crossdock."""
    from crossdock.db.engine import Database
    from crossdock.db.migrate import current_revision, head_revision

    state.json = as_json
    cfg = load_config()
    db = Database(cfg.database_url)
    doc = {"database": _safe_url(cfg.database_url), "current": current_revision(db), "head": head_revision(db)}
    doc["up_to_date"] = doc["current"] == doc["head"]
    if as_json:
        emit_json(doc)
    else:
        out.print(f"{doc['database']}: at {doc['current']}, head {doc['head']}"
                  + ("" if doc["up_to_date"] else "  -> run `crossdock db upgrade`"))


def _safe_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)


# ------------------------------------------------------------------ sub-apps owned by other packages
def _mount_optional(module: str, name: str) -> None:
    import importlib

    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return
        raise
    sub = getattr(mod, "app", None)
    if sub is not None:
        app.add_typer(sub, name=name)
    register = getattr(mod, "register", None)
    if register is not None:
        register(app)


for _module, _name in (("crossdock.config_cli", "config"),
                       ("crossdock.sandbox.cli", "sandbox"), ("crossdock.ratelimit.cli", "quota"),
                       ("crossdock.inspect", "inspect"), ("crossdock.workers", "worker"),
                       ("crossdock.warehouse.cli", "warehouse-cli"),
                       ("crossdock.ops_cli", "ops"),
                       ("crossdock.sync_engine.cli", "sync-cli"),
                       ("crossdock.catalog.cli", "catalog-cli")):
    _mount_optional(_module, _name)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turning crossdock errors into their
    message, remedy and exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rc = app(args=argv, standalone_mode=False)
        if isinstance(rc, int):
            return rc
    except CrossdockError as exc:
        try:
            fail(exc)
        except typer.Exit as ex:
            return ex.exit_code
    except typer.Exit as ex:
        return ex.exit_code
    except typer.Abort:
        err.print("aborted")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:  # click usage errors and the unexpected
        coded = environment_error(exc, args)
        if coded is not None:
            log.debug("%s from %s", coded.code, type(exc).__name__, exc_info=True)
            state.json = state.json or "--json" in args     # refused before the command read its options
            try:
                fail(coded)
            except typer.Exit as ex:
                return ex.exit_code
        show = getattr(exc, "show", None)
        if isinstance(exc, typer.TyperException) or (show and hasattr(exc, "exit_code")):
            if type(exc).__name__ == "NoArgsIsHelpError":
                show()
                return EXIT_OK
            show()
            return EXIT_USAGE
        log.debug("unexpected error", exc_info=True)
        err.print(f"[bold red]crossdock failed unexpectedly[/]: {type(exc).__name__}: {exc}")
        err.print("  This is a bug. Run again with -vv for details and report it with the output.")
        return EXIT_FAILED
    return EXIT_OK


def entry() -> None:
    sys.exit(main())


__all__ = ["app", "main", "open_db", "load_config", "fail", "parse_since", "state", "JSON_OPT"]
