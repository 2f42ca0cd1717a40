"""Operations commands: the ones the error catalogue's remedies name.

- ``crossdock jobs failed|retry|list``: the outbox's failed list and its replay;
- ``crossdock auth status|set|resume``: credential expiry per channel
  (XD-AUTH-005 warnings before a lapse), storing a new refresh token,
  resuming a paused channel;
- ``crossdock fx load|show``: the seller's dated FX rate table;
- ``crossdock db backup|check`` (on the root CLI's ``db`` group): online
  backups and integrity checks with XD codes;
- ``sync status``: :func:`status_command` / :func:`sync_status_doc`, mounted by
  the sync engine's ``sync`` group (this module does not create that group).

Mounted by :func:`register`. Every read command takes ``--json`` and then
prints exactly one JSON document on stdout; errors are crossdock errors (code,
meaning, remedy, the code's exit status) reported by the root CLI.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import sqlite3
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from crossdock.errors import ConfigError, DataError, lookup
from crossdock.output import EXIT_AUTH_OR_CONNECTION, EXIT_FAILED, EXIT_PARTIAL, emit_json, err, out

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

__all__ = [
    "AMAZON_AUTHORISATION_DAYS",
    "AMAZON_CLIENT_SECRET_DAYS",
    "BACKUP_MAX_AGE_S",
    "EBAY_REFRESH_TOKEN_S",
    "EBAY_TRADING_TOKEN_S",
    "Finding",
    "auth_status_doc",
    "backup_database",
    "db_check_findings",
    "fx_rates_doc",
    "load_fx_file",
    "register",
    "resume_channel",
    "retry_jobs",
    "set_credentials",
    "status_command",
    "sync_status_doc",
]

# Credential lifetimes (FACTS.md): Amazon seller authorisation 365 days, LWA client
# secret 180 days; eBay OAuth refresh token and Trading Auth'n'Auth token ~18 months.
AMAZON_AUTHORISATION_DAYS = 365
AMAZON_CLIENT_SECRET_DAYS = 180
EBAY_REFRESH_TOKEN_S = 47_304_000
EBAY_TRADING_TOKEN_S = 47_304_000
DEFAULT_WARNING_DAYS = 30

BACKUP_MAX_AGE_S = 24 * 3600.0          # db check: XD-DATA-005 beyond this
OUTBOX_OVERDUE_S = 3600.0               # db check: pending work due longer than this → XD-SYNC-005
FAILURE_WINDOW_S = 24 * 3600.0          # sync status: failures counted over this window
SAMPLE_SIZE = 20                        # db check: rows named per finding

BACKUP_OP = "db.backup"
CLOSED_ORDER_STATUSES = ("shipped", "delivered", "cancelled", "returned")
JOB_STATUSES = ("pending", "running", "done", "failed")
# XD-ORD-007: cancelled after it shipped (parcel to intercept; `crossdock warehouse flagged`)
STUCK_ORDER_CODES = ("XD-ORD-002", "XD-ORD-003", "XD-ORD-007")

jobs_app = typer.Typer(help="The outbox: failed jobs, replay, and what is queued.", no_args_is_help=True)
auth_app = typer.Typer(help="Credentials per channel: expiry, new refresh tokens, paused channels.",
                       no_args_is_help=True)
fx_app = typer.Typer(help="Exchange rates: load the seller's dated rate file, show what is stored.",
                     no_args_is_help=True)

_JSON_HELP = "Print exactly one JSON document on stdout."


def _json_opt() -> Any:
    return typer.Option(False, "--json", help=_JSON_HELP)


def register(app: typer.Typer) -> None:
    """Add ``jobs``, ``auth`` and ``fx`` to the root app and ``backup`` /
    ``check`` to its existing ``db`` group."""
    from crossdock.cli import db_app

    app.add_typer(jobs_app, name="jobs")
    app.add_typer(auth_app, name="auth")
    app.add_typer(fx_app, name="fx")
    db_app.command("backup")(db_backup)
    db_app.command("check")(db_check)


# ------------------------------------------------------------------ helpers
def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _open(as_json: bool):
    """(config, database) for a command; errors after this point print as JSON with --json."""
    from crossdock.cli import load_config, open_db, state

    state.json = as_json
    cfg = load_config()
    return cfg, open_db(cfg)


def _set_json(as_json: bool) -> None:
    from crossdock.cli import state

    state.json = as_json


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172_800:
        return f"{s // 3600}h"
    return f"{s // 86_400}d"


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


# ------------------------------------------------------------------ jobs
def _entry_dict(e: Any) -> dict[str, Any]:
    from crossdock.secrets import redact

    return {"id": e.id, "kind": e.kind, "channel": e.channel, "entity": e.entity, "status": e.status,
            "priority": e.priority, "attempts": e.attempts, "last_code": e.last_code,
            "last_error": redact(e.last_error) if e.last_error else None,
            "available_at": _iso(e.available_at), "claimed_by": e.claimed_by,
            "claimed_until": _iso(e.claimed_until), "correlation_id": e.correlation_id,
            "created_at": _iso(e.created_at), "updated_at": _iso(e.updated_at), "done_at": _iso(e.done_at)}


def _jobs_table(rows: list[dict[str, Any]], title: str, *, failed: bool) -> Table:
    """A narrow table (the entity and times are in --json)."""
    table = Table(title=title)
    cols = ["id", "kind", "channel", "tries", "code", "error"] if failed else \
        ["id", "kind", "channel", "status", "tries", "due", "code"]
    for col in cols:
        table.add_column(col, overflow="fold", no_wrap=col in ("id", "tries"))
    for r in rows:
        cells = {"id": str(r["id"]), "kind": escape(r["kind"]), "channel": escape(r["channel"] or "-"),
                 "tries": str(r["attempts"]), "code": r["last_code"] or "-", "status": r["status"],
                 "error": escape((r["last_error"] or "")[:160]),
                 "due": (r["available_at"] or "")[5:16].replace("T", " ")}
        table.add_row(*(cells[c] for c in cols))
    return table


@jobs_app.command("failed")
def jobs_failed(channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
                kind: Optional[str] = typer.Option(None, "--kind", help="Only this job kind (push_stock, …)."),
                limit: int = typer.Option(500, "--limit", min=1, max=100_000),
                as_json: bool = _json_opt()) -> None:
    """Jobs that used up their retries (XD-SYNC-001), newest failure first."""
    from crossdock.sync_engine import outbox

    _cfg, db = _open(as_json)
    with db.read() as s:
        rows = [_entry_dict(e) for e in outbox.failed_jobs(s, channel=channel, kind=kind, limit=limit)]
    if as_json:
        emit_json({"failed": rows, "count": len(rows)})
        return
    if not rows:
        out.print("no failed jobs")
        return
    out.print(_jobs_table(rows, f"failed jobs ({len(rows)}, newest first)", failed=True))
    err.print("Fix the cause shown, then: crossdock jobs retry ID… | --all", markup=False, highlight=False)


@jobs_app.command("list")
def jobs_list(status: Optional[str] = typer.Option(None, "--status", help="pending, running, done or failed."),
              channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
              kind: Optional[str] = typer.Option(None, "--kind", help="Only this job kind."),
              limit: int = typer.Option(200, "--limit", min=1, max=100_000),
              as_json: bool = _json_opt()) -> None:
    """Outbox entries, most recently changed first."""
    from sqlalchemy import select

    from crossdock.db.models import OutboxEntry

    _set_json(as_json)
    if status is not None and status not in JOB_STATUSES:
        raise ConfigError("XD-CFG-009", detail=f"--status {status!r}: one of {', '.join(JOB_STATUSES)}")
    _cfg, db = _open(as_json)
    stmt = select(OutboxEntry)
    if status:
        stmt = stmt.where(OutboxEntry.status == status)
    if channel:
        stmt = stmt.where(OutboxEntry.channel == channel)
    if kind:
        stmt = stmt.where(OutboxEntry.kind == kind)
    stmt = stmt.order_by(OutboxEntry.updated_at.desc(), OutboxEntry.id.desc()).limit(limit)
    with db.read() as s:
        rows = [_entry_dict(e) for e in s.scalars(stmt)]
    if as_json:
        emit_json({"jobs": rows, "count": len(rows), "status": status})
        return
    if not rows:
        out.print("no jobs" + (f" with status {status}" if status else ""))
        return
    out.print(_jobs_table(rows, f"jobs ({len(rows)}, most recently changed first)", failed=False))


def retry_jobs(db: Any, ids: list[int] | None = None, *, all_failed: bool = False, channel: str | None = None,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """Failed jobs back to pending (``outbox.retry``) plus one ``jobs.retry``
    event, in one transaction. ``not_retried`` names requested ids that were
    not failed (or do not exist)."""
    from sqlalchemy import select

    from crossdock import synclog
    from crossdock.db.models import OutboxEntry
    from crossdock.sync_engine import outbox

    wanted = sorted(set(ids or []))
    if bool(wanted) == all_failed:
        raise ConfigError("XD-CFG-009", detail="name the job ids to retry, or --all (not both)")
    if channel and not all_failed:
        raise ConfigError("XD-CFG-009", detail="--channel goes with --all")
    now = now or _now()

    def run(s: Session) -> tuple[list[int], dict[int, str | None]]:
        moved = outbox.retry(s, "all" if all_failed else wanted, channel=channel, now=now)
        left = [i for i in wanted if i not in set(moved)]
        found = dict(s.execute(select(OutboxEntry.id, OutboxEntry.status)
                               .where(OutboxEntry.id.in_(left))).all()) if left else {}
        missed = {i: found.get(i) for i in left}
        synclog.record(s, operation="jobs.retry", outcome="ok" if moved else "skipped", channel=channel,
                       entity_type="job", entity=str(moved[0]) if len(moved) == 1 else None, at=now,
                       message=f"{len(moved)} failed job(s) replayed"
                               + (f"; {len(missed)} not failed, left alone" if missed else ""),
                       details={"ids": moved[:500], "all": all_failed,
                                "not_retried": {str(k): v for k, v in list(missed.items())[:500]}})
        return moved, missed

    moved, missed = db.run_write(run)
    return {"retried": moved,
            "not_retried": [{"id": i, "status": st,
                             "reason": "not found" if st is None else f"status is {st}, not failed"}
                            for i, st in missed.items()]}


@jobs_app.command("retry")
def jobs_retry(ids: Optional[list[int]] = typer.Argument(None, help="Outbox entry ids (from `jobs failed`)."),
               all_failed: bool = typer.Option(False, "--all", help="Every failed job."),
               channel: Optional[str] = typer.Option(None, "--channel", help="With --all: only this channel."),
               as_json: bool = _json_opt()) -> None:
    """Replay failed jobs: back to pending with a fresh set of attempts (exit 4 if some were not failed)."""
    _set_json(as_json)
    if bool(ids) == all_failed:
        raise ConfigError("XD-CFG-009", detail="name the job ids to retry, or --all (not both)")
    _cfg, db = _open(as_json)
    doc = retry_jobs(db, ids, all_failed=all_failed, channel=channel)
    moved = doc["retried"]
    if as_json:
        emit_json(doc)
    else:
        out.print(f"{len(moved)} job(s) back to pending" + (f": {', '.join(map(str, moved[:50]))}" if moved else ""))
        for r in doc["not_retried"]:
            err.print(f"  job {r['id']}: {r['reason']}", markup=False, highlight=False)
    if doc["not_retried"]:
        raise typer.Exit(EXIT_PARTIAL)


# ------------------------------------------------------------------ auth
_EXPIRED_CODE = {"refresh_token": "XD-AUTH-002", "seller_authorisation": "XD-AUTH-003",
                 "client_secret": "XD-AUTH-004", "trading_token": "XD-AUTH-009"}
_WHAT_TEXT = {"refresh_token": "refresh token", "seller_authorisation": "seller authorisation",
              "client_secret": "client secret", "trading_token": "Trading API token"}


def _trading_token_expiry(s: Session, channel: str) -> dt.datetime | None:
    """The Trading token's hard expiry recorded by the newest ``auth set --token-env``."""
    from sqlalchemy import select

    from crossdock.clock import parse_iso
    from crossdock.db.models import SyncEvent

    rows = s.execute(select(SyncEvent.details).where(SyncEvent.operation == "auth.set", SyncEvent.channel == channel,
                                                     SyncEvent.outcome == "ok")
                     .order_by(SyncEvent.at.desc(), SyncEvent.id.desc()).limit(50)).scalars()
    for details in rows:
        when = ((details or {}).get("expiry") or {}).get("trading_api")
        if when:
            return parse_iso(when)
    return None


