"""Secrets: never stored or logged in plain text.

In configuration a secret is a reference: ``{env = "VAR"}`` (read from the
environment) or ``{encrypted = "…"}`` (Fernet). Tokens crossdock stores itself
(access and refresh tokens) are encrypted with the same key. The key comes
from ``CROSSDOCK_SECRET_KEY``, else from the key file of the configuration
loaded last (``[secrets] key_file``; :func:`use_key_file`), which must be
readable by its owner only, as ssh insists for private keys.

Either may hold more than one key while the key is being rotated (``crossdock
config rotate-key``, :mod:`crossdock.key_rotation`): the variable comma
separated, the file one per line (``#`` lines are comments). The first key
encrypts; every key decrypts (cryptography's ``MultiFernet``), so a worker
running through the rotation reads a token whichever key it is under.
:func:`redact` scrubs known secrets and token-shaped values from anything
about to be logged.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

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


# ---------------------------------------------------------------- where the key comes from
_key_file: Path | None = None
_key_cache: dict[tuple[str, ...], MultiFernet] = {}
_file_keys: dict[tuple[Any, ...], tuple[str, ...]] = {}     # key file stamp -> its keys (read_keys)
_SETTLED_NS = 2_000_000_000
# Tokens decrypted with the keyring in use (the keyring, token -> value): a token is decrypted
# again each time a store loads it or a check makes sure it still decrypts; Fernet without a
# ttl gives the same value for the same token and keys, so the value is kept while the keys
# are (another keyring starts a new memo). The values are held for redact() anyway.
_decrypted: tuple[MultiFernet | None, dict[str, str]] = (None, {})
_DECRYPTED_MAX = 1024


def use_key_file(path: str | os.PathLike | None) -> None:
    """Make ``path`` this process's key file (``None``: none). Loading a
    configuration calls it with the configuration's ``[secrets] key_file``."""
    global _key_file
    _key_file = Path(path) if path else None


def key_file() -> Path | None:
    return _key_file


def key_source() -> str:
    """Where the key is read from: ``CROSSDOCK_SECRET_KEY``, ``key file PATH`` or ``none``."""
    if os.environ.get(KEY_ENV):
        return KEY_ENV
    return f"key file {_key_file}" if _key_file is not None else "none"


def parse_keys(text: str) -> list[str]:
    """The keys in a key file's text or ``CROSSDOCK_SECRET_KEY``: one per line
    or comma separated, ``#`` lines ignored; the first encrypts."""
    keys: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keys.extend(k.strip() for k in line.split(",") if k.strip() and k.strip() not in keys)
    return keys


def read_key_file(path: str | os.PathLike) -> str:
    """The key that encrypts in ``path`` (its first): see :func:`read_keys`."""
    keys = read_keys(path)
    if not keys:
        raise ConfigError("XD-CFG-005", detail=f"key file {path} holds no key")
    return keys[0]


def read_keys(path: str | os.PathLike) -> list[str]:
    """Every key in ``path``, the encrypting one first; refuses a file that
    group or others may read or write, or that another user owns
    (XD-CFG-010), as ssh refuses such a private key."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ConfigError("XD-CFG-005", detail=f"key file {p} does not exist (make one with "
                                               "`crossdock config new-key --out FILE`)") from None
    except OSError as exc:
        raise ConfigError("XD-CFG-005", detail=f"key file {p}: {exc.strerror}") from exc
    if os.name == "posix" and stat.S_IMODE(st.st_mode) & 0o077:
        raise ConfigError("XD-CFG-010", detail=f"key file {p} has mode {stat.S_IMODE(st.st_mode):04o}: others "
                                               f"may read it; run `chmod 600 {p}`")
    if os.name == "posix" and st.st_uid not in (os.geteuid(), 0):
        raise ConfigError("XD-CFG-010", detail=f"key file {p} belongs to another user (uid {st.st_uid})")
    # The file's keys as last read, while it is the same file unchanged: every stored token a
    # process loads asks for the keys, and reading the file each time was most of that cost.
    # A file written, rotated or replaced on disk (new inode) has a new stamp and is read again;
    # a file modified less than _SETTLED_NS ago is read every time (its timestamp may not move
    # on a write within the same clock tick, as git's "racily clean" index entries).
    stamp = (str(p), st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    cached = _file_keys.get(stamp)
    if cached is not None:
        return list(cached)
    try:
        found = parse_keys(p.read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("XD-CFG-005", detail=f"key file {p} cannot be read: {exc}") from exc
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > _SETTLED_NS:
        _file_keys.clear()
        _file_keys[stamp] = tuple(found)
    return found


def write_key_file(path: str | os.PathLike, key: str | None = None) -> str:
    """Create ``path`` (mode 0600, never overwriting) holding ``key`` (a new
    one by default); returns the key."""
    key = key or new_key()
    Fernet(key.encode())        # refuse to write something that is not a key
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (key + "\n").encode("ascii"))
    finally:
        os.close(fd)
    return key


def keys() -> list[str]:
    """The keys in use, the encrypting one first: ``CROSSDOCK_SECRET_KEY``,
    else the key file's; XD-CFG-005 when there is none."""
    text = os.environ.get(KEY_ENV)
    found = parse_keys(text) if text else []
    if not found and _key_file is not None:
        found = read_keys(_key_file)
    if not found:
        raise ConfigError("XD-CFG-005", detail=f"no secret key: set {KEY_ENV} or [secrets] key_file in the "
                                               f"configuration; it encrypts secrets and stored tokens (make one "
                                               f"with `crossdock config new-key`)")
    return found


def keyring(key_list: list[str], *, where: str | None = None) -> MultiFernet:
    """A ``MultiFernet`` of ``key_list``: the first encrypts, each decrypts."""
    cache_key = tuple(key_list)
    cached = _key_cache.get(cache_key)
    if cached is not None:
        return cached
    try:
        fernet = MultiFernet([Fernet(k.encode()) for k in key_list])
    except (ValueError, TypeError) as exc:
        raise ConfigError("XD-CFG-005", detail=f"{where or key_source()} is not a valid Fernet key "
                                               f"(or list of keys)") from exc
    _key_cache.clear()
    _key_cache[cache_key] = fernet
    return fernet


def _fernet() -> MultiFernet:
    return keyring(keys())


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str, *, what: str = "secret") -> str:
    global _decrypted
    fernet = _fernet()
    ring, memo = _decrypted
    if ring is not fernet:
        memo = {}
        _decrypted = (fernet, memo)
    value = memo.get(token)
    if value is None:
        try:
            value = fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigError("XD-CFG-005", detail=f"{what} cannot be decrypted with the current secret key "
                                                   f"({key_source()})") from exc
        if len(memo) >= _DECRYPTED_MAX:
            memo.clear()
        memo[token] = value
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
               r"aws_secret_access_key|"
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
