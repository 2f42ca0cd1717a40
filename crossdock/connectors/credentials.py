"""Credentials per channel: lifetimes, expiry warnings, new refresh tokens, resuming.

The documents behind ``crossdock auth status|set|resume`` (and the web
console): what is stored per channel and when it lapses (XD-AUTH-005 within
the warning window; 002/003/004/009 once expired), storing a new refresh
token (encrypted, replacing the old grant) with the dates that follow from it,
and clearing a channel's pause. Never reads or shows a token's value.

What expires when is each platform's ``PlatformSpec.credentials``
(:class:`crossdock.platforms.spec.CredentialLifetimes`): e.g. Amazon's seller
authorisation (365 days) and LWA client secret (180 days), eBay's refresh and
Trading API tokens (about 18 months); nothing here names a platform.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from crossdock import audit
from crossdock.errors import ConfigError, lookup
from crossdock.platforms import platform as platform_spec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "DEFAULT_WARNING_DAYS",
    "auth_status_doc",
    "resume_channel",
    "set_credentials",
]

DEFAULT_WARNING_DAYS = 30


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


_EXPIRED_CODE = {"refresh_token": "XD-AUTH-002", "seller_authorisation": "XD-AUTH-003",
                 "client_secret": "XD-AUTH-004", "trading_token": "XD-AUTH-009"}
_WHAT_TEXT = {"refresh_token": "refresh token", "seller_authorisation": "seller authorisation",
              "client_secret": "client secret", "trading_token": "Trading API token"}


def _extra_token_expiry(s: Session, channel: str) -> dt.datetime | None:
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


def auth_status_doc(cfg: Any, db: Any, now: dt.datetime, *, within_days: float = DEFAULT_WARNING_DAYS) -> dict[str, Any]:
    """Per configured channel: stored credential expiries, access token, paused
    state, and warnings (XD-AUTH-005 within the window; 002/003/004/009 when
    already expired). Never reads or shows a token's value."""
    from sqlalchemy import select

    from crossdock.connectors.tokens import ExpiringCredential, SqlTokenStore
    from crossdock.db.models import Channel, Credential

    store = SqlTokenStore(db)
    expiring = store.expiring(within=dt.timedelta(days=within_days), now=now)
    by_channel: dict[str, list[ExpiringCredential]] = defaultdict(list)
    for item in expiring:
        by_channel[item["channel"]].append(item)
    channels = []
    all_warnings: list[dict[str, Any]] = []
    with db.read() as s:
        rows = {c.name: c for c in s.scalars(select(Channel).where(Channel.name.in_(sorted(cfg.channels) or [""])))}
        creds = {c.channel: c for c in s.scalars(select(Credential)
                                                 .where(Credential.channel.in_(sorted(cfg.channels) or [""])))}
        extra = {name: _extra_token_expiry(s, name) for name, ch in cfg.channels.items()
                 if platform_spec(ch.platform).credentials.extra_token}
    _check_readable(creds)
    horizon = now + dt.timedelta(days=within_days)
    for name in sorted(cfg.channels):
        ch = cfg.channels[name]
        row, cred = rows.get(name), creds.get(name)
        warnings = [_warning(name, item["what"], item["expires_at"], now)
                    for item in sorted(by_channel.get(name, []), key=lambda i: i["expires_at"])]
        lifetimes = platform_spec(ch.platform).credentials
        trading_at = extra.get(name)
        if trading_at is not None and trading_at <= horizon and lifetimes.extra_token:
            warnings.append(_warning(name, lifetimes.extra_token, trading_at, now))
        notes = []
        if lifetimes.seller_authorisation_days is not None and (cred is None or cred.authorisation_expires_at is None):
            notes.append("seller authorisation date unknown: record it with "
                         f"`crossdock auth set {name} --refresh-token-env VAR --authorised-on DATE`")
        if lifetimes.client_secret_days is not None and (cred is None or cred.client_secret_expires_at is None):
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
            "authorised_at": _iso(cred.authorised_at if cred else None),
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