def _warning(channel: str, what: str, expires_at: dt.datetime, now: dt.datetime) -> dict[str, Any]:
    expired = expires_at <= now
    code = _EXPIRED_CODE[what] if expired else "XD-AUTH-005"
    spec = lookup(code)
    days = (expires_at - now).total_seconds() / 86_400
    text = _WHAT_TEXT[what]
    message = (f"{text} expired on {expires_at.date().isoformat()}" if expired
               else f"{text} expires on {expires_at.date().isoformat()} (in {max(0, int(days))} days)")
    return {"code": code, "channel": channel, "what": what, "expires_at": _iso(expires_at), "expired": expired,
            "days_left": round(days, 1), "message": message, "remedy": spec.remedy,
            "command": (spec.command or "").replace("CHANNEL", channel) or None}


def auth_status_doc(cfg: Any, db: Any, now: dt.datetime, *, within_days: float = DEFAULT_WARNING_DAYS) -> dict:
    """Per configured channel: stored credential expiries, access token, paused
    state, and warnings (XD-AUTH-005 within the window; 002/003/004/009 when
    already expired). Never reads or shows a token's value."""
    from sqlalchemy import select

    from crossdock.connectors.tokens import SqlTokenStore
    from crossdock.db.models import Channel, Credential

    store = SqlTokenStore(db)
    expiring = store.expiring(within=dt.timedelta(days=within_days), now=now)
    by_channel: dict[str, list[dict]] = defaultdict(list)
    for item in expiring:
        by_channel[item["channel"]].append(item)
    channels = []
    all_warnings: list[dict] = []
    with db.read() as s:
        rows = {c.name: c for c in s.scalars(select(Channel).where(Channel.name.in_(sorted(cfg.channels) or [""])))}
        creds = {c.channel: c for c in s.scalars(select(Credential)
                                                 .where(Credential.channel.in_(sorted(cfg.channels) or [""])))}
        trading = {name: _trading_token_expiry(s, name) for name, ch in cfg.channels.items()
                   if ch.platform == "ebay"}
    horizon = now + dt.timedelta(days=within_days)
    for name in sorted(cfg.channels):
        ch = cfg.channels[name]
        row, cred = rows.get(name), creds.get(name)
        warnings = [_warning(name, item["what"], item["expires_at"], now)
                    for item in sorted(by_channel.get(name, []), key=lambda i: i["expires_at"])]
        trading_at = trading.get(name)
        if trading_at is not None and trading_at <= horizon:
            warnings.append(_warning(name, "trading_token", trading_at, now))
        notes = []
        if ch.platform == "amazon" and (cred is None or cred.authorisation_expires_at is None):
            notes.append("seller authorisation date unknown: record it with "
                         f"`crossdock auth set {name} --refresh-token-env VAR --authorised-on DATE`")
        if ch.platform == "amazon" and (cred is None or cred.client_secret_expires_at is None):
            notes.append("client secret rotation date unknown: record it with "
                         "`--client-secret-rotated-on DATE` on `crossdock auth set`")
        access_valid = bool(cred and cred.access_token_enc and cred.access_expires_at
                            and cred.access_expires_at > now)
        doc = {
            "channel": name, "platform": ch.platform, "account": ch.account,
            "paused": bool(row and row.paused_code), "paused_code": row.paused_code if row else None,
            "paused_reason": row.paused_reason if row else None, "paused_at": _iso(row.paused_at if row else None),
            "refresh_token_stored": bool(cred and cred.refresh_token_enc),
            "refresh_expires_at": _iso(cred.refresh_expires_at if cred else None),
            "authorisation_expires_at": _iso(cred.authorisation_expires_at if cred else None),
            "client_secret_expires_at": _iso(cred.client_secret_expires_at if cred else None),
            "access_expires_at": _iso(cred.access_expires_at if cred else None),
            "access_valid": access_valid,
            "refreshed_at": _iso(cred.refreshed_at if cred else None),
            "trading_token_expires_at": _iso(trading_at),
            "warnings": warnings, "notes": notes,
        }
        channels.append(doc)
        all_warnings.extend(warnings)
    problems = [w for w in all_warnings if w["expired"]] + [c for c in channels if c["paused"]]
    return {"checked_at": _iso(now), "within_days": within_days, "channels": channels,
            "warnings": all_warnings, "ok": not problems}


