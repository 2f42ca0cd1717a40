"""``crossdock auth status|set|connect|refresh|pause|resume``: credentials per channel.

The documents come from :mod:`crossdock.connectors.credentials` and
:mod:`crossdock.sync_engine.auth_refresh`; here the options are read (a token
from the environment variable the person names, never from the command line)
and the documents printed.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Optional

import typer
from rich.table import Table

from crossdock.cli.application import JSON_OPT, Application
from crossdock.connectors.credentials import DEFAULT_WARNING_DAYS
from crossdock.errors import ConfigError
from crossdock.output import EXIT_AUTH_OR_CONNECTION, EXIT_PARTIAL
from crossdock.textsafe import markup_escape as escape

group = typer.Typer(help="Credentials per channel: expiry, new refresh tokens, paused channels.",
                    no_args_is_help=True)

CHANNEL_ARG = typer.Argument(..., help="Channel name from the configuration.")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _parse_day(text: str | None, option: str, now: dt.datetime) -> dt.datetime | None:
    """A date (midnight UTC) or ISO date-time; not in the future."""
    if text is None:
        return None
    from crossdock.clock import parse_iso

    try:
        value = parse_iso(text)
    except ValueError:
        raise ConfigError("XD-CFG-009", detail=f"{option} {text!r}: write a date as YYYY-MM-DD") from None
    if value > now + dt.timedelta(days=1):
        raise ConfigError("XD-CFG-009", detail=f"{option} {text!r} is in the future")
    return value


def _env_secret(var: str, option: str) -> str:
    """The secret in environment variable ``var``, remembered for redaction."""
    from crossdock.secrets import remember

    value = os.environ.get(var, "")
    if not value.strip():
        raise ConfigError("XD-CFG-005", detail=f"{option} {var}: environment variable {var} is not set")
    value = value.strip()
    remember(value)
    return value


@group.command("status")
def auth_status(ctx: typer.Context,
                within_days: float = typer.Option(DEFAULT_WARNING_DAYS, "--within-days", min=0,
                                                  help="Warn about credentials expiring within this many days."),
                as_json: bool = JSON_OPT) -> None:
    """Credential expiry and paused state per channel (exit 3 when expired or paused, 4 when one expires
    within the warning window)."""
    from crossdock.connectors.credentials import auth_status_doc

    app = Application.of(ctx, json=as_json)
    doc = auth_status_doc(app.config, app.db, _now(), within_days=within_days)
    if as_json:
        app.emit(doc)
    else:
        out, err = app.out, app.err
        if not doc["channels"]:
            out.print("no channels configured")
        table = Table(title=f"credentials (warning window {within_days:g} days)")
        for col in ("channel", "state", "refresh token", "authorisation", "client secret", "access"):
            table.add_column(col, overflow="fold", no_wrap=col in ("channel", "authorisation", "client secret"))
        for c in doc["channels"]:
            state = f"[red]paused {c['paused_code']}[/]" if c["paused"] else "running"
            refresh = (c["refresh_expires_at"] or "no expiry")[:10] if c["refresh_token_stored"] else "[red]none[/]"
            access = ("to " + c["access_expires_at"][11:16]) if c["access_valid"] else "-"
            table.add_row(escape(c["channel"]), state, refresh,
                          (c["authorisation_expires_at"] or "-")[:10], (c["client_secret_expires_at"] or "-")[:10],
                          access)
        if doc["channels"]:
            out.print(table)
        for c in doc["channels"]:
            if c["authorised_at"]:
                out.print(f"{escape(c['channel'])}: authorised on {c['authorised_at'][:10]}", highlight=False)
        for w in doc["warnings"]:
            colour = "red" if w["expired"] else "yellow"
            err.print(f"[{colour}]{w['code']}[/] {escape(w['channel'])}: {escape(w['message'])}", highlight=False)
            if w["command"]:
                err.print(f"  Try: {escape(w['command'])}", highlight=False)
        for c in doc["channels"]:
            for note in c["notes"]:
                err.print(f"[dim]{escape(c['channel'])}: {escape(note)}[/]", highlight=False)
    if not doc["ok"]:
        raise typer.Exit(EXIT_AUTH_OR_CONNECTION)
    if doc["warnings"]:
        # something expires soon: a script (or cron) sees it too, not only a person reading stderr
        raise typer.Exit(EXIT_PARTIAL)


@group.command("set")
def auth_set(ctx: typer.Context,
             channel: str = CHANNEL_ARG,
             refresh_token_env: Optional[str] = typer.Option(
                 None, "--refresh-token-env", help="Read the new refresh token from this environment variable."),
             authorised_on: Optional[str] = typer.Option(
                 None, "--authorised-on", help="When the seller (re-)authorised the app, YYYY-MM-DD (default today)."),
             client_secret_rotated_on: Optional[str] = typer.Option(
                 None, "--client-secret-rotated-on", help="Amazon: when the LWA client secret was rotated."),
             token_env: Optional[str] = typer.Option(
                 None, "--token-env", help="eBay: the new Trading API (Auth'n'Auth) token is in this variable."),
             as_json: bool = JSON_OPT) -> None:
    """Store a new refresh token, record credential dates, resume the channel.

    The token is encrypted and REPLACES the stored one (and the access token of
    the old grant); the channel's pause is cleared."""
    from crossdock.connectors.credentials import set_credentials

    app = Application.of(ctx, json=as_json)
    ch = app.config.channel(channel)
    now = _now()
    if not refresh_token_env and not token_env:
        raise ConfigError("XD-CFG-009", detail="give --refresh-token-env VAR (OAuth/LWA) and/or --token-env VAR "
                                               "(eBay Trading API)")
    authorised_at = _parse_day(authorised_on, "--authorised-on", now)
    rotated_at = _parse_day(client_secret_rotated_on, "--client-secret-rotated-on", now)
    refresh_token = _env_secret(refresh_token_env, "--refresh-token-env") if refresh_token_env else None
    trading_token = _env_secret(token_env, "--token-env") if token_env else None
    result = set_credentials(app.db, ch, refresh_token=refresh_token, trading_token=trading_token,
                             trading_token_env=token_env, authorised_at=authorised_at,
                             client_secret_rotated_at=rotated_at, now=now)
    if as_json:
        app.emit(result)
        return
    _print_stored(app, channel, [f"{channel}: new credentials stored"], result)


