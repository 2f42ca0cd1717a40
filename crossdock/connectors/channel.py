"""Reading one channel's configuration for a platform's settings: its secrets
(revealed from their references) and the keys a platform requires. Used by
each platform's ``PlatformSpec.settings``."""

from __future__ import annotations

from typing import Any, Literal, overload

from crossdock.errors import ConfigError

__all__ = ["channel_secret", "required"]


@overload
def channel_secret(ch: Any, name: str, *, required: Literal[True] = ...) -> str: ...


@overload
def channel_secret(ch: Any, name: str, *, required: bool) -> str | None: ...


def channel_secret(ch: Any, name: str, *, required: bool = True) -> str | None:
    """The channel's secret ``name`` (``client_secret``, ``refresh_token`` or
    one of ``secrets``), revealed; XD-CFG-004 when a required one is not set."""
    ref = ch.client_secret if name == "client_secret" else ch.refresh_token if name == "refresh_token" \
        else ch.secrets.get(name)
    if ref is None:
        if required:
            raise ConfigError("XD-CFG-004", channel=ch.name, detail=f"channels.{ch.name}.{name} is required")
        return None
    return str(ref.reveal())


def required(ch: Any, value: Any, key: str) -> Any:
    """``value``, or XD-CFG-004 naming ``channels.NAME.key`` when it is empty."""
    if not value:
        raise ConfigError("XD-CFG-004", channel=ch.name, detail=f"channels.{ch.name}.{key} is required")
    return value