@auth_app.command("status")
def auth_status(within_days: float = typer.Option(DEFAULT_WARNING_DAYS, "--within-days", min=0,
                                                  help="Warn about credentials expiring within this many days."),
                as_json: bool = _json_opt()) -> None:
    """Credential expiry and paused state per channel (exit 3 when expired or paused)."""
    cfg, db = _open(as_json)
    doc = auth_status_doc(cfg, db, _now(), within_days=within_days)
    if as_json:
        emit_json(doc)
    else:
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


@contextlib.contextmanager
def _token_lock(store: Any, channel: str) -> Iterator[None]:
    """Hold the lock a token refresh holds, so a refresh in flight cannot write
    the old refresh token back over the new one. On PostgreSQL the refresh
    holds the credentials row (FOR UPDATE): our UPDATE waits for it and wins."""
    if store.db.is_sqlite:
        with store._file_lock(channel):   # the SQLite refresh lock (a file beside the database)
            yield
    else:
        yield


def _env_secret(var: str, option: str) -> str:
    from crossdock.secrets import remember

    value = os.environ.get(var, "")
    if not value.strip():
        raise ConfigError("XD-CFG-005", detail=f"{option} {var}: environment variable {var} is not set")
    value = value.strip()
    remember(value)
    return value


def _resume(s: Session, channel: str, *, reason: str, now: dt.datetime) -> str | None:
    """Clear the channel's pause (in the caller's transaction); returns the code it was paused with."""
    from sqlalchemy import update

    from crossdock import synclog
    from crossdock.db.models import Channel

    row = s.get(Channel, channel)
    if row is None or not row.paused_code:
        return None
    previous = row.paused_code
    s.execute(update(Channel).where(Channel.name == channel)
              .values(paused_code=None, paused_reason=None, paused_at=None, updated_at=now))
    synclog.record(s, operation="channel.resume", outcome="ok", channel=channel, entity_type="channel",
                   entity=channel, message=f"resumed ({reason}); was paused with {previous}",
                   details={"previous_code": previous}, at=now)
    return previous


def _check_trading_token_reference(ch: Any, var: str, value: str) -> None:
    """crossdock reads the eBay Trading token from ``channels.NAME.trading_token``;
    make sure that reference now resolves to the new token."""
    ref = ch.secrets.get("trading_token")
    fix = (f'set channels.{ch.name}.trading_token = {{env = "{var}"}} in the configuration '
           "(crossdock reads the Trading token from there)")
    if ref is None:
        raise ConfigError("XD-CFG-004", channel=ch.name, detail=f"channels.{ch.name}.trading_token is not set; {fix}")
    if ref.env == var:
        return
    try:
        current = ref.reveal()
    except ConfigError:
        current = None
    if current != value:
        raise ConfigError("XD-CFG-003", channel=ch.name,
                          detail=f"channels.{ch.name}.trading_token does not resolve to the token in {var}; {fix}")


def set_credentials(db: Any, ch: Any, *, refresh_token: str | None = None, trading_token: str | None = None,
                    trading_token_env: str | None = None, authorised_at: dt.datetime | None = None,
                    client_secret_rotated_at: dt.datetime | None = None,
                    now: dt.datetime | None = None) -> dict[str, Any]:
    """Store new credentials for channel ``ch`` (a ChannelConfig) and resume it.

    ``refresh_token`` is encrypted and REPLACES the stored one (unlike
    ``seed_refresh_token``); the access token of the old grant is dropped so the
    next call refreshes with the new one. Dates (FACTS.md): Amazon seller
    authorisation = ``authorised_at`` + 365 days, LWA client secret =
    ``client_secret_rotated_at`` + 180 days (kept when not given); eBay refresh
    token = ``authorised_at`` + 18 months. ``trading_token`` (eBay Auth'n'Auth)
    is read by crossdock from ``channels.NAME.trading_token``: it is checked to
    resolve to the new value and its 18-month expiry is recorded.
    Records ``auth.set`` (and ``channel.resume`` when it was paused)."""
    from crossdock import synclog
    from crossdock.connectors.base import TokenState
    from crossdock.connectors.tokens import SqlTokenStore, ensure_channels
    from crossdock.db.models import Credential

    now = now or _now()
    name, platform = ch.name, ch.platform
    if refresh_token is None and trading_token is None:
        raise ConfigError("XD-CFG-009", detail="give --refresh-token-env VAR (OAuth/LWA) and/or --token-env VAR "
                                               "(eBay Trading API)")
    if trading_token is not None and platform != "ebay":
        raise ConfigError("XD-CFG-009", channel=name, detail="--token-env is for eBay Trading API tokens")
    if client_secret_rotated_at is not None and platform != "amazon":
        raise ConfigError("XD-CFG-009", channel=name,
                          detail="--client-secret-rotated-on is for Amazon (LWA secrets must be rotated every "
                                 f"{AMAZON_CLIENT_SECRET_DAYS} days); {platform} has no such rule")
    if client_secret_rotated_at is not None and refresh_token is None:
        raise ConfigError("XD-CFG-009", detail="--client-secret-rotated-on goes with --refresh-token-env")
    if authorised_at is not None and platform == "shopify":
        raise ConfigError("XD-CFG-009", channel=name,
                          detail="--authorised-on: Shopify refresh tokens rotate on every use and have no "
                                 "authorisation date to track")
    if trading_token is not None:
        _check_trading_token_reference(ch, trading_token_env or "VAR", trading_token)
    granted_at = authorised_at or now

    ensure_channels(db, [ch])
    result: dict[str, Any] = {"channel": name, "platform": platform}
    if refresh_token is not None:
        store = SqlTokenStore(db)
        with _token_lock(store, name):
            with db.read() as s:
                current = s.get(Credential, name)
                kept_secret = current.client_secret_expires_at if current else None
                kept_auth = current.authorisation_expires_at if current else None
            refresh_expires = None
            authorisation_expires = kept_auth
            client_secret_expires = kept_secret
            if platform == "amazon":
                authorisation_expires = granted_at + dt.timedelta(days=AMAZON_AUTHORISATION_DAYS)
                if client_secret_rotated_at is not None:
                    client_secret_expires = client_secret_rotated_at + dt.timedelta(days=AMAZON_CLIENT_SECRET_DAYS)
            elif platform == "ebay":
                refresh_expires = granted_at + dt.timedelta(seconds=EBAY_REFRESH_TOKEN_S)
            store.save(TokenState(channel=name, refresh_token=refresh_token, refresh_expires_at=refresh_expires,
                                  authorisation_expires_at=authorisation_expires,
                                  client_secret_expires_at=client_secret_expires))
        result.update({"refresh_token": "replaced", "refresh_expires_at": _iso(refresh_expires),
                       "authorisation_expires_at": _iso(authorisation_expires),
                       "client_secret_expires_at": _iso(client_secret_expires)})
    if trading_token is not None:
        result["trading_token"] = "verified"
        result["trading_token_expires_at"] = _iso(granted_at + dt.timedelta(seconds=EBAY_TRADING_TOKEN_S))

    # Event details are redacted by key name (anything with "token" or "secret"), so the dates go under
    # neutral keys; auth status reads the Trading token's expiry back from here.
    expiry = {"refresh": result.get("refresh_expires_at"),
              "seller_authorisation": result.get("authorisation_expires_at"),
              "client_credentials": result.get("client_secret_expires_at"),
              "trading_api": result.get("trading_token_expires_at")}

    def finish(s: Session) -> str | None:
        synclog.record(s, operation="auth.set", outcome="ok", channel=name, entity_type="channel", entity=name,
                       at=now, details={"expiry": {k: v for k, v in expiry.items() if v}},
                       message="new credentials stored" + (" (refresh token replaced)" if refresh_token else "")
                               + (" (Trading token verified)" if trading_token else ""))
        return _resume(s, name, reason="new credentials stored", now=now)

    previous = db.run_write(finish)
    result["resumed"] = previous is not None
    result["was_paused_with"] = previous
    return result


