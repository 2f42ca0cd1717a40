"""``crossdock config``: init, check, show, reference, new-key, encrypt.

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
from rich.markup import escape

from crossdock.errors import ConfigError
from crossdock.output import emit_json, err, out

app = typer.Typer(help="Configuration: init, check, show, reference, secrets.", no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Print exactly one JSON document on stdout.")


def _state(as_json: bool):
    from crossdock.cli import state

    state.json = as_json
    return state


@app.command("init")
def config_init(
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
    as_json: bool = _JSON,
) -> None:
    """Write a complete, commented configuration and its secret key file (mode 0600)."""
    from crossdock.config_init import init_config
    from crossdock.config_keys import BROKER_URL, DATABASE_URL, RATELIMIT_URL

    state = _state(as_json)
    target = out_path or Path(state.config_path or "crossdock.toml")
    doc = init_config(target, admin_url=from_sandbox, database_url=database or DATABASE_URL,
                      broker_url=broker or BROKER_URL, ratelimit_url=ratelimit or RATELIMIT_URL, force=force)
    if as_json:
        emit_json(doc)
        return
    names = ", ".join(c["name"] for c in doc["channels"]) or "none yet: fill in the commented examples"
    out.print(f"wrote {doc['config']}: channels {names}", markup=False, highlight=False)
    out.print(f"key file {doc['key_file']} ({'new' if doc['key_created'] else 'existing, reused'}, mode 0600): "
              "keep it private and out of version control", markup=False, highlight=False)
    cd = "" if Path(doc["config"]).parent.resolve() == Path.cwd().resolve() else f"cd {Path(doc['config']).parent} && "
    err.print(f"next: {cd}crossdock db upgrade && crossdock config check", markup=False, highlight=False)


@app.command("check", short_help="Everything a run needs, every problem at once (exit 0 only when a run would start).")
def config_check(online: bool = typer.Option(False, "--online", help="Also refresh every channel's access "
                                                                   "token (stored through the token store)."),
                 as_json: bool = _JSON) -> None:
    """Everything a run needs, every problem at once: the configuration, secrets and key, the stored
    tokens, the database and its revision, the broker and the rate-limit backend.
    Exit 0 only when a run would start; 2 for configuration problems, 3 for services or authorisation."""
    from crossdock.config_check import run_check

    state = _state(as_json)
    report = run_check(state.config_path, online=online)
    doc = report.to_dict()
    if as_json:
        emit_json(doc)
    else:
        for c in doc["checks"]:
            mark = "[green]ok  [/]" if c["ok"] else "[red]FAIL[/]"
            out.print(f"{mark} {escape(c['check'])}: {escape(c['detail'])}", highlight=False)
        for p in doc["problems"]:
            err.print(f"[bold red]{p['code']}[/] {escape(p['message'])}", highlight=False)
            err.print(f"  Remedy: {escape(p['remedy'])}", highlight=False)
        out.print("ok" if report.ok else f"{len(doc['problems'])} problem(s)", highlight=False)
    if not report.ok:
        raise typer.Exit(report.exit_code)


@app.command("show")
def config_show(as_json: bool = _JSON) -> None:
    """The effective configuration (secrets shown as references only)."""
    from crossdock.cli import load_config
    from crossdock.config_check import safe_url

    _state(as_json)
    cfg = load_config()
    doc = {
        "file": str(cfg.path) if cfg.path else None,
        "database_url": safe_url(cfg.database_url), "broker_url": safe_url(cfg.broker_url),
        "ratelimit_url": safe_url(cfg.ratelimit_url), "time_scale": cfg.time_scale,
        "key_file": str(cfg.key_file) if cfg.key_file else None,
        "channels": {n: {"platform": c.platform, "account": c.account, "marketplace": c.marketplace,
                         "currency": c.currency, "country": c.country, "base_url": c.base_url,
                         "intervals_s": c.intervals_s} for n, c in cfg.channels.items()},
        "warehouses": {w.code: {"name": w.name, "country": w.country, "bins": w.bins}
                       for w in cfg.warehouses.values()},
        "sync": cfg.sync,
    }
    if as_json:
        emit_json(doc)
    else:
        out.print_json(json.dumps(doc))


@app.command("reference")
def config_reference(fmt: str = typer.Option("markdown", "--format", help="markdown or json."),
                     as_json: bool = _JSON) -> None:
    """Every configuration key: type, default, allowed values, description (docs/configuration.md)."""
    from crossdock.config_keys import SCHEMA, reference_markdown
    from crossdock.config_schema import flatten

    _state(as_json)
    if as_json or fmt == "json":
        emit_json({"keys": flatten(SCHEMA)})
        return
    if fmt != "markdown":
        raise ConfigError("XD-CFG-009", detail=f"--format {fmt!r}: markdown or json")
    typer.echo(reference_markdown(), nl=False)


@app.command("new-key")
def config_new_key(out_file: Optional[Path] = typer.Option(None, "--out", metavar="FILE",
                                                           help="Write it to a new key file (mode 0600) "
                                                                "instead of printing it.")) -> None:
    """A new secret key, for a key file (secrets.key_file) or CROSSDOCK_SECRET_KEY."""
    from crossdock.secrets import new_key, write_key_file

    if out_file is None:
        out.print(new_key())
        return
    if out_file.exists():
        raise ConfigError("XD-CFG-011", detail=f"{out_file} exists; a new key would make what the old one "
                                               "encrypted unreadable")
    write_key_file(out_file)
    err.print(f"wrote {out_file} (mode 0600); name it in [secrets] key_file", markup=False, highlight=False)


@app.command("encrypt", short_help="Encrypt a secret from an environment variable: {encrypted = \"…\"}.")
def config_encrypt(env_var: str = typer.Option(..., "--from-env", help="Read the secret from this variable.")) -> None:
    """Encrypt a secret for the configuration ({encrypted = "…"}) with its key (the configuration's
    key file, or CROSSDOCK_SECRET_KEY)."""
    from crossdock import config, secrets
    from crossdock.cli import state

    cfg, _ = config.read(state.config_path)
    if cfg is not None:
        secrets.use_key_file(cfg.key_file)
    value = os.environ.get(env_var)
    if not value:
        raise ConfigError("XD-CFG-005", detail=f"environment variable {env_var} is not set")
    out.print(f'{{encrypted = "{secrets.encrypt(value)}"}}', markup=False, highlight=False)
