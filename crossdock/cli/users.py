"""``crossdock users add|list|passwd|disable|token`` and ``crossdock audit``.

The people who log in to ``crossdock serve`` (:mod:`crossdock.access`).
Whoever can run these commands can reach the database already, so they are
not asked for a console login; each change goes to the audit log as the OS
user, or ``crossdock --as NAME``.
"""

from __future__ import annotations

import getpass
import sys
from typing import Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.errors import AccessError
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="Console users: roles, passwords and API tokens.", no_args_is_help=True)

NAME_ARG = typer.Argument(..., help="User name.")
STDIN_OPT = typer.Option(False, "--password-stdin", help="Read the password from the first line of stdin.")


def _password(from_stdin: bool) -> str:
    """From stdin's first line, else typed twice without echo (XD-ACCESS-011 when they differ)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise AccessError("XD-ACCESS-011", detail="the two passwords differ")
    return first


@group.command("add")
def users_add(ctx: typer.Context, name: str = NAME_ARG,
              role: str = typer.Option(..., "--role", help="viewer, support, operator or admin."),
              password_stdin: bool = STDIN_OPT, as_json: bool = JSON_OPT) -> None:
    """Add a user with a role; the password is typed twice (or --password-stdin)."""
    from crossdock.access.roles import ROLES
    from crossdock.access.users import add_user, check_name
    from crossdock.errors import ConfigError

    app = Application.of(ctx, json=as_json)
    check_name(name)
    if role not in ROLES:                   # before a password is asked for
        raise ConfigError("XD-CFG-009", detail=f"--role {role!r}: one of {', '.join(ROLES)}")
    doc = add_user(app.db, name, role, _password(password_stdin))
    if as_json:
        app.emit(doc)
    else:
        app.out.print(f"user {name} added ({role})", markup=False, highlight=False)


@group.command("list")
def users_list(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """Every user: role, disabled, API tokens in use."""
    from crossdock.access.users import users_doc

    app = Application.of(ctx, json=as_json)
    doc = users_doc(app.db)
    if as_json:
        app.emit(doc)
        return
    if not doc["users"]:
        app.out.print("no users: crossdock users add NAME --role admin", markup=False, highlight=False)
        return
    table = Table(title=f"users ({len(doc['users'])})")
    for col in ("name", "role", "state", "api tokens", "changed"):
        table.add_column(col)
    for u in doc["users"]:
        table.add_row(escape(u["name"]), u["role"], "disabled" if u["disabled"] else "enabled",
                      str(u["api_tokens"]), u["updated_at"][:16].replace("T", " "))
    app.out.print(table)


@group.command("passwd")
def users_passwd(ctx: typer.Context, name: str = NAME_ARG, password_stdin: bool = STDIN_OPT,
                 as_json: bool = JSON_OPT) -> None:
    """Set a new password (the user's console sessions end)."""
    from crossdock.access.users import set_password

    app = Application.of(ctx, json=as_json)
    doc = set_password(app.db, name, _password(password_stdin))
    if as_json:
        app.emit(doc)
    else:
        app.out.print(f"password of {name} changed; {doc['sessions_ended']} session(s) ended", markup=False,
                      highlight=False)


@group.command("disable")
def users_disable(ctx: typer.Context, name: str = NAME_ARG, as_json: bool = JSON_OPT) -> None:
    """Disable a user: no login, sessions ended, API tokens revoked (kept in the audit log)."""
    from crossdock.access.users import disable_user

    app = Application.of(ctx, json=as_json)
    doc = disable_user(app.db, name)
    if as_json:
        app.emit(doc)
    else:
        app.out.print(f"user {name} disabled; {doc['sessions_ended']} session(s) ended, {doc['tokens_revoked']} "
                      f"API token(s) revoked", markup=False, highlight=False)


@group.command("token")
def users_token(ctx: typer.Context, name: str = NAME_ARG,
                label: str = typer.Option("api", "--label", help="What the token is for."),
                as_json: bool = JSON_OPT) -> None:
    """Print a new API token for `Authorization: Bearer` (shown this once, stored as a hash)."""
    from crossdock.access.users import new_token

    app = Application.of(ctx, json=as_json)
    doc = new_token(app.db, name, label=label)
    if as_json:
        app.emit(doc)
        return
    app.out.print(doc["token"], markup=False, highlight=False, soft_wrap=True)
    app.err.print(f"API token {doc['token_id']} for {name}: shown once, keep it safe", markup=False,
                  highlight=False)


def audit(ctx: typer.Context,
          action: Optional[str] = typer.Option(None, "--action", help="Only this action (users.add, jobs.retry…)."),
          actor: Optional[str] = typer.Option(None, "--actor", help="Only this actor."),
          limit: int = typer.Option(200, "--limit", min=1, max=100_000),
          as_json: bool = JSON_OPT) -> None:
    """The audit log, newest first: who changed what, by which way, before and after."""
    from crossdock.audit import audit_doc

    app = Application.of(ctx, json=as_json)
    with app.db.read() as s:
        doc = audit_doc(s, action=action, actor_name=actor, limit=limit)
    if as_json:
        app.emit(doc)
        return
    table = Table(title=f"audit log ({len(doc['records'])}, newest first)")
    for col in ("id", "at", "actor", "via", "action", "subject", "after"):
        table.add_column(col, overflow="fold")
    for r in doc["records"]:
        table.add_row(str(r["id"]), r["at"][:19].replace("T", " "), escape(r["actor"]), r["via"] or "-",
                      escape(r["action"]), escape(r["subject"]), escape(str(r["after"] or ""))[:120])
    app.out.print(table)