@auth_app.command("set")
def auth_set(channel: str = typer.Argument(..., help="Channel name from the configuration."),
             refresh_token_env: Optional[str] = typer.Option(
                 None, "--refresh-token-env", help="Read the new refresh token from this environment variable."),
             authorised_on: Optional[str] = typer.Option(
                 None, "--authorised-on", help="When the seller (re-)authorised the app, YYYY-MM-DD (default today)."),
             client_secret_rotated_on: Optional[str] = typer.Option(
                 None, "--client-secret-rotated-on", help="Amazon: when the LWA client secret was rotated."),
             token_env: Optional[str] = typer.Option(
                 None, "--token-env", help="eBay: the new Trading API (Auth'n'Auth) token is in this variable."),
             as_json: bool = _json_opt()) -> None:
    """Store a new refresh token, record credential dates, resume the channel.

    The token is encrypted and REPLACES the stored one (and the access token of
    the old grant); the channel's pause is cleared."""
    from crossdock.cli import load_config, open_db

    _set_json(as_json)
    cfg = load_config()
    ch = cfg.channel(channel)
    now = _now()
    if not refresh_token_env and not token_env:
        raise ConfigError("XD-CFG-009", detail="give --refresh-token-env VAR (OAuth/LWA) and/or --token-env VAR "
                                               "(eBay Trading API)")
    authorised_at = _parse_day(authorised_on, "--authorised-on", now)
    rotated_at = _parse_day(client_secret_rotated_on, "--client-secret-rotated-on", now)
    refresh_token = _env_secret(refresh_token_env, "--refresh-token-env") if refresh_token_env else None
    trading_token = _env_secret(token_env, "--token-env") if token_env else None
    result = set_credentials(open_db(cfg), ch, refresh_token=refresh_token, trading_token=trading_token,
                             trading_token_env=token_env, authorised_at=authorised_at,
                             client_secret_rotated_at=rotated_at, now=now)
    if as_json:
        emit_json(result)
        return
    parts = [f"{channel}: new credentials stored"]
    for key, label in (("authorisation_expires_at", "authorisation"), ("client_secret_expires_at", "client secret"),
                       ("refresh_expires_at", "refresh token"), ("trading_token_expires_at", "Trading token")):
        if result.get(key):
            parts.append(f"{label} valid to {result[key][:10]}")
    out.print("; ".join(parts), highlight=False, markup=False)
    if result["was_paused_with"]:
        out.print(f"{channel}: resumed (was paused with {result['was_paused_with']})", highlight=False, markup=False)


