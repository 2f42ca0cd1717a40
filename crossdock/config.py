"""Configuration: one TOML file plus environment overrides.

Where the file comes from: ``--config PATH``, else ``CROSSDOCK_CONFIG``, else
``./crossdock.toml`` (optional: without it crossdock runs on the embedded
defaults). ``CROSSDOCK_DATABASE_URL``, ``CROSSDOCK_BROKER_URL`` and
``CROSSDOCK_RATELIMIT_URL`` override the file. Every problem is reported with
the file, the key and what is wrong (``XD-CFG-…``); secrets are references
(:class:`crossdock.secrets.SecretRef`), never plain text.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossdock.errors import ConfigError
from crossdock.secrets import SecretRef

DEFAULT_PATH = "crossdock.toml"
ENV_CONFIG = "CROSSDOCK_CONFIG"
ENV_DATABASE = "CROSSDOCK_DATABASE_URL"
ENV_BROKER = "CROSSDOCK_BROKER_URL"
ENV_RATELIMIT = "CROSSDOCK_RATELIMIT_URL"

PLATFORMS = ("amazon", "ebay", "shopify")
SECRET_KEYS = frozenset({"client_secret", "refresh_token", "access_token", "password", "trading_token",
                         "api_key", "webhook_secret"})
JOBS = ("orders", "stock", "prices", "listings", "shipments", "reconcile", "tracking")

DEFAULT_INTERVALS_S = {"orders": 120, "stock": 30, "prices": 900, "listings": 3600, "shipments": 60,
                       "reconcile": 3600, "tracking": 1800}


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


class _Reader:
    """Typed access to a TOML table that knows where it is for error messages."""

    def __init__(self, data: dict[str, Any], where: str, file: str) -> None:
        self.data = data
        self.where = where
        self.file = file

    def loc(self, key: str) -> str:
        return f"{self.file}: {self.where + '.' if self.where else ''}{key}"

    def get(self, key: str, typ: type | tuple[type, ...], default: Any = None, *, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                raise ConfigError("XD-CFG-004", detail=f"{self.loc(key)} is required")
            return default
        value = self.data[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, typ) or (isinstance(value, bool) and typ in (int, float)):
            names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            raise ConfigError("XD-CFG-003", detail=f"{self.loc(key)} must be {names}, got {value!r}")
        return value

    def table(self, key: str) -> "_Reader":
        value = self.get(key, dict, {})
        return _Reader(value, f"{self.where}.{key}" if self.where else key, self.file)

    def secret(self, key: str) -> SecretRef | None:
        if key not in self.data:
            return None
        value = self.data[key]
        if isinstance(value, str):
            raise ConfigError("XD-CFG-006", detail=f"{self.loc(key)} is a plain-text secret; write "
                                                   f"{key} = {{env = \"VAR\"}} and export VAR")
        if isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str) and value["env"]:
            return SecretRef(env=value["env"], where=self.loc(key))
        if isinstance(value, dict) and set(value) == {"encrypted"} and isinstance(value["encrypted"], str):
            return SecretRef(encrypted=value["encrypted"], where=self.loc(key))
        raise ConfigError("XD-CFG-003", detail=f"{self.loc(key)} must be {{env = \"VAR\"}} or "
                                               f"{{encrypted = \"…\"}}")


def resolve_path(path: str | os.PathLike | None) -> tuple[Path | None, bool]:
    """(path, explicit). An explicit path must exist; the default may not."""
    if path:
        return Path(path), True
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env), True
    default = Path(DEFAULT_PATH)
    return (default if default.exists() else None), False


def load(path: str | os.PathLike | None = None, *, env: dict[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    file_path, explicit = resolve_path(path)
    raw: dict[str, Any] = {}
    if file_path is not None:
        if not file_path.exists():
            raise ConfigError("XD-CFG-001", detail=f"{file_path} does not exist"
                              + (" (from CROSSDOCK_CONFIG)" if not path and explicit else ""))
        try:
            raw = tomllib.loads(file_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("XD-CFG-002", detail=f"{file_path}: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError("XD-CFG-001", detail=f"{file_path}: {exc}") from exc
    cfg = parse(raw, file=str(file_path) if file_path else "<defaults>", base_dir=file_path.parent if file_path else None)
    cfg.path = file_path
    if env.get(ENV_DATABASE):
        cfg.database_url = env[ENV_DATABASE]
    if env.get(ENV_BROKER):
        cfg.broker_url = env[ENV_BROKER]
    if env.get(ENV_RATELIMIT):
        cfg.ratelimit_url = env[ENV_RATELIMIT]
    return cfg


_KNOWN_TOP = {"database", "broker", "ratelimit", "channels", "warehouses", "rules", "sync", "labels", "sandbox"}
_KNOWN_CHANNEL = {"platform", "account", "currency", "marketplace", "country", "base_url", "auth_url", "urls",
                  "client_id", "intervals_s", "stock", "price", "options", "handling_time_h",
                  "safety_lag_s", "overlap_s"} | SECRET_KEYS


def parse(raw: dict[str, Any], *, file: str = "<config>", base_dir: Path | None = None) -> Config:
    top = _Reader(raw, "", file)
    unknown = set(raw) - _KNOWN_TOP
    if unknown:
        raise ConfigError("XD-CFG-003", detail=f"{file}: unknown section(s) {', '.join(sorted(unknown))}; "
                                               f"known: {', '.join(sorted(_KNOWN_TOP))}")
    cfg = Config()
    db = top.table("database")
    url = db.get("url", str, cfg.database_url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and base_dir is not None:
        rel = url[len("sqlite:///"):]
        if rel and rel != ":memory:":
            url = "sqlite:///" + str((base_dir / rel).resolve())
    cfg.database_url = url
    cfg.broker_url = top.table("broker").get("url", str, cfg.broker_url)
    rl = top.table("ratelimit")
    cfg.ratelimit_url = rl.get("url", str, cfg.ratelimit_url)
    cfg.time_scale = rl.get("time_scale", float, 1.0)
    if cfg.time_scale <= 0:
        raise ConfigError("XD-CFG-003", detail=f"{rl.loc('time_scale')} must be > 0")
    plans = rl.table("plans")
    for key in plans.data:
        p = plans.table(key)
        rate = p.get("rate_per_s", float, required=True)
        burst = p.get("burst", float, required=True)
        if rate <= 0 or burst <= 0:
            raise ConfigError("XD-CFG-003", detail=f"{p.loc('rate_per_s')}/burst must be > 0")
        cfg.ratelimit_plans[key] = {"rate_per_s": rate, "burst": burst}
    channels = top.table("channels")
    for name in channels.data:
        cfg.channels[name] = _channel(name, channels.table(name))
    warehouses = top.table("warehouses")
    for code in warehouses.data:
        w = warehouses.table(code)
        country = w.get("country", str, required=True)
        _country(country, w.loc("country"))
        bins = w.get("bins", list, [])
        if not all(isinstance(b, str) for b in bins):
            raise ConfigError("XD-CFG-003", detail=f"{w.loc('bins')} must be a list of strings")
        cfg.warehouses[code] = WarehouseConfig(code=code, name=w.get("name", str, code), country=country.upper(),
                                               bins=bins, address=w.get("address", dict, {}))
    cfg.rules = top.get("rules", dict, {})
    cfg.sync = top.get("sync", dict, {})
    cfg.labels_dir = top.table("labels").get("dir", str, cfg.labels_dir)
    cfg.sandbox = top.get("sandbox", dict, {})
    return cfg


def _country(value: str, where: str) -> None:
    if len(value) != 2 or not value.isalpha():
        raise ConfigError("XD-CFG-003", detail=f"{where} must be a 2-letter ISO country code, got {value!r}")


def _channel(name: str, r: _Reader) -> ChannelConfig:
    unknown = set(r.data) - _KNOWN_CHANNEL
    if unknown:
        raise ConfigError("XD-CFG-003", detail=f"{r.loc(sorted(unknown)[0])}: unknown key "
                                               f"(known: {', '.join(sorted(_KNOWN_CHANNEL))})")
    platform = r.get("platform", str, required=True)
    if platform not in PLATFORMS:
        raise ConfigError("XD-CFG-003", detail=f"{r.loc('platform')} must be one of {', '.join(PLATFORMS)}, "
                                               f"got {platform!r}")
    currency = r.get("currency", str, required=True)
    if len(currency) != 3 or not currency.isalpha():
        raise ConfigError("XD-CFG-003", detail=f"{r.loc('currency')} must be an ISO 4217 code, got {currency!r}")
    country = r.get("country", str)
    if country:
        _country(country, r.loc("country"))
    intervals = dict(DEFAULT_INTERVALS_S)
    iv = r.table("intervals_s")
    for job in iv.data:
        if job not in JOBS:
            raise ConfigError("XD-CFG-003", detail=f"{iv.loc(job)}: unknown job (known: {', '.join(JOBS)})")
        value = iv.get(job, int)
        if value <= 0:
            raise ConfigError("XD-CFG-003", detail=f"{iv.loc(job)} must be > 0")
        intervals[job] = value
    secrets = {k: r.secret(k) for k in SECRET_KEYS if k in r.data and k not in ("client_secret", "refresh_token")}
    urls = r.get("urls", dict, {})
    for k, v in urls.items():
        if not isinstance(v, str):
            raise ConfigError("XD-CFG-003", detail=f"{r.loc('urls.' + k)} must be a string URL")
    return ChannelConfig(
        name=name, platform=platform, account=r.get("account", str, required=True), currency=currency.upper(),
        marketplace=r.get("marketplace", str), country=country.upper() if country else None,
        base_url=r.get("base_url", str), auth_url=r.get("auth_url", str), urls=urls,
        client_id=r.get("client_id", str), client_secret=r.secret("client_secret"),
        refresh_token=r.secret("refresh_token"), secrets=secrets, intervals_s=intervals,
        stock=r.get("stock", dict, {}), price=r.get("price", dict, {}), options=r.get("options", dict, {}),
        handling_time_h=r.get("handling_time_h", int, 48),
        safety_lag_s=_non_negative(r, "safety_lag_s"), overlap_s=_non_negative(r, "overlap_s"),
    )


def _non_negative(r: _Reader, key: str) -> float | None:
    value = r.get(key, float)
    if value is not None and value < 0:
        raise ConfigError("XD-CFG-003", detail=f"{r.loc(key)} must be >= 0")
    return value


def check(cfg: Config) -> list[str]:
    """Deeper checks than parsing: secrets resolvable, URLs usable. Returns problems."""
    problems: list[str] = []
    for ch in cfg.channels.values():
        for ref in [ch.client_secret, ch.refresh_token, *ch.secrets.values()]:
            if ref is None:
                continue
            try:
                ref.reveal()
            except ConfigError as exc:
                problems.append(exc.message)
    from crossdock.db.engine import normalise_url

    try:
        normalise_url(cfg.database_url)
    except ConfigError as exc:
        problems.append(exc.message)
    for url, allowed, what in ((cfg.broker_url, ("stub", "redis", "rediss", "amqp", "amqps"), ENV_BROKER),
                               (cfg.ratelimit_url, ("memory", "sql", "redis", "rediss"), ENV_RATELIMIT)):
        scheme = url.split(":", 1)[0]
        if scheme not in allowed:
            problems.append(f"[XD-CFG-008] {what}: scheme {scheme!r} not supported (one of {', '.join(allowed)})")
    return problems
