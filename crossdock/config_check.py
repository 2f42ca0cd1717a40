"""``crossdock config check``: everything a run needs, every problem at once.

The configuration parses; every secret reference resolves; the secret key is
there and decrypts the tokens stored in the database; the database answers
and is at this crossdock's revision; the broker and the rate-limit backend
answer; every channel's settings would build. With ``online`` each channel's
access token is also refreshed through the token store (nothing on the
platform changes; a rotated refresh token is stored before it is used).

Each problem carries its code. :func:`run_check` returns one document; its
``exit_code`` is 0 when a run would start, else the worst found: 3 when a
service, the database or a platform's authorisation fails, 2 when only the
configuration is wrong.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossdock.errors import ConfigError, CrossdockError, DataError, QuotaError, SyncError
from crossdock.output import EXIT_AUTH_OR_CONNECTION, EXIT_OK, EXIT_USAGE

CONNECT_TIMEOUT_S = 3.0

__all__ = ["CheckReport", "effective_config", "run_check", "safe_url"]


def safe_url(url: str) -> str:
    """``url`` with its password hidden."""
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)


def effective_config(cfg: Any) -> dict[str, Any]:
    """``crossdock config show``: the configuration in effect (environment
    overrides applied), URLs without passwords, secrets not at all."""
    return {
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


@dataclass
class CheckReport:
    file: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    warehouses: list[str] = field(default_factory=list)

    def step(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append({"check": name, "ok": ok, "detail": detail})

    def problem(self, check: str, exc: CrossdockError) -> None:
        entry = {"check": check, "code": exc.code, "message": exc.message, "remedy": exc.spec.remedy,
                 "exit_code": _exit_code(exc.code)}
        if exc.channel:
            entry["channel"] = exc.channel
        if all(p["message"] != entry["message"] for p in self.problems):
            self.problems.append(entry)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        return max((p["exit_code"] for p in self.problems), default=EXIT_OK)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "ok": self.ok, "exit_code": self.exit_code, "channels": self.channels,
                "warehouses": self.warehouses, "checks": self.checks, "problems": self.problems}


def _exit_code(code: str) -> int:
    """A wrong configuration: 2; a service, the database or an authorisation: 3."""
    return EXIT_USAGE if code.startswith("XD-CFG-") else EXIT_AUTH_OR_CONNECTION


# ---------------------------------------------------------------- the checks
def run_check(path: str | os.PathLike | None = None, *, online: bool = False,
              env: dict[str, str] | None = None) -> CheckReport:
    from crossdock import config as config_mod
    from crossdock import secrets

    report = CheckReport()
    cfg, problems = config_mod.read(path, env=env)
    for exc in problems:
        report.problem("config", exc)
    if cfg is None:
        report.step("config", False, problems[0].message if problems else "not found")
        return report
    report.file = str(cfg.path)
    report.channels = sorted(cfg.channels)
    report.warehouses = sorted(cfg.warehouses)
    report.step("config", not problems, f"{cfg.path}: {len(cfg.channels)} channel(s), {len(cfg.warehouses)} "
                                        f"warehouse(s)" + (f", {len(problems)} problem(s)" if problems else ""))
    secrets.use_key_file(cfg.key_file)
    key_ok = _check_key(report)
    refs_ok = _check_references(report, cfg)
    _check_urls(report, cfg)
    _check_settings(report, cfg, refs_ok)
    db = _check_database(report, cfg.database_url)
    if db is not None:
        try:
            stored = _check_stored_tokens(report, db, key_ok)
            _check_unconnected(report, cfg, stored)
        finally:
            db.dispose()
    _check_broker(report, cfg.broker_url)
    _check_ratelimit(report, cfg.ratelimit_url, database_ok=db is not None or _sqlite_to_create(cfg.database_url))
    if online:
        _check_online(report, cfg)
    return report


def _check_key(report: CheckReport) -> bool:
    from crossdock import secrets

    try:
        secrets.encrypt("crossdock config check")
    except ConfigError as exc:
        report.problem("secret key", exc)
        report.step("secret key", False, exc.message)
        return False
    report.step("secret key", True, secrets.key_source())
    return True


def _check_references(report: CheckReport, cfg: Any) -> set[str]:
    """Every secret reference resolves; returns the channels whose secrets all do."""
    ok: set[str] = set()
    n = 0
    for name, ch in sorted(cfg.channels.items()):
        good = True
        for ref in [ch.client_secret, ch.refresh_token, *ch.secrets.values()]:
            if ref is None:
                continue
            n += 1
            try:
                ref.reveal()
            except ConfigError as exc:
                report.problem("secrets", exc)
                good = False
        if good:
            ok.add(name)
    report.step("secrets", len(ok) == len(cfg.channels), f"{n} secret reference(s), "
                                                         f"{len(cfg.channels) - len(ok)} channel(s) with problems")
    return ok


def _check_urls(report: CheckReport, cfg: Any) -> None:
    from crossdock import config as config_mod

    for message in config_mod.check_urls(cfg):
        report.problem("urls", message)


def _check_settings(report: CheckReport, cfg: Any, resolved: set[str]) -> None:
    """Each channel's platform settings build (what a worker would refuse at start)."""
    from crossdock.sync_engine.channels import connector_settings

    bad = 0
    for name in sorted(resolved):
        try:
            connector_settings(cfg.channels[name])
        except ConfigError as exc:
            report.problem(f"channel {name}", exc)
            bad += 1
    if cfg.channels:
        report.step("channels", bad == 0 and len(resolved) == len(cfg.channels),
                    f"{len(resolved) - bad} of {len(cfg.channels)} channel(s) ready to connect")