@group.command("connect")
def auth_connect(ctx: typer.Context,
                 channel: str = CHANNEL_ARG,
                 port: int = typer.Option(0, "--port", min=0, max=65535,
                                          help="Loopback port for the callback (the app's redirect URL is "
                                               "http://127.0.0.1:PORT/callback); default: a free one."),
                 timeout: float = typer.Option(300.0, "--timeout", help="Seconds to wait for the seller's consent."),
                 open_browser: bool = typer.Option(False, "--open", help="Open the consent URL in a browser too."),
                 as_json: bool = JSON_OPT) -> None:
    """Connect a seller account: the platform's consent page, then the tokens stored.

    Prints the consent URL; the seller approves in a browser on this machine
    and the platform sends the browser back to 127.0.0.1, where crossdock
    checks the answer, exchanges the code and stores the tokens encrypted
    (replacing the channel's, resuming it), with today as the authorisation date."""
    from crossdock.connectors.account_connect import connect_channel

    app = Application.of(ctx, json=as_json)

    def announce(url: str) -> None:
        # on its own line, for a person or a script; on stderr with --json (stdout is the document)
        console = app.err if as_json else app.out
        console.print(f"Open this URL to authorise {channel}:", highlight=False, markup=False)
        console.print(url, highlight=False, markup=False)
        console.file.flush()

    opener = None
    if open_browser:
        import webbrowser

        opener = webbrowser.open
    result = connect_channel(app.config, app.db, channel, port=port, timeout_s=timeout, announce=announce,
                             open_browser=opener)
    if as_json:
        app.emit(result)
        return
    _print_stored(app, channel, [f"{channel}: connected" + (f" ({result['account']})" if result.get("account") else ""),
                                 f"authorised {result['authorised_at'][:10]}"], result)


