"""Configuration: one TOML file plus environment overrides.

Where the file comes from: ``--config PATH``, else ``CROSSDOCK_CONFIG``, else
``./crossdock.toml``; without one, commands that need a configuration stop
with XD-CFG-001 (``crossdock config init`` writes one). ``CROSSDOCK_DATABASE_URL``,
``CROSSDOCK_BROKER_URL`` and ``CROSSDOCK_RATELIMIT_URL`` override the file.
Every key is declared in :mod:`crossdock.config_keys`, which drives parsing
and renders the reference (docs/configuration.md). Every problem is reported
with the file, the key and what is wrong (``XD-CFG-…``); secrets are
references (:class:`crossdock.secrets.SecretRef`), never plain text.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossdock import secrets
from crossdock.config_keys import (
    DEFAULT_INTERVALS_S,
    JOBS,
    SCHEMA,
    SECRET_KEYS,
)
from crossdock.config_schema import validate
from crossdock.errors import ConfigError
from crossdock.secrets import SecretRef

DEFAULT_PATH = "crossdock.toml"
ENV_CONFIG = "CROSSDOCK_CONFIG"
ENV_DATABASE = "CROSSDOCK_DATABASE_URL"
ENV_BROKER = "CROSSDOCK_BROKER_URL"
ENV_RATELIMIT = "CROSSDOCK_RATELIMIT_URL"

__all__ = ["DEFAULT_INTERVALS_S", "JOBS", "SECRET_KEYS", "ChannelConfig", "Config", "WarehouseConfig",
           "check", "load", "parse", "parse_all", "read", "resolve_path"]


@dataclass
class ChannelConfig:
    name: str
    platform: str
    account: str
    currency: str
    marketplace: str | None = None
    country: str | None = None
    base_url: str | None = None
    auth_url: str | None = None
    urls: dict[str, str] = field(default_factory=dict)       # extra endpoints (trading_url, …)
    client_id: str | None = None
    client_secret: SecretRef | None = None
    refresh_token: SecretRef | None = None
    secrets: dict[str, SecretRef] = field(default_factory=dict)  # any other referenced secret
    intervals_s: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_INTERVALS_S))
    stock: dict[str, Any] = field(default_factory=dict)       # buffer, max_listed, share
    price: dict[str, Any] = field(default_factory=dict)       # markup, rounding, floor, ceiling
    options: dict[str, Any] = field(default_factory=dict)     # platform-specific extras
    handling_time_h: int = 48
    safety_lag_s: float | None = None       # order import: how far behind now a window ends
    overlap_s: float | None = None          # order import: how far back the next window starts


@dataclass
class WarehouseConfig:
    code: str
    name: str
    country: str
    bins: list[str] = field(default_factory=list)
    address: dict[str, Any] = field(default_factory=dict)


@dataclass
class Config:
    path: Path | None = None
    database_url: str = "sqlite:///crossdock.sqlite"
    broker_url: str = "stub://"
    ratelimit_url: str = "sql://"
    time_scale: float = 1.0
    ratelimit_plans: dict[str, dict[str, float]] = field(default_factory=dict)
    channels: dict[str, ChannelConfig] = field(default_factory=dict)
    warehouses: dict[str, WarehouseConfig] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)
    sync: dict[str, Any] = field(default_factory=dict)
    labels_dir: str = "labels"
    sandbox: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, Any] = field(default_factory=dict)     # [alerts]: reminder_h, targets
    key_file: Path | None = None            # [secrets] key_file, absolute
    backup: dict[str, Any] | None = None    # [backup] (None: no scheduled backups)
    retention: dict[str, Any] | None = None  # [retention] (None: the sync log is kept for ever)
    serve: dict[str, Any] = field(default_factory=dict)     # [serve]: the support console
    worker: dict[str, Any] = field(default_factory=dict)     # [worker]: Dramatiq's Prometheus metrics
    events: dict[str, Any] = field(default_factory=dict)     # [events]: platform events in

    def channel(self, name: str) -> ChannelConfig:
        try:
            return self.channels[name]
        except KeyError:
            known = ", ".join(sorted(self.channels)) or "none configured"
            raise ConfigError("XD-CFG-007", detail=f"channel {name!r} (known: {known})") from None

    def warehouse(self, code: str) -> WarehouseConfig:
        try:
            return self.warehouses[code]
        except KeyError:
            from crossdock.errors import WarehouseError

            known = ", ".join(sorted(self.warehouses)) or "none configured"
            raise WarehouseError("XD-WH-001", detail=f"warehouse {code!r} (known: {known})") from None


def resolve_path(path: str | os.PathLike | None) -> tuple[Path | None, bool]:
    """(path, explicit): ``--config``, else ``CROSSDOCK_CONFIG``, else
    ``./crossdock.toml`` when it exists, else ``None``."""
    if path:
        return Path(path), True
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env), True
    default = Path(DEFAULT_PATH)
    return (default if default.exists() else None), False


def read(path: str | os.PathLike | None = None, *,
         env: Mapping[str, str] | None = None) -> tuple[Config | None, list[ConfigError]]:
    """The configuration and every problem found in it (none: ready to use).

    No file found is XD-CFG-001: crossdock never runs on guessed defaults (it
    would silently create ``./crossdock.sqlite``). The Config is returned even
    with problems, built from the keys that were valid, so ``config check``
    can go on to check the services it names."""
    env = os.environ if env is None else env
    file_path, explicit = resolve_path(path)
    if file_path is None:
        return None, [ConfigError("XD-CFG-001", detail=f"no configuration: no {DEFAULT_PATH} in "
                                                      f"{Path.cwd()}, no --config and no {ENV_CONFIG}")]
    if not file_path.exists():
        return None, [ConfigError("XD-CFG-001", detail=f"{file_path} does not exist"
                                  + (f" (from {ENV_CONFIG})" if not path and explicit else ""))]
    try:
        raw = tomllib.loads(file_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return None, [ConfigError("XD-CFG-002", detail=f"{file_path}: {exc}")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigError("XD-CFG-001", detail=f"{file_path}: {exc}")]
    cfg, problems = parse_all(raw, file=str(file_path), base_dir=file_path.parent)
    cfg.path = file_path
    if env.get(ENV_DATABASE):
        cfg.database_url = env[ENV_DATABASE]
    if env.get(ENV_BROKER):
        cfg.broker_url = env[ENV_BROKER]
    if env.get(ENV_RATELIMIT):
        cfg.ratelimit_url = env[ENV_RATELIMIT]
    return cfg, problems


def load(path: str | os.PathLike | None = None, *, env: Mapping[str, str] | None = None) -> Config:
    """The configuration, or the first problem as a ConfigError (its detail
    says how many more ``crossdock config check`` lists). Loading makes the
    configuration's ``[secrets] key_file`` this process's key source."""
    cfg, problems = read(path, env=env)
    if problems:
        raise _first(problems)
    assert cfg is not None
    secrets.use_key_file(cfg.key_file)
    return cfg


def _first(problems: list[ConfigError]) -> ConfigError:
    first = problems[0]
    if len(problems) == 1:
        return first
    more = f" (and {len(problems) - 1} more problem(s): `crossdock config check` lists them all)"
    return ConfigError(first.code, detail=first.detail + more, **first.context)


def parse(raw: dict[str, Any], *, file: str = "<config>", base_dir: Path | None = None) -> Config:
    """A Config from a parsed TOML document; the first problem is raised."""
    cfg, problems = parse_all(raw, file=file, base_dir=base_dir)
    if problems:
        raise _first(problems)
    return cfg


def parse_all(raw: dict[str, Any], *, file: str = "<config>",
              base_dir: Path | None = None) -> tuple[Config, list[ConfigError]]:
    """Validate ``raw`` against :data:`crossdock.config_keys.SCHEMA`: the
    Config built from what was valid, and every problem."""
    values, problems = validate(SCHEMA, raw, file=file, base_dir=base_dir)
    rl = values["ratelimit"]
    cfg = Config(
        database_url=values["database"]["url"], broker_url=values["broker"]["url"], ratelimit_url=rl["url"],
        time_scale=rl["time_scale"], ratelimit_plans={k: dict(v) for k, v in rl["plans"].items()
                                                       if {"rate_per_s", "burst"} <= set(v)},
        rules=values.get("rules") or {}, sync=dict(values["sync"]),
        labels_dir=str(base_dir / values["labels"]["dir"]) if base_dir is not None else values["labels"]["dir"],
        sandbox=values.get("sandbox") or {}, alerts=dict(values.get("alerts") or {}),
        backup=_backup_section(values.get("backup"), base_dir),
        retention=_retention_section(values.get("retention")), serve=dict(values.get("serve") or {}),
        worker=dict(values.get("worker") or {}), events=dict(values.get("events") or {}),
        key_file=Path(values["secrets"]["key_file"]) if values["secrets"].get("key_file") else None,
    )
    for code, w in values["warehouses"].items():
        if "country" in w:
            cfg.warehouses[code] = WarehouseConfig(code=code, name=w.get("name") or code, country=w["country"],
                                                   bins=list(w.get("bins") or []), address=dict(w.get("address") or {}))
    for name, c in values["channels"].items():
        if not {"platform", "account", "currency"} <= set(c):
            continue
        cfg.channels[name] = ChannelConfig(
            name=name, platform=c["platform"], account=c["account"], currency=c["currency"],
            marketplace=c.get("marketplace"), country=c.get("country"), base_url=c.get("base_url"),
            auth_url=c.get("auth_url"), urls=dict(c.get("urls") or {}), client_id=c.get("client_id"),
            client_secret=c.get("client_secret"), refresh_token=c.get("refresh_token"),
            secrets={k: c[k] for k in sorted(SECRET_KEYS - {"client_secret", "refresh_token"}) if c.get(k)},
            intervals_s=dict(c["intervals_s"]), stock=dict(c.get("stock") or {}), price=dict(c.get("price") or {}),
            options=dict(c.get("options") or {}), handling_time_h=c["handling_time_h"],
            safety_lag_s=c.get("safety_lag_s"), overlap_s=c.get("overlap_s"))
    return cfg, problems


def _backup_section(values: dict[str, Any] | None, base_dir: Path | None) -> dict[str, Any] | None:
    """``[backup]`` with every key (defaults filled in), or None when absent."""
    if values is None:
        return None
    from crossdock.config_keys_safety import BACKUP
    from crossdock.config_schema import Key

    out = {k.name: k.default for k in BACKUP.keys if isinstance(k, Key)}
    if base_dir is not None:
        out["folder"] = str((base_dir / out["folder"]).resolve())
    out.update(values)
    return out


def _retention_section(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    from crossdock.config_keys_safety import RETENTION
    from crossdock.config_schema import Key

    return {**{k.name: k.default for k in RETENTION.keys if isinstance(k, Key)}, **values}


def check(cfg: Config) -> list[str]:
    """Deeper checks than parsing: secrets resolvable, URLs usable. Returns the
    problems' messages (``crossdock config check`` checks much more:
    :mod:`crossdock.config_check`)."""
    problems: list[str] = []
    for ch in cfg.channels.values():
        for ref in [ch.client_secret, ch.refresh_token, *ch.secrets.values()]:
            if ref is None:
                continue
            try:
                ref.reveal()
            except ConfigError as exc:
                problems.append(exc.message)
    return problems + [exc.message for exc in check_urls(cfg)]


BROKER_SCHEMES = ("stub", "redis", "rediss", "amqp", "amqps")
RATELIMIT_SCHEMES = ("memory", "sql", "redis", "rediss")


def check_urls(cfg: Config) -> list[ConfigError]:
    """XD-CFG-008 for a database, broker or rate-limit URL crossdock cannot use."""
    from crossdock.db.engine import normalise_url

    problems: list[ConfigError] = []
    try:
        normalise_url(cfg.database_url)
    except ConfigError as exc:
        problems.append(exc)
    for url, allowed, what in ((cfg.broker_url, BROKER_SCHEMES, f"[broker] url / {ENV_BROKER}"),
                               (cfg.ratelimit_url, RATELIMIT_SCHEMES, f"[ratelimit] url / {ENV_RATELIMIT}")):
        scheme = url.split(":", 1)[0]
        if scheme not in allowed:
            problems.append(ConfigError("XD-CFG-008", detail=f"{what}: scheme {scheme!r} not supported "
                                                            f"(one of {', '.join(allowed)})"))
    return problems
