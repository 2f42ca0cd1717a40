"""``crossdock config init|check|show|reference|new-key|encrypt|rotate-key``.

``init``, ``reference`` and ``new-key`` need no configuration; ``check``
reports a missing one as its first problem; ``encrypt`` uses the key of the
configuration when there is one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from crossdock.cli.application import JSON_OPT, Application
from crossdock.errors import ConfigError
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="Configuration: init, check, show, reference, secrets.", no_args_is_help=True)


@group.command("init")
def config_init(
    ctx: typer.Context,
    from_sandbox: Optional[str] = typer.Option(None, "--from-sandbox", metavar="ADMIN_URL",
                                               help="Write a channel for every account of this running sandbox "
                                                    "(the admin_url of `crossdock sandbox serve --json`)."),
    database: Optional[str] = typer.Option(None, "--database", metavar="URL",
                                           help="Database URL (default: sqlite file next to the config)."),
    broker: Optional[str] = typer.Option(None, "--broker", metavar="URL", help="Broker URL (default stub://)."),
    ratelimit: Optional[str] = typer.Option(None, "--ratelimit", metavar="URL",
                                            help="Rate-limit backend URL (default sql://, the database)."),
    out_path: Optional[Path] = typer.Option(None, "--out", metavar="PATH",
                                            help="Where to write it (default: --config, else ./crossdock.toml)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing configuration (its key file is kept)."),
    events_url: Optional[str] = typer.Option(None, "--events-url", metavar="URL",
                                             help="[events] public_url: where the platforms post webhooks (this "
                                                  "crossdock serve as they reach it); with --from-sandbox also "
                                                  "the sandbox's notification queues."),
    as_json: bool = JSON_OPT,
) -> None:
    """Write a complete, commented configuration and its secret key file (mode 0600)."""
    from crossdock.config_init import init_config
    from crossdock.config_keys import BROKER_URL, DATABASE_URL, RATELIMIT_URL

    app = Application.of(ctx, json=as_json)
    target = out_path or Path(app.config_path or "crossdock.toml")
    doc = init_config(target, admin_url=from_sandbox, database_url=database or DATABASE_URL,
                      broker_url=broker or BROKER_URL, ratelimit_url=ratelimit or RATELIMIT_URL, force=force,
                      events_url=events_url)
    if as_json:
        app.emit(doc)
        return
    names = ", ".join(c["name"] for c in doc["channels"]) or "none yet: fill in the commented examples"
    app.out.print(f"wrote {doc['config']}: channels {names}", markup=False, highlight=False)
    app.out.print(f"key file {doc['key_file']} ({'new' if doc['key_created'] else 'existing, reused'}, mode 0600): "
                  "keep it private and out of version control", markup=False, highlight=False)
    cd = "" if Path(doc["config"]).parent.resolve() == Path.cwd().resolve() else f"cd {Path(doc['config']).parent} && "
    app.err.print(f"next: {cd}crossdock db upgrade && crossdock config check", markup=False, highlight=False)


@group.command("check", short_help="Everything a run needs, every problem at once (exit 0 only when a run would start).")
def config_check(ctx: typer.Context,
                 online: bool = typer.Option(False, "--online", help="Also refresh every channel's access "
                                                                   "token (stored through the token store)."),
                 as_json: bool = JSON_OPT) -> None:
    """Everything a run needs, every problem at once: the configuration, secrets and key, the stored
    tokens, the database and its revision, the broker and the rate-limit backend.
    Exit 0 only when a run would start; 2 for configuration problems, 3 for services or authorisation."""
    from crossdock.config_check import run_check

    app = Application.of(ctx, json=as_json)
    report = run_check(app.config_path, online=online)
    doc = report.to_dict()
    if as_json:
        app.emit(doc)
    else:
        for c in doc["checks"]:
            mark = "[green]ok  [/]" if c["ok"] else "[red]FAIL[/]"
            app.out.print(f"{mark} {escape(c['check'])}: {escape(c['detail'])}", highlight=False)
        for p in doc["problems"]:
            app.err.print(f"[bold red]{p['code']}[/] {escape(p['message'])}", highlight=False)
            app.err.print(f"  Remedy: {escape(p['remedy'])}", highlight=False)
        app.out.print("ok" if report.ok else f"{len(doc['problems'])} problem(s)", highlight=False)
    if not report.ok:
        raise typer.Exit(report.exit_code)


@group.command("show")
def config_show(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """The effective configuration (secrets shown as references only)."""
    from crossdock.config_check import effective_config

    app = Application.of(ctx, json=as_json)
    doc = effective_config(app.config)
    if as_json:
        app.emit(doc)
    else:
        app.out.print_json(json.dumps(doc))


@group.command("reference")
def config_reference(ctx: typer.Context, fmt: str = typer.Option("markdown", "--format", help="markdown or json."),
                     as_json: bool = JSON_OPT) -> None:
    """Every configuration key: type, default, allowed values, description (docs/configuration.md)."""
    from crossdock.config_keys import SCHEMA, reference_markdown
    from crossdock.config_schema import flatten

    app = Application.of(ctx, json=as_json)
    if as_json or fmt == "json":
        app.emit({"keys": flatten(SCHEMA)})
        return
    if fmt != "markdown":
        raise ConfigError("XD-CFG-009", detail=f"--format {fmt!r}: markdown or json")
    typer.echo(reference_markdown(), nl=False)


@group.command("new-key")
def config_new_key(ctx: typer.Context,
                   out_file: Optional[Path] = typer.Option(None, "--out", metavar="FILE",
                                                           help="Write it to a new key file (mode 0600) "
                                                                "instead of printing it.")) -> None:
    """A new secret key, for a key file (secrets.key_file) or CROSSDOCK_SECRET_KEY."""
    from crossdock.secrets import new_key, write_key_file

    app = Application.of(ctx)
    if out_file is None:
        app.out.print(new_key())
        return
    if out_file.exists():
        raise ConfigError("XD-CFG-011", detail=f"{out_file} exists; a new key would make what the old one "
                                               "encrypted unreadable")
    write_key_file(out_file)
    app.err.print(f"wrote {out_file} (mode 0600); name it in [secrets] key_file", markup=False, highlight=False)


@group.command("encrypt", short_help="Encrypt a secret from an environment variable: {encrypted = \"…\"}.")
def config_encrypt(ctx: typer.Context,
                   env_var: str = typer.Option(..., "--from-env", help="Read the secret from this variable.")) -> None:
    """Encrypt a secret for the configuration ({encrypted = "…"}) with its key (the configuration's
    key file, or CROSSDOCK_SECRET_KEY)."""
    from crossdock import config, secrets

    app = Application.of(ctx)
    cfg, _ = config.read(app.config_path)
    if cfg is not None:
        secrets.use_key_file(cfg.key_file)
    value = os.environ.get(env_var)
    if not value:
        raise ConfigError("XD-CFG-005", detail=f"environment variable {env_var} is not set")
    app.out.print(f'{{encrypted = "{secrets.encrypt(value)}"}}', markup=False, highlight=False)


@group.command("rotate-key", short_help="Re-encrypt every stored token and encrypted config value under a new key.")
def config_rotate_key(ctx: typer.Context,
                      new_key_file: Optional[Path] = typer.Option(
                          None, "--new-key-file", metavar="FILE",
                          help="The new key: read from FILE (mode 0600), or generated into it when it does not "
                               "exist. Default: generate one (with CROSSDOCK_SECRET_KEY set: into "
                               "crossdock.key.new beside the configuration)."),
                      as_json: bool = JSON_OPT) -> None:
    """Re-encrypt every stored token and {encrypted = "…"} value of the configuration under a new key;
    the old key keeps working until it is done. Safe to interrupt: running it again finishes the job."""
    from crossdock.key_rotation import rotate_key

    app = Application.of(ctx, json=as_json)
    doc = rotate_key(app.config, app.db, new_key_file=new_key_file)
    if as_json:
        app.emit(doc)
        return
    out = app.out
    tokens, values = doc["stored_tokens"], doc["config_secrets"]
    out.print(f"new key: {doc['new_key']}", markup=False, highlight=False)
    out.print(f"stored tokens: {tokens['re_encrypted']} re-encrypted, {tokens['already_new']} already under the "
              f"new key", markup=False, highlight=False)
    out.print(f"configuration secrets: {values['re_encrypted']} re-encrypted, {values['already_new']} already "
              f"under the new key", markup=False, highlight=False)
    for line in doc["next"]:
        app.err.print(f"next: {line}", markup=False, highlight=False)