def _sqlite_path(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_to_create(url: str) -> bool:
    try:
        from crossdock.db.engine import normalise_url

        path = _sqlite_path(normalise_url(url))
    except ConfigError:
        return False
    return path is not None and not path.exists() and path.parent.is_dir() and os.access(path.parent, os.W_OK)


def _check_database(report: CheckReport, url: str):
    """The database answers and is at head; returns it open (or None)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    from crossdock.db.engine import Database, make_engine, normalise_url
    from crossdock.db.migrate import current_revision, head_revision

    shown = safe_url(url)
    try:
        normalised = normalise_url(url)
    except ConfigError as exc:
        report.step("database", False, exc.message)
        return None             # reported by the URL check
    path = _sqlite_path(normalised)
    if path is not None and not path.exists():
        if _sqlite_to_create(url):
            report.step("database", True, f"{shown}: does not exist yet; the first command creates it")
        else:
            missing = DataError("XD-DATA-001", detail=f"{shown}: folder {path.parent} does not exist or is not "
                                                      "writable")
            report.problem("database", missing)
            report.step("database", False, missing.message)
        return None
    try:
        if path is not None:
            engine = make_engine(normalised)
        else:
            engine = create_engine(normalised, poolclass=NullPool,
                                   connect_args={"connect_timeout": int(CONNECT_TIMEOUT_S)})
        db = Database(normalised, engine=engine)
        current, head = current_revision(db), head_revision(db)
    except (SQLAlchemyError, CrossdockError) as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        err = exc if isinstance(exc, DataError) else DataError("XD-DATA-001", detail=f"{shown}: {safe_url(first)}")
        report.problem("database", err)
        report.step("database", False, err.message)
        return None
    if current == head or (current is None and path is not None):
        report.step("database", True, f"{shown}: at revision {current or 'none (created on first use)'}, "
                                      f"head {head}")
        return db
    behind = DataError("XD-DATA-002", detail=f"{shown} is at {current or 'no revision'}, this crossdock needs {head}")
    report.problem("database", behind)
    report.step("database", False, behind.message)
    db.dispose()
    return None


def _check_unconnected(report: CheckReport, cfg: Any, stored: set[str]) -> None:
    """Every channel has a refresh token: configured, or stored (``auth connect`` / ``auth set``); a
    channel with its platform's other token (eBay's Trading token) may do without."""
    from crossdock.errors import AuthError
    from crossdock.platforms import find

    missing = []
    for name, ch in sorted(cfg.channels.items()):
        spec = find(ch.platform)
        extra = spec.credentials.extra_token if spec is not None else None
        if ch.refresh_token is None and name not in stored and not (extra and extra in ch.secrets):
            missing.append(name)
            report.problem("credentials", AuthError("XD-AUTH-002", channel=name, detail=(
                f"no refresh token configured or stored for {name}: crossdock auth connect {name}")))
    report.step("credentials", not missing, "every channel has a refresh token" if not missing
                else f"not connected yet: {', '.join(missing)} (crossdock auth connect CHANNEL)")


def _check_stored_tokens(report: CheckReport, db: Any, key_ok: bool) -> set[str]:
    """The key decrypts every token crossdock stored; returns the channels with a stored refresh token."""
    from sqlalchemy import inspect, select

    from crossdock import secrets
    from crossdock.db.models import Credential

    if "credentials" not in inspect(db.engine).get_table_names():
        report.step("stored tokens", True, "none yet")
        return set()
    with db.read() as s:
        rows = [(r.channel, r.access_token_enc, r.refresh_token_enc) for r in s.scalars(select(Credential))]
    tokens = sum(1 for _, a, r in rows for t in (a, r) if t)
    if not key_ok:
        report.step("stored tokens", not tokens, f"{tokens} stored token(s) cannot be checked without the key")
        return {channel for channel, _, refresh in rows if refresh}
    bad = 0
    for channel, access, refresh in rows:
        for what, token in (("access token", access), ("refresh token", refresh)):
            if not token:
                continue
            try:
                secrets.decrypt(token, what=f"the stored {what} of channel {channel}")
            except ConfigError as exc:
                report.problem("stored tokens", ConfigError(exc.code, channel=channel, detail=exc.detail))
                bad += 1
    report.step("stored tokens", bad == 0, f"{tokens - bad} of {tokens} stored token(s) decrypt with the key")
    return {channel for channel, _, refresh in rows if refresh}


def _check_broker(report: CheckReport, url: str) -> None:
    shown = safe_url(url)
    scheme = url.split(":", 1)[0].lower()
    if scheme == "stub":
        report.step("broker", True, "stub:// (in-process: one `crossdock worker` runs everything)")
        return
    try:
        if scheme in ("redis", "rediss"):
            _redis_ping(url)
        elif scheme in ("amqp", "amqps"):
            import pika

            params = pika.URLParameters(url)
            params.socket_timeout = CONNECT_TIMEOUT_S
            params.blocked_connection_timeout = CONNECT_TIMEOUT_S
            params.stack_timeout = CONNECT_TIMEOUT_S
            params.connection_attempts = 1
            pika.BlockingConnection(params).close()
        else:
            report.step("broker", False, f"{shown}: scheme not supported")
            return
    except Exception as exc:  # noqa: BLE001 - any failure to connect is "does not answer"
        err = SyncError("XD-SYNC-006", detail=f"{shown}: {type(exc).__name__}: {safe_url(str(exc))[:200]}")
        report.problem("broker", err)
        report.step("broker", False, err.message)
        return
    report.step("broker", True, f"{shown} answers")


def _redis_ping(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=CONNECT_TIMEOUT_S)
    try:
        client.ping()
    finally:
        client.close()


def _check_ratelimit(report: CheckReport, url: str, *, database_ok: bool) -> None:
    shown = safe_url(url)
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sql":
        report.step("rate limit", database_ok, "sql:// (the database" + (")" if database_ok else ": see above)"))
        return
    if scheme == "memory":
        report.step("rate limit", True, "memory:// (this process only: workers do not share the budget)")
        return
    if scheme in ("redis", "rediss"):
        try:
            _redis_ping(url)
        except Exception as exc:  # noqa: BLE001 - any failure to connect is "does not answer"
            err = QuotaError("XD-QUOTA-006", detail=f"{shown}: {type(exc).__name__}: {safe_url(str(exc))[:200]}")
            report.problem("rate limit", err)
            report.step("rate limit", False, err.message)
            return
        report.step("rate limit", True, f"{shown} answers")
        return
    report.step("rate limit", False, f"{shown}: scheme not supported")


def _check_online(report: CheckReport, cfg: Any) -> None:
    """Refresh every channel's access token through the token store."""
    from crossdock.db.engine import Database
    from crossdock.db.migrate import ensure_current
    from crossdock.sync_engine.auth_refresh import refresh_channel_token

    if any(p["check"] in ("database", "rate limit", "secret key", "config") for p in report.problems):
        report.step("online", False, "skipped: fix the problems above first")
        return
    db = Database(cfg.database_url)
    try:
        ensure_current(db, auto_create=db.is_sqlite)
        for name in sorted(cfg.channels):
            try:
                doc = refresh_channel_token(cfg, db, name)
            except CrossdockError as exc:
                report.problem(f"channel {name}", exc if exc.channel else _with_channel(exc, name))
                report.step(f"online {name}", False, exc.message)
                continue
            report.step(f"online {name}", True, f"new access token, valid until {doc['access_expires_at']}")
    finally:
        db.dispose()


def _with_channel(exc: CrossdockError, channel: str) -> CrossdockError:
    return type(exc)(exc.code, channel=channel, detail=exc.detail)