@group.command("refresh")
def auth_refresh(ctx: typer.Context, channel: str = CHANNEL_ARG, as_json: bool = JSON_OPT) -> None:
    """Get a new access token now (after fixing credentials, or to check them).
    Tokens are never printed."""
    from crossdock.sync_engine.auth_refresh import refresh_channel_token

    app = Application.of(ctx, json=as_json)
    doc = refresh_channel_token(app.config, app.db, channel)
    if as_json:
        app.emit(doc)
        return
    app.out.print(f"{channel}: new access token, valid until {doc['access_expires_at']}", highlight=False,
                  markup=False)
    if doc["paused_code"]:
        app.err.print(f"{channel} is paused ({doc['paused_code']}): crossdock auth resume {channel}",
                      highlight=False, markup=False)


@group.command("pause")
def auth_pause(ctx: typer.Context, channel: str = CHANNEL_ARG,
               reason: str = typer.Option(..., "--reason", "-r", help="Why (the audit log and the console show it)."),
               as_json: bool = JSON_OPT) -> None:
    """Pause a channel by hand (XD-SYNC-009): its jobs wait, the other channels run, until
    `crossdock auth resume`. Audited (who: --as NAME or the OS user)."""
    from crossdock.sync_engine.hand_pause import pause_by_hand

    app = Application.of(ctx, json=as_json)
    app.config.channel(channel)
    if not reason.strip():
        raise ConfigError("XD-CFG-009", detail="--reason: say why the channel is paused")
    doc = pause_by_hand(app.db, channel, reason=reason)
    if as_json:
        app.emit(doc)
        return
    if doc["paused"]:
        app.out.print(f"{channel}: paused ({doc['paused_code']}); crossdock auth resume {channel} resumes it",
                      highlight=False, markup=False)
    else:
        app.out.print(f"{channel}: already paused ({doc['paused_code']})", highlight=False, markup=False)


@group.command("resume")
def auth_resume(ctx: typer.Context, channel: str = CHANNEL_ARG, as_json: bool = JSON_OPT) -> None:
    """Resume a channel paused after an authorisation failure (XD-SYNC-002)."""
    from crossdock.connectors.credentials import resume_channel

    app = Application.of(ctx, json=as_json)
    doc = resume_channel(app.config, app.db, channel)
    if as_json:
        app.emit(doc)
        return
    if doc["resumed"]:
        app.out.print(f"{channel}: resumed (was paused with {doc['was_paused_with']})", highlight=False, markup=False)
    else:
        app.out.print(f"{channel}: not paused", highlight=False, markup=False)
    for w in doc["expired_credentials"]:
        app.err.print(f"[red]{w['code']}[/] {escape(w['message'])}: the channel will pause again until it is renewed",
                      highlight=False)
    if doc["failed_jobs"]:
        app.err.print(f"{doc['failed_jobs']} failed job(s) on {channel}: crossdock jobs retry --all --channel "
                      f"{channel}", markup=False, highlight=False)


_VALID_TO = (("authorisation_expires_at", "authorisation"), ("client_secret_expires_at", "client secret"),
             ("refresh_expires_at", "refresh token"), ("trading_token_expires_at", "Trading token"))


def _print_stored(app: Application, channel: str, head: list[str], result: dict) -> None:
    """What `auth set` and `auth connect` stored: the dates each credential is valid to, and a resume."""
    parts = head + [f"{label} valid to {result[key][:10]}" for key, label in _VALID_TO if result.get(key)]
    app.out.print("; ".join(parts), highlight=False, markup=False)
    if result["was_paused_with"]:
        app.out.print(f"{channel}: resumed (was paused with {result['was_paused_with']})", highlight=False,
                      markup=False)
