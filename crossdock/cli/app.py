"""The ``crossdock`` command: the root app, its groups, and the entry point.

The root callback builds the invocation's :class:`Application` (``ctx.obj``);
the groups are imported here, one module per domain, by explicit imports: a
group that cannot be imported stops ``crossdock`` with the import error, it
never silently disappears. :func:`main` runs a command and turns what escapes
it into a code, a meaning, a remedy and the code's exit status (never a
traceback); "this is a bug" is left for bugs.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer

from crossdock import __version__
from crossdock.cli import (
    alerts,
    auth,
    catalog,
    config,
    db,
    demo,
    doctor,
    erase,
    errors,
    events,
    export,
    fx,
    inspect,
    jobs,
    listings,
    logs,
    orders,
    quota,
    refunds,
    report,
    returns,
    sandbox,
    serve,
    stock,
    sync,
    users,
    warehouse,
    worker,
)
from crossdock.cli.application import Application
from crossdock.errors import ConfigError, CrossdockError
from crossdock.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, emit_json
from crossdock.secrets import redact
from crossdock.textsafe import SafeFormatter, markup_escape, printable

__all__ = ["COMMANDS", "GROUPS", "app", "entry", "environment_error", "main", "report_error"]

log = logging.getLogger("crossdock")

app = typer.Typer(name="crossdock", no_args_is_help=True, add_completion=False,
                  help="Cross-border e-commerce sync: Amazon, eBay and Shopify from one catalogue and stock pool.",
                  pretty_exceptions_enable=False)

# Every command group and top-level command, by name. The README's commands are all here;
# tests/core/test_cli_app.py holds the list a person can rely on.
GROUPS: dict[str, typer.Typer] = {
    "config": config.group, "db": db.group, "errors": errors.group, "logs": logs.group,
    "sync": sync.group, "jobs": jobs.group, "auth": auth.group, "quota": quota.group,
    "catalog": catalog.group, "listings": listings.group, "stock": stock.group, "warehouse": warehouse.group,
    "fx": fx.group, "sandbox": sandbox.group, "orders": orders.group, "export": export.group,
    "erase": erase.group, "alerts": alerts.group, "users": users.group, "events": events.group,
    "returns": returns.group,
    "refunds": refunds.group,
}
COMMANDS: dict[str, Callable[..., None]] = {"demo": demo.demo, "worker": worker.worker, "inspect": inspect.inspect,
                                            "doctor": doctor.doctor, "report": report.report,
                                            "audit": users.audit, "serve": serve.serve}

for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)
for _name, _command in COMMANDS.items():
    app.command(_name)(_command)


def _print_version(value: bool) -> None:
    # eager: runs while the options are parsed, before a missing command is an error
    if value:
        typer.echo(f"crossdock {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    ctx: typer.Context,
    config_path: Optional[str] = typer.Option(None, "--config", "-c", envvar="CROSSDOCK_CONFIG",
                                              help="Configuration file (default ./crossdock.toml)."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging on stderr."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version and exit."),
    acting_as: Optional[str] = typer.Option(None, "--as", metavar="NAME",
                                            help="Who acts, for the audit log (default: the OS user)."),
) -> None:
    from crossdock import audit

    application = ctx.ensure_object(Application)     # main() passes one in; built here otherwise
    application.config_path = config_path
    application.verbose = verbose
    ctx.call_on_close(application.close)
    if acting_as is not None:
        if not acting_as.strip() or not acting_as.isprintable():
            raise ConfigError("XD-CFG-009", detail=f"--as {acting_as!r}: a name without control characters")
        ctx.with_resource(audit.acting_as(acting_as.strip(), "cli"))
    if not logging.root.handlers:   # as logging.basicConfig: a program that set up logging keeps its own
        handler = logging.StreamHandler(sys.stderr)
        # platform text in a log message can neither start a new line nor move the cursor
        handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.root.addHandler(handler)
        logging.root.setLevel(logging.WARNING - 10 * min(verbose, 2))
        # for this invocation only: the next one in the same process logs to its own stderr
        ctx.call_on_close(lambda: logging.root.removeHandler(handler))


# ------------------------------------------------------------------ errors a person can act on
def report_error(application: Application, exc: CrossdockError) -> int:
    """Print a crossdock error (one JSON document with --json; else its code,
    title, detail or every problem it lists, remedy and command on stderr) and
    return its exit status."""
    if application.json:
        emit_json({"error": exc.to_dict()})
        return exc.spec.exit_code
    err = application.err
    err.print(f"[bold red]{exc.code}[/] {markup_escape(exc.spec.title)}", highlight=False)
    problems = _problem_lines(exc)
    if len(problems) > 1:           # a file's bad rows: one line each, not one long detail
        where = f"{exc.entity}: " if exc.entity else ""
        err.print(f"  {where}{len(problems)} problems", highlight=False, markup=False)
        for problem in problems:
            err.print(f"    {printable(problem)}", highlight=False, markup=False)
    elif exc.detail:
        detail = "\n  ".join(printable(line) for line in exc.detail.split("\n"))
        err.print(f"  {detail}", highlight=False, markup=False)
    err.print(f"  [bold]Remedy:[/] {markup_escape(exc.spec.remedy)}", highlight=False)
    if exc.spec.command:
        err.print("  [bold]Try:[/] ", end="", highlight=False)
        err.print(exc.spec.command, highlight=False, markup=False)
    err.print(f"  More: crossdock errors explain {exc.code}", highlight=False)
    return exc.spec.exit_code


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


def environment_error(exc: BaseException, argv: list[str], config_path: str | None = None) -> CrossdockError | None:
    """The coded error for what escaped a command because of the machine it
    runs on, not a bug: a database error the engine's translation knows, or
    an OS error on a file or folder the person named (an argument, or the
    configuration file ``config_path``). ``None`` for everything else, which
    stays a bug."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    from crossdock.db.engine import translate_db_error

    if isinstance(exc, (DBAPIError, sqlite3.Error)):
        return translate_db_error(exc)
    if isinstance(exc, typer.BadParameter) and _is_path_parameter(exc.param):
        # a file argument that exists but cannot be read: Typer refuses it before the command runs
        return ConfigError("XD-CFG-009", detail=exc.format_message())
    if isinstance(exc, OSError) and exc.filename is not None and _named_by_user(exc.filename, argv, config_path):
        why = exc.strerror or type(exc).__name__
        return ConfigError("XD-CFG-009", detail=f"{exc.filename}: {why}", path=str(exc.filename))
    return None