def _check_readable(creds: dict[str, Any]) -> None:
    """Every stored token decrypts with the secret key in use: a missing or
    wrong key is XD-CFG-005 (the status of a token crossdock cannot use is
    not "valid"). Only decrypted to check; the values are never kept."""
    from crossdock.secrets import decrypt

    for channel in sorted(creds):
        for what, value in (("access token", creds[channel].access_token_enc),
                            ("refresh token", creds[channel].refresh_token_enc)):
            if value:
                decrypt(value, what=f"the stored {what} of channel {channel}")


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
              .values(paused_code=None, paused_reason=None, paused_at=None, paused_credential_version=None,
                      updated_at=now))
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
                    now: dt.datetime | None = None, access_token: str | None = None,
                    access_expires_at: dt.datetime | None = None, refresh_expires_at: dt.datetime | None = None,
                    operation: str = "auth.set") -> dict[str, Any]:
    """Store new credentials for channel ``ch`` (a ChannelConfig) and resume it.

    ``refresh_token`` is encrypted and REPLACES the stored one (unlike
    ``seed_refresh_token``); the access token of the old grant is dropped so the
    next call refreshes with the new one. Dates (docs/platform-facts.md#amazon-credentials,
    docs/platform-facts.md#ebay-credentials): Amazon seller
    authorisation = ``authorised_at`` + 365 days, LWA client secret =
    ``client_secret_rotated_at`` + 180 days (kept when not given); eBay refresh
    token = ``authorised_at`` + 18 months. ``trading_token`` (eBay Auth'n'Auth)
    is read by crossdock from ``channels.NAME.trading_token``: it is checked to
    resolve to the new value and its 18-month expiry is recorded.
    ``access_token`` / ``access_expires_at`` (``auth connect``: the token the
    code was exchanged for) are stored with the refresh token, and
    ``refresh_expires_at`` (what the platform said) wins over the platform's
    rule. The authorisation date (``authorised_at``, default now) is recorded.
    Records ``operation`` (``auth.set``, ``auth.connect``) in the sync log and
    the audit log (and ``channel.resume`` when it was paused)."""
    from crossdock import synclog
    from crossdock.connectors.base import TokenState
    from crossdock.connectors.tokens import SqlTokenStore, ensure_channels
    from crossdock.db.models import Credential

    now = now or _now()
    name, platform = ch.name, ch.platform
    if refresh_token is None and trading_token is None:
        raise ConfigError("XD-CFG-009", detail="give --refresh-token-env VAR (OAuth/LWA) and/or --token-env VAR "
                                               "(eBay Trading API)")
    lifetimes = platform_spec(platform).credentials
    if trading_token is not None and lifetimes.extra_token != "trading_token":
        raise ConfigError("XD-CFG-009", channel=name, detail=f"--token-env is for a Trading API token; {platform} "
                                                             "channels have none")
    if client_secret_rotated_at is not None and lifetimes.client_secret_days is None:
        raise ConfigError("XD-CFG-009", channel=name,
                          detail=f"--client-secret-rotated-on is for platforms whose client secret must be rotated "
                                 f"on a schedule; {platform} has no such rule")
    if client_secret_rotated_at is not None and refresh_token is None:
        raise ConfigError("XD-CFG-009", detail="--client-secret-rotated-on goes with --refresh-token-env")
    if authorised_at is not None and not lifetimes.authorisation_dated:
        raise ConfigError("XD-CFG-009", channel=name,
                          detail=f"--authorised-on: {platform} refresh tokens rotate on every use and have no "
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
            dates = lifetimes.on_grant(granted_at, client_secret_rotated_at=client_secret_rotated_at,
                                       kept_authorisation=kept_auth, kept_client_secret=kept_secret)
            refresh_expires = refresh_expires_at or dates.refresh_expires_at
            authorisation_expires = dates.authorisation_expires_at
            client_secret_expires = dates.client_secret_expires_at
            store.save(TokenState(channel=name, refresh_token=refresh_token, refresh_expires_at=refresh_expires,
                                  access_token=access_token, access_expires_at=access_expires_at,
                                  authorisation_expires_at=authorisation_expires,
                                  client_secret_expires_at=client_secret_expires))
        result.update({"refresh_token": "replaced", "authorised_at": _iso(granted_at),
                       "access_token": "stored" if access_token else None,
                       "refresh_expires_at": _iso(refresh_expires),
                       "authorisation_expires_at": _iso(authorisation_expires),
                       "client_secret_expires_at": _iso(client_secret_expires)})
    if trading_token is not None:
        result["trading_token"] = "verified"
        result["trading_token_expires_at"] = _iso(lifetimes.extra_token_expires_at(granted_at))

    # Event details are redacted by key name (anything with "token" or "secret"), so the dates go under
    # neutral keys; auth status reads the Trading token's expiry back from here.
    expiry = {"refresh": result.get("refresh_expires_at"),
              "seller_authorisation": result.get("authorisation_expires_at"),
              "client_credentials": result.get("client_secret_expires_at"),
              "trading_api": result.get("trading_token_expires_at")}

    def finish(s: Session) -> str | None:
        if refresh_token is not None:
            row = s.get(Credential, name)
            if row is not None:
                row.authorised_at = granted_at
        synclog.record(s, operation=operation, outcome="ok", channel=name, entity_type="channel", entity=name,
                       at=now, details={"expiry": {k: v for k, v in expiry.items() if v}},
                       message="new credentials stored" + (" (refresh token replaced)" if refresh_token else "")
                               + (" (Trading token verified)" if trading_token else ""))
        previous = _resume(s, name, reason="new credentials stored", now=now)
        audit.record(s, action=operation, subject=f"channel {name}", before={"paused_code": previous},
                     after={"refresh_token": "replaced" if refresh_token else None,
                            "trading_token": "verified" if trading_token else None,
                            "expiry": {k: v for k, v in expiry.items() if v}, "paused_code": None})
        return previous

    previous = db.run_write(finish)
    result["resumed"] = previous is not None
    result["was_paused_with"] = previous
    return result


def resume_channel(cfg: Any, db: Any, channel: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Clear the channel's pause; report credentials that are still expired
    (it would pause again) and its failed jobs (to replay)."""
    from sqlalchemy import func, select

    from crossdock.db.models import OutboxEntry

    now = now or _now()
    cfg.channel(channel)
    def resume(s: Session) -> str | None:
        was = _resume(s, channel, reason="crossdock auth resume", now=now)
        if was is not None:
            audit.record(s, action="channels.resume", subject=f"channel {channel}", before={"paused_code": was},
                         after={"paused_code": None})
        return was

    previous = db.run_write(resume)
    status = auth_status_doc(cfg, db, now)
    still = [w for c in status["channels"] if c["channel"] == channel for w in c["warnings"] if w["expired"]]
    with db.read() as s:
        failed = s.scalar(select(func.count()).select_from(OutboxEntry)
                          .where(OutboxEntry.channel == channel, OutboxEntry.status == "failed")) or 0
    return {"channel": channel, "resumed": previous is not None, "was_paused_with": previous,
            "expired_credentials": still, "failed_jobs": int(failed)}
