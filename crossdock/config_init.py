"""``crossdock config init``: write a complete, commented configuration.

With ``--from-sandbox ADMIN_URL`` it reads a running sandbox's description
(``GET ADMIN_URL/`` = ``Sandbox.describe()``) and writes a working
configuration for every account in it: one channel per account and
marketplace, one warehouse, the database, broker and rate-limit URLs, the
sandbox clock, and every secret encrypted with a new key kept in a key file
(mode 0600) that ``[secrets] key_file`` names — so crossdock commands in that
folder work with no environment variable set. Without a sandbox it writes the
same file with commented example channels to fill in.

:func:`render_config` (pure: description in, TOML text out),
:func:`sandbox_channels` and :func:`prepare_key` are the pieces the demo can
use to write its own configuration the same way.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossdock.config_keys import BROKER_URL, DATABASE_URL, RATELIMIT_URL
from crossdock.errors import ConfigError, NetError
from crossdock.platforms import platform as platform_spec
from crossdock.platforms import platforms
from crossdock.platforms.spec import ConfigTemplate
from crossdock.sandbox.channels import SandboxChannel, is_sandbox_description, sandbox_channels

DEFAULT_KEY_FILE = "crossdock.key"

__all__ = ["DEFAULT_KEY_FILE", "SandboxChannel", "Warehouse", "fetch_description", "init_config",
           "prepare_key", "render_config", "sandbox_channels"]


@dataclass(frozen=True)
class Warehouse:
    code: str = "DE"
    name: str = "Main warehouse"
    country: str = "DE"
    bins: tuple[str, ...] = ("A-01", "A-02", "B-01")


# ---------------------------------------------------------------- reading a sandbox
def fetch_description(admin_url: str, *, timeout_s: float = 10.0) -> dict[str, Any]:
    """``GET ADMIN_URL/``: the sandbox's description. Unreachable: XD-NET-001;
    an answer that is not a sandbox description: XD-CFG-012."""
    import httpx

    url = admin_url.rstrip("/") + "/"
    try:
        resp = httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise NetError("XD-NET-001", detail=f"sandbox admin URL {url}: {type(exc).__name__}: {exc}") from exc
    try:
        desc = resp.json()
    except ValueError:
        desc = None
    if resp.status_code != 200 or not is_sandbox_description(desc):
        raise ConfigError("XD-CFG-012", detail=f"{url} answered HTTP {resp.status_code} without a sandbox "
                                               "description (use the admin_url `crossdock sandbox serve --json` "
                                               "prints)")
    return desc


# ---------------------------------------------------------------- writing TOML
def _s(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _v(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _s(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_v(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_k(k)} = {_v(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _k(key: str) -> str:
    return key if key.replace("-", "").replace("_", "").isalnum() else _s(key)


_HEADER = """\
# crossdock configuration{source}
#
# Every key is explained in docs/configuration.md (`crossdock config reference` prints the same).
# Check it, and everything a run needs, with:   crossdock config check   (--online also refreshes tokens)
#
# Secrets are never written here in plain text. Each is a reference: {{encrypted = "…"}} (decrypted with
# the key in [secrets] key_file, or CROSSDOCK_SECRET_KEY when that is set) or {{env = "VAR"}} (read from
# the environment). Encrypt a new one with:   VAR=… crossdock config encrypt --from-env VAR
# Keep the key file out of backups of this file and out of version control: whoever holds both can read
# every secret. Losing the key makes the stored tokens unreadable (authorise the channels again).
"""


def render_config(desc: Mapping[str, Any] | None, *, encrypt: Callable[[str], str],
                  database_url: str = DATABASE_URL, broker_url: str = BROKER_URL,
                  ratelimit_url: str = RATELIMIT_URL, key_file: str = DEFAULT_KEY_FILE,
                  warehouse: Warehouse = Warehouse(), channels: list[SandboxChannel] | None = None,
                  warehouses: Sequence[Warehouse] | None = None, sync: Mapping[str, Any] | None = None,
                  extra_tables: Sequence[str] = (), events_url: str | None = None) -> str:
    """The configuration's TOML text for sandbox description ``desc`` (``None``:
    no sandbox, commented example channels). ``encrypt`` turns a secret into
    its ``{encrypted = …}`` text (``Fernet(key).encrypt``); ``channels``
    defaults to :func:`sandbox_channels`. ``warehouses`` (default: the one
    ``warehouse``), ``sync`` (keys of ``[sync]`` beside the defaults written
    here) and ``extra_tables`` (TOML lines appended) are for callers that
    write a fuller configuration from the same template (``crossdock demo``)."""
    if desc is not None and channels is None:
        channels = sandbox_channels(desc)
    source = f" for the sandbox at {desc.get('admin_url')}" if desc else ""
    lines = [_HEADER.format(source=source)]
    lines += [
        "[database]",
        "# sqlite:///FILE is relative to this file's folder (the embedded default, nothing to install);",
        "# PostgreSQL: postgresql://user:password@host:5432/crossdock. CROSSDOCK_DATABASE_URL overrides it.",
        f"url = {_s(database_url)}", "",
        "[broker]",
        "# stub:// runs every worker inside one `crossdock worker` process; redis://host:6379/0 or",
        "# amqp://user:password@host:5672/ share the work between any number of worker processes.",
        f"url = {_s(broker_url)}", "",
        "[ratelimit]",
        "# The API quota budget all processes share: sql:// (the database) or redis://host:6379/1.",
        f"url = {_s(ratelimit_url)}",
    ]
    if desc:
        lines += ["# The sandbox runs this many platform seconds per real second; live platforms: 1.",
                  f"time_scale = {_v(float(desc.get('time_scale', 1.0)))}"]
    lines += ["", "[secrets]",
              "# The Fernet key that decrypts the {encrypted = …} values below and the tokens crossdock stores.",
              "# Mode 0600: crossdock refuses a key file others can read (XD-CFG-010).",
              f"key_file = {_s(key_file)}", ""]
    sync_values = {"reconcile": True, "auto_publish": False, **(sync or {})}
    lines += ["[sync]",
              "# The engine's schedules; every key and its default is in docs/configuration.md.",
              f"reconcile = {_v(sync_values.pop('reconcile'))}"
              "                # compare every channel with crossdock on its intervals_s.reconcile",
              f"auto_publish = {_v(sync_values.pop('auto_publish'))}"
              "            # true: publish catalogue products missing on a channel"]
    lines += [f"{_k(k)} = {_v(v)}" for k, v in sync_values.items()] + [""]
    if desc:
        clock = desc["clock"]
        lines += ["[sandbox.clock]",
                  "# The sandbox's clock, so crossdock's now is the platforms' now. Remove for live platforms.",
                  f"time_scale = {_v(float(clock['time_scale']))}",
                  f"origin_real = {_v(float(clock['origin_real']))}",
                  f"origin_platform = {_v(float(clock['origin_platform']))}", ""]
    for wh in warehouses or (warehouse,):
        lines += [f"[warehouses.{_k(wh.code)}]",
                  "# A stock location; its code is what stock files and `--warehouse` name.",
                  f"name = {_s(wh.name)}", f"country = {_s(wh.country)}",
                  f"bins = {_v(list(wh.bins))}",
                  '# address = { line1 = "Lagerstrasse 4", city = "Leipzig", postal_code = "04109" }   # for labels',
                  ""]
    if events_url:
        lines += ["[events]",
                  "# Where the platforms post their webhooks and notifications: this crossdock serve, as the",
                  "# platforms reach it. `crossdock events setup CHANNEL` subscribes each channel to it.",
                  f"public_url = {_s(events_url)}", ""]
    lines += list(extra_tables)
    if channels:
        for ch in channels:
            lines += _channel_lines(ch, encrypt)
    else:
        lines += _example_channels()
    return "\n".join(lines).rstrip("\n") + "\n"


def _template(platform: str) -> ConfigTemplate:
    spec = platform_spec(platform)
    return spec.config_template or ConfigTemplate(about=f"# {spec.title} ({{mp}}{{account}})")


def _channel_lines(ch: SandboxChannel, encrypt: Callable[[str], str]) -> list[str]:
    lines = [f"[channels.{_k(ch.name)}]",
             _template(ch.platform).about.format(mp=ch.marketplace or "", account=ch.account),
             f"platform = {_s(ch.platform)}", f"account = {_s(ch.account)}"]
    if ch.marketplace:
        lines.append(f"marketplace = {_s(ch.marketplace)}")
    lines.append(f"currency = {_s(ch.currency)}")
    if ch.country:
        lines.append(f"country = {_s(ch.country)}")
    lines.append(f"client_id = {_s(ch.client_id)}")
    for key in ("client_secret", "refresh_token", "trading_token", "aws_access_key_id", "aws_secret_access_key"):
        if key in ch.secrets:
            lines.append(f"{key} = {{encrypted = {_s(encrypt(ch.secrets[key]))}}}")
    lines.append(f"base_url = {_s(ch.base_url)}")
    if ch.auth_url:
        lines.append(f"auth_url = {_s(ch.auth_url)}")
    if ch.urls:
        lines.append(f"urls = {_v(ch.urls)}")
    intervals = ch.intervals_s or {"orders": _template(ch.platform).orders_every_s}
    lines.append(f"intervals_s = {_v(intervals)}   # platform seconds")
    if ch.stock:
        lines.append(f"stock = {_v(ch.stock)}")
    else:
        lines.append('# stock = { buffer = 1, share = "0.5" }   # show half of the free stock, less one unit')
    lines.append('# price = { markup = "1.15", rounding = "charm:0.99" }')
    if ch.options:
        about = _template(ch.platform).options_about
        lines += ["", f"[channels.{_k(ch.name)}.options]", *([about] if about else [])]
        lines += [f"{_k(k)} = {_v(v)}" for k, v in ch.options.items()]
    return lines + [""]


_EXAMPLE_HEADER = [
    "# Sales channels: one table per platform account and marketplace. Uncomment and fill in one per channel;",
    "# `crossdock config encrypt --from-env VAR` turns a secret in $VAR into an {encrypted = \"…\"} value.",
]


def _example_channels() -> list[str]:
    """The commented example channels of the template: each platform's own."""
    lines = list(_EXAMPLE_HEADER)
    for spec in platforms():
        if spec.config_template is not None and spec.config_template.example:
            lines += ["#", *spec.config_template.example]
    return lines


