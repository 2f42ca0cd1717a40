"""Secrets: never stored or logged in plain text.

In configuration a secret is a reference: ``{env = "VAR"}`` (read from the
environment) or ``{encrypted = "…"}`` (Fernet, key in ``CROSSDOCK_SECRET_KEY``).
Tokens crossdock stores itself (access and refresh tokens) are encrypted with
the same key. :func:`redact` scrubs known secrets and token-shaped values from
anything about to be logged.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from crossdock.errors import ConfigError

KEY_ENV = "CROSSDOCK_SECRET_KEY"

_known: set[str] = set()
_known_lock = threading.Lock()


def remember(secret: str | None) -> None:
    """Register a secret value so :func:`redact` removes it wherever it appears."""
    if secret and len(secret) >= 6:
        with _known_lock:
            _known.add(secret)


def new_key() -> str:
    return Fernet.generate_key().decode()


def _fernet() -> Fernet:
    key = os.environ.get(KEY_ENV)
    if not key:
        raise ConfigError("XD-CFG-005", detail=f"{KEY_ENV} is not set; it encrypts stored tokens "
                                              f"(make one with `crossdock config new-key`)")
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError("XD-CFG-005", detail=f"{KEY_ENV} is not a valid Fernet key") from exc


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str, *, what: str = "secret") -> str:
    try:
        value = _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ConfigError("XD-CFG-005", detail=f"{what} cannot be decrypted with the current {KEY_ENV}") from exc
    remember(value)
    return value


@dataclass(frozen=True)
class SecretRef:
    """A reference to a secret; ``reveal()`` resolves it when it is needed."""

    env: str | None = None
    encrypted: str | None = None
    where: str = ""     # "file: key" for error messages

    def reveal(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError("XD-CFG-005", detail=f"{self.where}: environment variable {self.env} is not set")
            remember(value)
            return value
        if self.encrypted is not None:
            return decrypt(self.encrypted, what=self.where)
        raise ConfigError("XD-CFG-005", detail=f"{self.where}: empty secret reference")

    def __repr__(self) -> str:  # never show the value
        return f"SecretRef(env={self.env!r})" if self.env else "SecretRef(encrypted=…)"


_PATTERNS = [
    re.compile(r"(?i)(\"?(?:access_token|refresh_token|client_secret|password|token|authorization|"
               r"x-amz-access-token|x-shopify-access-token|ebayauthtoken)\"?\s*[:=]\s*\"?)([^\"&\s,<]+)"),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]{8,})"),
    re.compile(r"(Atza\|)[A-Za-z0-9._~+/=|-]+"),          # LWA tokens
    re.compile(r"(Atzr\|)[A-Za-z0-9._~+/=|-]+"),
    re.compile(r"(<eBayAuthToken>)[^<]+"),
]


def redact(value: Any) -> Any:
    """Return ``value`` with secrets replaced by ``***`` (strings, dicts, lists)."""
    if isinstance(value, str):
        out = value
        with _known_lock:
            known = sorted(_known, key=len, reverse=True)
        for s in known:
            if s in out:
                out = out.replace(s, "***")
        for pat in _PATTERNS:
            out = pat.sub(lambda m: m.group(1) + "***", out)
        return out
    if isinstance(value, dict):
        return {k: ("***" if _secret_key(k) and v else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def _secret_key(key: Any) -> bool:
    k = str(key).lower()
    return any(w in k for w in ("token", "secret", "password", "authorization", "api_key"))