def resume_channel(cfg: Any, db: Any, channel: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Clear the channel's pause; report credentials that are still expired
    (it would pause again) and its failed jobs (to replay)."""
    from sqlalchemy import func, select

    from crossdock.db.models import OutboxEntry

    now = now or _now()
    cfg.channel(channel)
    previous = db.run_write(lambda s: _resume(s, channel, reason="crossdock auth resume", now=now))
    status = auth_status_doc(cfg, db, now)
    still = [w for c in status["channels"] if c["channel"] == channel for w in c["warnings"] if w["expired"]]
    with db.read() as s:
        failed = s.scalar(select(func.count()).select_from(OutboxEntry)
                          .where(OutboxEntry.channel == channel, OutboxEntry.status == "failed")) or 0
    return {"channel": channel, "resumed": previous is not None, "was_paused_with": previous,
            "expired_credentials": still, "failed_jobs": int(failed)}


def refresh_channel_token(cfg: Any, db: Any, channel: str) -> dict[str, Any]:
    """Get a new access token for ``channel`` now, through the shared token
    store (row lock / file lock: a worker refreshing at the same moment is not
    raced, and a rotated refresh token is stored before it is used). The
    current access token is treated as refused, so the platform is always
    asked. Raises the platform's XD-AUTH error when it refuses."""
    from sqlalchemy import select

    from crossdock.connectors.tokens import SqlTokenStore, ensure_channels
    from crossdock.db.models import Channel
    from crossdock.ratelimit.wiring import budget_from_config
    from crossdock.sync_engine.channels import build_connector, clock_from_config

    ch = cfg.channel(channel)
    ensure_channels(db, cfg.channels.values())
    store = SqlTokenStore(db)
    conn = build_connector(ch, db=db, budget=budget_from_config(cfg, db), clock=clock_from_config(cfg), store=store)
    try:
        current = store.load(channel).access_token
        client = getattr(conn, "client", None)
        auth = getattr(client, "auth", None) or getattr(conn, "auth", None)
        if hasattr(auth, "refresh"):
            auth.refresh(rejected=current)
        elif hasattr(auth, "refresh_rejected"):
            auth.refresh_rejected(current or "")
        else:
            raise ConfigError("XD-CFG-003", channel=channel, detail=f"{ch.platform} has no token refresh")
    finally:
        close = getattr(conn, "close", None)
        if close:
            close()
    state = store.load(channel)
    with db.read() as s:
        paused = s.scalar(select(Channel.paused_code).where(Channel.name == channel))
    return {"channel": channel, "refreshed": True, "access_expires_at": _iso(state.access_expires_at),
            "refresh_expires_at": _iso(state.refresh_expires_at), "paused_code": paused}


@auth_app.command("refresh")
def auth_refresh(channel: str = typer.Argument(..., help="Channel name from the configuration."),
                 as_json: bool = _json_opt()) -> None:
    """Get a new access token now (after fixing credentials, or to check them).
    Tokens are never printed."""
    cfg, db = _open(as_json)
    doc = refresh_channel_token(cfg, db, channel)
    if as_json:
        emit_json(doc)
        return
    out.print(f"{channel}: new access token, valid until {doc['access_expires_at']}", highlight=False, markup=False)
    if doc["paused_code"]:
        err.print(f"{channel} is paused ({doc['paused_code']}): crossdock auth resume {channel}",
                  highlight=False, markup=False)


@auth_app.command("resume")
def auth_resume(channel: str = typer.Argument(..., help="Channel name from the configuration."),
                as_json: bool = _json_opt()) -> None:
    """Resume a channel paused after an authorisation failure (XD-SYNC-002)."""
    cfg, db = _open(as_json)
    doc = resume_channel(cfg, db, channel)
    if as_json:
        emit_json(doc)
        return
    if doc["resumed"]:
        out.print(f"{channel}: resumed (was paused with {doc['was_paused_with']})", highlight=False, markup=False)
    else:
        out.print(f"{channel}: not paused", highlight=False, markup=False)
    for w in doc["expired_credentials"]:
        err.print(f"[red]{w['code']}[/] {escape(w['message'])}: the channel will pause again until it is renewed",
                  highlight=False)
    if doc["failed_jobs"]:
        err.print(f"{doc['failed_jobs']} failed job(s) on {channel}: crossdock jobs retry --all --channel {channel}",
                  markup=False, highlight=False)


# ------------------------------------------------------------------ fx
def load_fx_file(db: Any, path: str | Path, *, channels: Iterable[str] | None = None,
                 today: dt.date | None = None) -> dict[str, Any]:
    """Read a rate file (every row checked first: a bad row is XD-CFG-009 naming
    the file and line, and nothing is stored; a rate too large or too small to
    store, or dated after ``today`` (UTC by default) is a bad row too), then
    store it in ``fx_rates`` with an ``fx.load`` event, in one transaction.

    When the stored rates changed, the same transaction enqueues a ``prices``
    job for each of ``channels`` so the new rates reach their prices (the
    document then lists them in ``prices_enqueued``). Its
    idempotency key holds a hash of the loaded rates and one of the table as
    it stood before: the same load is enqueued once, and loading a file that
    changes nothing enqueues nothing."""
    from crossdock import synclog
    from crossdock.mapping.fx import load_rates
    from crossdock.mapping.fx_store import load_into, rates_from_db
    from crossdock.sync_engine import outbox

    rates = load_rates(path, latest=today or _now().date())
    pairs = sorted({f"{r.base}/{r.quote}" for r in rates})
    first, last = min(r.valid_on for r in rates), max(r.valid_on for r in rates)
    loaded = _rates_digest(rates)

    def store(s: Session) -> tuple[int, list[str]]:
        before = _rates_digest(rates_from_db(s))
        written = load_into(s, rates)
        enqueued: list[str] = []
        if _rates_digest(rates_from_db(s)) != before:
            for channel in sorted(set(channels or ())):
                if outbox.enqueue(s, "prices", channel=channel, entity=f"channel {channel}",
                                  payload={"channel": channel, "reason": "fx.load", "rates": loaded},
                                  idempotency_key=f"prices:{channel}:fx:{loaded}:{before}"):
                    enqueued.append(channel)
        synclog.record(s, operation="fx.load", outcome="ok", entity_type="fx", entity=str(path)[-200:],
                       message=f"{written} rates for {len(pairs)} pairs from {first.isoformat()} to "
                               f"{last.isoformat()}"
                               + (f"; prices to push on {', '.join(enqueued)}" if enqueued else ""),
                       details={"file": str(path), "rates": written, "pairs": pairs[:200],
                                "prices_enqueued": enqueued})
        return written, enqueued

    written, enqueued = db.run_write(store)
    doc: dict[str, Any] = {"file": str(path), "rates": written, "pairs": pairs, "from": first.isoformat(),
                           "to": last.isoformat()}
    if channels is not None:
        doc["prices_enqueued"] = enqueued
    return doc


def _rates_digest(rates: Iterable[Any]) -> str:
    """A short hash of a set of dated rates (order and trailing zeros ignored)."""
    import hashlib

    lines = sorted(f"{r.base}/{r.quote}/{r.valid_on.isoformat()}/{r.rate.normalize()}" for r in rates)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def fx_rates_doc(db: Any, *, pair: str | None = None, every: bool = False,
                 today: dt.date | None = None) -> dict[str, Any]:
    """Stored rates: the newest per pair (or ``every`` one), with their age in days."""
    from crossdock.mapping.fx_store import rates_from_db

    base = quote = None
    if pair:
        parts = pair.upper().replace("-", "/").split("/")
        if len(parts) != 2 or not all(len(p) == 3 and p.isalpha() for p in parts):
            raise ConfigError("XD-CFG-009", detail=f"--pair {pair!r}: write it as BASE/QUOTE, e.g. EUR/USD")
        base, quote = parts
    today = today or _now().date()
    with db.read() as s:
        rates = rates_from_db(s)
    if base:
        rates = [r for r in rates if r.base == base and r.quote == quote]
    if not every:
        newest: dict[tuple[str, str], Any] = {}
        for r in rates:                     # oldest first, so the last one per pair wins
            newest[(r.base, r.quote)] = r
        rates = [newest[k] for k in sorted(newest)]
    rows = [{"base": r.base, "quote": r.quote, "rate": r.rate, "valid_on": r.valid_on.isoformat(),
             "age_days": (today - r.valid_on).days, "source": r.source} for r in rates]
    return {"rates": rows, "count": len(rows), "pairs": len({(r["base"], r["quote"]) for r in rows})}


@fx_app.command("load")
def fx_load(file: Path = typer.Argument(..., help="Rate file: .csv (date,base,quote,rate[,source]), .toml or .json."),
            as_json: bool = _json_opt()) -> None:
    """Load a rate file into the database, all or nothing (a bad row is XD-CFG-009)."""
    cfg, db = _open(as_json)
    doc = load_fx_file(db, file, channels=list(cfg.channels))
    if as_json:
        emit_json(doc)
    else:
        out.print(f"{file}: {doc['rates']} rates stored for {len(doc['pairs'])} pairs ({doc['from']} .. {doc['to']})",
                  highlight=False, markup=False)
        if doc["prices_enqueued"]:
            out.print(f"prices will be pushed on {', '.join(doc['prices_enqueued'])} (crossdock worker, or: "
                      "crossdock sync run --job prices)", highlight=False, markup=False)


@fx_app.command("show")
def fx_show(pair: Optional[str] = typer.Option(None, "--pair", help="Only this pair, e.g. EUR/USD."),
            every: bool = typer.Option(False, "--all", help="Every stored rate, not only the newest per pair."),
            as_json: bool = _json_opt()) -> None:
    """Stored rates: the newest per pair (or --all), with their age in days."""
    _cfg, db = _open(as_json)
    doc = fx_rates_doc(db, pair=pair, every=every)
    if as_json:
        emit_json(doc)
        return
    rows = doc["rates"]
    if not rows:
        err.print("no FX rates stored" + (f" for {pair}" if pair else "") + "; load them with: crossdock fx load FILE",
                  markup=False, highlight=False)
        return
    table = Table(title=f"FX rates ({len(rows)}{', newest per pair' if not every else ''})")
    for col in ("pair", "rate", "valid on", "age", "source"):
        table.add_column(col, justify="right" if col in ("rate", "age") else "left", no_wrap=col != "source")
    for r in rows:
        table.add_row(f"{r['base']}/{r['quote']}", str(r["rate"]), r["valid_on"], f"{r['age_days']}d",
                      escape(r["source"] or "-"))
    out.print(table)


# ------------------------------------------------------------------ db backup
def _unique(path: Path) -> Path:
    if not path.exists():
        return path
    for n in range(1, 1000):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise DataError("XD-DATA-007", detail=f"too many backups named like {path}")


def _target(to: str | Path | None, default_dir: Path, name: str) -> Path:
    """Where the backup goes: ``to`` as a folder (existing, or written with a
    trailing slash) gets the timestamped name; otherwise ``to`` is the file."""
    as_folder = to is not None and str(to).endswith(("/", os.sep))
    to = Path(to).expanduser() if to is not None else None
    if to is None:
        folder, file_name = default_dir, name
    elif as_folder or to.is_dir():
        folder, file_name = to, name
    else:
        if to.exists():
            raise DataError("XD-DATA-007", detail=f"{to} exists; a backup never overwrites a file")
        folder, file_name = to.parent, to.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError("XD-DATA-007", detail=f"cannot create the backup folder {folder}: {exc}") from exc
    target = folder / file_name
    return _unique(target) if to is None or file_name == name else target


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _backup_sqlite(db: Any, to: str | Path | None, stamp: str) -> tuple[Path, dict[str, Any]]:
    from sqlalchemy.engine import make_url

    from crossdock.db.engine import SQLITE_BUSY_TIMEOUT_MS

    source = make_url(db.url).database
    if not source or source == ":memory:":
        raise DataError("XD-DATA-007", detail="an in-memory SQLite database cannot be backed up")
    source_path = Path(source).resolve()
    target = _target(to, source_path.parent / "backups", f"{source_path.stem}-{stamp}.sqlite")
    part = target.with_name(target.name + ".part")
    try:
        src = sqlite3.connect(str(source_path), timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            dst = sqlite3.connect(str(part))
            try:
                src.backup(dst)                            # one step: a consistent snapshot, writers keep going
                dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
                check = dst.execute("PRAGMA quick_check").fetchone()
                pages = dst.execute("PRAGMA page_count").fetchone()[0]
            finally:
                dst.close()
        finally:
            src.close()
        if not check or check[0] != "ok":
            raise DataError("XD-DATA-007", detail=f"the copy failed its integrity check: {check}")
        _fsync(part)
        os.replace(part, target)
    except sqlite3.Error as exc:
        part.unlink(missing_ok=True)
        raise DataError("XD-DATA-007", detail=f"SQLite backup to {target} failed: {exc}") from exc
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DataError("XD-DATA-007", detail=f"cannot write {target}: {exc}") from exc
    except DataError:
        part.unlink(missing_ok=True)
        raise
    return target, {"pages": pages}


def _backup_postgres(db: Any, to: str | Path | None, stamp: str) -> tuple[Path, dict[str, Any]]:
    from sqlalchemy.engine import make_url

    from crossdock.secrets import redact

    exe = shutil.which("pg_dump")
    if exe is None:
        raise DataError("XD-DATA-007", detail="pg_dump is not on PATH: install the PostgreSQL client tools "
                                              "(the server's major version or newer) to back up PostgreSQL")
    url = make_url(db.url)
    target = _target(to, Path.cwd() / "backups", f"{url.database or 'crossdock'}-{stamp}.dump")
    part = target.with_name(target.name + ".part")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)       # not on the command line, where `ps` would show it
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    cmd = [exe, "--format=custom", "--no-password", f"--file={part}", f"--dbname={conninfo}"]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DataError("XD-DATA-007", detail=f"cannot run pg_dump: {exc}") from exc
    if proc.returncode != 0:
        part.unlink(missing_ok=True)
        tail = " ".join((proc.stderr or "").strip().splitlines()[-3:])
        raise DataError("XD-DATA-007", detail=f"pg_dump exited with {proc.returncode}: {redact(tail)[:500]}")
    try:
        with open(part, "rb") as fh:
            magic = fh.read(5)
        if magic != b"PGDMP":
            raise DataError("XD-DATA-007", detail=f"pg_dump wrote {part} but it is not a custom-format archive")
        _fsync(part)
        os.replace(part, target)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DataError("XD-DATA-007", detail=f"cannot write {target}: {exc}") from exc
    except DataError:
        part.unlink(missing_ok=True)
        raise
    return target, {"format": "pg_dump custom (restore with pg_restore)"}


def backup_database(db: Any, *, to: str | Path | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Back up ``db`` and record it (sync event ``db.backup``). SQLite: online
    backup API into ``backups/`` next to the database; PostgreSQL: ``pg_dump
    -Fc`` into ``./backups``. ``to`` is a folder (timestamped name) or a file.
    A failure is recorded too and raised as XD-DATA-007."""
    from crossdock import synclog

    now = now or _now()
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    started = time.perf_counter()
    backend = "sqlite" if db.is_sqlite else "postgresql"
    try:
        target, extra = (_backup_sqlite if db.is_sqlite else _backup_postgres)(db, to, stamp)
    except DataError as exc:
        synclog.record_now(db, synclog.event_from_error(BACKUP_OP, exc, entity_type="database", entity=backend))
        raise
    doc = {"backend": backend, "path": str(target.resolve()), "bytes": target.stat().st_size, "at": _iso(now),
           "duration_ms": int((time.perf_counter() - started) * 1000), **extra}
    with db.write() as s:
        synclog.record(s, operation=BACKUP_OP, outcome="ok", entity_type="database", entity=backend, at=now,
                       duration_ms=doc["duration_ms"], message=f"backup written to {doc['path']}",
                       details={"path": doc["path"], "bytes": doc["bytes"], "backend": backend})
    log.info("database backup written to %s (%d bytes)", doc["path"], doc["bytes"])
    return doc


def db_backup(to: Optional[str] = typer.Option(None, "--to", help="Folder (existing, or ending in /: a timestamped "
                                                                  "file inside) or a new file."),
              as_json: bool = _json_opt()) -> None:
    """Back up the database: SQLite online backup, PostgreSQL pg_dump -Fc."""
    _cfg, db = _open(as_json)
    doc = backup_database(db, to=to)
    if as_json:
        emit_json(doc)
    else:
        out.print(f"backup written: {doc['path']} ({doc['bytes']} bytes, {doc['duration_ms']} ms)",
                  highlight=False, markup=False)


# ------------------------------------------------------------------ db check
@dataclass(frozen=True)
class Finding:
    """One problem found by ``db check``: a catalogue code, ``error`` or ``warning``."""

    check: str
    code: str
    severity: str
    message: str
    count: int = 1
    sample: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        spec = lookup(self.code)
        return {"check": self.check, "code": self.code, "severity": self.severity, "title": spec.title,
                "message": self.message, "count": self.count, "sample": list(self.sample),
                "remedy": spec.remedy, "command": spec.command}


def sqlite_file_findings(url: str) -> list[Finding]:
    """``PRAGMA integrity_check`` on a SQLite database file, opened read-only
    on its own (nothing is created or migrated): a damaged file, or one that
    is not a database at all, is XD-DATA-006. Nothing for PostgreSQL, an
    in-memory database or a file that is not there."""
    from crossdock.db.engine import normalise_url, sqlite_path

    url = normalise_url(url)
    path = sqlite_path(url) if url.startswith("sqlite") else None
    if path is None or not path.is_file():
        return []
    try:
        conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
        try:
            rows = [r[0] for r in conn.execute(f"PRAGMA integrity_check({SAMPLE_SIZE})").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            return [Finding("sqlite_integrity_check", "XD-DATA-006", "error",
                            f"{path} cannot be read as a SQLite database: {exc}", 1,
                            ({"file": str(path), "problem": str(exc)},))]
        return []       # busy, unreadable, …: the checks that follow report it with its own code
    if rows == ["ok"]:
        return []
    return [Finding("sqlite_integrity_check", "XD-DATA-006", "error",
                    f"SQLite integrity_check reported {len(rows)}{'+' if len(rows) >= SAMPLE_SIZE else ''} "
                    f"problem(s) in {path}", len(rows), tuple({"problem": r} for r in rows))]


def _check_stock_bounds(s: Session) -> list[Finding]:
    from sqlalchemy import func, or_, select

    from crossdock.db.models import StockLevel as SL

    bad = or_(SL.reserved > SL.on_hand, SL.on_hand < 0, SL.reserved < 0)
    n = s.scalar(select(func.count()).select_from(SL).where(bad)) or 0
    if not n:
        return []
    rows = s.execute(select(SL.sku, SL.warehouse, SL.on_hand, SL.reserved).where(bad)
                     .order_by(SL.sku, SL.warehouse).limit(SAMPLE_SIZE)).all()
    return [Finding("stock_bounds", "XD-DATA-006", "error",
                    f"{n} stock row(s) with reserved above on hand or a negative quantity", n,
                    tuple({"sku": r.sku, "warehouse": r.warehouse, "on_hand": r.on_hand, "reserved": r.reserved}
                          for r in rows))]


def _check_reservation_sums(s: Session) -> list[Finding]:
    from sqlalchemy import and_, func, select

    from crossdock.db.models import Reservation as R, StockLevel as SL

    held = (select(R.sku.label("sku"), R.warehouse.label("warehouse"), func.sum(R.quantity).label("qty"))
            .where(R.status == "active").group_by(R.sku, R.warehouse).subquery())
    on = and_(held.c.sku == SL.sku, held.c.warehouse == SL.warehouse)
    held_qty = func.coalesce(held.c.qty, 0)
    # One statement per direction: each reads one consistent snapshot on both backends.
    differ = s.execute(select(SL.sku, SL.warehouse, SL.reserved, held_qty.label("held"))
                       .select_from(SL.__table__.outerjoin(held, on)).where(SL.reserved != held_qty)
                       .order_by(SL.sku, SL.warehouse)).all()
    orphans = s.execute(select(held.c.sku, held.c.warehouse, held.c.qty)
                        .select_from(held.outerjoin(SL.__table__, on)).where(SL.id.is_(None))
                        .order_by(held.c.sku, held.c.warehouse)).all()
    sample = [{"sku": r.sku, "warehouse": r.warehouse, "stock_reserved": r.reserved, "active_reservations": int(r.held)}
              for r in differ] + [{"sku": r.sku, "warehouse": r.warehouse, "stock_reserved": None,
                                   "active_reservations": int(r.qty)} for r in orphans]
    if not sample:
        return []
    return [Finding("reservation_sums", "XD-DATA-006", "error",
                    f"{len(sample)} (SKU, warehouse) pair(s) where stock_levels.reserved differs from the sum of "
                    "active reservations", len(sample), tuple(sample[:SAMPLE_SIZE]))]


def _check_reservations_on_closed_orders(s: Session) -> list[Finding]:
    from sqlalchemy import and_, func, select

    from crossdock.db.models import Order as O, OrderLine as L, Reservation as R

    cond = and_(R.status == "active", O.local_status.in_(CLOSED_ORDER_STATUSES))
    joined = R.__table__.join(L.__table__, L.id == R.order_line_id).join(O.__table__, O.id == L.order_id)
    n = s.scalar(select(func.count()).select_from(joined).where(cond)) or 0
    if not n:
        return []
    rows = s.execute(select(R.id, R.sku, R.warehouse, R.quantity, O.channel, O.platform_order_id, O.local_status)
                     .select_from(joined).where(cond).order_by(R.id).limit(SAMPLE_SIZE)).all()
    return [Finding("reservations_on_closed_orders", "XD-DATA-006", "error",
                    f"{n} active reservation(s) on shipped, delivered, cancelled or returned orders (stock held "
                    "for nothing)", n,
                    tuple({"reservation_id": r.id, "sku": r.sku, "warehouse": r.warehouse, "quantity": r.quantity,
                           "channel": r.channel, "order": r.platform_order_id, "status": r.local_status}
                          for r in rows))]


def _check_unknown_skus(s: Session) -> list[Finding]:
    from sqlalchemy import func, select

    from crossdock.db.models import Order as O, OrderLine as L, Product as P

    joined = L.__table__.join(O.__table__, O.id == L.order_id).outerjoin(P.__table__, P.sku == L.sku)
    cond = P.sku.is_(None)
    n = s.scalar(select(func.count()).select_from(joined).where(cond)) or 0
    if not n:
        return []
    rows = s.execute(select(L.id, L.sku, L.listing_id, O.channel, O.platform_order_id, O.local_status)
                     .select_from(joined).where(cond).order_by(L.id.desc()).limit(SAMPLE_SIZE)).all()
    return [Finding("order_lines_unknown_sku", "XD-ORD-004", "warning",
                    f"{n} order line(s) without a catalogue SKU: no stock was reserved for them", n,
                    tuple({"line_id": r.id, "sku": r.sku, "listing_id": r.listing_id, "channel": r.channel,
                           "order": r.platform_order_id, "status": r.local_status} for r in rows))]


def _check_outbox(s: Session, now: dt.datetime) -> list[Finding]:
    from sqlalchemy import and_, func, or_, select

    from crossdock.db.models import OutboxEntry as E

    found: list[Finding] = []
    past_lease = and_(E.status == "running", or_(E.claimed_until.is_(None), E.claimed_until < now))
    overdue = and_(E.status == "pending", E.available_at < now - dt.timedelta(seconds=OUTBOX_OVERDUE_S))
    for name, cond, what in (
            ("outbox_past_lease", past_lease, "running past their lease (the worker stopped; nothing has "
                                              "reclaimed them)"),
            ("outbox_overdue", overdue, f"pending and due for more than {OUTBOX_OVERDUE_S / 60:g} minutes")):
        n = s.scalar(select(func.count()).select_from(E).where(cond)) or 0
        if n:
            rows = s.execute(select(E.id, E.kind, E.channel, E.available_at, E.claimed_by, E.claimed_until)
                             .where(cond).order_by(E.available_at).limit(SAMPLE_SIZE)).all()
            found.append(Finding(name, "XD-SYNC-005", "warning", f"{n} outbox entr{'y' if n == 1 else 'ies'} {what}",
                                 n, tuple({"id": r.id, "kind": r.kind, "channel": r.channel,
                                           "available_at": _iso(r.available_at), "claimed_by": r.claimed_by,
                                           "claimed_until": _iso(r.claimed_until)} for r in rows)))
    failed = s.scalar(select(func.count()).select_from(E).where(E.status == "failed")) or 0
    if failed:
        found.append(Finding("outbox_failed", "XD-SYNC-001", "warning",
                             f"{failed} failed job(s) wait for a replay (crossdock jobs failed)", failed))
    return found


def _check_backup_age(s: Session, now: dt.datetime) -> list[Finding]:
    from sqlalchemy import select

    from crossdock.db.models import SyncEvent

    last = s.execute(select(SyncEvent.at, SyncEvent.details)
                     .where(SyncEvent.operation == BACKUP_OP, SyncEvent.outcome == "ok")
                     .order_by(SyncEvent.at.desc(), SyncEvent.id.desc()).limit(1)).first()
    if last is None:
        return [Finding("backup_age", "XD-DATA-005", "warning", "no backup of this database is recorded", 1)]
    age_s = (now - last.at).total_seconds()
    if age_s <= BACKUP_MAX_AGE_S:
        return []
    path = (last.details or {}).get("path")
    return [Finding("backup_age", "XD-DATA-005", "warning",
                    f"the newest backup is {age_s / 3600:.1f} h old (limit {BACKUP_MAX_AGE_S / 3600:g} h)", 1,
                    ({"at": _iso(last.at), "path": path},))]


CHECKS = ("sqlite_integrity_check", "stock_bounds", "reservation_sums", "reservations_on_closed_orders",
          "order_lines_unknown_sku", "outbox_past_lease", "outbox_overdue", "outbox_failed", "backup_age")


def db_check_findings(db: Any, *, now: dt.datetime | None = None) -> list[Finding]:
    """Run every integrity check; errors first, then warnings."""
    return _sorted((sqlite_file_findings(db.url) if db.is_sqlite else []) + _data_findings(db, now=now))


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.severity != "error", f.code, f.check))


def _data_findings(db: Any, *, now: dt.datetime | None = None) -> list[Finding]:
    now = now or _now()
    findings: list[Finding] = []
    with db.read() as s:
        findings += _check_stock_bounds(s)
        findings += _check_reservation_sums(s)
        findings += _check_reservations_on_closed_orders(s)
        findings += _check_unknown_skus(s)
        findings += _check_outbox(s, now)
        findings += _check_backup_age(s, now)
    return findings


def db_check(as_json: bool = _json_opt()) -> None:
    """Integrity checks: stock, reservations, orders, outbox, backups (exit 1 on an error).

    Each finding carries an XD code; warnings (stale backup, backlog, unknown
    SKUs) do not change the exit status."""
    from crossdock.cli import _safe_url, load_config, open_db

    _set_json(as_json)
    cfg = load_config()
    now = _now()
    # The file first, before anything opens (and migrates) it: a damaged SQLite
    # file fails every other check, so it is reported alone.
    findings = sqlite_file_findings(cfg.database_url)
    is_sqlite = cfg.database_url.startswith("sqlite")
    if findings:
        checks = ["sqlite_integrity_check"]
    else:
        db = open_db(cfg)
        findings = _sorted(_data_findings(db, now=now))
        checks = [c for c in CHECKS if is_sqlite or c != "sqlite_integrity_check"]
    errors = [f for f in findings if f.severity == "error"]
    doc = {"database": _safe_url(cfg.database_url), "checked_at": _iso(now), "checks": checks,
           "ok": not errors, "errors": len(errors), "warnings": len(findings) - len(errors),
           "findings": [f.to_dict() for f in findings]}
    if as_json:
        emit_json(doc)
    else:
        for f in findings:
            colour = "red" if f.severity == "error" else "yellow"
            out.print(f"[{colour}]{f.code}[/] {f.severity}: {escape(f.message)}", highlight=False)
            for row in f.sample[:5]:
                out.print("    " + escape(", ".join(f"{k}={v}" for k, v in row.items())), highlight=False)
            spec = lookup(f.code)
            if f.severity == "error":
                out.print(f"    Remedy: {escape(spec.remedy)}", highlight=False)
            if spec.command:
                out.print(f"    Try: {escape(spec.command)}", highlight=False)
        out.print(f"{len(checks)} checks: {len(errors)} error(s), {len(findings) - len(errors)} warning(s)")
    if errors:
        raise typer.Exit(EXIT_FAILED)


# ------------------------------------------------------------------ sync status
def _platform_now(cfg: Any, now: dt.datetime) -> dt.datetime:
    """``now`` on the platforms' clock: cursor positions are platform time,
    which runs K times faster against a scaled sandbox."""
    desc = (cfg.sandbox or {}).get("clock") or {}
    if not desc or desc.get("origin_real") is None:
        return now
    ts = float(desc["origin_platform"]) + (now.timestamp() - float(desc["origin_real"])) * float(desc["time_scale"])
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def sync_status_doc(cfg: Any, db: Any, now: dt.datetime) -> dict[str, Any]:
    """Where each channel stands: last order import and its lag, queued stock
    pushes, outbox backlog by kind, failures by code in the last 24 h, paused
    state and stuck orders (XD-ORD-002/003/007 from ``orders.flags``)."""
    from sqlalchemy import String, cast, func, or_, select

    from crossdock.db.models import Channel, Order, SyncCursor, SyncEvent
    from crossdock.sync_engine import outbox
    from crossdock.sync_engine.dirty import dirty_backlog

    platform_now = _platform_now(cfg, now)
    since = now - dt.timedelta(seconds=FAILURE_WINDOW_S)
    with db.read() as s:
        rows = {c.name: c for c in s.scalars(select(Channel))}
        # "orders": windows of changed orders; "orders_created": windows of new orders, for a
        # channel that polls new orders by creation time (Amazon) — the newer one is how far
        # new orders are read, the "orders" one how far changes are
        changes: dict[str, Any] = {}
        cursors: dict[str, Any] = {}
        for c in s.scalars(select(SyncCursor).where(SyncCursor.stream.in_(("orders", "orders_created")))):
            if c.stream == "orders":
                changes[c.channel] = c
            if c.channel not in cursors or c.position > cursors[c.channel].position:
                cursors[c.channel] = c
        dirty = dirty_backlog(s, now=now)
        backlog = outbox.backlog(s, now=now)
        failures = s.execute(select(SyncEvent.channel, SyncEvent.code, func.count())
                             .where(SyncEvent.at >= since, SyncEvent.outcome.in_(("failed", "retry")),
                                    SyncEvent.code.is_not(None))
                             .group_by(SyncEvent.channel, SyncEvent.code)).all()
        flagged = s.execute(select(Order.channel, Order.flags).where(
            or_(*(cast(Order.flags, String).like(f"%{code}%") for code in STUCK_ORDER_CODES)))).all()

        from crossdock.sync_engine import liveness

        known_workers = liveness.workers(s, include_stopped_since=now - dt.timedelta(hours=1))
    dead_after_s = float(cfg.sync.get("worker_dead_after_s", liveness.DEFAULT_DEAD_AFTER_S))
    alive = [w for w in known_workers if w.alive(now, dead_after_s)]
    last_tick = max((w.last_tick_at for w in known_workers if w.last_tick_at is not None), default=None)
    names = sorted(set(cfg.channels) | set(rows))

    def blank(name: str) -> dict[str, Any]:
        ch, row, cur = cfg.channels.get(name), rows.get(name), cursors.get(name)
        lag = (platform_now - cur.position).total_seconds() if cur else None
        return {
            "channel": name, "platform": ch.platform if ch else (row.platform if row else None),
            "configured": ch is not None,
            # "running" only while a worker is alive to run it
            "state": "paused" if row and row.paused_code else ("running" if alive else "stopped"),
            "paused": bool(row and row.paused_code), "paused_code": row.paused_code if row else None,
            "paused_reason": row.paused_reason if row else None, "paused_at": _iso(row.paused_at if row else None),
            "orders": {"last_success_at": _iso(cur.last_success_at if cur else None),
                       "position": _iso(cur.position if cur else None),
                       "lag_s": round(max(0.0, lag), 1) if lag is not None else None,
                       "changes_position": _iso(changes[name].position if name in changes else None)},
            "stock_queue": {"dirty_skus": 0, "oldest_age_s": None},
            "outbox": {}, "failures_24h": {},
            "stuck_orders": {code: 0 for code in STUCK_ORDER_CODES},
        }

    channels = {name: blank(name) for name in names}
    unassigned: dict[str, dict[str, Any]] = {}
    for name, (count, age) in dirty.items():
        doc = channels.setdefault(name, blank(name))
        doc["stock_queue"] = {"dirty_skus": count, "oldest_age_s": round(age, 1)}
    for b in backlog:
        if b.channel is None:
            target = unassigned
        else:
            target = channels.setdefault(b.channel, blank(b.channel))["outbox"]
        kind = target.setdefault(b.kind, {"pending": 0, "running": 0, "failed": 0, "oldest_age_s": None})
        kind[b.status] = kind.get(b.status, 0) + b.count
        if b.status in ("pending", "running") and b.oldest_age_s is not None:
            kind["oldest_age_s"] = round(max(kind["oldest_age_s"] or 0.0, b.oldest_age_s), 1)
    unassigned_failures: dict[str, int] = {}
    for channel, code, count in failures:
        bucket = channels.setdefault(channel, blank(channel))["failures_24h"] if channel else unassigned_failures
        bucket[code] = bucket.get(code, 0) + int(count)
    for channel, flags in flagged:
        doc = channels.setdefault(channel, blank(channel))
        for code in STUCK_ORDER_CODES:
            if code in (flags or []):
                doc["stuck_orders"][code] += 1

    totals = {
        "paused_channels": sorted(n for n, c in channels.items() if c["paused"]),
        "stuck_orders": {code: sum(c["stuck_orders"][code] for c in channels.values()) for code in STUCK_ORDER_CODES},
        "dirty_skus": sum(c["stock_queue"]["dirty_skus"] for c in channels.values()),
        "outbox_pending": sum(k["pending"] for c in [*channels.values(), {"outbox": unassigned}]
                              for k in c["outbox"].values()),
        "outbox_failed": sum(k["failed"] for c in [*channels.values(), {"outbox": unassigned}]
                             for k in c["outbox"].values()),
        "failures_24h": sum(sum(c["failures_24h"].values()) for c in channels.values())
        + sum(unassigned_failures.values()),
    }
    doc: dict[str, Any] = {"now": _iso(now), "channels": {n: channels[n] for n in sorted(channels)},
                           "workers": [w.to_dict(now, dead_after_s) for w in known_workers],
                           "scheduler": {"running": bool(alive), "workers_alive": len(alive),
                                         "last_tick_at": _iso(last_tick),
                                         "last_tick_age_s": round((now - last_tick).total_seconds(), 1)
                                         if last_tick else None},
                           "unassigned": {"outbox": unassigned, "failures_24h": unassigned_failures},
                           "totals": totals}
    if platform_now != now:
        doc["platform_now"] = _iso(platform_now)
    return doc


def _print_status(doc: dict[str, Any]) -> None:
    table = Table(title="sync status")
    for col in ("channel", "state", "imported", "lag", "stock queue", "outbox p/f", "fails 24h", "stuck"):
        table.add_column(col, overflow="fold", no_wrap=col in ("channel", "lag", "outbox p/f"))
    for c in doc["channels"].values():
        state = (f"[red]paused {c['paused_code']}[/]" if c["paused"] else
                 "running" if c["state"] == "running" else "[yellow]stopped[/]")
        queue = c["stock_queue"]
        stock = f"{queue['dirty_skus']} SKUs, oldest {_age(queue['oldest_age_s'])}" if queue["dirty_skus"] else "-"
        pending = sum(k["pending"] for k in c["outbox"].values())
        failed = sum(k["failed"] for k in c["outbox"].values())
        fails = ", ".join(f"{code} ×{n}" for code, n in sorted(c["failures_24h"].items())) or "-"
        stuck = ", ".join(f"{code} ×{n}" for code, n in c["stuck_orders"].items() if n) or "-"
        table.add_row(escape(c["channel"]), state, (c["orders"]["last_success_at"] or "never")[:16].replace("T", " "),
                      _age(c["orders"]["lag_s"]), stock, f"{pending}/{failed}", fails, stuck)
    out.print(table)
    alive = [w for w in doc["workers"] if w["alive"]]
    sched = doc["scheduler"]
    if alive:
        out.print(f"workers: {len(alive)} alive ({', '.join(w['id'] for w in alive)}); last scheduler tick "
                  f"{_age(sched['last_tick_age_s'])} ago", markup=False, highlight=False)
    else:
        err.print("[XD-SYNC-008] no worker running: schedules do not fire and jobs wait. Start one: "
                  "crossdock worker", markup=False, highlight=False)
    t = doc["totals"]
    if t["outbox_failed"]:
        err.print(f"{t['outbox_failed']} failed job(s): crossdock jobs failed", markup=False, highlight=False)
    for name in t["paused_channels"]:
        err.print(f"{name} is paused: crossdock auth status", markup=False, highlight=False)


def status_command(as_json: bool = typer.Option(False, "--json", help=_JSON_HELP)) -> None:
    """Where each channel stands: order import lag, stock queue, outbox, failures, stuck orders."""
    cfg, db = _open(as_json)
    doc = sync_status_doc(cfg, db, _now())
    if as_json:
        emit_json(doc)
    else:
        _print_status(doc)