# ---------------------------------------------------------------- files
def _private_folder(folder: Path) -> None:
    """Create ``folder`` (0700) or refuse one others may write to (XD-CFG-010)."""
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)
        return
    mode = stat.S_IMODE(folder.stat().st_mode)
    if os.name == "posix" and mode & 0o002:
        raise ConfigError("XD-CFG-010", detail=f"folder {folder} is writable by everyone (mode {mode:04o}); "
                                               "keep the configuration and its key file in a private folder")


def prepare_key(key_path: Path) -> tuple[str, bool]:
    """(key, created): the key in ``key_path`` when it exists (checked like
    every key file, so stored tokens stay readable), else a new one written
    there with mode 0600."""
    from crossdock.secrets import read_key_file, write_key_file

    _private_folder(key_path.parent)
    if key_path.exists():
        return read_key_file(key_path), False
    return write_key_file(key_path), True


def init_config(out: str | os.PathLike, *, admin_url: str | None = None, database_url: str = DATABASE_URL,
                broker_url: str = BROKER_URL, ratelimit_url: str = RATELIMIT_URL, force: bool = False,
                key_file: str = DEFAULT_KEY_FILE, timeout_s: float = 10.0,
                events_url: str | None = None) -> dict[str, Any]:
    """Write the configuration at ``out`` (and its key file beside it);
    returns what was written. An existing configuration is XD-CFG-011 unless
    ``force``; an existing key file is reused, never replaced. ``events_url``:
    ``[events] public_url``, and the sandbox's event queues in its channels."""
    from cryptography.fernet import Fernet

    path = Path(out)
    if path.is_dir():
        path = path / "crossdock.toml"
    if path.exists() and not force:
        raise ConfigError("XD-CFG-011", detail=f"{path} exists; pass --force to replace it (its key file is kept)")
    desc = fetch_description(admin_url, timeout_s=timeout_s) if admin_url else None
    folder = path.parent.resolve()
    _private_folder(folder)
    key_path = Path(key_file) if Path(key_file).is_absolute() else folder / key_file
    key, created = prepare_key(key_path)
    fernet = Fernet(key.encode())
    channels = sandbox_channels(desc, events=bool(events_url)) if desc else []
    text = render_config(desc, encrypt=lambda v: fernet.encrypt(v.encode()).decode(), database_url=database_url,
                         broker_url=broker_url, ratelimit_url=ratelimit_url, key_file=key_file, channels=channels,
                         events_url=events_url)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return {"config": str(path), "key_file": str(key_path), "key_created": created,
            "sandbox": desc.get("admin_url") if desc else None,
            "channels": [{"name": c.name, "platform": c.platform, "account": c.account,
                          "marketplace": c.marketplace, "currency": c.currency} for c in channels],
            "database": database_url, "broker": broker_url, "ratelimit": ratelimit_url}