def _is_path_parameter(param: Any) -> bool:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return isinstance(annotation, type) and issubclass(annotation, os.PathLike)


def _named_by_user(filename: Any, argv: list[str], config_path: str | None) -> bool:
    try:
        target = Path(os.fsdecode(filename)).absolute()
    except (TypeError, ValueError):
        return False
    named = [a.split("=", 1)[1] if a.startswith("--") and "=" in a else a for a in argv]
    if config_path:
        named.append(config_path)
    for value in named:
        if not value or value.startswith("-"):
            continue
        path = Path(value).expanduser().absolute()
        if target == path or path in target.parents:
            return True
    return False


# ------------------------------------------------------------------ entry point
def main(argv: list[str] | None = None, *, obj: Application | None = None) -> int:
    """Run ``crossdock ARGV`` (default: the process's arguments) and return its
    exit status, turning crossdock errors into their message, remedy and exit
    code. ``obj``: the Application to run with (its consoles, say); a new one
    otherwise."""
    args = list(sys.argv[1:] if argv is None else argv)
    application = obj if obj is not None else Application()
    try:
        # a real process keeps click's name for itself (crossdock, python -m crossdock); called in-process, it is crossdock
        rc = app(args=argv, obj=application, standalone_mode=False, prog_name=None if argv is None else "crossdock")
        if isinstance(rc, int):
            return rc
    except CrossdockError as exc:
        return report_error(application, exc)
    except typer.Exit as ex:
        return ex.exit_code
    except typer.Abort:
        application.err.print("aborted")
        return EXIT_FAILED
    except KeyboardInterrupt:
        application.err.print("interrupted")
        return 130
    except Exception as exc:  # click usage errors and the unexpected
        coded = environment_error(exc, args, application.config_path)
        if coded is not None:
            log.debug("%s from %s", coded.code, type(exc).__name__, exc_info=True)
            application.json = application.json or "--json" in args     # refused before the command read its options
            return report_error(application, coded)
        show = getattr(exc, "show", None)
        if callable(show) and (isinstance(exc, typer.TyperException) or hasattr(exc, "exit_code")):
            if type(exc).__name__ == "NoArgsIsHelpError":
                show()
                return EXIT_OK
            show()
            return EXIT_USAGE
        log.debug("unexpected error", exc_info=True)
        application.err.print(f"[bold red]crossdock failed unexpectedly[/]: {type(exc).__name__}: "
                              f"{markup_escape(redact(str(exc)))}")
        application.err.print("  This is a bug. Run again with -vv for details and report it with the output.")
        return EXIT_FAILED
    finally:
        application.close()
    return EXIT_OK


def entry() -> None:
    sys.exit(main())
